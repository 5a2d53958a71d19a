// INIT SAM FOR PURCHASE: the PSAM side of a (compound) purchase, from the command's 36 bytes
// to the terminal transaction serial and MAC1 (domain.md 7.4 step 3).

import { isBcd } from './psam_apdu.js';
import type { CommandApdu } from './psam_apdu.js';
import { ALGORITHM_00_3DES } from './psam_profile.js';
import type { PsamProfile, PsamPurchaseKey } from './psam_profile.js';
import type { PsamSerialStore } from './psam_serial_store.js';
import {
  TRANSACTION_TYPE_06_PURCHASE,
  TRANSACTION_TYPE_09_COMPOUND_PURCHASE,
  cardKeyFromIssuerMaster,
  computeMac1,
  issuerMasterFromRoot,
  purchaseSessionKey,
  u32Bytes,
} from './pboc_epurse_crypto.js';
import {
  SW_6700_WRONG_LENGTH,
  SW_6985_CONDITIONS_NOT_SATISFIED,
  SW_6A80_INCORRECT_DATA,
  SW_6A81_FUNCTION_NOT_SUPPORTED,
  SW_6A86_INCORRECT_P1P2,
  SW_9403_KEY_NOT_FOUND,
} from './psam_status.js';

/** Length of the INIT SAM FOR PURCHASE data field (0x24, domain.md 7.4 step 3). */
export const INIT_SAM_DATA_BYTES = 36;

/** The fields of the INIT SAM FOR PURCHASE data, in order (domain.md 7.4 step 3). */
export interface InitSamForPurchaseData {
  readonly cardRandom: Uint8Array;
  readonly offlineSerial: number;
  readonly amountMinor: number;
  readonly transactionType: number;
  readonly dateTime: Uint8Array;
  readonly keyVersion: number;
  readonly algorithmId: number;
  readonly cardSerial: Uint8Array;
  readonly issuerId: Uint8Array;
}

/**
 * The 36-byte data of `80 70 00 00 24`: card random (4) ‖ card ATC (2) ‖ amount (4) ‖ type (1)
 * ‖ date-time (7) ‖ key version (1) ‖ algorithm id (1) ‖ card app serial, last 8 (8) ‖ issuer
 * id (8). Throws RangeError on a field of the wrong size.
 */
export function buildInitSamForPurchaseData(fields: InitSamForPurchaseData): Uint8Array {
  const sizes: readonly (readonly [Uint8Array, number])[] = [
    [fields.cardRandom, 4],
    [fields.dateTime, 7],
    [fields.cardSerial, 8],
    [fields.issuerId, 8],
  ];
  for (const [bytes, n] of sizes) {
    if (bytes.length !== n) throw new RangeError(`INIT SAM field ${bytes.length} bytes, not ${n}`);
  }
  const out = new Uint8Array(INIT_SAM_DATA_BYTES);
  out.set(fields.cardRandom, 0);
  out.set(u32Bytes(fields.offlineSerial).subarray(2), 4);
  out.set(u32Bytes(fields.amountMinor), 6);
  out[10] = fields.transactionType;
  out.set(fields.dateTime, 11);
  out[18] = fields.keyVersion;
  out[19] = fields.algorithmId;
  out.set(fields.cardSerial, 20);
  out.set(fields.issuerId, 28);
  return out;
}

/** Splits the 36 bytes back into fields. Throws RangeError when `data` is not 36 bytes. */
export function parseInitSamForPurchaseData(data: Uint8Array): InitSamForPurchaseData {
  if (data.length !== INIT_SAM_DATA_BYTES) throw new RangeError(`INIT SAM data ${data.length}`);
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  return {
    cardRandom: data.slice(0, 4),
    offlineSerial: view.getUint16(4),
    amountMinor: view.getUint32(6),
    transactionType: data[10] ?? 0,
    dateTime: data.slice(11, 18),
    keyVersion: data[18] ?? 0,
    algorithmId: data[19] ?? 0,
    cardSerial: data.slice(20, 28),
    issuerId: data.slice(28, 36),
  };
}

