// Kernel status codes: the single source; assembly/tools/gen_abi.mjs generates the host enum.
//
// One i32 crosses the boundary (style.md 10.5). Ranges make the origin readable in a log line:
//   0 OK, > 0 continue (1..9) or final outcome (10..49),
//   -1..-19 internal/state (a bug: raise an alarm); -100s transport/TTL (bad SW, malformed
//   R-APDU); -200s card data/TAL (TLV, DOL, AFL); -300s ODA/fDDA; -400s configuration/input.
// Every line of the form `export const NAME: i32 = value;` is part of the ABI.

export const STATUS_OK: i32 = 0;

// Continue: the host has work to do before calling the kernel again.
export const STATUS_NEED_APDU: i32 = 1;
export const STATUS_NEED_HOST_DECISION: i32 = 2;
/** JT/T 978: OUT is a C-APDU for the PSAM (not the card); answer with OP_TXN_RESUME. */
export const STATUS_NEED_PSAM_APDU: i32 = 3;
/** JT/T 978: OUT is the grey record; store it durably, then OP_TXN_DECIDE 1 sends DEBIT. */
export const STATUS_NEED_PRECOMMIT: i32 = 4;

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
/** JT/T 978: the PSAM answered with the wrong data length (INIT SAM, MAC). */
export const ERR_PSAM_RESPONSE_INVALID: i32 = -110;

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

// qPBOC card data / TAL (assembly/src/qpboc): a card answer the transaction cannot use.
export const ERR_CARD_TEMPLATE: i32 = -240;
export const ERR_CARD_TRAILING_DATA: i32 = -241;
export const ERR_CARD_MANDATORY_MISSING: i32 = -242;
export const ERR_CARD_AFL_INVALID: i32 = -243;
export const ERR_CARD_RECORD_TEMPLATE: i32 = -244;
export const ERR_CARD_DATA_INVALID: i32 = -245;
export const ERR_CARD_PPSE_INVALID: i32 = -246;
export const ERR_CARD_RESPONSE_TOO_LONG: i32 = -247;
/** Full flow: the records carry no CDOL1 (8C), so GENERATE AC cannot be built. */
export const ERR_CARD_CDOL1_MISSING: i32 = -248;
/** GENERATE AC answer unusable: no CID, CID/AC/ATC of the wrong length, unknown template. */
export const ERR_CARD_GENERATE_AC_INVALID: i32 = -249;
/** 9F10 does not have the PBOC layout (07 DKI CVN 03 CVR(3) alg [len type value MAC]). */
export const ERR_CARD_IAD_LAYOUT: i32 = -250;
/** A card-sent 9F27 names another AC type than the CVR in 9F10 (or than was requested). */
export const ERR_CARD_CID_MISMATCH: i32 = -251;

