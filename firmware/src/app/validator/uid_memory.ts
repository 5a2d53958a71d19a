// Bounded memory of plastic cards' UID -> PAN+PSN, so a repeat tap can be priced before GPO.

import type { CardIdentity } from './tap_records.js';

/**
 * ISO/IEC 14443-3: a single-size NFCID1 starting with 08 is a random ID, drawn anew at every
 * activation (phones). Such a UID identifies nothing across taps.
 */
export function uidIsRandom(uid: Uint8Array): boolean {
  return uid.length === 4 && uid[0] === 0x08;
}

/** Least-recently-used map with a fixed bound; Map keeps insertion order. */
export class UidMemory {
  private readonly cards = new Map<string, CardIdentity>();

  constructor(private readonly sizeMax: number) {
    if (!(sizeMax >= 1)) throw new RangeError(`UidMemory size ${sizeMax}`);
  }

  /** The card last seen with this UID, or null. */
  get(uidHex: string): CardIdentity | null {
    const card = this.cards.get(uidHex);
    if (card === undefined) return null;
    this.cards.delete(uidHex);
    this.cards.set(uidHex, card);
    return card;
  }

  /** Remembers a UID's card; the oldest entry goes when the memory is full. */
  remember(uidHex: string, card: CardIdentity): void {
    this.cards.delete(uidHex);
    this.cards.set(uidHex, card);
    if (this.cards.size > this.sizeMax) {
      const oldest = this.cards.keys().next();
      if (oldest.done !== true) this.cards.delete(oldest.value);
    }
  }
}
