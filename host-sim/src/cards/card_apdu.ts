// Card-side ISO 7816-4 command parsing and the status words the virtual cards answer.


/** Status words. See ISO/IEC 7816-4, 5.6, and domain.md 1.5-1.7. */
export const SW_9000_OK = 0x9000;
export const SW_6700_WRONG_LENGTH = 0x6700;
export const SW_6985_CONDITIONS_NOT_SATISFIED = 0x6985;
export const SW_6A80_WRONG_DATA = 0x6a80;
export const SW_6A82_FILE_NOT_FOUND = 0x6a82;
export const SW_6A83_RECORD_NOT_FOUND = 0x6a83;
export const SW_6A86_WRONG_P1P2 = 0x6a86;
export const SW_6A88_DATA_NOT_FOUND = 0x6a88;
export const SW_6D00_INS_NOT_SUPPORTED = 0x6d00;
export const SW_6E00_CLA_NOT_SUPPORTED = 0x6e00;
/** 6Cxx: wrong Le, xx = the exact length available. */
export const SW1_6C_WRONG_LE = 0x6c;

/** Instruction bytes the cards implement. */
export const INS_88_INTERNAL_AUTHENTICATE = 0x88;
export const INS_A4_SELECT = 0xa4;
export const INS_A8_GPO = 0xa8;
export const INS_B2_READ_RECORD = 0xb2;
export const INS_AE_GENERATE_AC = 0xae;
export const INS_CA_GET_DATA = 0xca;

/** Class bytes: interindustry (SELECT, READ RECORD) and proprietary EMV (GPO, GET DATA). */
export const CLA_00_INTERINDUSTRY = 0x00;
export const CLA_80_PROPRIETARY = 0x80;

/** A short C-APDU split into header, data and Le (null when absent). */
export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  /** Expected response length; 0 means "up to 256"; null when the command carries no Le. */
  readonly le: number | null;
}

/**
 * Parses a short APDU (cases 1-4). Extended-length APDUs are not supported by these cards.
 * Returns null when the bytes are not a well-formed short APDU (the card answers 6700).
 */
export function parseCommandApdu(bytes: Uint8Array): CommandApdu | null {
  if (bytes.length < 4) return null;
  let data = NO_DATA;
  let le: number | null = null;
  if (bytes.length >= 5) {
    const b4 = bytes[4] ?? 0;
    if (bytes.length === 5) {
      le = b4;
    } else if (b4 === 0) {
      return null;
    } else if (bytes.length === 5 + b4) {
      data = bytes.slice(5);
    } else if (bytes.length === 6 + b4) {
      data = bytes.slice(5, 5 + b4);
      le = bytes[5 + b4] ?? 0;
    } else {
      return null;
    }
  }
  // One object literal of one shape (a spread of a header object cost more than the parse).
  return { cla: bytes[0] ?? 0, ins: bytes[1] ?? 0, p1: bytes[2] ?? 0, p2: bytes[3] ?? 0, data, le };
}

/** The data of a command without any (zero bytes, so nothing can change it: shared). */
const NO_DATA: Uint8Array = new Uint8Array(0);

/** A response APDU: data followed by SW1 SW2. */
export function responseApdu(data: Uint8Array, sw: number): Uint8Array {
  // One array, the status word written into it (no 2-byte array and rest list to join).
  const out = new Uint8Array(data.length + 2);
  out.set(data);
  out[data.length] = sw >> 8;
  out[data.length + 1] = sw & 0xff;
  return out;
}

/** A response with a status word only. */
export function statusOnly(sw: number): Uint8Array {
  return Uint8Array.of(sw >> 8, sw & 0xff);
}

/**
 * Applies the command's Le to a successful answer: Le absent or 00 accepts any length up to
 * 256; any other Le must equal the data length, else the card answers 6Cxx (ISO 7816-3, T=1
 * behaviour that ISO 14443-4 cards copy).
 */
export function answerWithLe(command: CommandApdu, data: Uint8Array): Uint8Array {
  if (command.le !== null && command.le !== 0 && command.le !== data.length) {
    return Uint8Array.of(SW1_6C_WRONG_LE, data.length & 0xff);
  }
  return responseApdu(data, SW_9000_OK);
}
