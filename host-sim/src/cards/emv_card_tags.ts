// EMV / PBOC data object tags the virtual cards personalise, return or read from the PDOL.

export const TAG_4F_AID = 0x4f;
export const TAG_50_APPLICATION_LABEL = 0x50;
export const TAG_57_TRACK2 = 0x57;
export const TAG_5A_PAN = 0x5a;
export const TAG_5F20_CARDHOLDER_NAME = 0x5f20;
export const TAG_5F24_EXPIRY_DATE = 0x5f24;
export const TAG_5F25_EFFECTIVE_DATE = 0x5f25;
export const TAG_5F28_ISSUER_COUNTRY = 0x5f28;
export const TAG_5F2A_CURRENCY = 0x5f2a;
export const TAG_5F2D_LANGUAGE = 0x5f2d;
export const TAG_5F30_SERVICE_CODE = 0x5f30;
export const TAG_5F34_PSN = 0x5f34;
export const TAG_61_DIRECTORY_ENTRY = 0x61;
export const TAG_6F_FCI = 0x6f;
export const TAG_70_RECORD = 0x70;
export const TAG_77_RESPONSE_FORMAT2 = 0x77;
export const TAG_80_RESPONSE_FORMAT1 = 0x80;
export const TAG_82_AIP = 0x82;
export const TAG_83_COMMAND_TEMPLATE = 0x83;
export const TAG_84_DF_NAME = 0x84;
export const TAG_87_PRIORITY = 0x87;
export const TAG_8A_AUTH_RESPONSE_CODE = 0x8a;
export const TAG_8C_CDOL1 = 0x8c;
export const TAG_8D_CDOL2 = 0x8d;
export const TAG_8F_CA_INDEX = 0x8f;
export const TAG_90_ISSUER_CERT = 0x90;
export const TAG_92_ISSUER_REMAINDER = 0x92;
export const TAG_93_SSAD = 0x93;
export const TAG_94_AFL = 0x94;
export const TAG_95_TVR = 0x95;
export const TAG_9A_DATE = 0x9a;
export const TAG_9C_TYPE = 0x9c;
export const TAG_9F02_AMOUNT = 0x9f02;
export const TAG_9F03_OTHER_AMOUNT = 0x9f03;
export const TAG_9F07_AUC = 0x9f07;
export const TAG_9F08_VERSION = 0x9f08;
export const TAG_9F10_IAD = 0x9f10;
export const TAG_9F11_CODE_TABLE = 0x9f11;
export const TAG_9F12_PREFERRED_NAME = 0x9f12;
export const TAG_9F13_LAST_ONLINE_ATC = 0x9f13;
export const TAG_9F1A_COUNTRY = 0x9f1a;
export const TAG_9F21_TIME = 0x9f21;
export const TAG_9F26_CRYPTOGRAM = 0x9f26;
export const TAG_9F27_CID = 0x9f27;
export const TAG_9F2A_KERNEL_ID = 0x9f2a;
export const TAG_9F32_ISSUER_EXPONENT = 0x9f32;
export const TAG_9F36_ATC = 0x9f36;
export const TAG_9F37_UNPREDICTABLE_NUMBER = 0x9f37;
export const TAG_9F38_PDOL = 0x9f38;
export const TAG_9F46_ICC_CERT = 0x9f46;
export const TAG_9F47_ICC_EXPONENT = 0x9f47;
export const TAG_9F48_ICC_REMAINDER = 0x9f48;
export const TAG_9F49_DDOL = 0x9f49;
export const TAG_9F4A_SDA_TAG_LIST = 0x9f4a;
export const TAG_9F4B_SDAD = 0x9f4b;
export const TAG_9F4D_LOG_ENTRY = 0x9f4d;
export const TAG_9F4E_MERCHANT_NAME = 0x9f4e;
export const TAG_9F4F_LOG_FORMAT = 0x9f4f;
export const TAG_9F51_APP_CURRENCY = 0x9f51;
export const TAG_9F54_CTTAL = 0x9f54;
export const TAG_9F5D_AVAILABLE_OFFLINE_AMOUNT = 0x9f5d;
export const TAG_9F66_TTQ = 0x9f66;
export const TAG_9F68_CARD_ADDITIONAL_PROCESSES = 0x9f68;
export const TAG_9F69_CARD_AUTH_DATA = 0x9f69;
export const TAG_9F6C_CTQ = 0x9f6c;
export const TAG_9F6D_EC_RESET_THRESHOLD = 0x9f6d;
export const TAG_9F77_EC_BALANCE_LIMIT = 0x9f77;
export const TAG_9F78_EC_SINGLE_LIMIT = 0x9f78;
export const TAG_9F79_EC_BALANCE = 0x9f79;
export const TAG_A5_FCI_PROPRIETARY = 0xa5;
export const TAG_BF0C_FCI_DISCRETIONARY = 0xbf0c;
export const TAG_DF60_CAPP_INDICATOR = 0xdf60;
export const TAG_DF61_EXTENDED_APP_INDICATOR = 0xdf61;
export const TAG_DF69_SM_SUPPORT = 0xdf69;

/** Data objects a card builds per transaction; they may sit in the GPO answer or a record. */
export const DYNAMIC_TAGS: readonly number[] = [
  TAG_9F4B_SDAD,
  TAG_9F69_CARD_AUTH_DATA,
  TAG_9F5D_AVAILABLE_OFFLINE_AMOUNT,
];

/** Lengths of the terminal data objects the card reads from its PDOL (EMV Book 3, Annex A). */
export const TERMINAL_TAG_LENGTHS: ReadonlyMap<number, number> = new Map([
  [TAG_9F66_TTQ, 4],
  [TAG_9F02_AMOUNT, 6],
  [TAG_9F03_OTHER_AMOUNT, 6],
  [TAG_9F1A_COUNTRY, 2],
  [TAG_95_TVR, 5],
  [TAG_5F2A_CURRENCY, 2],
  [TAG_9A_DATE, 3],
  [TAG_9C_TYPE, 1],
  [TAG_9F37_UNPREDICTABLE_NUMBER, 4],
  [TAG_9F21_TIME, 3],
  [TAG_8A_AUTH_RESPONSE_CODE, 2],
  [TAG_9F4E_MERCHANT_NAME, 20],
  [TAG_DF60_CAPP_INDICATOR, 1],
  [TAG_DF69_SM_SUPPORT, 1],
]);

/** Tag number of a hex tag string ("9F02" -> 0x9F02). Throws RangeError on a malformed tag. */
export function tagFromHex(hex: string): number {
  if (!/^([0-9a-fA-F]{2}){1,3}$/.test(hex)) throw new RangeError(`tag "${hex}"`);
  return Number.parseInt(hex, 16);
}

/** Upper-case hex of a tag number (0x9F02 -> "9F02"). */
export function tagToHex(tag: number): string {
  const hex = tag.toString(16).toUpperCase();
  return hex.length % 2 === 0 ? hex : `0${hex}`;
}
