// JT/T 978 interop records: the 128-byte compound record 001A and the 48-byte detail 001E.
//
// Byte layouts from domain.md §7.3 (reconstructed from a deployed validator; JT/T 978 itself
// is not public). The decoder never trusts the card: a record of the wrong length, ID or state,
// or with a non-BCD field, is refused with a reason instead of guessed at.

import { JTT978_DATE_TIME_BYTES } from './jtt978_time.js';
import { hexUpper } from '../../../../assembly/host/hex_upper.js';

export const RECORD_1A_BYTES = 128;
export const RECORD_1E_BYTES = 48;
/** 001A record ID of the bus industry (`27 02`), its length byte (128 - 3). */
export const RECORD_1A_ID_BUS = 0x2702;
const RECORD_1A_LENGTH_BYTE = 0x7d;
/** Byte 5: 1 = segment charge / compound purchase. */
const TRANSACTION_FLAG_SEGMENT = 0x01;
/** Our operator-data byte 103, bit 0: this ride started as a discounted transfer. */
const OPERATOR_FLAG_TRANSFER = 0x01;

/** Byte 15 of 001A: where the ride stands. */
export type RideState = 'initial' | 'boarded' | 'alighted';
const RIDE_STATE_BYTES: Readonly<Record<RideState, number>> = {
  initial: 0x00, boarded: 0x01, alighted: 0x02,
};

/** One end of a ride: where and when a tap happened (001A bytes 16..53 or 59..96). */
export interface RideEnd {
  /** 2 bytes hex. */
  readonly cityCodeHex: string;
  /** 8 bytes hex. */
  readonly institutionHex: string;
  /** 2 bytes hex. */
  readonly operatorCodeHex: string;
  /** 0..9999, BCD on the card. */
  readonly lineCode: number;
  /** 0..255 (0 = none). */
  readonly stop: number;
  /** Up to 8 ASCII characters. */
  readonly vehicle: string;
  /** Terminal number, up to 16 digits (the PSAM's 6-byte number, BCD, left-padded). */
  readonly terminalHex: string;
  /** 7 BCD bytes YYYYMMDDhhmmss as 14 digits. */
  readonly dateTimeDigits: string;
}

/** The 001A compound record, decoded. */
export interface Record1A {
  readonly state: RideState;
  /** 16 BCD digits: the journal's transaction serial of the writing tap. */
  readonly serialDigits: string;
  readonly locked: boolean;
  readonly boarding: RideEnd;
  readonly markedAmountMinor: number;
  /** 0 up, 1 down. */
  readonly direction: number;
  /** Null while boarded (the alighting fields are zero). */
  readonly alighting: RideEnd | null;
  readonly amountMinor: number;
  /** Ride distance in units of 100 m (two bytes; our assumption, the unit is not public). */
  readonly distance100m: number;
  /** Our operator data: this ride was a discounted transfer. */
  readonly transfer: boolean;
}

const BLANK_END_BYTES = 38;

