// PBOC e-purse crypto as JT/T 978 cards and PSAMs use it: key diversification, session key,
// ISO 9797-1 MACs, MAC1, MAC2 and TAC of a (compound) purchase.
//
// JT/T 978 and the JR/T 0025 e-purse part are not public text. The command layouts come from
// domain.md 7.4 (S:MZT CPUCARJTB.c); the key derivation and the MAC inputs are the PBOC 2.0
// e-purse model ("standard PBOC e-purse SAM model", domain.md 7.2, marked [I] there): every
// function below says which of its parts is reconstructed. The module imports only its DES
// (fips46_des.ts, no other import) so that the card simulator, the PSAM emulator and a
// clearing-side TAC verifier can share it.

import { Fips46Key } from './fips46_des.js';

/** DES block size in bytes. */
export const DES_BLOCK_BYTES = 8;
/** Length of a two-key 3DES key (K_L ‖ K_R). */
export const DES3_KEY_BYTES = 16;
/** Length of every MAC, MAC1, MAC2 and TAC of the e-purse: the leftmost 4 bytes. */
export const EPURSE_MAC_BYTES = 4;
/** Transaction type of a compound purchase (复合消费), domain.md 7.4 step 3. */
export const TRANSACTION_TYPE_09_COMPOUND_PURCHASE = 0x09;
/** Transaction type of a simple purchase, domain.md 7.4 step 3. */
export const TRANSACTION_TYPE_06_PURCHASE = 0x06;

function checkLength(what: string, bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) {
    throw new RangeError(`${what}: ${bytes.length} bytes, expected ${length}`);
  }
}

/**
 * Distinct 3DES keys whose round keys are kept. A tap uses a handful of keys over and over
 * (issuer masters, a card's AC master key) and a few once or twice (session keys); past this
 * many the cache is emptied and refills, so it stays bounded whatever a long run does.
 */
export const DES3_ECB_CIPHERS_MAX = 256;

/** Round keys by key (the key's 16 bytes as 8 UTF-16 code units). */
const ecbKeys = new Map<string, Fips46Key>();

function des3Key(key16: Uint8Array): Fips46Key {
  // The 16 bytes as 8 UTF-16 code units, one string made at once (a loop of `+=` made 16).
  const pair = (i: number): number => ((key16[i] ?? 0) << 8) | (key16[i + 1] ?? 0);
  const id = String.fromCharCode(pair(0), pair(2), pair(4), pair(6), pair(8), pair(10),
    pair(12), pair(14));
  let key = ecbKeys.get(id);
  if (key === undefined) {
    if (ecbKeys.size >= DES3_ECB_CIPHERS_MAX) ecbKeys.clear();
    key = new Fips46Key(key16);
    ecbKeys.set(id, key);
  }
  return key;
}

/**
 * Two-key 3DES (EDE, K_L ‖ K_R) encryption of whole 8-byte blocks in ECB mode, each block on
 * its own (the same as des3EncryptBlock on each).
 * Throws RangeError on a key that is not 16 bytes or data that is not whole blocks.
 */
export function des3EncryptEcb(key16: Uint8Array, blocks: Uint8Array): Uint8Array {
  checkLength('3DES key', key16, DES3_KEY_BYTES);
  if (blocks.length % DES_BLOCK_BYTES !== 0) {
    throw new RangeError(`3DES data: ${blocks.length} bytes, not whole blocks`);
  }
  const key = des3Key(key16);
  const out = new Uint8Array(blocks.length);
  for (let at = 0; at < blocks.length; at += DES_BLOCK_BYTES) key.encryptBlock(blocks, at, out, at);
  return out;
}

/**
 * Two-key 3DES (EDE, K_L ‖ K_R) encryption of one 8-byte block (des3EncryptEcb's cipher).
 * Throws RangeError on a key that is not 16 bytes or a block that is not 8 bytes.
 */
export function des3EncryptBlock(key16: Uint8Array, block: Uint8Array): Uint8Array {
  checkLength('3DES block', block, DES_BLOCK_BYTES);
  return des3EncryptEcb(key16, block);
}

/**
 * Single-DES encryption of one block (the same as EDE with K1 = K2).
 * Throws RangeError on a key that is not 8 bytes or a block that is not 8 bytes.
 */