// ODA / fDDA (assembly/src/emv/emv_oda.ts): EMV 4.4 Book 2 sections 5 and 6, domain.md 3.
// Certificate-specific codes name the check that failed, in the order EMV applies them.
export const ERR_ODA_CA_KEY_UNKNOWN: i32 = -300;
export const ERR_ODA_CA_KEY_EXPIRED: i32 = -301;
export const ERR_ODA_ISSUER_CERT_LENGTH: i32 = -302;
export const ERR_ODA_ISSUER_CERT_RANGE: i32 = -303;
export const ERR_ODA_ISSUER_CERT_HEADER: i32 = -304;
export const ERR_ODA_ISSUER_CERT_TRAILER: i32 = -305;
export const ERR_ODA_ISSUER_CERT_FORMAT: i32 = -306;
export const ERR_ODA_ISSUER_HASH_ALGORITHM: i32 = -307;
export const ERR_ODA_ISSUER_PK_ALGORITHM: i32 = -308;
export const ERR_ODA_ISSUER_PK_LENGTH: i32 = -309;
export const ERR_ODA_ISSUER_REMAINDER_MISSING: i32 = -310;
export const ERR_ODA_ISSUER_REMAINDER_LENGTH: i32 = -311;
export const ERR_ODA_ISSUER_EXPONENT: i32 = -312;
export const ERR_ODA_ISSUER_HASH: i32 = -313;
export const ERR_ODA_ISSUER_ID_MISMATCH: i32 = -314;
export const ERR_ODA_ISSUER_CERT_EXPIRED: i32 = -315;
export const ERR_ODA_ISSUER_CERT_REVOKED: i32 = -316;
export const ERR_ODA_ISSUER_CERT_DATE_INVALID: i32 = -317;
export const ERR_ODA_ISSUER_KEY_MISSING: i32 = -318;
export const ERR_ODA_ICC_CERT_LENGTH: i32 = -320;
export const ERR_ODA_ICC_CERT_RANGE: i32 = -321;
export const ERR_ODA_ICC_CERT_HEADER: i32 = -322;
export const ERR_ODA_ICC_CERT_TRAILER: i32 = -323;
export const ERR_ODA_ICC_CERT_FORMAT: i32 = -324;
export const ERR_ODA_ICC_HASH_ALGORITHM: i32 = -325;
export const ERR_ODA_ICC_PK_ALGORITHM: i32 = -326;
export const ERR_ODA_ICC_PK_LENGTH: i32 = -327;
export const ERR_ODA_ICC_REMAINDER_MISSING: i32 = -328;
export const ERR_ODA_ICC_REMAINDER_LENGTH: i32 = -329;
export const ERR_ODA_ICC_EXPONENT: i32 = -330;
export const ERR_ODA_ICC_HASH: i32 = -331;
export const ERR_ODA_ICC_PAN_MISMATCH: i32 = -332;
export const ERR_ODA_ICC_CERT_EXPIRED: i32 = -333;
export const ERR_ODA_ICC_CERT_DATE_INVALID: i32 = -334;
export const ERR_ODA_ICC_KEY_MISSING: i32 = -335;
export const ERR_ODA_SSAD_LENGTH: i32 = -340;
export const ERR_ODA_SSAD_RANGE: i32 = -341;
export const ERR_ODA_SSAD_HEADER: i32 = -342;
export const ERR_ODA_SSAD_TRAILER: i32 = -343;
export const ERR_ODA_SSAD_FORMAT: i32 = -344;
export const ERR_ODA_SSAD_HASH_ALGORITHM: i32 = -345;
export const ERR_ODA_SSAD_HASH: i32 = -346;
export const ERR_ODA_SDAD_LENGTH: i32 = -350;
export const ERR_ODA_SDAD_RANGE: i32 = -351;
export const ERR_ODA_SDAD_HEADER: i32 = -352;
export const ERR_ODA_SDAD_TRAILER: i32 = -353;
export const ERR_ODA_SDAD_FORMAT: i32 = -354;
export const ERR_ODA_SDAD_HASH_ALGORITHM: i32 = -355;
export const ERR_ODA_SDAD_DYNAMIC_LENGTH: i32 = -356;
export const ERR_ODA_SDAD_HASH: i32 = -357;
export const ERR_ODA_SDAD_IDN_MISMATCH: i32 = -358;
export const ERR_ODA_FDDA_VERSION: i32 = -359;
export const ERR_ODA_TERMINAL_DATA: i32 = -360;
export const ERR_ODA_TRANSACTION_DATE: i32 = -361;
export const ERR_ODA_PAN_INVALID: i32 = -362;
/** DDA: the INTERNAL AUTHENTICATE answer is not 80 {SDAD} or 77 {9F4B}. */
export const ERR_ODA_DDA_RESPONSE: i32 = -363;
/** DDA: the DDOL (9F49, else the default DDOL) is malformed or lacks 9F37 (Book 2, 6.5.1). */
export const ERR_ODA_DDOL_INVALID: i32 = -364;
/** CDA: the CID in the ICC dynamic data differs from the 9F27 of GENERATE AC (Book 2, 6.6.2). */
export const ERR_ODA_CDA_CID_MISMATCH: i32 = -365;
/** CDA: the transaction data hash code in the ICC dynamic data is wrong (Book 2, 6.6.2). */
export const ERR_ODA_CDA_HASH_CODE: i32 = -366;
/** CDA: an ARQC or TC came back without its SDAD (9F4B) although CDA was requested. */
export const ERR_ODA_CDA_SDAD_ABSENT: i32 = -367;
/** CDA: the ICC dynamic data is too short for IDN, CID, AC and hash code. */
export const ERR_ODA_CDA_DYNAMIC_DATA: i32 = -368;
export const ERR_ODA_CA_INDEX_MISSING: i32 = -370;
export const ERR_ODA_RID_MISSING: i32 = -371;
export const ERR_ODA_ISSUER_CERT_MISSING: i32 = -372;
export const ERR_ODA_ISSUER_EXPONENT_MISSING: i32 = -373;
export const ERR_ODA_ICC_CERT_MISSING: i32 = -374;
export const ERR_ODA_ICC_EXPONENT_MISSING: i32 = -375;
export const ERR_ODA_SDAD_MISSING: i32 = -376;
export const ERR_ODA_SSAD_MISSING: i32 = -377;
export const ERR_ODA_PAN_MISSING: i32 = -378;
export const ERR_ODA_ATC_MISSING: i32 = -379;
// SM2 primitive (assembly/src/crypto/sm2.ts; GB/T 32918.2) and SM ODA (emv_oda_sm.ts,
// domain.md 3.6). SM certificate checks that mean what an RSA check means reuse its code.
export const ERR_SM2_POINT_INVALID: i32 = -380;
export const ERR_SM2_SIGNATURE_RANGE: i32 = -381;
export const ERR_SM2_SIGNATURE_INVALID: i32 = -382;
export const ERR_SM2_ID_LENGTH: i32 = -383;
export const ERR_SM2_INPUT_MALFORMED: i32 = -384;
export const ERR_ODA_SM_ISSUER_SIGNATURE: i32 = -385;
export const ERR_ODA_SM_ICC_SIGNATURE: i32 = -386;
export const ERR_ODA_SM_SDAD_SIGNATURE: i32 = -387;
export const ERR_ODA_SM_KEY_INVALID: i32 = -388;
export const ERR_ODA_SM_CA_KEY_TYPE: i32 = -389;
// RSA primitive (assembly/src/crypto/rsa.ts): key or input unusable.
export const ERR_RSA_MODULUS_LENGTH: i32 = -390;
export const ERR_RSA_MODULUS_INVALID: i32 = -391;
export const ERR_RSA_EXPONENT_UNSUPPORTED: i32 = -392;
export const ERR_RSA_INPUT_LENGTH: i32 = -393;
export const ERR_RSA_INPUT_RANGE: i32 = -394;
export const ERR_RSA_INPUT_MALFORMED: i32 = -395;

