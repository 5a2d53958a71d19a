// What a PSAM is personalised with: terminal number (file 0016), key file 0017, purchase keys.
//
// See domain.md 7.2 for the files (S:MZT `sam_pubJTB`) and the PSAM AID.

import { createHash } from 'node:crypto';
import { checkMaintenanceKeys } from './psam_maintenance.js';
import type { PsamMaintenanceKey } from './psam_maintenance.js';

/** Transport-ministry PSAM application AID, "A000000632" ‖ "MOT.CPSAM01" (domain.md 7.2). */
export const PSAM_AID = Uint8Array.of(
  0xa0,
  0x00,
  0x00,
  0x06,
  0x32,
  0x4d,
  0x4f,
  0x54,
  0x2e,
  0x43,
  0x50,
  0x53,
  0x41,
  0x4d,
  0x30,
  0x31,
);
/** File id of the PSAM application DF when selected by FID (by name is the usual way). */
export const PSAM_DF_FID = 0x1001;
/** File id of the master file. */
export const MF_FID = 0x3f00;
/** Algorithm identifier of 3DES purchase keys (the only one the emulator implements). */
export const ALGORITHM_00_3DES = 0x00;

/** One purchase master key of the PSAM. */
export interface PsamPurchaseKey {
  /** Key version the card announces in INITIALIZE FOR PURCHASE (1 byte). */
  readonly keyVersion: number;
  /** Algorithm identifier the card announces (`ALGORITHM_00_3DES`). */
  readonly algorithmId: number;
  /** 16-byte master key. */
  readonly master: Uint8Array;
  /**
   * `'issuer'`: the issuer's purchase master key, bound to `issuerId`, diversified once by the
   * card serial. `'root'`: a key serving every issuer, diversified by the issuer id and then
   * the card serial. [I: JT/T 978 key hierarchy is not public]
   */
  readonly level: 'issuer' | 'root';
  /** For `'issuer'` keys: the 8-byte issuer id the key belongs to. */
  readonly issuerId?: Uint8Array;
}

/** A PSAM's personalisation. */
export interface PsamProfile {
  /** File 0016: the 6-byte terminal number. */
  readonly terminalNumber: Uint8Array;
  /** File 0017 byte 1: the purchase key index the terminal sends to the card. */
  readonly keyIndex: number;
  /** File 0017: issuer id (8). */
  readonly issuerId: Uint8Array;
  /** File 0017: receiver id (8). */
  readonly receiverId: Uint8Array;
  /** File 0017: start and end dates, YYYYMMDD BCD (4 each). */
  readonly startDate: Uint8Array;
  readonly endDate: Uint8Array;
  readonly keys: readonly PsamPurchaseKey[];
  /** Application-maintenance master keys (`80 1A`/`80 FA`, APPLICATION BLOCK); none: 9403. */
  readonly maintenanceKeys?: readonly PsamMaintenanceKey[];
  /** 'T=0' answers case-4 commands with 61xx and wrong Le with 6Cxx, as most PSAMs do. */
  readonly protocol: 'T=0' | 'T=1';
}

/** File 0017 of domain.md 7.2: key index (1) ‖ issuer id (8) ‖ receiver id (8) ‖ dates (4+4). */
export function psamFile0017(profile: PsamProfile): Uint8Array {
  const out = new Uint8Array(25);
  out[0] = profile.keyIndex;
  out.set(profile.issuerId, 1);
  out.set(profile.receiverId, 9);
  out.set(profile.startDate, 17);
  out.set(profile.endDate, 21);
  return out;
}

/**
 * Throws RangeError when a field of `profile` has the wrong size or range, so that a bad
 * personalisation fails at construction rather than as a wrong MAC later.
 */
export function checkPsamProfile(profile: PsamProfile): void {
  const sizes: readonly (readonly [string, Uint8Array, number])[] = [
    ['terminalNumber', profile.terminalNumber, 6],
    ['issuerId', profile.issuerId, 8],
    ['receiverId', profile.receiverId, 8],
    ['startDate', profile.startDate, 4],
    ['endDate', profile.endDate, 4],
  ];
  for (const [name, bytes, n] of sizes) {
    if (bytes.length !== n) throw new RangeError(`PSAM ${name}: ${bytes.length} bytes, not ${n}`);
  }
  if (!Number.isInteger(profile.keyIndex) || profile.keyIndex < 0 || profile.keyIndex > 0xff) {
    throw new RangeError(`PSAM keyIndex ${profile.keyIndex}`);
  }
  for (const key of profile.keys) {
    if (key.master.length !== 16) throw new RangeError('PSAM key: master is not 16 bytes');
    if (key.level === 'issuer' && key.issuerId?.length !== 8) {
      throw new RangeError('PSAM issuer key without an 8-byte issuerId');
    }
  }
  checkMaintenanceKeys(profile.maintenanceKeys ?? []);
}

/**
 * A deterministic TEST master key named `label` (SHA-256 of the label, first 16 bytes), so the
 * PSAM emulator, the virtual cards and the tests derive the same keys without a key file.
 */
export function testMasterKey(label: string): Uint8Array {
  const digest = createHash('sha256').update(`shuaka TEST key ${label}`).digest();
  return new Uint8Array(digest.subarray(0, 16));
}

/** Issuer id of the TEST T-Union issuer (8 bytes, as in file 0015). */
export const TEST_ISSUER_ID = Uint8Array.of(0x01, 0x01, 0x10, 0x00, 0xff, 0xff, 0xff, 0xff);

/**
 * The TEST PSAM: terminal number 000000000123 (BCD), key index 01, one root purchase master
 * key (version 01, 3DES) named `purchase-root`, one maintenance master key (usage 45, version
 * 02) named `maintenance-root`, T=0. Card keys are
 * `cardKeyFromIssuerMaster(issuerMasterFromRoot(testMasterKey(name), issuer), sn)`.
 */
export function testPsamProfile(overrides: Partial<PsamProfile> = {}): PsamProfile {
  return {
    terminalNumber: Uint8Array.of(0x00, 0x00, 0x00, 0x00, 0x01, 0x23),
    keyIndex: 0x01,
    issuerId: TEST_ISSUER_ID,
    receiverId: Uint8Array.of(0x01, 0x01, 0x10, 0x00, 0x00, 0x00, 0x00, 0x01),
    startDate: Uint8Array.of(0x20, 0x24, 0x01, 0x01),
    endDate: Uint8Array.of(0x20, 0x99, 0x12, 0x31),
    keys: [
      {
        keyVersion: 0x01,
        algorithmId: ALGORITHM_00_3DES,
        master: testMasterKey('purchase-root'),
        level: 'root',
      },
    ],
    maintenanceKeys: [
      { keyUsage: 0x45, keyVersion: 0x02, master: testMasterKey('maintenance-root') },
    ],
    protocol: 'T=0',
    ...overrides,
  };
}
