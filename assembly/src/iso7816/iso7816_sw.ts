// ISO/IEC 7816-4 status words used by the kernel, and their classification.

export const SW_9000_SUCCESS: u32 = 0x9000;
export const SW_6283_SELECTED_FILE_INVALIDATED: u32 = 0x6283;
export const SW_6700_WRONG_LENGTH: u32 = 0x6700;
export const SW_6984_DATA_INVALID: u32 = 0x6984;
export const SW_6985_CONDITIONS_NOT_SATISFIED: u32 = 0x6985;
export const SW_6A81_FUNCTION_NOT_SUPPORTED: u32 = 0x6a81;
export const SW_6A82_FILE_NOT_FOUND: u32 = 0x6a82;
export const SW_6A83_RECORD_NOT_FOUND: u32 = 0x6a83;
export const SW_6A88_DATA_NOT_FOUND: u32 = 0x6a88;
export const SW_6D00_INS_NOT_SUPPORTED: u32 = 0x6d00;
export const SW_6E00_CLA_NOT_SUPPORTED: u32 = 0x6e00;

/** SW classes reported by swClassify. */
export const SW_CLASS_NORMAL: u8 = 0;
/** 61xx: more data available, fetch with GET RESPONSE (Le = SW2). */
export const SW_CLASS_MORE_DATA: u8 = 1;
/** 6Cxx: wrong Le, resend the same command with Le = SW2. */
export const SW_CLASS_WRONG_LE: u8 = 2;
/** 62xx / 63xx: processing completed with a warning. */
export const SW_CLASS_WARNING: u8 = 3;
/** Anything else: the command failed. */
export const SW_CLASS_ERROR: u8 = 4;

/** Classifies a status word (ISO/IEC 7816-4, 5.1.3). */
export function swClassify(sw: u32): u8 {
  const sw1 = sw >> 8;
  if (sw == SW_9000_SUCCESS) return SW_CLASS_NORMAL;
  if (sw1 == 0x61) return SW_CLASS_MORE_DATA;
  if (sw1 == 0x6c) return SW_CLASS_WRONG_LE;
  if (sw1 == 0x62 || sw1 == 0x63) return SW_CLASS_WARNING;
  return SW_CLASS_ERROR;
}
