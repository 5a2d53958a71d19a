// EMV and PBOC tag numbers used by the kernel, and their data formats for DOL processing.

/** Data formats of EMV 4.4 Book 1 4.3 / Book 3 Annex A that change DOL padding. */
export const FORMAT_B: u8 = 0;
export const FORMAT_N: u8 = 1;
export const FORMAT_CN: u8 = 2;
export const FORMAT_AN: u8 = 3;

export const TAG_4F_AID: u32 = 0x4f;
export const TAG_50_APPLICATION_LABEL: u32 = 0x50;
export const TAG_57_TRACK2: u32 = 0x57;
export const TAG_5A_PAN: u32 = 0x5a;
export const TAG_5F24_EXPIRY_DATE: u32 = 0x5f24;
export const TAG_5F25_EFFECTIVE_DATE: u32 = 0x5f25;
export const TAG_5F2A_CURRENCY_CODE: u32 = 0x5f2a;
export const TAG_5F34_PAN_SEQUENCE: u32 = 0x5f34;
export const TAG_61_DIRECTORY_ENTRY: u32 = 0x61;
export const TAG_6F_FCI: u32 = 0x6f;
export const TAG_70_RECORD: u32 = 0x70;
export const TAG_77_RESPONSE_FORMAT2: u32 = 0x77;
export const TAG_80_RESPONSE_FORMAT1: u32 = 0x80;
export const TAG_82_AIP: u32 = 0x82;
export const TAG_83_COMMAND_TEMPLATE: u32 = 0x83;
export const TAG_84_DF_NAME: u32 = 0x84;
export const TAG_87_PRIORITY: u32 = 0x87;
export const TAG_8F_CA_INDEX: u32 = 0x8f;
export const TAG_90_ISSUER_CERT: u32 = 0x90;
export const TAG_92_ISSUER_REMAINDER: u32 = 0x92;
export const TAG_94_AFL: u32 = 0x94;
export const TAG_95_TVR: u32 = 0x95;
export const TAG_9A_DATE: u32 = 0x9a;
export const TAG_9C_TRANSACTION_TYPE: u32 = 0x9c;
export const TAG_9F02_AMOUNT: u32 = 0x9f02;
export const TAG_9F03_AMOUNT_OTHER: u32 = 0x9f03;
export const TAG_9F10_IAD: u32 = 0x9f10;
export const TAG_9F1A_COUNTRY_CODE: u32 = 0x9f1a;
export const TAG_9F21_TIME: u32 = 0x9f21;
export const TAG_9F26_CRYPTOGRAM: u32 = 0x9f26;
export const TAG_9F32_ISSUER_EXPONENT: u32 = 0x9f32;
export const TAG_9F36_ATC: u32 = 0x9f36;
export const TAG_9F37_UNPREDICTABLE_NUMBER: u32 = 0x9f37;
export const TAG_9F38_PDOL: u32 = 0x9f38;
export const TAG_9F46_ICC_CERT: u32 = 0x9f46;
export const TAG_9F47_ICC_EXPONENT: u32 = 0x9f47;
export const TAG_9F48_ICC_REMAINDER: u32 = 0x9f48;
export const TAG_9F4A_SDA_TAG_LIST: u32 = 0x9f4a;
export const TAG_9F4B_SDAD: u32 = 0x9f4b;
export const TAG_9F5D_AVAILABLE_OFFLINE: u32 = 0x9f5d;
export const TAG_9F66_TTQ: u32 = 0x9f66;
export const TAG_9F69_CARD_AUTH_DATA: u32 = 0x9f69;
export const TAG_9F6C_CTQ: u32 = 0x9f6c;
export const TAG_9F79_EC_BALANCE: u32 = 0x9f79;
export const TAG_A5_FCI_PROPRIETARY: u32 = 0xa5;
export const TAG_BF0C_FCI_DISCRETIONARY: u32 = 0xbf0c;
export const TAG_DF60_CAPP_INDICATOR: u32 = 0xdf60;
export const TAG_DF61_EXT_APP_INDICATOR: u32 = 0xdf61;
export const TAG_DF69_SM_SUPPORT: u32 = 0xdf69;

/**
 * Format of `tag` for DOL padding and truncation (EMV 4.4 Book 3, 5.4). Unknown tags are
 * binary: only n and cn change the padding rule.
 */
export function emvTagFormat(tag: u32): u8 {
  switch (tag) {
    case 0x5f24: case 0x5f25: case 0x5f28: case 0x5f2a: case 0x5f34: case 0x5f36:
    case 0x9a: case 0x9c: case 0x9f02: case 0x9f03: case 0x9f11: case 0x9f15:
    case 0x9f1a: case 0x9f21: case 0x9f35: case 0x9f39: case 0x9f3c: case 0x9f3d:
    case 0x9f41: case 0x9f42: case 0x9f44: case 0x9f51: case 0x9f5d: case 0x9f6d:
    case 0x9f77: case 0x9f78: case 0x9f79: case 0x9f7b:
      return FORMAT_N;
    case 0x5a: case 0x9f20:
      return FORMAT_CN;
    case 0x50: case 0x9f12: case 0x9f16: case 0x9f1c: case 0x9f1e: case 0x9f4e:
      return FORMAT_AN;
    default:
      return FORMAT_B;
  }
}
