// Status words of the PSAM emulator, one constant per answer, with the reason each is sent.
//
// ISO/IEC 7816-4 5.1.3 gives the 6xxx families; the 93xx/94xx words are the PBOC e-purse ones
// (JR/T 0025 e-purse part, the words the card side of domain.md 7.4 also uses: 9302, 9401).

/** Normal processing. */
export const SW_9000_OK = 0x9000;
/** T=0: `xx` response bytes are waiting for GET RESPONSE (ISO 7816-3 10.3.3). */
export const SW_61XX_BYTES_AVAILABLE = 0x6100;
/** READ BINARY: fewer bytes than Le before the end of the file (ISO 7816-4, 5.1.3). */
export const SW_6282_END_OF_FILE = 0x6282;
/** Lc or Le inconsistent with the command, or an APDU shorter than its header. */
export const SW_6700_WRONG_LENGTH = 0x6700;
/** READ BINARY with P1 bit 8 clear while no elementary file is current. */
export const SW_6986_NO_CURRENT_EF = 0x6986;
/** INIT SAM with no PSAM application selected, CREDIT SAM with no purchase pending, GET
 * RESPONSE with nothing to give, or a terminal transaction serial at its end (2^32 - 1). */
export const SW_6985_CONDITIONS_NOT_SATISFIED = 0x6985;
/** Data field with a bad value: transaction type not 06/09, date-time not BCD. */
export const SW_6A80_INCORRECT_DATA = 0x6a80;
/** Algorithm identifier the PSAM does not implement (only 00, 3DES, is). */
export const SW_6A81_FUNCTION_NOT_SUPPORTED = 0x6a81;
/** SELECT of a file or application that is not there; READ BINARY of an absent SFI. */
export const SW_6A82_FILE_NOT_FOUND = 0x6a82;
/** P1/P2 not supported by the command. */
export const SW_6A86_INCORRECT_P1P2 = 0x6a86;
/** READ BINARY offset beyond the end of the file. */
export const SW_6B00_WRONG_OFFSET = 0x6b00;
/** T=0: Le wrong, `xx` is the right one (ISO 7816-3 10.3.3). */
export const SW_6CXX_WRONG_LE = 0x6c00;
/** INS not supported. */
export const SW_6D00_INS_NOT_SUPPORTED = 0x6d00;
/** CLA not supported. */
export const SW_6E00_CLA_NOT_SUPPORTED = 0x6e00;
/** CREDIT SAM FOR PURCHASE: MAC2 wrong (PBOC e-purse "MAC invalid"). */
export const SW_9302_MAC_INVALID = 0x9302;
/** INIT SAM FOR PURCHASE: no purchase key with this key version (and issuer). PBOC e-purse
 * "key index not supported". */
export const SW_9403_KEY_NOT_FOUND = 0x9403;

/** A status word as its 2 bytes. */
export function swBytes(sw: number): Uint8Array {
  return Uint8Array.of((sw >>> 8) & 0xff, sw & 0xff);
}
