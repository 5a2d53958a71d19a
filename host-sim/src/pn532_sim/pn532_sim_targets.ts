// Target data the emulated PN532 reports for a virtual card (InListPassiveTarget, InAutoPoll).

import type { CardIdentity } from '../cards/card_model.js';
import { iso14443FrameSizeBytes } from './pn532_sim_rf_timing.js';

/** InAutoPoll target types (UM0701-02 §7.3.13) the emulator can report. */
export const AUTOPOLL_00_GENERIC_106A = 0x00;
export const AUTOPOLL_03_GENERIC_106B = 0x03;
export const AUTOPOLL_10_MIFARE = 0x10;
export const AUTOPOLL_20_ISO14443_4A = 0x20;
export const AUTOPOLL_23_ISO14443_4B = 0x23;

/**
 * Appends the TargetData of one card with its Tg first to `out`: type A = Tg SENS_RES SEL_RES
 * NFCIDLength NFCID1 [ATS], the ATS only for ISO 14443-4 cards with auto-RATS on; type B = Tg
 * ATQB ATTRIB_RES_Length ATTRIB_RES. See UM0701-02 §7.3.5 and pn532.md §5. Byte by byte:
 * spreading a typed array goes through its iterator, slow, and every activation (each
 * presence look at a card) comes here.
 */
export function appendPn532TargetData(
  out: number[],
  tg: number,
  identity: CardIdentity,
  autoRats: boolean,
): void {
  out.push(tg);
  switch (identity.kind) {
    case 'A':
      appendBytes(out, identity.atqa);
      out.push(identity.sak, identity.uid.length);
      appendBytes(out, identity.uid);
      if ((identity.sak & 0x20) !== 0 && autoRats) appendBytes(out, identity.ats);
      return;
    case 'B':
      appendBytes(out, identity.atqb);
      out.push(identity.attribRes.length);
      appendBytes(out, identity.attribRes);
      return;
    default:
      assertNever(identity);
  }
}

function appendBytes(out: number[], bytes: Uint8Array): void {
  for (let k = 0; k < bytes.length; k += 1) out.push(bytes[k] ?? 0);
}

/** Whether a card answers an InAutoPoll type. */
export function autoPollTypeMatches(type: number, identity: CardIdentity): boolean {
  switch (type) {
    case AUTOPOLL_00_GENERIC_106A:
      return identity.kind === 'A';
    case AUTOPOLL_10_MIFARE:
      return identity.kind === 'A' && (identity.sak & 0x20) === 0;
    case AUTOPOLL_20_ISO14443_4A:
      return identity.kind === 'A' && (identity.sak & 0x20) !== 0;
    case AUTOPOLL_03_GENERIC_106B:
    case AUTOPOLL_23_ISO14443_4B:
      return identity.kind === 'B';
    default:
      return false;
  }
}

/** Card's maximum frame size: ATS T0 FSCI for type A, ATQB Max_Frame_Size for type B. */
export function cardFrameSizeBytes(identity: CardIdentity): number {
  if (identity.kind === 'A') {
    const t0 = identity.ats[1];
    return t0 === undefined ? 32 : iso14443FrameSizeBytes(t0 & 0x0f);
  }
  const protocolInfo2 = identity.atqb[10];
  return protocolInfo2 === undefined ? 32 : iso14443FrameSizeBytes(protocolInfo2 >> 4);
}

/** Stable key of a card identity (UID or PUPI), for logs. */
export function identityKey(identity: CardIdentity): string {
  const bytes = identity.kind === 'A' ? identity.uid : identity.atqb.subarray(1, 5);
  return `${identity.kind}:${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
