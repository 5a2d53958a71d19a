// RF identity of a virtual card: type A UID/ATQA/SAK/ATS or type B ATQB, fixed or per tap.

import type { Prng } from '../prng.js';
import { concatBytes, fromHex } from '../pki/emv_bytes.js';
import type { CardIdentity } from './card_model.js';
import type { RfProfile } from './card_profile.js';

/** ISO 14443-3: a 4-byte UID starting 08 is a random ID drawn per activation. */
export const UID0_08_RANDOM = 0x08;
/** ATQA for single (4-byte) and double (7-byte) UIDs with bit-frame anticollision. */
export const ATQA_UID_SINGLE = Uint8Array.of(0x00, 0x04);
export const ATQA_UID_DOUBLE = Uint8Array.of(0x00, 0x44);
/** ATQB's first byte. */
export const ATQB_50 = 0x50;
/**
 * Default ATS: TL 05, T0 78 (FSC 256, TA TB TC present), TA 80 (106 kbit/s only),
 * TB 70 (FWI 7, about 38.7 ms; SFGI 0), TC 02 (CID supported).
 */
export const ATS_DEFAULT_HEX = '0578807002';

/**
 * Draws the identity a card shows for one presentation. Fixed UIDs come from the profile;
 * random ones from `prng` (4-byte random UIDs start 08; 7-byte ones start with maker byte 04).
 */
export function drawIdentity(rf: RfProfile, prng: Prng): CardIdentity {
  switch (rf.kind) {
    case 'A': {
      const uid =
        rf.uid.mode === 'fixed'
          ? hexBytes(rf.uid.uidHex)
          : rf.uid.length === 4
            ? concatBytes(Uint8Array.of(UID0_08_RANDOM), prng.bytes(3))
            : concatBytes(Uint8Array.of(0x04), prng.bytes(6));
      const atqa = uid.length === 4 ? ATQA_UID_SINGLE : ATQA_UID_DOUBLE;
      return { kind: 'A', uid, atqa: atqa.slice(), sak: rf.sak, ats: hexBytes(rf.atsHex) };
    }
    case 'B': {
      const pupi = rf.pupiHex === null ? prng.bytes(4) : hexBytes(rf.pupiHex);
      const atqb = concatBytes(
        Uint8Array.of(ATQB_50),
        pupi,
        hexBytes(rf.applicationDataHex),
        hexBytes(rf.protocolInfoHex),
      );
      return { kind: 'B', atqb, attribRes: hexBytes(rf.attribResHex) };
    }
    default: {
      const never: never = rf;
      throw new Error(`unknown RF profile ${String(never)}`);
    }
  }
}

/** Hex texts of RF profiles decoded so far (the complete text is the key). */
const HEX_DECODED = new Map<string, Uint8Array>();
/** Bound of HEX_DECODED: past it the map is emptied and refills (a long run stays bounded). */
const HEX_DECODED_MAX = 4096;

/**
 * `fromHex(hex)`, a new array each call as before, decoded once per text: a card's fixed UID
 * and ATS are the same texts at every presentation. Throws as fromHex (a failure is not kept).
 */
function hexBytes(hex: string): Uint8Array {
  let bytes = HEX_DECODED.get(hex);
  if (bytes === undefined) {
    bytes = fromHex(hex);
    if (HEX_DECODED.size >= HEX_DECODED_MAX) HEX_DECODED.clear();
    HEX_DECODED.set(hex, bytes);
  }
  return bytes.slice();
}
