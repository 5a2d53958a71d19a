// Pure checks on card and terminal data: BCD, dates, PAN from track 2, expiry windows.

import { STATUS_OK, ERR_CARD_DATA_INVALID } from '../status/status';

/** Track 2 may hold at most 19 PAN digits before the D separator (ISO/IEC 7813). */
const PAN_DIGITS_MAX: u32 = 19;
const PAN_DIGITS_MIN: u32 = 8;

/** True when every nibble of `p[0..length)` is a decimal digit. */
export function bcdValid(p: usize, length: u32): bool {
  for (let i: u32 = 0; i < length; i++) {
    const b = <u32>load<u8>(p + <usize>i);
    if (b >> 4 > 9 || (b & 0x0f) > 9) return false;
  }
  return true;
}

/** Value of one BCD byte (caller checked it with bcdValid). */
export function bcdByte(b: u8): u32 {
  return ((<u32>b) >> 4) * 10 + ((<u32>b) & 0x0f);
}

/** True for a BCD YYMMDD date with month 1-12 and day 1-31. */
export function dateValid(p: usize): bool {
  if (!bcdValid(p, 3)) return false;
  const month = bcdByte(load<u8>(p + 1));
  const day = bcdByte(load<u8>(p + 2));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/** True for a BCD hhmmss time. */
export function timeValid(p: usize): bool {
  if (!bcdValid(p, 3)) return false;
  return (
    bcdByte(load<u8>(p)) < 24 && bcdByte(load<u8>(p + 1)) < 60 && bcdByte(load<u8>(p + 2)) < 60
  );
}

/**
 * Comparable key YYYYMMDD of BCD year, month, day. Two-digit years follow EMV 4.4 Book 4
 * A.2 (00-49 = 20xx, 50-99 = 19xx).
 */
export function dateKey(yy: u32, mm: u32, dd: u32): u32 {
  const year = yy < 50 ? 2000 + yy : 1900 + yy;
  return year * 10000 + mm * 100 + dd;
}

/** dateKey of a BCD YYMMDD (caller checked it). */
export function dateKeyOf(p: usize): u32 {
  return dateKey(bcdByte(load<u8>(p)), bcdByte(load<u8>(p + 1)), bcdByte(load<u8>(p + 2)));
}

// Result of the last successful track2Parse.
export let track2PanDigits: u32 = 0;
export let track2ExpiryYear: u32 = 0;
export let track2ExpiryMonth: u32 = 0;

function nibble(p: usize, index: u32): u32 {
  const b = <u32>load<u8>(p + <usize>(index >> 1));
  return (index & 1) == 0 ? b >> 4 : b & 0x0f;
}

/**
 * Parses track 2 equivalent data (57): PAN digits, D, expiry YYMM. Writes the PAN as 5A is
 * coded (packed digits, padded with F) to `pan` (10 bytes). Returns the PAN byte length, or
 * ERR_CARD_DATA_INVALID (no separator, bad digits, PAN outside 8-19 digits, bad expiry).
 */
export function track2Parse(track2: usize, length: u32, pan: usize): i32 {
  const nibbles = length * 2;
  let digits: u32 = 0;
  while (digits < nibbles && digits <= PAN_DIGITS_MAX) {
    const n = nibble(track2, digits);
    if (n == 0x0d) break;
    if (n > 9) return ERR_CARD_DATA_INVALID;
    digits++;
  }
  if (digits < PAN_DIGITS_MIN || digits > PAN_DIGITS_MAX) return ERR_CARD_DATA_INVALID;
  if (digits >= nibbles || nibble(track2, digits) != 0x0d) return ERR_CARD_DATA_INVALID;
  if (digits + 5 > nibbles) return ERR_CARD_DATA_INVALID;
  const y1 = nibble(track2, digits + 1);
  const y2 = nibble(track2, digits + 2);
  const m1 = nibble(track2, digits + 3);
  const m2 = nibble(track2, digits + 4);
  if (y1 > 9 || y2 > 9 || m1 > 9 || m2 > 9) return ERR_CARD_DATA_INVALID;
  const month = m1 * 10 + m2;
  if (month < 1 || month > 12) return ERR_CARD_DATA_INVALID;
  const size = (digits + 1) >> 1;
  for (let i: u32 = 0; i < size; i++) {
    const hi = nibble(track2, i * 2);
    const lo = i * 2 + 1 < digits ? nibble(track2, i * 2 + 1) : 0x0f;
    store<u8>(pan + <usize>i, <u8>((hi << 4) | lo));
  }
  track2PanDigits = digits;
  track2ExpiryYear = y1 * 10 + y2;
  track2ExpiryMonth = month;
  assert(size <= 10, 'PAN bytes');
  return <i32>size;
}

/** Number of PAN digits in a 5A-coded value (digits up to the first F). -1 if malformed. */
export function panDigits(pan: usize, length: u32): i32 {
  const nibbles = length * 2;
  let digits: u32 = 0;
  while (digits < nibbles) {
    const n = nibble(pan, digits);
    if (n == 0x0f) break;
    if (n > 9) return -1;
    digits++;
  }
  // Only F padding may follow the digits.
  for (let i = digits; i < nibbles; i++) {
    if (nibble(pan, i) != 0x0f) return -1;
  }
  if (digits < PAN_DIGITS_MIN || digits > PAN_DIGITS_MAX) return -1;
  return <i32>digits;
}

/** True when two 5A-coded PANs hold the same digits. */
export function panEqual(a: usize, aLength: u32, b: usize, bLength: u32): bool {
  const digits = panDigits(a, aLength);
  if (digits < 0 || digits != panDigits(b, bLength)) return false;
  for (let i: u32 = 0; i < <u32>digits; i++) {
    if (nibble(a, i) != nibble(b, i)) return false;
  }
  return true;
}

/** STATUS_OK when `p` is a valid YYMMDD, else ERR_CARD_DATA_INVALID. */
export function cardDateCheck(p: usize, length: u32): i32 {
  return length == 3 && dateValid(p) ? STATUS_OK : ERR_CARD_DATA_INVALID;
}
