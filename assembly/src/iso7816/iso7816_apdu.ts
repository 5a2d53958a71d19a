// ISO/IEC 7816-4 short APDUs: build command cases 1-4, parse commands and responses.

import {
  STATUS_OK,
  ERR_APDU_DATA_TOO_LONG,
  ERR_APDU_LE_INVALID,
  ERR_CAPDU_MALFORMED,
  ERR_RAPDU_TOO_SHORT,
  ERR_RAPDU_TOO_LONG,
  ERR_OUTPUT_TOO_SMALL,
} from '../status/status';
import { bytesCopy } from '../util/bytes';

/** Short APDU limits (ISO/IEC 7816-4, 5.1): Nc <= 255, Ne <= 256. */
export const APDU_DATA_MAX: u32 = 255;
export const APDU_LE_MAX: u32 = 256;
export const APDU_HEADER_BYTES: u32 = 4;
/** Largest short C-APDU: header, Lc, 255 data bytes, Le. */
export const CAPDU_SHORT_MAX: u32 = APDU_HEADER_BYTES + 1 + APDU_DATA_MAX + 1;
/** Largest short R-APDU: 256 data bytes and SW1 SW2. */
export const RAPDU_SHORT_MAX: u32 = APDU_LE_MAX + 2;

export const INS_A4_SELECT: u8 = 0xa4;
export const INS_A8_GPO: u8 = 0xa8;
export const INS_B2_READ_RECORD: u8 = 0xb2;
export const INS_C0_GET_RESPONSE: u8 = 0xc0;
export const INS_CA_GET_DATA: u8 = 0xca;

/**
 * Builds a short C-APDU into `target` (capacity `capacity`). The case follows from the inputs:
 * 1 (no data, no Le), 2 (Le only), 3 (data only), 4 (data and Le). `le` is 1..256 (256 is sent
 * as 00) when `hasLe`. Returns the C-APDU length, ERR_APDU_DATA_TOO_LONG, ERR_APDU_LE_INVALID
 * or ERR_OUTPUT_TOO_SMALL.
 */
export function apduBuild(
  header: usize,
  data: usize,
  dataLength: u32,
  hasLe: bool,
  le: u32,
  target: usize,
  capacity: u32,
): i32 {
  if (dataLength > APDU_DATA_MAX) return ERR_APDU_DATA_TOO_LONG;
  if (hasLe && (le < 1 || le > APDU_LE_MAX)) return ERR_APDU_LE_INVALID;
  const total = APDU_HEADER_BYTES + (dataLength > 0 ? 1 + dataLength : 0) + (hasLe ? 1 : 0);
  if (total > capacity) return ERR_OUTPUT_TOO_SMALL;
  bytesCopy(target, header, APDU_HEADER_BYTES);
  let q = target + <usize>APDU_HEADER_BYTES;
  if (dataLength > 0) {
    store<u8>(q, <u8>dataLength);
    bytesCopy(q + 1, data, dataLength);
    q += 1 + <usize>dataLength;
  }
  if (hasLe) {
    store<u8>(q, <u8>(le & 0xff));
    q++;
  }
  assert(q - target == <usize>total, 'apdu length');
  return <i32>total;
}

// Result of the last apduParseCommand.
export let apduCase: u32 = 0;
export let apduLc: u32 = 0;
export let apduLe: u32 = 0;

/**
 * Parses a short C-APDU of `length` bytes and sets apduCase (1-4), apduLc and apduLe
 * (0 when absent, 1..256). Returns STATUS_OK or ERR_CAPDU_MALFORMED.
 */
export function apduParseCommand(capdu: usize, length: u32): i32 {
  apduCase = 0;
  apduLc = 0;
  apduLe = 0;
  if (length < APDU_HEADER_BYTES) return ERR_CAPDU_MALFORMED;
  if (length == APDU_HEADER_BYTES) {
    apduCase = 1;
    return STATUS_OK;
  }
  const b = <u32>load<u8>(capdu + 4);
  if (length == APDU_HEADER_BYTES + 1) {
    apduCase = 2;
    apduLe = b == 0 ? APDU_LE_MAX : b;
    return STATUS_OK;
  }
  // Lc = 00 would announce extended length, which short APDUs do not allow.
  if (b == 0) return ERR_CAPDU_MALFORMED;
  const body = length - APDU_HEADER_BYTES - 1;
  if (body == b) {
    apduCase = 3;
    apduLc = b;
    return STATUS_OK;
  }
  if (body == b + 1) {
    const le = <u32>load<u8>(capdu + <usize>(length - 1));
    apduCase = 4;
    apduLc = b;
    apduLe = le == 0 ? APDU_LE_MAX : le;
    return STATUS_OK;
  }
  return ERR_CAPDU_MALFORMED;
}

// Result of the last apduParseResponse.
export let rapduSw: u32 = 0;
export let rapduDataLength: u32 = 0;

/**
 * Splits an R-APDU into data and SW1 SW2. Returns STATUS_OK, ERR_RAPDU_TOO_SHORT (< 2 bytes)
 * or ERR_RAPDU_TOO_LONG (> 258 bytes: more than a short Ne allows).
 */
export function apduParseResponse(rapdu: usize, length: u32): i32 {
  rapduSw = 0;
  rapduDataLength = 0;
  if (length < 2) return ERR_RAPDU_TOO_SHORT;
  if (length > RAPDU_SHORT_MAX) return ERR_RAPDU_TOO_LONG;
  rapduDataLength = length - 2;
  rapduSw =
    ((<u32>load<u8>(rapdu + <usize>(length - 2))) << 8) |
    (<u32>load<u8>(rapdu + <usize>(length - 1)));
  return STATUS_OK;
}
