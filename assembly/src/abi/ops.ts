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
 *  Output: the concatenated DOL data. */
export const OP_DOL_BUILD: u32 = 0x12;
/** Input: CLA INS P1 P2 then command data. arg: bit 16 = Le present, bits 0-8 = Le (1..256).
 *  Output: the short C-APDU (cases 1-4). */
export const OP_APDU_BUILD: u32 = 0x13;
/** Input: a short C-APDU. Output: case (1 byte), CLA INS P1 P2, Lc (1), Le (2 BE, 0 = absent). */
export const OP_APDU_PARSE_COMMAND: u32 = 0x14;
/** Input: an R-APDU. Output: SW1, SW2, SW class (1 byte), data length (2 BE). */
export const OP_APDU_PARSE_RESPONSE: u32 = 0x15;

// Transaction (assembly/src/abi/txn_ops.ts; layouts in assembly/README.md, Transaction ABI).
/** Input: terminal configuration as BER-TLV (country, currency, limit, AID table, extras). */
export const OP_TXN_CONFIGURE: u32 = 0x50;
/** arg: mode (0 EC, 1 ODA). Input: 9F02(6) 9A(3) 9F21(3) 9F37(4) 9C(1). Output: C-APDU. */
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
