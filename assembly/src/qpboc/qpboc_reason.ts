// Reason codes of qPBOC outcomes (byte 1 of the outcome header): what the firmware displays.
//
// Every line of the form `export const REASON_NAME: u8 = value;` is part of the ABI; the host
// mirror (assembly/host/qpboc_session.ts) is checked against this file by a test.

export const REASON_NONE: u8 = 0;
/** Electronic cash: the card returned TC, ODA passed. */
export const REASON_OFFLINE_APPROVED: u8 = 1;
/** ODA transit mode: the card returned ARQC, fDDA passed; authorise later. */
export const REASON_ODA_ADMITTED: u8 = 2;
/** Stock card, full contactless PBOC flow: SDA/DDA/CDA passed, ARQC kept; authorise later. */
export const REASON_FULL_FLOW_ADMITTED: u8 = 3;

// Declines (STATUS_DECLINED).
/** The card returned AAC (CVR in 9F10). */
export const REASON_CARD_DECLINED: u8 = 10;
/** The card asked for ARQC and the terminal is offline-only (EC mode). */
export const REASON_ONLINE_REQUIRED: u8 = 11;
/** ODA ran and failed (outcome detail = the ODA status). */
export const REASON_ODA_FAILED: u8 = 12;
/** ODA could not run: no AFL, no SDAD or certificates, or bad static data. */
export const REASON_ODA_DATA_MISSING: u8 = 13;
/** The AIP offers neither DDA nor SDA. */
export const REASON_ODA_NOT_SUPPORTED: u8 = 14;
/** 5F24 (or the track 2 expiry) is before the transaction date. */
export const REASON_EXPIRED: u8 = 15;
/** 5F25 is after the transaction date. */
export const REASON_NOT_YET_EFFECTIVE: u8 = 16;
/** Host decision: deny list (PAN + PSN). */
export const REASON_DENY_LIST: u8 = 17;
/** Host decision: the same card was just charged. */
export const REASON_DUPLICATE_TAP: u8 = 18;
/** Host decision: refused for another reason (fare rule, maintenance). */
export const REASON_HOST_REFUSED: u8 = 19;
/** ODA mode: the card approved offline (TC) instead of the ARQC the terminal asked for. */
export const REASON_CRYPTOGRAM_NOT_ARQC: u8 = 20;
/** PAN of 57 and 5A disagree, or track 2 is unusable. */
export const REASON_CARD_DATA_INCONSISTENT: u8 = 21;
/** The card answered the commit (last READ RECORD) with data the kernel cannot use. */
export const REASON_CARD_DATA_INVALID: u8 = 22;
/** Not enough e-cash (balance below the fare) and no other way to pay in this mode. */
export const REASON_INSUFFICIENT_ECASH: u8 = 23;
/** The e-cash balance (9F5D/9F79) is beyond the e-cash limit or not BCD: refused, not shown. */
export const REASON_ECASH_BALANCE_INVALID: u8 = 24;

// Try again / other interface / not accepted.
/** The link failed before anything was staged on the card. */
export const REASON_LINK_LOST: u8 = 30;
/** GPO answered 6984: the card wants another interface. */
export const REASON_USE_ANOTHER_INTERFACE: u8 = 31;
/** No PPSE entry (or direct selection) matched an accepted AID, or all were refused. */
export const REASON_NO_ACCEPTED_APP: u8 = 40;
/** SELECT PPSE failed with a status other than 6A82. */
export const REASON_PPSE_FAILED: u8 = 41;
/** The amount reaches the configured contactless transaction limit (DF20). */
export const REASON_AMOUNT_OVER_LIMIT: u8 = 42;
/** GPO format 1: the card wants the full contactless PBOC flow (GENERATE AC). */
export const REASON_FULL_FLOW_REQUIRED: u8 = 43;
/** This kind of card cannot pay in this mode (an online-only card or phone in an EC lane). */
export const REASON_KIND_NOT_ACCEPTED: u8 = 44;

// Recovery (STATUS_RECOVERY_NOT_PENDING).
/** GET DATA 9F36 returned another ATC: a transaction ran since the tear. */
export const REASON_ATC_MISMATCH: u8 = 50;
/** The card did not return its ATC (GET DATA 9F36 refused or malformed). */
export const REASON_ATC_UNAVAILABLE: u8 = 51;
/** SELECT or READ RECORD was refused: nothing pending on this card. */
export const REASON_RECOVERY_REFUSED: u8 = 52;
/** A re-read record carries another PAN: another card. */
export const REASON_PAN_MISMATCH: u8 = 53;
