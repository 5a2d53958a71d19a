// Operation codes of shuaka_step: the single source; gen_abi.mjs generates the host enum.
//
// Every line of the form `export const OP_NAME: u32 = value;` is part of the ABI.
// 0x00-0x0F kernel info; 0x10-0x2F codecs; 0x30-0x4F crypto and ODA; 0x50-0x7F transaction.

/** Output: u32 BE ABI version, u32 BE input capacity, u32 BE output capacity. */
export const OP_INFO: u32 = 0x00;
/** Traps on purpose so a host can prove its trap recovery (a watchdog self-test). */
export const OP_FAULT_INJECT: u32 = 0x0f;

/** Input: BER-TLV bytes. Output: one 12-byte entry per object, in document order. */
export const OP_TLV_PARSE: u32 = 0x10;
/** Input: BER-TLV bytes. Output: u32 BE count of objects (a walk that stores nothing). */
export const OP_TLV_WALK: u32 = 0x16;
/** Input: tag path (BER tags back to back, arg = path byte length) then TLV bytes.
 *  Output: the value of the first object at that path. */
export const OP_TLV_FIND: u32 = 0x11;
/** Input: DOL (arg = its byte length) then BER-TLV terminal data supplying values.
 *  Output: the concatenated DOL data. arg bit 31: the input is the DOL only, and the terminal
 *  data stored by the previous OP_DOL_BUILD is used again. */
export const OP_DOL_BUILD: u32 = 0x12;
/** Input: CLA INS P1 P2 then command data. arg: bit 16 = Le present, bits 0-8 = Le (1..256).
 *  Output: the short C-APDU (cases 1-4). */
export const OP_APDU_BUILD: u32 = 0x13;
/** Input: a short C-APDU. Output: case (1 byte), CLA INS P1 P2, Lc (1), Le (2 BE, 0 = absent). */
export const OP_APDU_PARSE_COMMAND: u32 = 0x14;
/** Input: an R-APDU. Output: SW1, SW2, SW class (1 byte), data length (2 BE). */
export const OP_APDU_PARSE_RESPONSE: u32 = 0x15;

// Crypto and ODA (assembly/src/abi/crypto_ops.ts). OP_SHA1 / OP_RSA_PUBLIC: arg = repetitions
// (0 = once, at most 100000) so a benchmark can time the kernel without the boundary. ODA ops:
// arg bits 0-15 = length of the static data that prefixes the TLV input (skipped by the ops
// that do not hash it), bits 16-31 = repetitions (OP_ODA_RECOVER_ISSUER, _FDDA, _SDA).
/** Input: the message. Output: its SHA-1 (20 bytes). arg: repetitions. */
export const OP_SHA1: u32 = 0x30;
/** Input: modulus length M (u16 BE), modulus (M), exponent length E (u8), exponent (E, 3 or
 *  65537), data (M bytes). Output: data^e mod modulus (M bytes). arg: repetitions. */
export const OP_RSA_PUBLIC: u32 = 0x31;
/** Input: CA keys in UnionPay TLV form (9F06 9F22 DF05 DF06 DF07 DF02 DF04 DF03), one or more
 *  back to back. Output: one i32 BE status per key. arg 0: returns OK or the first failing
 *  status; arg 1 (list mode): returns OK when the TLV parsed, with the per-key statuses. */
export const OP_CAPK_LOAD: u32 = 0x32;
/** Forgets every CA key, every revoked certificate and the recovered ODA keys (no I/O). */
export const OP_CAPK_CLEAR: u32 = 0x33;
/** Input: n x 9 bytes: RID (5), CA index (1), issuer certificate serial (3). */
export const OP_CAPK_REVOKE: u32 = 0x34;
/** Output: 16 bytes per stored key: RID (5), index (1), modulus length (u16 BE), exponent
 *  (u32 BE), expiry (BCD YYYYMMDD, 4). */
export const OP_CAPK_LIST: u32 = 0x35;
/** Input: TLV with 9F06 (or 4F/84: RID = first 5 bytes), 8F, 90, 92, 9F32, 5A (or 57), 9A.
 *  Output: the issuer public key modulus. */
export const OP_ODA_RECOVER_ISSUER: u32 = 0x38;
/** arg = static data length. Input: static data to be authenticated, then TLV with 9F46,
 *  9F48, 9F47, 5A (or 57), 9A. Needs a recovered issuer key. Output: the ICC modulus. */
export const OP_ODA_RECOVER_ICC: u32 = 0x39;
/** Input: TLV with 9F4B, 9F37, and for fDDA v01 9F02 5F2A 9F69; 9F36 optional (IDN check).
 *  Needs a recovered ICC key. Output: the ICC dynamic data. */
export const OP_ODA_VERIFY_SDAD: u32 = 0x3a;
/** arg = static data length. Input: static data, then TLV with 93. Needs a recovered issuer
 *  key. Output: the DAC (2 bytes). */
