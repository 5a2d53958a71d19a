// Byte layouts of JT/T 978 card files, PSAM files and command data, for `shuaka inspect`.
//
// Layouts from domain.md §7.1-§7.4 (reconstructed from a deployed validator; JT/T 978 is not
// public). A layout is a list of fields; `layoutDecode` cuts the bytes and names each piece
// with its unit. A length that does not fit the layout is reported, never guessed at.

/** How a field is shown. */
export type FieldKind =
  /** Raw bytes. */
  | 'hex'
  /** Unsigned big-endian binary in fen (JT/T 978 amounts are binary, not BCD). */
  | 'fen'
  /** Unsigned big-endian binary count. */
  | 'count'
  /** BCD digits. */
  | 'bcd'
  /** YYYYMMDD BCD. */
  | 'date'
  /** YYYYMMDDhhmmss BCD. */
  | 'datetime'
  /** Printable text (ASCII; other bytes shown as hex only). */
  | 'text';

/** One field of a layout: name, length in bytes, kind, and meanings of its values. */
export interface FieldSpec {
  readonly name: string;
  readonly bytes: number;
  readonly kind: FieldKind;
  readonly meanings?: Readonly<Record<string, string>>;
}

/** A decoded field. */
export interface DecodedField {
  readonly field: string;
  readonly hex: string;
  readonly value?: string | number;
  readonly unit?: string;
  readonly meaning?: string;
}

const TRANSACTION_TYPES: Readonly<Record<string, string>> = {
  '02': 'load', '05': 'capp purchase', '06': 'purchase', '09': 'compound purchase',
};

/** File 0015, 30 bytes: the issuer's public application data (domain.md §7.1). */
export const FILE_0015: readonly FieldSpec[] = [
  { name: 'issuer id', bytes: 8, kind: 'hex' },
  { name: 'application type', bytes: 1, kind: 'hex', meanings: { '02': 'normal' } },
  { name: 'application version / enable flag', bytes: 1, kind: 'hex' },
  { name: 'application serial number', bytes: 10, kind: 'bcd' },
  { name: 'start date', bytes: 4, kind: 'date' },
  { name: 'expiry date', bytes: 4, kind: 'date' },
  { name: 'issuer FCI data', bytes: 2, kind: 'hex' },
];

/** File 0016, 55 bytes: the holder (domain.md §7.1). */
export const FILE_0016: readonly FieldSpec[] = [
  { name: 'card type', bytes: 1, kind: 'hex' },
  { name: 'staff flag', bytes: 1, kind: 'hex' },
  { name: 'holder name', bytes: 20, kind: 'text' },
  { name: 'holder id number', bytes: 32, kind: 'text' },
  { name: 'holder id type', bytes: 1, kind: 'hex' },
];

/** File 0017, 60 bytes: interoperability data (domain.md §7.1). */
export const FILE_0017: readonly FieldSpec[] = [
  { name: 'international code', bytes: 4, kind: 'hex', meanings: { '00000156': 'China' } },
  { name: 'province code', bytes: 2, kind: 'hex' },
  { name: 'city code', bytes: 2, kind: 'hex' },
  { name: 'interop type', bytes: 2, kind: 'hex',
    meanings: { '0000': 'not interoperable', '0001': 'interoperable (T-Union)' } },
  { name: 'card category', bytes: 1, kind: 'hex' },
  { name: 'reserved', bytes: 49, kind: 'hex' },
];

/** File 0018 record, 23 bytes: the e-purse transaction log (domain.md §7.1). */
export const RECORD_0018: readonly FieldSpec[] = [
  { name: 'ATC', bytes: 2, kind: 'count' },
  { name: 'overdraft limit', bytes: 3, kind: 'fen' },
  { name: 'amount', bytes: 4, kind: 'fen' },
  { name: 'transaction type', bytes: 1, kind: 'hex', meanings: TRANSACTION_TYPES },
  { name: 'terminal number', bytes: 6, kind: 'hex' },
  { name: 'date-time', bytes: 7, kind: 'datetime' },
];

/** PSAM file 0017, 25 bytes (domain.md §7.2). */
export const PSAM_FILE_0017: readonly FieldSpec[] = [
  { name: 'key index', bytes: 1, kind: 'hex' },
  { name: 'issuer id', bytes: 8, kind: 'hex' },
  { name: 'receiver id', bytes: 8, kind: 'hex' },
  { name: 'start date', bytes: 4, kind: 'date' },
  { name: 'end date', bytes: 4, kind: 'date' },
];

/** PSAM file 0016: the terminal number. */
export const PSAM_FILE_0016: readonly FieldSpec[] = [
  { name: 'terminal number', bytes: 6, kind: 'hex' },
];

/** INITIALIZE FOR PURCHASE command data (domain.md §7.4 step 2). */
export const INIT_PURCHASE_DATA: readonly FieldSpec[] = [
  { name: 'key index', bytes: 1, kind: 'hex' },
  { name: 'amount', bytes: 4, kind: 'fen' },
  { name: 'terminal number', bytes: 6, kind: 'hex' },
];