export function desEncryptBlock(key8: Uint8Array, block: Uint8Array): Uint8Array {
  checkLength('DES key', key8, DES_BLOCK_BYTES);
  checkLength('DES block', block, DES_BLOCK_BYTES);
  const out = new Uint8Array(DES_BLOCK_BYTES);
  new Fips46Key(key8).encryptBlock(block, 0, out, 0);
  return out;
}

/** ISO 9797-1 padding method 2: append 80, then 00 up to a multiple of 8 bytes (always pads). */
export function iso9797Pad2(data: Uint8Array): Uint8Array {
  const padded = new Uint8Array((Math.floor(data.length / DES_BLOCK_BYTES) + 1) * DES_BLOCK_BYTES);
  padded.set(data);
  padded[data.length] = 0x80;
  return padded;
}

/**
 * The last block of single-DES CBC under `key8` (8 bytes) over padded[0, end) (whole blocks)
 * from `iv` (`iv` when `end` is 0): the chaining value of ISO 9797-1 MAC algorithms 1 and 3.
 */
export function desCbcLastBlock(
  key8: Uint8Array,
  padded: Uint8Array,
  iv: Uint8Array,
  end: number,
): Uint8Array {
  if (end === 0) return iv;
  const key = new Fips46Key(key8);
  const chain = iv.slice(0, DES_BLOCK_BYTES);
  for (let at = 0; at < end; at += DES_BLOCK_BYTES) {
    for (let j = 0; j < DES_BLOCK_BYTES; j += 1) {
      chain[j] = (chain[j] ?? 0) ^ (padded[at + j] ?? 0);
    }
    key.encryptBlock(chain, 0, chain, 0);
  }
  return chain;
}

/**
 * ISO 9797-1 MAC algorithm 1 with DES and padding method 2 (plain CBC-MAC): the PBOC e-purse
 * MAC under a single-DES session key (MAC1, MAC2, TAC). Returns the full 8-byte last block;
 * callers keep the leftmost 4 bytes (`EPURSE_MAC_BYTES`).
 * Throws RangeError on a key that is not 8 bytes or an IV that is not 8 bytes.
 */
export function iso9797Mac1Des(
  key8: Uint8Array,
  data: Uint8Array,
  iv: Uint8Array = new Uint8Array(DES_BLOCK_BYTES),
): Uint8Array {
  checkLength('MAC key', key8, DES_BLOCK_BYTES);
  checkLength('MAC IV', iv, DES_BLOCK_BYTES);
  const padded = iso9797Pad2(data);
  return desCbcLastBlock(key8, padded, iv, padded.length);
}

/**
 * ISO 9797-1 MAC algorithm 3 (retail MAC) with padding method 2: DES CBC under K_L, then 3DES
 * (K_L, K_R) on the last block. The PBOC MAC under a 16-byte key (line protection, for
 * instance APPLICATION BLOCK, domain.md 7.6). Returns 8 bytes; callers truncate.
 * Throws RangeError on a key that is not 16 bytes or an IV that is not 8 bytes.
 */
export function iso9797Mac3(
  key16: Uint8Array,
  data: Uint8Array,
  iv: Uint8Array = new Uint8Array(DES_BLOCK_BYTES),
): Uint8Array {
  checkLength('MAC key', key16, DES3_KEY_BYTES);
  checkLength('MAC IV', iv, DES_BLOCK_BYTES);
  const padded = iso9797Pad2(data);
  const lastAt = padded.length - DES_BLOCK_BYTES;
  const chain = desCbcLastBlock(key16.subarray(0, DES_BLOCK_BYTES), padded, iv, lastAt);
  const x = new Uint8Array(DES_BLOCK_BYTES);
  for (let j = 0; j < DES_BLOCK_BYTES; j += 1) x[j] = (chain[j] ?? 0) ^ (padded[lastAt + j] ?? 0);
  return des3EncryptBlock(key16, x);
}

/**
 * One level of PBOC key diversification: K_L = 3DES(MK, D), K_R = 3DES(MK, NOT D), where D is
 * the 8-byte diversification factor. [I: the PBOC e-purse rule; JT/T 978 not public]
 * Throws RangeError on a master key that is not 16 bytes or a factor that is not 8 bytes.
 */