export const OP_ODA_VERIFY_SSAD: u32 = 0x3b;
/** Full fDDA chain. arg = static data length. Input: static data, then TLV with the RID tag,
 *  8F 90 92 9F32 9F46 9F48 9F47 9F4B 5A/57 9F36 9F37 9F02 5F2A 9F69 9A. Output: the ICC
 *  dynamic data. */
export const OP_ODA_FDDA: u32 = 0x3c;
/** Full SDA chain. arg = static data length. Input: static data, then TLV with the RID tag,
 *  8F 90 92 9F32 93 5A/57 9A. Output: the DAC (2 bytes). */
export const OP_ODA_SDA: u32 = 0x3d;

// SM3 / SM2 (assembly/src/abi/sm_ops.ts; GB/T 32905, GB/T 32918.2, domain.md 3.6).
/** Input: the message. Output: its SM3 digest (32 bytes). arg: repetitions. */
export const OP_SM3: u32 = 0x40;
/** Input: public key X || Y (64), signature r || s (64), ID length (u16 BE), ID, message.
 *  Verifies SM2 over e = SM3(Z_A || message). Output: e (32 bytes). arg: repetitions, each
 *  with the key's curve check and Z_A (a key met for the first time). */
export const OP_SM2_VERIFY: u32 = 0x41;
/** Input: public key X || Y (64), then the distinguishing ID. Output: Z_A (32 bytes). */
export const OP_SM2_ZA: u32 = 0x42;
/** Input: 02 or 03, then x (32 bytes). Output: X || Y (64 bytes). */
export const OP_SM2_DECOMPRESS: u32 = 0x43;
/** SM ODA (domain.md 3.6; layouts in assembly/src/emv/emv_oda_sm.ts). Input: ignored prefix
 *  (arg bits 0-15), TLV with 9F06 (or 4F/84), 8F, 90, 5A (or 57), 9A. The CA key must be an
 *  SM2 key. Output: the issuer public key X || Y (64 bytes). */
export const OP_ODA_SM_RECOVER_ISSUER: u32 = 0x44;
/** arg = static data length. Input: static data, then TLV with 9F46, 5A (or 57), 9A. Needs a
 *  recovered SM issuer key. Output: the ICC public key X || Y. */
export const OP_ODA_SM_RECOVER_ICC: u32 = 0x45;
/** Input: TLV with 9F4B, 9F37, and for fDDA v01 9F02 5F2A 9F69; 9F36 optional (IDN check).
 *  Needs a recovered SM ICC key. Output: the ICC dynamic data. */
export const OP_ODA_SM_VERIFY_SDAD: u32 = 0x46;
/** Full SM fDDA chain. arg bits 0-15 = static data length, 16-31 = repetitions. Input: static
 *  data, then TLV with the RID tag, 8F 90 9F46 9F4B 5A/57 9F36 9F37 9F02 5F2A 9F69 9A.
 *  Output: the ICC dynamic data. */
export const OP_ODA_SM_FDDA: u32 = 0x47;

// Transaction (assembly/src/abi/txn_ops.ts; layouts in assembly/README.md, Transaction ABI).
/** Input: terminal configuration as BER-TLV (country, currency, limit, AID table, extras). */
export const OP_TXN_CONFIGURE: u32 = 0x50;
/** arg: mode (0 EC, 1 ODA, 2 auto). Input: 9F02(6) 9A(3) 9F21(3) 9F37(4) 9C(1), optionally
 *  followed by 9F41 (4, n8 transaction sequence counter). Output: C-APDU. */
export const OP_TXN_BEGIN: u32 = 0x51;
/** Input: the R-APDU (data and SW1 SW2). Output: C-APDU, decision request or outcome. */
export const OP_TXN_RESUME: u32 = 0x52;
/** arg: host decision (1 proceed, 2 deny list, 3 duplicate tap, 4 refused). */
export const OP_TXN_DECIDE: u32 = 0x53;
/** arg: link-loss cause (1 timeout, 2 card gone, 3 reader error). Output: outcome. */
export const OP_TXN_LINK_LOST: u32 = 0x54;
/** Input: a torn record from a STATUS_TORN outcome. Output: the first recovery C-APDU. */
export const OP_TXN_RECOVER: u32 = 0x55;
/** Abandons the current transaction (no output). */
export const OP_TXN_ABORT: u32 = 0x56;
/** Output: everything collected so far (E1 terminal, E2 card, E3 FCI, DF8104 static data). */
export const OP_TXN_DUMP: u32 = 0x57;
/** Output: the torn record of the transaction in flight (a write-ahead copy to journal before
 *  proceeding at the decision point). ERR_BAD_STATE outside the record phases. */
export const OP_TXN_SNAPSHOT: u32 = 0x58;

// JT/T 978 (assembly/src/jtt978; layouts in assembly/README.md, JT/T 978).
/** Input: BER-TLV DF8140 PSAM terminal number (6) and DF8141 purchase key index (1). */
export const OP_JTT978_CONFIGURE: u32 = 0x60;
