// Byte helpers shared by the test PKI and the virtual cards: hex, BCD (EMV n format), concat.

/** Each byte's two lower-case hex digits, by value. */
const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, b) =>
  b.toString(16).padStart(2, '0'));
/**
 * Longest input `toHex` spells pair by pair: below it a Buffer and its native hex cost more
 * than the joins (a tap's currency, date, time, unpredictable number and cryptogram).
 */
const HEX_JOINED_BYTES_MAX = 8;

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  if (bytes.length <= HEX_JOINED_BYTES_MAX) {
    let hex = '';
    for (let i = 0; i < bytes.length; i += 1) hex += HEX_PAIRS[bytes[i] ?? 0] ?? '';
    return hex;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** Whitespace anywhere in a hex text (it is allowed and dropped). */
const HEX_SPACE = /\s/;
const HEX_DIGITS = /^[0-9a-fA-F]*$/;

/**
 * Bytes from a hex string (spaces allowed, case-insensitive).
 * Throws RangeError on an odd length or a non-hex character.
 */
export function fromHex(hex: string): Uint8Array {
  const clean = HEX_SPACE.test(hex) ? hex.replace(/\s+/g, '') : hex;
  if (clean.length % 2 !== 0 || !HEX_DIGITS.test(clean)) {
    throw new RangeError(`bad hex "${hex}"`);
  }
  // Checked above: every character is a hex digit, so Buffer's decoder reads them all.
  const out = new Uint8Array(clean.length / 2);
  out.set(Buffer.from(clean, 'hex'));
  return out;
}

/** Concatenation of byte arrays. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  // Indexed loops: for..of over the rest array was a megamorphic iterator on the card path.
  let length = 0;
  for (let i = 0; i < parts.length; i += 1) length += parts[i]?.length ?? 0;
  const out = new Uint8Array(length);
  let offset = 0;
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i];
    if (part === undefined) continue;
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** True when both arrays hold the same bytes (one native compare: whole segments too). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/**
 * EMV format n: a non-negative integer as `length` bytes of BCD, left-padded with zeros.
 * Throws RangeError when the value is negative, not an integer, or too long.
 */
export function toBcd(value: number, length: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`BCD value ${value}`);
  const digits = value.toString();
  if (digits.length > length * 2) throw new RangeError(`${value} exceeds ${length} BCD bytes`);
  // Two decimal digits a byte from the right, the rest zeros: what the left-padded digits
  // read as hex give (a safe integer divides exactly), with no string or hex decode.
  const out = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0 && rest > 0; i -= 1) {
    const low = rest % 10;
    rest = Math.floor(rest / 10);
    out[i] = ((rest % 10) << 4) | low;
    rest = Math.floor(rest / 10);
  }
  return out;
}

/** Longest BCD whose value `fromBcd` adds up digit by digit (14 digits: exact in a double). */
const BCD_EXACT_BYTES_MAX = 7;

/** The value of BCD bytes, or null when a nibble is not a decimal digit. */
export function fromBcd(bytes: Uint8Array): number | null {
  // Up to 7 bytes (14 digits, below 2^53) the digits add up exactly, as parseInt reads them:
  // no hex text (amounts are 6 bytes, read at every GPO). Longer values go through the text.
  if (bytes.length <= BCD_EXACT_BYTES_MAX) {
    let value = 0;
    for (let i = 0; i < bytes.length; i += 1) {
      const b = bytes[i] ?? 0;
      const high = b >> 4;
      const low = b & 0x0f;
      if (high > 9 || low > 9) return null;
      value = value * 100 + high * 10 + low;
    }
    return value;
  }
  const hex = toHex(bytes);
  if (!/^[0-9]*$/.test(hex)) return null;
  return hex.length === 0 ? 0 : Number.parseInt(hex, 10);
}

/**
 * EMV format cn: digits packed two per byte, right-padded with F to `length` bytes.
 * Throws RangeError on a non-digit or when the digits do not fit.
 */
export function toCompressedNumeric(digits: string, length: number): Uint8Array {
  if (!/^[0-9]*$/.test(digits) || digits.length > length * 2) {
    throw new RangeError(`cn "${digits}" in ${length} bytes`);
  }
  return fromHex(digits.padEnd(length * 2, 'F'));
}

/** ASCII bytes of `text`. Throws RangeError on a character above 0x7E. */
export function asciiBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c > 0x7e) throw new RangeError(`non-ASCII "${text}"`);
    out[i] = c;
  }
  return out;
}

/**
 * A BER length field: one byte below 128, otherwise 81 xx or 82 xx xx.
 * Throws RangeError above 65535 bytes.
 */
export function berLength(length: number): Uint8Array {
  checkBerLength(length);
  if (length < 0x80) return Uint8Array.of(length);
  if (length < 0x100) return Uint8Array.of(0x81, length);
  return Uint8Array.of(0x82, length >> 8, length & 0xff);
}

/**
 * The bytes of a BER tag given as a number (0x5A, 0x9F36, 0xBF0C, 0xDF8101...).
 * Throws RangeError on a tag above three bytes.
 */
export function berTagBytes(tag: number): Uint8Array {
  checkBerTag(tag);
  if (tag <= 0xff) return Uint8Array.of(tag);
  if (tag <= 0xffff) return Uint8Array.of(tag >> 8, tag & 0xff);
  return Uint8Array.of(tag >> 16, (tag >> 8) & 0xff, tag & 0xff);
}

/**
 * One BER-TLV: tag, BER length, value (as berTagBytes, berLength and the value concatenated,
 * written straight into one array). Throws RangeError like berLength and berTagBytes.
 */
export function berTlv(tag: number, value: Uint8Array): Uint8Array {
  checkBerTag(tag);
  const length = value.length;
  checkBerLength(length);
  const tagBytes = tag <= 0xff ? 1 : tag <= 0xffff ? 2 : 3;
  const lengthBytes = length < 0x80 ? 1 : length < 0x100 ? 2 : 3;
  const out = new Uint8Array(tagBytes + lengthBytes + length);
  let at = 0;
  if (tagBytes === 3) out[at++] = tag >> 16;
  if (tagBytes >= 2) out[at++] = (tag >> 8) & 0xff;
  out[at++] = tag & 0xff;
  if (lengthBytes === 3) {
    out[at++] = 0x82;
    out[at++] = length >> 8;
  } else if (lengthBytes === 2) {
    out[at++] = 0x81;
  }
  out[at++] = length & 0xff;
  out.set(value, at);
  return out;
}

function checkBerLength(length: number): void {
  if (!(Number.isInteger(length) && length >= 0 && length <= 0xffff)) {
    throw new RangeError(`BER length ${length}`);
  }
}

function checkBerTag(tag: number): void {
  if (!(Number.isInteger(tag) && tag > 0 && tag <= 0xffffff)) throw new RangeError(`tag ${tag}`);
}
