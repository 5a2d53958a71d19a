// Clearing records with their PAN opened, for tests and benches that play the acquirer or the
// depot: the journal keeps only the PAN's token and seal (pan_vault.ts).

import { PanVault, panVaultClear } from '../firmware/src/app/journal/pan_vault.js';
import type { CardKey, ClearingRecord } from '../firmware/src/app/journal/journal_records.js';

/** A clearing record whose card also carries the clear PAN. */
export type ClearClearing = Omit<ClearingRecord, 'card'> & {
  readonly card: CardKey & { readonly pan: string };
};

/** Opens `clearing`'s sealed PAN with `vault`; throws PanVaultError when it does not open. */
export function clearingWithPan(clearing: ClearingRecord, vault: PanVault, seq: number):
  ClearClearing {
  return { ...clearing, card: { ...clearing.card, pan: panVaultClear(vault, clearing.card, seq) } };
}

/** A vault over a fixed key (not secret: fixtures only), with a counter for its IVs. */
export function fixtureVault(): PanVault {
  let counter = 0;
  return PanVault.fromKey(new Uint8Array(32).fill(7), (length) => {
    counter += 1;
    const bytes = new Uint8Array(length);
    new DataView(bytes.buffer).setUint32(0, counter);
    return bytes;
  });
}

/** The journal's card key for `pan` under `vault`; throws on a PAN the vault refuses. */
export function cardOf(vault: PanVault, pan: string, psn: number, uidHex = ''): CardKey {
  const card = vault.cardKey(pan, psn, uidHex);
  if (card === null) throw new Error(`fixture PAN ${pan} refused`);
  return card;
}
