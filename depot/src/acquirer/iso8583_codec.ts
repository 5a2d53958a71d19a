// ISO 8583:1987 message codec: MTI, primary and secondary binary bitmaps, fixed/LL/LLL fields.

import { Iso8583Error } from './iso8583_error.js';
import type { Iso8583FieldSpec, Iso8583Spec } from './iso8583_spec.js';

/** A field value: text for `n`/`an`/`ans` fields, bytes for `b` fields. */
export type Iso8583Value = string | Uint8Array;

/** A message: four-digit MTI and its data elements 2..128 (bitmaps are derived). */
export interface Iso8583Message {
  readonly mti: string;
  readonly fields: ReadonlyMap<number, Iso8583Value>;
}

const FIELD_LAST = 128;
const BIT_SECONDARY = 1;
const BIT_TERTIARY = 65;

/**
 * Encodes `message` under `spec`. Throws Iso8583Error: `bad-mti`, `unknown-field` (field not
 * in the spec, or 1/65 given as data), `bad-value` (wrong characters, wrong fixed length, text
 * for a binary field or bytes for a text one), `bad-length` (over the maximum), `bad-bitmap`
 * (no field, or both MACs 64 and 128).
 */
export function iso8583Encode(message: Iso8583Message, spec: Iso8583Spec): Uint8Array {
  if (!/^[0-9]{4}$/.test(message.mti)) {
    throw new Iso8583Error('bad-mti', 0, 0, `MTI ${JSON.stringify(message.mti)}`);
  }
  const numbers = [...message.fields.keys()].sort((a, b) => a - b);
  bitmapCheck(numbers, 0);
  const secondary = numbers.some((n) => n > 64);
  const bitmap = new Uint8Array(secondary ? 16 : 8);
  if (secondary) bitmap[0] = 0x80;
  const parts: Uint8Array[] = [encodeMti(message.mti, spec), bitmap];
  for (const number of numbers) {
    const field = spec.fields.get(number);
    if (field === undefined || number === BIT_SECONDARY || number === BIT_TERTIARY) {
      throw new Iso8583Error('unknown-field', number, 0, 'not in the spec');
    }
    bitmap[(number - 1) >> 3] = (bitmap[(number - 1) >> 3] ?? 0) | (0x80 >> ((number - 1) & 7));
    parts.push(encodeField(number, field, message.fields.get(number) ?? '', spec));
  }
  return concat(parts);
}

/**
 * Decodes one whole message (no framing) under `spec`. Throws Iso8583Error with every code
 * but none other: `truncated`, `bad-bitmap`, `unknown-field`, `bad-length`, `bad-value`,
 * `bad-mti`, `trailing-bytes`.
 */
export function iso8583Decode(bytes: Uint8Array, spec: Iso8583Spec): Iso8583Message {
  const reader = new Reader(bytes);
  const mti = decodeMti(reader, spec);
  const numbers = decodeBitmap(reader);
  const fields = new Map<number, Iso8583Value>();
  for (const number of numbers) {
    const field = spec.fields.get(number);
    if (field === undefined) {
      throw new Iso8583Error('unknown-field', number, reader.offset, 'bitmap names a field '
        + 'the spec does not define');
    }
    fields.set(number, decodeField(reader, number, field, spec));
  }
  if (reader.offset !== bytes.length) {
    throw new Iso8583Error('trailing-bytes', 0, reader.offset,
      `${bytes.length - reader.offset} bytes after field ${numbers[numbers.length - 1] ?? 0}`);
  }
  return { mti, fields };
}

/** The field numbers a bitmap sets must name data, never bit 65 or both MACs. */
function bitmapCheck(numbers: readonly number[], offset: number): void {
  if (numbers.length === 0) throw new Iso8583Error('bad-bitmap', 0, offset, 'no data field');
  if (numbers.includes(BIT_TERTIARY)) {
    throw new Iso8583Error('bad-bitmap', BIT_TERTIARY, offset, 'tertiary bitmap unsupported');
  }
  if (numbers.includes(64) && numbers.includes(128)) {
    throw new Iso8583Error('bad-bitmap', 128, offset, 'two MACs (64 and 128)');
  }
  if (numbers.some((n) => !Number.isInteger(n) || n < 2 || n > FIELD_LAST)) {
    throw new Iso8583Error('unknown-field', numbers.find((n) => n < 2 || n > 128) ?? 0, offset,
      'field numbers are 2..128');
  }
}

class Reader {
  offset = 0;
  constructor(readonly bytes: Uint8Array) {}
  take(count: number, field: number, what: string): Uint8Array {
    if (this.offset + count > this.bytes.length) {
      throw new Iso8583Error('truncated', field, this.offset,
        `${what} needs ${count} bytes, ${this.bytes.length - this.offset} left`);
    }
    const out = this.bytes.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }
}

function encodeMti(mti: string, spec: Iso8583Spec): Uint8Array {
  return spec.mtiEncoding === 'bcd' ? bcdPack(mti, 'right') : asciiBytes(mti);
}

function decodeMti(reader: Reader, spec: Iso8583Spec): string {
  const mti = spec.mtiEncoding === 'bcd'
    ? bcdUnpack(reader.take(2, 0, 'MTI'), 4, 'right')
    : asciiText(reader.take(4, 0, 'MTI'));
  if (mti === null || !/^[0-9]{4}$/.test(mti)) {
    throw new Iso8583Error('bad-mti', 0, 0, 'MTI is not four decimal digits');
  }
  return mti;
}