function bcd(value: number, bytes: number): Uint8Array {
  const digits = value.toString().padStart(bytes * 2, '0');
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

function hexBytes(hex: string, bytes: number): Uint8Array {
  const out = Uint8Array.from(Buffer.from(hex.padStart(bytes * 2, '0'), 'hex'));
  if (out.length !== bytes) throw new RangeError(`expected ${bytes} bytes of hex`);
  return out;
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/**
 * A vehicle as 001A keeps it: its last 8 characters, trailing blanks dropped (what
 * rideEndEncode writes and the decoder reads back).
 */
export function record1AVehicle(vehicle: string): string {
  return vehicle.slice(-8).replace(/[\s\0]+$/, '');
}

function rideEndEncode(end: RideEnd): Uint8Array {
  const vehicle = new Uint8Array(8).fill(0x20);
  vehicle.set(Buffer.from(end.vehicle.slice(-8), 'latin1'));
  return Buffer.concat([
    hexBytes(end.cityCodeHex, 2), hexBytes(end.institutionHex, 8),
    hexBytes(end.operatorCodeHex, 2), bcd(end.lineCode, 2), Uint8Array.of(end.stop),
    vehicle, hexBytes(end.terminalHex, 8), hexBytes(end.dateTimeDigits, 7),
  ]);
}

/** Encodes a 001A record (128 bytes). Throws RangeError on a field out of its range. */
export function record1AEncode(record: Record1A): Uint8Array {
  const out = new Uint8Array(RECORD_1A_BYTES);
  out.set([RECORD_1A_ID_BUS >> 8, RECORD_1A_ID_BUS & 0xff, RECORD_1A_LENGTH_BYTE, 0x01,
    TRANSACTION_FLAG_SEGMENT, record.locked ? 1 : 0], 0);
  out.set(hexBytes(record.serialDigits, 8), 6);
  out[14] = RIDE_STATE_BYTES[record.state];
  out.set(rideEndEncode(record.boarding), 15);
  out.set(u32(record.markedAmountMinor), 53);
  out[57] = record.direction;
  if (record.alighting !== null) out.set(rideEndEncode(record.alighting), 58);
  out.set(u32(record.amountMinor), 96);
  out.set([record.distance100m >> 8, record.distance100m & 0xff], 100);
  out[102] = record.transfer ? OPERATOR_FLAG_TRANSFER : 0;
  return out;
}

/** A 001A record the decoder refuses, with the reason (for the log and `shuaka inspect`). */
export type Record1ADecoded =
  | { readonly ok: true; readonly value: Record1A }
  | { readonly ok: false; readonly reason: string };

function isBcd(bytes: Uint8Array): boolean {
  return /^[0-9]*$/.test(Buffer.from(bytes).toString('hex'));
}

function rideEndDecode(bytes: Uint8Array): RideEnd | string {
  const hex = (from: number, to: number): string =>
    hexUpper(bytes.subarray(from, to));
  if (!isBcd(bytes.subarray(12, 14))) return 'line number is not BCD';
  if (!isBcd(bytes.subarray(23, 38))) return 'terminal number or time is not BCD';
  return {
    cityCodeHex: hex(0, 2),
    institutionHex: hex(2, 10),
    operatorCodeHex: hex(10, 12),
    lineCode: Number.parseInt(hex(12, 14), 10),
    stop: bytes[14] ?? 0,
    vehicle: record1AVehicle(Buffer.from(bytes.subarray(15, 23)).toString('latin1')),
    terminalHex: hex(23, 31),
    dateTimeDigits: hex(31, 31 + JTT978_DATE_TIME_BYTES),
  };
}

/**
 * Decodes a 001A record read from a card. Refused (with a reason): not 128 bytes, an ID other
 * than 2702 or length byte other than 7D, a state byte other than 00/01/02, a non-BCD serial,
 * line, terminal or time. A record that is all zero (never written) decodes as state initial.
 */
export function record1ADecode(bytes: Uint8Array): Record1ADecoded {
  if (bytes.length !== RECORD_1A_BYTES) {
    return { ok: false, reason: `${bytes.length} bytes, expected ${RECORD_1A_BYTES}` };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const state = (['initial', 'boarded', 'alighted'] as const)[bytes[14] ?? 0xff];
  if (state === undefined) return { ok: false, reason: `state byte ${bytes[14]} unknown` };
  if (state !== 'initial' && (view.getUint16(0) !== RECORD_1A_ID_BUS
    || bytes[2] !== RECORD_1A_LENGTH_BYTE)) {
    return { ok: false, reason: 'record ID is not 2702 7D' };
  }
  if (!isBcd(bytes.subarray(6, 14))) return { ok: false, reason: 'serial is not BCD' };
  const boarding = rideEndDecode(bytes.subarray(15, 15 + BLANK_END_BYTES));
  if (typeof boarding === 'string') return { ok: false, reason: `boarding: ${boarding}` };
  const alightingBytes = bytes.subarray(58, 58 + BLANK_END_BYTES);
  const alighting = alightingBytes.every((b) => b === 0) ? null : rideEndDecode(alightingBytes);
  if (typeof alighting === 'string') return { ok: false, reason: `alighting: ${alighting}` };
  return {
    ok: true,
    value: {
      state,
      serialDigits: Buffer.from(bytes.subarray(6, 14)).toString('hex'),
      locked: bytes[5] === 1,
      boarding,
      markedAmountMinor: view.getUint32(53),
      direction: bytes[57] ?? 0,
      alighting,
      amountMinor: view.getUint32(96),
      distance100m: view.getUint16(100),
      transfer: ((bytes[102] ?? 0) & OPERATOR_FLAG_TRANSFER) !== 0,
    },
  };
}

/** 001E transaction types (domain.md §7.3): the e-purse ones this validator writes. */
export const RECORD_1E_TYPE = {
  EP_IN: 0x03, EP_OUT: 0x04, EP_SINGLE: 0x06, EP_MAKE_UP: 0x08,
} as const;
/** 001E industry code of the bus. */
export const RECORD_1E_INDUSTRY_BUS = 0x02;

/** The 001E detail record. */
export interface Record1E {
  readonly type: number;
  /** Up to 16 digits. */
  readonly terminalHex: string;
  readonly industry: number;
  readonly lineCode: number;
  readonly amountMinor: number;
  readonly balanceAfterMinor: number;
  readonly dateTimeDigits: string;
  readonly cityCodeHex: string;
  readonly institutionHex: string;
  /** Max amount of an incomplete transaction: the marked amount. */
  readonly incompleteMaxMinor: number;
  readonly maxRideMin: number;
}

/** Encodes a 001E record (48 bytes). Throws RangeError on a field out of range. */
export function record1EEncode(record: Record1E): Uint8Array {
  const out = Buffer.concat([
    Uint8Array.of(record.type), hexBytes(record.terminalHex, 8), Uint8Array.of(record.industry),
    bcd(record.lineCode, 4), new Uint8Array(3), u32(record.amountMinor),
    u32(record.balanceAfterMinor), hexBytes(record.dateTimeDigits, 7),
    hexBytes(record.cityCodeHex, 2), hexBytes(record.institutionHex, 8),
    u32(record.incompleteMaxMinor),
    Uint8Array.of(record.maxRideMin >> 8, record.maxRideMin & 0xff),
  ]);
  if (out.length !== RECORD_1E_BYTES) throw new RangeError('001E record length');
  return Uint8Array.from(out);
}

/** Decodes a 001E record; null when it is not 48 bytes or its BCD fields are not BCD. */
export function record1EDecode(bytes: Uint8Array): Record1E | null {
  if (bytes.length !== RECORD_1E_BYTES) return null;
  const hex = (from: number, to: number): string =>
    hexUpper(bytes.subarray(from, to));
  if (!isBcd(bytes.subarray(10, 14)) || !isBcd(bytes.subarray(25, 32))) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    type: bytes[0] ?? 0,
    terminalHex: hex(1, 9),
    industry: bytes[9] ?? 0,
    lineCode: Number.parseInt(hex(10, 14), 10),
    amountMinor: view.getUint32(17),
    balanceAfterMinor: view.getUint32(21),
    dateTimeDigits: hex(25, 32),
    cityCodeHex: hex(32, 34),
    institutionHex: hex(34, 42),
    incompleteMaxMinor: view.getUint32(42),
    maxRideMin: view.getUint16(46),
  };
}