export function diversifyKey(master16: Uint8Array, factor8: Uint8Array): Uint8Array {
  checkLength('diversification factor', factor8, DES_BLOCK_BYTES);
  // Both halves in one ECB pass: block 0 gives K_L, block 1 K_R.
  const blocks = new Uint8Array(DES3_KEY_BYTES);
  blocks.set(factor8, 0);
  for (let j = 0; j < DES_BLOCK_BYTES; j += 1) {
    blocks[DES_BLOCK_BYTES + j] = (factor8[j] ?? 0) ^ 0xff;
  }
  return des3EncryptEcb(master16, blocks);
}

/**
 * The card's own key (DPK purchase key, DTK TAC key, ...) from the issuer's master key of that
 * use: one diversification by the rightmost 8 bytes of the 10-byte application serial number of
 * file 0015 (domain.md 7.1; the same 8 bytes the terminal sends in INIT SAM FOR PURCHASE, 7.4
 * step 3). [I: which 8 bytes, and one level under the issuer master key]
 * Throws RangeError on a key that is not 16 bytes or a serial that is not 8 or 10 bytes.
 */
export function cardKeyFromIssuerMaster(
  issuerMaster16: Uint8Array,
  applicationSerial: Uint8Array,
): Uint8Array {
  if (applicationSerial.length !== 8 && applicationSerial.length !== 10) {
    throw new RangeError(`application serial: ${applicationSerial.length} bytes, expected 8 or 10`);
  }
  return diversifyKey(issuerMaster16, applicationSerial.subarray(applicationSerial.length - 8));
}

/**
 * The issuer's master key from a root master key held by a PSAM that serves every issuer:
 * one diversification by the 8-byte issuer id of file 0015 (sent in INIT SAM FOR PURCHASE,
 * domain.md 7.4 step 3). [I: two-level derivation root → issuer → card]
 * Throws RangeError on a key that is not 16 bytes or an issuer id that is not 8 bytes.
 */
export function issuerMasterFromRoot(root16: Uint8Array, issuerId8: Uint8Array): Uint8Array {
  return diversifyKey(root16, issuerId8);
}

/** Inputs of the purchase session key, JR/T 0025 e-purse purchase. */
export interface PurchaseSessionInput {
  /** The card's pseudo-random number from INITIALIZE FOR PURCHASE (4 bytes). */
  readonly cardRandom: Uint8Array;
  /** The card's offline transaction serial (ATC) from INITIALIZE FOR PURCHASE, 0..65535. */
  readonly offlineSerial: number;
  /** The PSAM's terminal transaction serial, 0..2^32-1 (its rightmost 2 bytes are used). */
  readonly terminalSerial: number;
}

function u16(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`u16 ${value}`);
  return Uint8Array.of(value >>> 8, value & 0xff);
}

/**
 * 4-byte big-endian binary (JT/T 978 amounts and serials are binary, domain.md 7).
 * Throws RangeError on a value outside 0..2^32-1.
 */
