// Reason codes of JT/T 978 outcomes (outcome header byte 1): why the kernel ended as it did.
//
// Mirrored by JTT978_REASONS in assembly/host/jtt978_session.ts (a test keeps them in step).

export const JREASON_APPROVED: u8 = 1;
export const JREASON_EXPIRED: u8 = 15;
export const JREASON_NOT_YET_EFFECTIVE: u8 = 16;
/** Host decision: deny list (the application was blocked, or blocking failed: see detail). */
export const JREASON_DENY_LIST: u8 = 17;
export const JREASON_DUPLICATE_TAP: u8 = 18;
export const JREASON_HOST_REFUSED: u8 = 19;
/** A card answer the transaction cannot use (detail = the status). */
export const JREASON_CARD_DATA_INVALID: u8 = 22;
/** Balance below the amount (GET BALANCE, or INITIALIZE FOR PURCHASE 9401). */
export const JREASON_INSUFFICIENT_BALANCE: u8 = 23;
/** SELECT answered 6283 (application blocked, PBOC e-purse). */
export const JREASON_CARD_BLOCKED: u8 = 25;
/** The card refused INITIALIZE, UPDATE CAPP DATA CACHE or DEBIT (detail = SW; 9302 = MAC1). */
export const JREASON_CARD_REFUSED: u8 = 26;
/** The PSAM refused or answered badly (detail = SW or status): nothing debited. */
export const JREASON_PSAM_REFUSED: u8 = 28;
/** CREDIT SAM FOR PURCHASE refused the card's MAC2: the debit is not authenticated. */
export const JREASON_MAC2_INVALID: u8 = 29;
export const JREASON_LINK_LOST: u8 = 30;
/** Recovery: the balance is unchanged, the card was not debited (run the purchase again). */
export const JREASON_NOT_DEBITED: u8 = 50;
/** Recovery: GET TRANSACTION PROOF refused (detail = SW; 6985: no proof). */
export const JREASON_PROOF_UNAVAILABLE: u8 = 51;
export const JREASON_RECOVERY_REFUSED: u8 = 52;
/** Recovery: another card (application serial or issuer differ). */
export const JREASON_CARD_MISMATCH: u8 = 53;
/** Recovery: the balance is neither the one before nor the one after the torn debit. */
export const JREASON_BALANCE_MISMATCH: u8 = 54;