/** What CREDIT SAM FOR PURCHASE needs from the INIT. */
export interface PendingPurchase {
  readonly sessionKey: Uint8Array;
  readonly amountMinor: number;
  readonly terminalSerial: number;
}

/** The outcome of INIT SAM FOR PURCHASE: the answer data and the purchase, or a status word. */
export type InitForPurchaseResult =
  | { readonly ok: true; readonly data: Uint8Array; readonly pending: PendingPurchase }
  | { readonly ok: false; readonly sw: number };

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
}

/** An issuer key bound to the card's issuer wins over a root key of the same version. */
function findKey(profile: PsamProfile, f: InitSamForPurchaseData): PsamPurchaseKey | null {
  const ofVersion = profile.keys.filter((k) => k.keyVersion === f.keyVersion);
  const issuerKey = ofVersion.find(
    (k) => k.level === 'issuer' && sameBytes(k.issuerId, f.issuerId),
  );
  return issuerKey ?? ofVersion.find((k) => k.level === 'root') ?? null;
}

function checkFields(f: InitSamForPurchaseData): number | null {
  const known = [TRANSACTION_TYPE_06_PURCHASE, TRANSACTION_TYPE_09_COMPOUND_PURCHASE];
  if (!known.includes(f.transactionType)) return SW_6A80_INCORRECT_DATA;
  if (!isBcd(f.dateTime)) return SW_6A80_INCORRECT_DATA;
  if (f.algorithmId !== ALGORITHM_00_3DES) return SW_6A81_FUNCTION_NOT_SUPPORTED;
  return null;
}

/**
 * INIT SAM FOR PURCHASE `80 70 00 00 24` (domain.md 7.4 step 3): finds the purchase key by
 * key version (and issuer), derives the card's DPK, the session key with the serial it hands
 * out, and MAC1; the serial moves on durably before the answer, so it never repeats.
 * Answers terminal transaction serial (4) ‖ MAC1 (4), or one of:
 * 6A86 (P1/P2 not 00 00), 6700 (Lc not 0x24), 6A80 (type not 06/09 or date-time not BCD),
 * 6A81 (algorithm not 00), 9403 (no key of that version for that issuer),
 * 6985 (the serial has reached 2^32 - 1).
 */
export function psamInitForPurchase(
  profile: PsamProfile,
  serialStore: PsamSerialStore,
  command: CommandApdu,
): InitForPurchaseResult {
  if (command.p1 !== 0x00 || command.p2 !== 0x00) return { ok: false, sw: SW_6A86_INCORRECT_P1P2 };
  if (command.data.length !== INIT_SAM_DATA_BYTES) return { ok: false, sw: SW_6700_WRONG_LENGTH };
  const f = parseInitSamForPurchaseData(command.data);
  const bad = checkFields(f);
  if (bad !== null) return { ok: false, sw: bad };
  const key = findKey(profile, f);
  if (key === null) return { ok: false, sw: SW_9403_KEY_NOT_FOUND };
  const terminalSerial = serialStore.read();
  if (terminalSerial >= 0xffffffff) return { ok: false, sw: SW_6985_CONDITIONS_NOT_SATISFIED };
  serialStore.write(terminalSerial + 1);
  const issuerMaster =
    key.level === 'root' ? issuerMasterFromRoot(key.master, f.issuerId) : key.master;
  const dpk = cardKeyFromIssuerMaster(issuerMaster, f.cardSerial);
  const sessionKey = purchaseSessionKey(dpk, {
    cardRandom: f.cardRandom,
    offlineSerial: f.offlineSerial,
    terminalSerial,
  });
  const mac1 = computeMac1(sessionKey, {
    amountMinor: f.amountMinor,
    transactionType: f.transactionType,
    terminalNumber: profile.terminalNumber,
    dateTime: f.dateTime,
  });
  const data = new Uint8Array(8);
  data.set(u32Bytes(terminalSerial), 0);
  data.set(mac1, 4);
  return { ok: true, data, pending: { sessionKey, amountMinor: f.amountMinor, terminalSerial } };
}