/** INITIALIZE FOR PURCHASE response. */
export const INIT_PURCHASE_RESPONSE: readonly FieldSpec[] = [
  { name: 'balance', bytes: 4, kind: 'fen' },
  { name: 'offline transaction serial (ATC)', bytes: 2, kind: 'count' },
  { name: 'overdraft limit', bytes: 3, kind: 'fen' },
  { name: 'key version', bytes: 1, kind: 'hex' },
  { name: 'algorithm id', bytes: 1, kind: 'hex' },
  { name: 'pseudo-random number', bytes: 4, kind: 'hex' },
];

/** INIT SAM FOR PURCHASE command data, 36 bytes (domain.md §7.4 step 3). */
export const INIT_SAM_DATA: readonly FieldSpec[] = [
  { name: 'card random', bytes: 4, kind: 'hex' },
  { name: 'card ATC', bytes: 2, kind: 'count' },
  { name: 'amount', bytes: 4, kind: 'fen' },
  { name: 'transaction type', bytes: 1, kind: 'hex', meanings: TRANSACTION_TYPES },
  { name: 'date-time', bytes: 7, kind: 'datetime' },
  { name: 'key version', bytes: 1, kind: 'hex' },
  { name: 'algorithm id', bytes: 1, kind: 'hex' },
  { name: 'card application serial (last 8 bytes)', bytes: 8, kind: 'bcd' },
  { name: 'issuer id', bytes: 8, kind: 'hex' },
];

/** INIT SAM FOR PURCHASE response. */
export const INIT_SAM_RESPONSE: readonly FieldSpec[] = [
  { name: 'terminal transaction serial', bytes: 4, kind: 'count' },
  { name: 'MAC1', bytes: 4, kind: 'hex' },
];

/** DEBIT FOR PURCHASE command data (domain.md §7.4 step 6). */
export const DEBIT_DATA: readonly FieldSpec[] = [
  { name: 'terminal transaction serial', bytes: 4, kind: 'count' },
  { name: 'date-time', bytes: 7, kind: 'datetime' },
  { name: 'MAC1', bytes: 4, kind: 'hex' },
];

/** DEBIT FOR PURCHASE response. */
export const DEBIT_RESPONSE: readonly FieldSpec[] = [
  { name: 'TAC', bytes: 4, kind: 'hex' },
  { name: 'MAC2', bytes: 4, kind: 'hex' },
];

/** GET TRANSACTION PROOF command data and response (domain.md §7.5). */
export const PROOF_DATA: readonly FieldSpec[] = [
  { name: 'offline transaction serial (ATC)', bytes: 2, kind: 'count' },
];
export const PROOF_RESPONSE: readonly FieldSpec[] = [
  { name: 'MAC2', bytes: 4, kind: 'hex' },
  { name: 'TAC', bytes: 4, kind: 'hex' },
];

/** CREDIT SAM FOR PURCHASE command data. */
export const CREDIT_SAM_DATA: readonly FieldSpec[] = [{ name: 'MAC2', bytes: 4, kind: 'hex' }];

/** Balance (80 5C 00 02 04). */
export const BALANCE_RESPONSE: readonly FieldSpec[] = [
  { name: 'balance', bytes: 4, kind: 'fen' },
];

function rideEnd(prefix: string): FieldSpec[] {
  return [
    { name: `${prefix} city code`, bytes: 2, kind: 'hex' },
    { name: `${prefix} institution code`, bytes: 8, kind: 'hex' },
    { name: `${prefix} operator code`, bytes: 2, kind: 'hex' },
    { name: `${prefix} line number`, bytes: 2, kind: 'bcd' },
    { name: `${prefix} station`, bytes: 1, kind: 'count' },
    { name: `${prefix} vehicle number`, bytes: 8, kind: 'text' },
    { name: `${prefix} terminal number`, bytes: 8, kind: 'bcd' },
    { name: `${prefix} time`, bytes: 7, kind: 'datetime' },
  ];
}

/** Record 001A (interop compound record), 128 bytes (domain.md §7.3). */
export const RECORD_001A: readonly FieldSpec[] = [
  { name: 'record id', bytes: 2, kind: 'hex', meanings: { '2702': 'bus' } },
  { name: 'record length', bytes: 1, kind: 'count' },
  { name: 'valid flag', bytes: 1, kind: 'hex' },
  { name: 'transaction flag', bytes: 1, kind: 'hex',
    meanings: { '01': 'segment charge / compound purchase', '02': 'pre-authorised purchase' } },
  { name: 'application lock flag', bytes: 1, kind: 'hex' },
  { name: 'transaction serial', bytes: 8, kind: 'bcd' },
  { name: 'state', bytes: 1, kind: 'hex',
    meanings: { '00': 'initial', '01': 'boarded', '02': 'alighted' } },
  ...rideEnd('boarding'),
  { name: 'marked amount', bytes: 4, kind: 'fen' },
  { name: 'direction', bytes: 1, kind: 'hex', meanings: { '00': 'up', '01': 'down' } },
  ...rideEnd('alighting'),
  { name: 'transaction amount', bytes: 4, kind: 'fen' },
  { name: 'ride distance (100 m units, assumed)', bytes: 2, kind: 'count' },
  { name: 'operator data (bit 0 of the first byte: transfer ride)', bytes: 26, kind: 'hex' },
];

