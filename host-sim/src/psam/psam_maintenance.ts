// The PSAM's application-maintenance MAC: key derivation (`80 1A`, "INIT FOR DESCRYPT") and
// MAC over terminal-padded data (`80 FA`, "CIPHER DATA"), as a validator uses them to build the
// card's APPLICATION BLOCK `84 1E 00 00 04` ‖ MAC for a deny-listed card (domain.md 7.6).
//
// Bytes as S:MZT CPUCARJTB.c sends them (`CpuCardSetMac2`, `CpuBlackMac`): `80 1A 45 02 10` ‖
// card application serial (last 8) ‖ issuer id (8); `80 FA 05 00 10` ‖ IV (8: the card's
// challenge ‖ 00000000) ‖ `84 1E 00 00 04 80 00 00`. [I] P1 45 = key usage (maintenance),
// P2 = key version, P1 05 of 80 FA = MAC with an initial value, single/last block; the PSAM
// pads nothing (the terminal sent whole 8-byte blocks); the MAC is ISO 9797-1 algorithm 3
// under the derived 16-byte key, its leftmost 4 bytes (the PBOC line-protection MAC).

import type { CommandApdu } from './psam_apdu.js';
import type { PsamProfile } from './psam_profile.js';
import {
  cardKeyFromIssuerMaster,
  des3EncryptBlock,
  desEncryptBlock,
  issuerMasterFromRoot,
} from './pboc_epurse_crypto.js';
import {
  SW_6700_WRONG_LENGTH,
  SW_6985_CONDITIONS_NOT_SATISFIED,
  SW_6A86_INCORRECT_P1P2,
  SW_9403_KEY_NOT_FOUND,
} from './psam_status.js';

/** INS of the two commands. */
export const INS_1A_INIT_FOR_DESCRYPT = 0x1a;
export const INS_FA_CIPHER_DATA = 0xfa;
/** `80 1A` P1: key usage of the application maintenance key (S:MZT; [I] the name). */
export const KEY_USAGE_45_MAINTENANCE = 0x45;
/** `80 FA` P1: MAC with an initial value, single or last block ([I]). */
export const CIPHER_P1_05_MAC_WITH_IV_LAST = 0x05;

/** One application-maintenance master key (root level: diversified by issuer, then serial). */
export interface PsamMaintenanceKey {
  /** `80 1A` P1 that names it (0x45). */
  readonly keyUsage: number;
  /** `80 1A` P2 that names it (MZT sends 02). */
  readonly keyVersion: number;
  /** 16-byte root master key. */
  readonly master: Uint8Array;
}

/** A status word, or data with 9000. */
export type MaintenanceResult =
  { readonly ok: true; readonly data: Uint8Array } | { readonly ok: false; readonly sw: number };

/**
 * `80 1A` P1 P2 `10` ‖ serial (8) ‖ issuer id (8): the card's maintenance key from the master
 * key named by P1 (usage) and P2 (version), root → issuer → card (the purchase-key hierarchy,
 * pboc_epurse_crypto.ts). Returns the 16-byte derived key, or a status word:
 * 6700 (Lc not 16), 9403 (no key of that usage and version).
 */
export function psamDeriveMaintenanceKey(
  profile: PsamProfile,
  command: CommandApdu,
): { readonly ok: true; readonly key: Uint8Array } | { readonly ok: false; readonly sw: number } {
  if (command.data.length !== 16) return { ok: false, sw: SW_6700_WRONG_LENGTH };
  const key = (profile.maintenanceKeys ?? []).find(
    (k) => k.keyUsage === command.p1 && k.keyVersion === command.p2,
  );
  if (key === undefined) return { ok: false, sw: SW_9403_KEY_NOT_FOUND };
  const issuerMaster = issuerMasterFromRoot(key.master, command.data.subarray(8, 16));
  return { ok: true, key: cardKeyFromIssuerMaster(issuerMaster, command.data.subarray(0, 8)) };
}

/**
 * ISO 9797-1 MAC algorithm 3 without padding: DES-CBC under K_L from `iv`, 3DES (K_L, K_R) on
 * the last block. `blocks` is a non-empty multiple of 8 bytes (checked by the caller).
 */
function retailMacUnpadded(key16: Uint8Array, iv: Uint8Array, blocks: Uint8Array): Uint8Array {
  let chain = iv;
  for (let at = 0; at < blocks.length; at += 8) {
    const x = chain.map((b, j) => b ^ (blocks[at + j] ?? 0));
    const last = at + 8 >= blocks.length;
    chain = last ? des3EncryptBlock(key16, x) : desEncryptBlock(key16.subarray(0, 8), x);
  }
  return chain;
}

/**
 * `80 FA 05 00` Lc ‖ IV (8) ‖ data (whole 8-byte blocks): the MAC (4) under the key of the last
 * `80 1A` (`key`), or a status word: 6A86 (P1 not 05 or P2 not 00), 6700 (Lc not 8 + a positive
 * multiple of 8), 6985 (no key derived since the last reset or SELECT).
 */
export function psamCipherMac(key: Uint8Array | null, command: CommandApdu): MaintenanceResult {
  if (command.p1 !== CIPHER_P1_05_MAC_WITH_IV_LAST || command.p2 !== 0x00) {
    return { ok: false, sw: SW_6A86_INCORRECT_P1P2 };
  }
  const n = command.data.length;
  if (n < 16 || n % 8 !== 0) return { ok: false, sw: SW_6700_WRONG_LENGTH };
  if (key === null) return { ok: false, sw: SW_6985_CONDITIONS_NOT_SATISFIED };
  const mac = retailMacUnpadded(key, command.data.subarray(0, 8), command.data.subarray(8));
  return { ok: true, data: mac.slice(0, 4) };
}

/** Checks the maintenance keys of a profile. Throws RangeError on a bad one. */
export function checkMaintenanceKeys(keys: readonly PsamMaintenanceKey[]): void {
  for (const k of keys) {
    if (k.master.length !== 16) throw new RangeError('PSAM maintenance key is not 16 bytes');
    for (const v of [k.keyUsage, k.keyVersion]) {
      if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`PSAM key id ${v}`);
    }
  }
}
