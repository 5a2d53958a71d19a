// Kernel status codes: the single source; assembly/tools/gen_abi.mjs generates the host enum.
//
// One i32 crosses the boundary (style.md 10.5). Ranges make the origin readable in a log line:
//   0 OK; > 0 continue (1..9) or final outcome (10..49);
//   -1..-19 internal/state (a bug: raise an alarm); -100s transport/TTL (bad SW, malformed
//   R-APDU); -200s card data/TAL (TLV, DOL, AFL); -300s ODA/fDDA; -400s configuration/input.
// Every line of the form `export const NAME: i32 = value;` is part of the ABI.

export const STATUS_OK: i32 = 0;

// Continue: the host has work to do before calling the kernel again.
export const STATUS_NEED_APDU: i32 = 1;
export const STATUS_NEED_HOST_DECISION: i32 = 2;

// Final outcomes.
export const STATUS_APPROVED_OFFLINE: i32 = 10;
export const STATUS_ADMITTED_PENDING_AUTH: i32 = 11;
export const STATUS_DECLINED: i32 = 12;
export const STATUS_TRY_AGAIN: i32 = 13;
export const STATUS_TRY_ANOTHER_INTERFACE: i32 = 14;
export const STATUS_NOT_ACCEPTED: i32 = 15;
export const STATUS_TORN: i32 = 16;
export const STATUS_RECOVERY_NOT_PENDING: i32 = 17;

// Internal or state errors: the host called out of order or the kernel hit a bug.
export const ERR_INTERNAL: i32 = -1;
export const ERR_BAD_STATE: i32 = -2;
export const ERR_UNKNOWN_OP: i32 = -3;
export const ERR_KERNEL_FAULT: i32 = -4;
export const ERR_INPUT_TOO_LONG: i32 = -5;
export const ERR_OUTPUT_TOO_SMALL: i32 = -6;

// Transport / TTL: the R-APDU itself is unusable.
export const ERR_RAPDU_TOO_SHORT: i32 = -100;
export const ERR_RAPDU_TOO_LONG: i32 = -101;
export const ERR_SW_UNEXPECTED: i32 = -102;
export const ERR_APDU_DATA_TOO_LONG: i32 = -103;
export const ERR_APDU_LE_INVALID: i32 = -104;
export const ERR_CAPDU_MALFORMED: i32 = -105;
export const ERR_GET_RESPONSE_LOOP: i32 = -106;

// Card data / TAL: BER-TLV, DOL and record structure.
export const ERR_TLV_TAG_TRUNCATED: i32 = -200;
export const ERR_TLV_TAG_TOO_LONG: i32 = -201;
export const ERR_TLV_LENGTH_TRUNCATED: i32 = -202;
export const ERR_TLV_LENGTH_INDEFINITE: i32 = -203;
export const ERR_TLV_LENGTH_TOO_LONG: i32 = -204;
export const ERR_TLV_LENGTH_OVERFLOW: i32 = -205;
export const ERR_TLV_DEPTH_EXCEEDED: i32 = -206;
export const ERR_TLV_TOO_MANY_OBJECTS: i32 = -207;
export const ERR_TLV_NOT_FOUND: i32 = -208;
export const ERR_TLV_NOT_CONSTRUCTED: i32 = -209;
export const ERR_TLV_STORE_FULL: i32 = -210;
export const ERR_TLV_DUPLICATE: i32 = -211;
export const ERR_TLV_PATH_INVALID: i32 = -212;
export const ERR_DOL_MALFORMED: i32 = -220;
export const ERR_DOL_TOO_MANY_ENTRIES: i32 = -221;
export const ERR_DOL_TOO_LONG: i32 = -222;
export const ERR_DOL_ENTRY_TOO_LONG: i32 = -223;
