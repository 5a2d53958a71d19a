// ISO 8583:1987 field formats: the table a codec reads, and China UnionPay's (CUPS) POS profile.

/** How a field's characters sit on the wire. */
export type Iso8583Encoding =
  /** Packed BCD, two digits a byte; odd digit counts are padded with one `0` nibble. */
  | 'bcd'
  /** One ASCII byte per character. */
  | 'ascii'
  /** Raw bytes (ISO attribute `b`). */
  | 'binary';

/** Fixed length, or a length prefix of two (LL) or three (LLL) decimal digits. */
export type Iso8583LengthType = 'fixed' | 'llvar' | 'lllvar';

/** One data element's format. */
export interface Iso8583FieldSpec {
  readonly name: string;
  /** ISO attribute: `n` numeric, `an`/`ans` text, `b` binary. */
  readonly attribute: 'n' | 'an' | 'ans' | 'b';
  readonly lengthType: Iso8583LengthType;
  /** Exact (fixed) or maximum (var) length: digits for `n`, characters for text, bytes for `b`. */
  readonly lengthMax: number;
  readonly encoding: Iso8583Encoding;
  /**
   * Where an odd-length BCD value sits in its bytes: `right` pads a leading `0` nibble (ISO
   * usage), `left` a trailing one (CUPS "左靠BCD" for variable numeric fields and field 22).
   */
  readonly align: 'left' | 'right';
}

/** A whole message profile: MTI, length prefixes and the field table (2..128). */
export interface Iso8583Spec {
  readonly name: string;
  readonly mtiEncoding: 'bcd' | 'ascii';
  /** How LL/LLL prefixes are written: BCD (1 or 2 bytes) or ASCII digits (2 or 3 bytes). */
  readonly lengthPrefixEncoding: 'bcd' | 'ascii';
  readonly fields: ReadonlyMap<number, Iso8583FieldSpec>;
}

type Row = readonly [number, string, Iso8583FieldSpec['attribute'], Iso8583LengthType, number];

/** Builds a spec's field map; `n` is BCD, text ASCII, `b` binary; `leftAligned` lists fields. */
export function iso8583Fields(
  rows: readonly Row[],
  leftAligned: readonly number[] = [],
): ReadonlyMap<number, Iso8583FieldSpec> {
  const fields = new Map<number, Iso8583FieldSpec>();
  for (const [number, name, attribute, lengthType, lengthMax] of rows) {
    const encoding: Iso8583Encoding =
      attribute === 'n' ? 'bcd' : attribute === 'b' ? 'binary' : 'ascii';
    const align = leftAligned.includes(number) ? 'left' : 'right';
    fields.set(number, { name, attribute, lengthType, lengthMax, encoding, align });
  }
  return fields;
}

/**
 * The CUPS POS profile of ISO 8583:1987 this depot speaks (see depot/src/acquirer/README.md for
 * the sources): BCD MTI and numerics, binary bitmaps, BCD length prefixes, ASCII text.
 * Variable numerics (2, 32, 33, 60, 61) and field 22 are left-aligned BCD as CUPS writes them.
 */
export const CUPS_SPEC: Iso8583Spec = {
  name: 'cups-1987',
  mtiEncoding: 'bcd',
  lengthPrefixEncoding: 'bcd',
  fields: iso8583Fields(
    [
      [2, 'primary account number', 'n', 'llvar', 19],
      [3, 'processing code', 'n', 'fixed', 6],
      [4, 'amount, transaction', 'n', 'fixed', 12],
      [7, 'transmission date and time MMDDhhmmss', 'n', 'fixed', 10],
      [11, 'systems trace audit number', 'n', 'fixed', 6],
      [12, 'time, local transaction hhmmss', 'n', 'fixed', 6],
      [13, 'date, local transaction MMDD', 'n', 'fixed', 4],
      [14, 'date, expiration YYMM', 'n', 'fixed', 4],
      [15, 'date, settlement MMDD', 'n', 'fixed', 4],
      [22, 'point of service entry mode', 'n', 'fixed', 3],
      [23, 'card sequence number', 'n', 'fixed', 3],
      [25, 'point of service condition code', 'n', 'fixed', 2],
      [32, 'acquiring institution identification code', 'n', 'llvar', 11],
      [33, 'forwarding institution identification code', 'n', 'llvar', 11],
      [37, 'retrieval reference number', 'an', 'fixed', 12],
      [38, 'authorisation identification response', 'an', 'fixed', 6],
      [39, 'response code', 'an', 'fixed', 2],
      [41, 'card acceptor terminal identification', 'ans', 'fixed', 8],
      [42, 'card acceptor identification code', 'ans', 'fixed', 15],
      [43, 'card acceptor name/location', 'ans', 'fixed', 40],
      [44, 'additional response data', 'ans', 'llvar', 25],
      [48, 'additional data, private', 'ans', 'lllvar', 322],
      [49, 'currency code, transaction', 'an', 'fixed', 3],
      [54, 'additional amounts', 'an', 'lllvar', 20],
      [55, 'ICC system related data', 'b', 'lllvar', 255],
      [60, 'reserved private: message type, batch, reason', 'n', 'lllvar', 17],
      [61, 'original message data', 'n', 'lllvar', 29],
      [63, 'reserved private', 'ans', 'lllvar', 163],
      [64, 'message authentication code', 'b', 'fixed', 8],
      [90, 'original data elements', 'n', 'fixed', 42],
      [128, 'message authentication code', 'b', 'fixed', 8],
    ],
    [2, 22, 32, 33, 60, 61],
  ),
};