/** Record 001E (interop transaction detail), 48 bytes (domain.md §7.3). */
export const RECORD_001E: readonly FieldSpec[] = [
  { name: 'transaction type', bytes: 1, kind: 'hex', meanings: {
    '01': 'EC in', '02': 'EC out', '03': 'EP in', '04': 'EP out', '05': 'EC single',
    '06': 'EP single', '07': 'EC make-up', '08': 'EP make-up', '09': 'EC load', '0A': 'EP load',
  } },
  { name: 'terminal number', bytes: 8, kind: 'bcd' },
  { name: 'industry code', bytes: 1, kind: 'hex', meanings: {
    '01': 'metro', '02': 'bus', '03': 'water', '04': 'taxi', '05': 'car rental', '06': 'bike',
    '07': 'parking', '08': 'coach', '09': 'ferry', '0A': 'intercity rail', '0B': 'air',
    '0C': 'highway', '0E': 'suburban rail',
  } },
  { name: 'line', bytes: 4, kind: 'bcd' },
  { name: 'reserved', bytes: 3, kind: 'hex' },
  { name: 'amount', bytes: 4, kind: 'fen' },
  { name: 'balance', bytes: 4, kind: 'fen' },
  { name: 'date-time', bytes: 7, kind: 'datetime' },
  { name: 'acquirer city', bytes: 2, kind: 'hex' },
  { name: 'institution', bytes: 8, kind: 'hex' },
  { name: 'max amount of an incomplete transaction', bytes: 4, kind: 'fen' },
  { name: 'max ride time (minutes)', bytes: 2, kind: 'count' },
];

/** Bytes a layout covers. */
export function layoutBytes(layout: readonly FieldSpec[]): number {
  return layout.reduce((sum, field) => sum + field.bytes, 0);
}

function fieldValue(spec: FieldSpec, bytes: Uint8Array): Omit<DecodedField, 'field' | 'hex'> {
  const hex = Buffer.from(bytes).toString('hex').toUpperCase();
  const meaning = spec.meanings?.[hex];
  const withMeaning = meaning === undefined ? {} : { meaning };
  switch (spec.kind) {
    case 'hex':
      return withMeaning;
    case 'fen':
    case 'count': {
      const value = bytes.reduce((n, b) => n * 256 + b, 0);
      return spec.kind === 'fen' ? { value, unit: 'fen' } : { value };
    }
    case 'bcd':
      return /^[0-9]*$/.test(hex) ? { value: hex } : { meaning: 'not BCD' };
    case 'date':
    case 'datetime': {
      if (!/^[0-9]*$/.test(hex)) return { meaning: 'not BCD' };
      const date = `${hex.slice(0, 4)}-${hex.slice(4, 6)}-${hex.slice(6, 8)}`;
      const time = spec.kind === 'datetime'
        ? ` ${hex.slice(8, 10)}:${hex.slice(10, 12)}:${hex.slice(12, 14)}` : '';
      return { value: `${date}${time}`, unit: 'local time' };
    }
    case 'text': {
      // Up to the first NUL (findIndex's -1 becomes 2^32-1 under >>> 0: the whole field).
      const trimmed = bytes.subarray(0, bytes.findIndex((b) => b === 0) >>> 0);
      const printable = trimmed.every((b) => b >= 0x20 && b < 0x7f);
      return printable ? { value: Buffer.from(trimmed).toString('latin1').trimEnd() } : {};
    }
    default: {
      const unreachable: never = spec.kind;
      throw new Error(`field kind ${String(unreachable)}`);
    }
  }
}

/**
 * Cuts `bytes` along `layout`. With `partialBytes` (the Le of a READ BINARY that asked for
 * less than the whole file, as readers often do for 0017), an answer of exactly that length
 * ending on a field boundary decodes the fields it holds; any other length is an error naming
 * the expected length (the caller shows the bytes as they are).
 */
export function layoutDecode(
  layout: readonly FieldSpec[], bytes: Uint8Array, partialBytes: number | null = null,
): { fields: DecodedField[] } | { error: string } {
  const expected = layoutBytes(layout);
  const fields: DecodedField[] = [];
  let at = 0;
  for (const spec of layout) {
    if (at === bytes.length && at > 0) break;
    const piece = bytes.subarray(at, at + spec.bytes);
    if (piece.length !== spec.bytes) break;
    at += spec.bytes;
    fields.push({
      field: spec.name,
      hex: Buffer.from(piece).toString('hex').toUpperCase(),
      ...fieldValue(spec, piece),
    });
  }
  const partialOk = partialBytes !== null && partialBytes === bytes.length;
  if (at !== bytes.length || bytes.length === 0 || (at !== expected && !partialOk)) {
    return { error: `${bytes.length} bytes, expected ${expected}` };
  }
  return { fields };
}