// Configuration: CA public keys and their revocation list (assembly/src/emv/emv_capk.ts).
export const ERR_CAPK_CHECK_VALUE: i32 = -400;
export const ERR_CAPK_CHECK_VALUE_MISSING: i32 = -401;
export const ERR_CAPK_MALFORMED: i32 = -402;
export const ERR_CAPK_RID_INVALID: i32 = -403;
export const ERR_CAPK_INDEX_INVALID: i32 = -404;
export const ERR_CAPK_MODULUS_INVALID: i32 = -405;
export const ERR_CAPK_EXPONENT_UNSUPPORTED: i32 = -406;
export const ERR_CAPK_HASH_ALGORITHM: i32 = -407;
export const ERR_CAPK_PK_ALGORITHM: i32 = -408;
export const ERR_CAPK_EXPIRY_INVALID: i32 = -409;
export const ERR_CAPK_STORE_FULL: i32 = -410;
export const ERR_CAPK_REVOCATION_FULL: i32 = -411;
export const ERR_CAPK_REVOCATION_MALFORMED: i32 = -412;
export const ERR_CAPK_SM2_KEY_INVALID: i32 = -413;

// Transaction configuration and host input (assembly/src/abi/txn_ops.ts, assembly/src/qpboc).
export const ERR_TXN_CONFIG_INVALID: i32 = -470;
export const ERR_TXN_CONFIG_NO_AID: i32 = -471;
export const ERR_TXN_NOT_CONFIGURED: i32 = -472;
export const ERR_TXN_INPUT_INVALID: i32 = -473;
export const ERR_TXN_DECISION_INVALID: i32 = -474;
export const ERR_TXN_TORN_RECORD_INVALID: i32 = -475;
/** JT/T 978: no PSAM configured (OP_JTT978_CONFIGURE). */
export const ERR_JTT978_NOT_CONFIGURED: i32 = -476;
/** JT/T 978: the purchase input of OP_TXN_DECIDE is malformed (state kept). */
export const ERR_JTT978_PURCHASE_INVALID: i32 = -477;