function decodeBitmap(reader: Reader): number[] {
  const at = reader.offset;
  const primary = reader.take(8, 0, 'primary bitmap');
  const secondary = ((primary[0] ?? 0) & 0x80) !== 0
    ? reader.take(8, 1, 'secondary bitmap')
    : new Uint8Array(0);
  const bitmap = concat([primary, secondary]);
  const numbers: number[] = [];
  for (let bit = 2; bit <= bitmap.length * 8; bit += 1) {
    if (((bitmap[(bit - 1) >> 3] ?? 0) & (0x80 >> ((bit - 1) & 7))) !== 0) numbers.push(bit);
  }
  bitmapCheck(numbers, at);
  return numbers;
}

function encodeField(
  number: number,
  field: Iso8583FieldSpec,
  value: Iso8583Value,
  spec: Iso8583Spec,
): Uint8Array {
  const bad = (why: string): Iso8583Error => new Iso8583Error('bad-value', number, 0, why);
  if ((field.attribute === 'b') !== (value instanceof Uint8Array)) {
    throw bad(field.attribute === 'b' ? 'binary field given text' : 'text field given bytes');
  }
  const length = value.length;
  if (field.lengthType === 'fixed' && length !== field.lengthMax) {
    throw bad(`length ${length}, fixed ${field.lengthMax}`);
  }
  if (length > field.lengthMax) {
    throw new Iso8583Error('bad-length', number, 0, `length ${length} > ${field.lengthMax}`);
  }
  if (typeof value === 'string') valueCheck(number, field, value, 0);
  const body = typeof value !== 'string' ? value
    : field.encoding === 'bcd' ? bcdPack(value, field.align) : asciiBytes(value);
  if (field.lengthType === 'fixed') return body;
  return concat([encodePrefix(length, field.lengthType === 'llvar' ? 2 : 3, spec), body]);
}

function decodeField(
  reader: Reader,
  number: number,
  field: Iso8583FieldSpec,
  spec: Iso8583Spec,
): Iso8583Value {
  const at = reader.offset;
  const length = field.lengthType === 'fixed'
    ? field.lengthMax
    : decodePrefix(reader, number, field.lengthType === 'llvar' ? 2 : 3, spec);
  if (length > field.lengthMax) {
    throw new Iso8583Error('bad-length', number, at, `length ${length} > ${field.lengthMax}`);
  }
  const size = field.encoding === 'bcd' ? Math.ceil(length / 2) : length;
  const raw = reader.take(size, number, field.name);
  if (field.encoding === 'binary') return raw.slice();
  const text = field.encoding === 'bcd' ? bcdUnpack(raw, length, field.align) : asciiText(raw);
  if (text === null) {
    throw new Iso8583Error('bad-value', number, at, `not ${field.encoding} ${field.attribute}`);
  }
  valueCheck(number, field, text, at);
  return text;
}

function valueCheck(number: number, field: Iso8583FieldSpec, text: string, at: number): void {
  const pattern = field.attribute === 'n' ? /^[0-9]*$/
    : field.attribute === 'an' ? /^[0-9A-Za-z ]*$/ : /^[\x20-\x7e]*$/;
  if (!pattern.test(text)) {
    throw new Iso8583Error('bad-value', number, at, `characters outside ${field.attribute}`);
  }
}

function encodePrefix(length: number, digits: 2 | 3, spec: Iso8583Spec): Uint8Array {
  const text = String(length).padStart(digits, '0');
  return spec.lengthPrefixEncoding === 'bcd' ? bcdPack(text, 'right') : asciiBytes(text);
}

function decodePrefix(reader: Reader, number: number, digits: 2 | 3, spec: Iso8583Spec): number {
  const at = reader.offset;
  const text = spec.lengthPrefixEncoding === 'bcd'
    ? bcdUnpack(reader.take(Math.ceil(digits / 2), number, 'length prefix'), digits, 'right')
    : asciiText(reader.take(digits, number, 'length prefix'));
  if (text === null || !/^[0-9]+$/.test(text)) {
    throw new Iso8583Error('bad-length', number, at, 'length prefix is not decimal');
  }
  return Number(text);
}

/** Packs decimal digits two a byte; an odd count gets a `0` nibble on the side opposite `align`. */
export function bcdPack(digits: string, align: 'left' | 'right'): Uint8Array {
  const padded = digits.length % 2 === 0 ? digits
    : align === 'right' ? `0${digits}` : `${digits}0`;
  return Uint8Array.from(Buffer.from(padded, 'hex'));
}

/** Unpacks `count` digits; null when a nibble is not 0..9 (the pad nibble must be 0 too). */
export function bcdUnpack(
  bytes: Uint8Array,
  count: number,
  align: 'left' | 'right',
): string | null {
  const hex = Buffer.from(bytes).toString('hex');
  if (!/^[0-9]*$/.test(hex)) return null;
  if (hex.length === count) return hex;
  const pad = align === 'right' ? hex.slice(0, 1) : hex.slice(-1);
  if (pad !== '0') return null;
  return align === 'right' ? hex.slice(1) : hex.slice(0, count);
}

function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'latin1'));
}

function asciiText(bytes: Uint8Array): string | null {
  for (const byte of bytes) if (byte < 0x20 || byte > 0x7e) return null;
  return Buffer.from(bytes).toString('latin1');
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}
