// A virtual contactless card (host-sim/src/cards) as vpcd sees it: the ATR a PC/SC contactless
// reader builds for an ISO 14443-4 card, the reader's GET DATA UID command, and the card's APDUs.

import type { CardIdentity, VirtualCard } from '../cards/card_model.js';
import type { VpcdCard } from './vpcd_client.js';

/**
 * The PC/SC Part 3 (3.1.3.2.3) ATR of an ISO 14443-4 card: `3B 8n 80 01` ‖ historical bytes ‖
 * TCK, the historical bytes being the ATS's (type A: after TL, T0 and its TA/TB/TC) or, for
 * type B, the ATQB application data (4) ‖ protocol info (3) ‖ MBLI nibble byte.
 */
export function pcscContactlessAtr(identity: CardIdentity): Uint8Array {
  let historical: Uint8Array;
  if (identity.kind === 'A') {
    const t0 = identity.ats[1] ?? 0;
    let at = 2;
    for (const bit of [0x10, 0x20, 0x40]) if ((t0 & bit) !== 0) at += 1;
    historical = identity.ats.slice(Math.min(at, identity.ats.length));
  } else {
    const mbli = ((identity.attribRes[0] ?? 0) >> 4) & 0x0f;
    historical = Uint8Array.of(...identity.atqb.slice(5, 12), mbli << 4);
  }
  historical = historical.slice(0, 15);
  const body = Uint8Array.of(0x80 | historical.length, 0x80, 0x01, ...historical);
  let tck = 0;
  for (const b of body) tck ^= b;
  return Uint8Array.of(0x3b, ...body, tck);
}

function uidOf(identity: CardIdentity): Uint8Array {
  return identity.kind === 'A' ? identity.uid : identity.atqb.slice(1, 5);
}

/**
 * Presents `card` through vpcd as an ACR122U-class reader would: ATR per PC/SC Part 3, the
 * pseudo-APDU `FF CA 00 00 00` answered by the reader with the UID (PUPI for type B), every
 * other APDU passed to the card. A card that does not answer (null) drops the connection,
 * which is the card leaving the field.
 */
export class VpcdContactlessCard implements VpcdCard {
  private identityNow: CardIdentity;

  constructor(readonly card: VirtualCard) {
    card.powerOn();
    this.identityNow = card.identity();
  }

  atr(): Uint8Array {
    return pcscContactlessAtr(this.identityNow);
  }

  powerOn(): void {
    this.card.powerOn();
    this.identityNow = this.card.identity();
  }

  powerOff(): void {
    // The field stays on in a contactless reader; the card keeps its session until next power-on.
  }

  reset(): void {
    this.powerOn();
  }

  transmit(apdu: Uint8Array): Uint8Array | null {
    if (apdu[0] === 0xff && apdu[1] === 0xca) {
      if (apdu[2] !== 0x00) return Uint8Array.of(0x6a, 0x81);
      return Uint8Array.of(...uidOf(this.identityNow), 0x90, 0x00);
    }
    return this.card.transceive(apdu);
  }
}