export function u32Bytes(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`u32 ${value}`);
  }
  return Uint8Array.of(value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

/**
 * The single-DES purchase session key SESPK = 3DES(DPK, card random (4) ‖ offline serial (2) ‖
 * rightmost 2 bytes of the terminal transaction serial). [I: JR/T 0025 e-purse purchase session
 * key; the inputs are those INITIALIZE FOR PURCHASE and INIT SAM FOR PURCHASE exchange, 7.4]
 * Throws RangeError on a key that is not 16 bytes, a random that is not 4 bytes, or a serial
 * out of range.
 */
export function purchaseSessionKey(dpk16: Uint8Array, input: PurchaseSessionInput): Uint8Array {
  checkLength('card random', input.cardRandom, 4);
  const block = new Uint8Array(DES_BLOCK_BYTES);
  block.set(input.cardRandom, 0);
  block.set(u16(input.offlineSerial), 4);
  block.set(u32Bytes(input.terminalSerial).subarray(2), 6);
  return des3EncryptBlock(dpk16, block);
}

/** The terminal's data that MAC1 and TAC cover. */
export interface PurchaseTerminalData {
  /** Amount in fen, binary (domain.md 7: not BCD). */
  readonly amountMinor: number;
  /** `TRANSACTION_TYPE_09_COMPOUND_PURCHASE` or `TRANSACTION_TYPE_06_PURCHASE`. */
  readonly transactionType: number;
  /** The PSAM's terminal number, file 0016 (6 bytes). */
  readonly terminalNumber: Uint8Array;
  /** Date and time YYYYMMDDhhmmss, BCD (7 bytes), as sent in INIT SAM and DEBIT. */
  readonly dateTime: Uint8Array;
}

function terminalFields(data: PurchaseTerminalData, terminalSerial?: number): Uint8Array {
  checkLength('terminal number', data.terminalNumber, 6);
  checkLength('date-time', data.dateTime, 7);
  if (!Number.isInteger(data.transactionType) || data.transactionType < 0) {
    throw new RangeError(`transaction type ${data.transactionType}`);
  }
  if (data.transactionType > 0xff) throw new RangeError(`transaction type ${data.transactionType}`);
  const serial = terminalSerial === undefined ? new Uint8Array(0) : u32Bytes(terminalSerial);
  const out = new Uint8Array(4 + 1 + 6 + serial.length + 7);
  out.set(u32Bytes(data.amountMinor), 0);
  out[4] = data.transactionType;
  out.set(data.terminalNumber, 5);
  out.set(serial, 11);
  out.set(data.dateTime, 11 + serial.length);
  return out;
}

/**
 * The MAC1 input: amount (4) ‖ transaction type (1) ‖ terminal number (6) ‖ date (4) ‖ time (3).
 * [I: JR/T 0025 e-purse MAC1; every field is one INIT SAM FOR PURCHASE carries, domain.md 7.4]
 * Throws RangeError on a field of the wrong size or range.
 */
export function mac1Input(data: PurchaseTerminalData): Uint8Array {
  return terminalFields(data);
}

/**
 * MAC1, computed by the PSAM (answer to INIT SAM FOR PURCHASE) and checked by the card in
 * DEBIT FOR PURCHASE (domain.md 7.4 steps 3 and 6): the leftmost 4 bytes of ISO 9797-1 MAC 1
 * under the session key over `mac1Input`, IV zero.
 * Throws RangeError on a session key that is not 8 bytes or a bad field.
 */
export function computeMac1(sessionKey8: Uint8Array, data: PurchaseTerminalData): Uint8Array {
  return iso9797Mac1Des(sessionKey8, mac1Input(data)).slice(0, EPURSE_MAC_BYTES);
}

/**
 * MAC2, computed by the card (answer to DEBIT FOR PURCHASE) and checked by the PSAM in CREDIT
 * SAM FOR PURCHASE (7.4 steps 6-7): leftmost 4 bytes of MAC 1 under the session key over the
 * amount (4). [I: JR/T 0025 e-purse MAC2]
 * Throws RangeError on a session key that is not 8 bytes or an amount out of range.
 */
export function computeMac2(sessionKey8: Uint8Array, amountMinor: number): Uint8Array {
  return iso9797Mac1Des(sessionKey8, u32Bytes(amountMinor)).slice(0, EPURSE_MAC_BYTES);
}

/**
 * The single-DES TAC key: the card's 16-byte DTK with its halves XORed (K_L XOR K_R).
 * [I: JR/T 0025 e-purse TAC key] Throws RangeError on a key that is not 16 bytes.
 */
export function tacKey(dtk16: Uint8Array): Uint8Array {
  checkLength('DTK', dtk16, DES3_KEY_BYTES);
  const out = new Uint8Array(DES_BLOCK_BYTES);
  for (let j = 0; j < DES_BLOCK_BYTES; j += 1) {
    out[j] = (dtk16[j] ?? 0) ^ (dtk16[j + DES_BLOCK_BYTES] ?? 0);
  }
  return out;
}

/**
 * The TAC input: amount (4) ‖ type (1) ‖ terminal number (6) ‖ terminal transaction serial (4)
 * ‖ date (4) ‖ time (3). [I: JR/T 0025 e-purse TAC] Throws RangeError on a bad field.
 */
export function tacInput(data: PurchaseTerminalData, terminalSerial: number): Uint8Array {
  return terminalFields(data, terminalSerial);
}

/**
 * TAC, computed by the card in DEBIT FOR PURCHASE (and again for GET TRANSACTION PROOF, 7.5);
 * verified only by the clearing centre (the PSAM cannot, 7.5): leftmost 4 bytes of MAC 1 under
 * `tacKey(DTK)` over `tacInput`, IV zero.
 * Throws RangeError on a DTK that is not 16 bytes or a bad field.
 */
export function computeTac(
  dtk16: Uint8Array,
  data: PurchaseTerminalData,
  terminalSerial: number,
): Uint8Array {
  return iso9797Mac1Des(tacKey(dtk16), tacInput(data, terminalSerial)).slice(0, EPURSE_MAC_BYTES);
}
