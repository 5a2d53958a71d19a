// In-place check of a journal payload written in the journal's own canonical JSON form.

import {
  AFL_BYTES_MAX, AID_BYTES_MAX, AID_BYTES_MIN, AMOUNT_MINOR_MAX, DATE_YYMMDD_PATTERN,
  IAD_BYTES_MAX, ICC_DATA_BYTES_MAX, PAN_DIGITS_MAX, PAN_MASKED_PATTERN, PAN_SEALED_BYTES_MAX,
  PAN_TOKEN_BYTES, RECONCILE_OUTCOMES, SDAD_BYTES_MAX, SEQ_MAX, STATIC_SEALED_BYTES_MAX,
  TEXT_CHARS_MAX, TIME_HHMMSS_PATTERN, UID_BYTES_MAX, YYMM_PATTERN,
} from './journal_records.js';
import type { JournalKind, ReconcileOutcome } from './journal_records.js';
import {
  TUNION_BLOCK_OUTCOMES, TUNION_DATE_TIME_PATTERN, TUNION_KERNEL_RECORD_BYTES_MAX,
  TUNION_SERIAL_PATTERN, tunionBlockDisagreement,
} from './journal_tunion.js';
import { NAME_PATTERN } from '../params/field_patterns.js';
import type { FieldPattern } from '../params/json_fields.js';

/**
 * Where `payloadFastCheck` leaves a field of interest in PayloadFacts. A record holds one
 * card, so its card fields share slots whatever the kind.
 */
export enum FactSlot {
  TIME_WALL_MS = 0,
  PENDING_SEQ,
  PAN_TOKEN,
  PSN,
  PAN_SEALED,
  PAN_MASKED,
  UID_HEX,
  UNCERTAIN,
  TARGET_SEQ,
  OUTCOME,
  FINAL_SEQ,
  THROUGH_SEQ,
  /** Of a final: from the clearing's first field after `card` to the end of its last field. */
  CLEARING_REST_FROM,
  CLEARING_REST_TO,
  LINE_ID,
  FARE_RULE,
  AMOUNT_MINOR,
  /** 9F36 of a pending's or torn record's recovery, or of a final's clearing. */
  ATC,
  /**
   * A T-Union block's outcome (its index in TUNION_BLOCK_OUTCOMES) and the card's answer (its
   * pending record's seq, if any, in PENDING_SEQ).
   */
  BLOCK_OUTCOME,
  BLOCK_SW_HEX,
  /** Of a T-Union final: from its first field after `kind` (greySeq) to the payload's end. */
  TUNION_FINAL_REST_FROM,
  /** Of a T-Union grey: from its card to the end of its ride (the key after it starts there). */
  TUNION_GREY_REST_FROM,
  TUNION_GREY_REST_TO,
  COUNT,
}

/**
 * The fields of one payload that passed `payloadFastCheck`, as offsets into `bytes` (strings
 * and hex) or numbers (integers, booleans as 0/1, a choice as its index, null as NaN). One
 * instance is reused for every record: nothing is allocated per record but what the caller
 * reads out of it.
 */
export class PayloadFacts {
  bytes: Uint8Array = new Uint8Array(0);
  readonly start = new Int32Array(FactSlot.COUNT);
  readonly end = new Int32Array(FactSlot.COUNT);
  readonly num = new Float64Array(FactSlot.COUNT);

  /** The text of a string or hex slot (ASCII: the check admits nothing else). */
  text(slot: FactSlot): string {
    return latin1(this.bytes, this.start[slot] ?? 0, this.end[slot] ?? 0);
  }

  /** An integer slot, or null for a JSON null. */
  intOrNull(slot: FactSlot): number | null {
    const value = this.num[slot] ?? Number.NaN;
    return Number.isNaN(value) ? null : value;
  }

  outcome(): ReconcileOutcome {
    return RECONCILE_OUTCOMES[this.num[FactSlot.OUTCOME] ?? 0] ?? 'unresolved';
  }
}

type Leaf =
  | { readonly t: 'int'; readonly min: number; readonly max: number; readonly nullable: boolean }
  | { readonly t: 'bool' }
  /** `pattern` null: any printable ASCII (TEXT_PATTERN), all a canonical string can hold. */
  | { readonly t: 'str'; readonly pattern: RegExp | null; readonly max: number }
  | {
      readonly t: 'hex';
      readonly min: number;
      readonly max: number;
      readonly nullable: boolean;
      readonly lengthOk: ((bytes: number) => boolean) | null;
    }
  | { readonly t: 'choice'; readonly choices: readonly Uint8Array[] }
  | { readonly t: 'obj'; readonly fields: readonly Field[] };

interface Field {
  /** `"name":` as bytes. */
  readonly key: Uint8Array;
  readonly leaf: Leaf;
  /** Slot of the value, or -1. */
  readonly slot: number;
  /** Slot whose start is the key's first byte (CLEARING_REST_FROM), or -1. */
  readonly keySlot: number;
}

const ASCII = new TextEncoder();

function field(name: string, leaf: Leaf, slot = -1, keySlot = -1): Field {
  return { key: ASCII.encode(`"${name}":`), leaf, slot, keySlot };
}

const int = (min: number, max: number): Leaf => ({ t: 'int', min, max, nullable: false });
const intOrNull = (min: number, max: number): Leaf => ({ t: 'int', min, max, nullable: true });
const hex = (min: number, max: number, lengthOk: ((bytes: number) => boolean) | null = null):
  Leaf => ({ t: 'hex', min, max, nullable: false, lengthOk });
const str = (pattern: FieldPattern | null, max: number): Leaf =>
  ({ t: 'str', pattern: pattern?.re ?? null, max });
const choice = (choices: readonly string[]): Leaf =>
  ({ t: 'choice', choices: choices.map((c) => ASCII.encode(`"${c}"`)) });
/** TEXT_PATTERN: any printable ASCII, which is all a canonical string here can hold. */
const TEXT: Leaf = str(null, TEXT_CHARS_MAX);

// The rules of journal_records.ts (cardRead, recoveryRead, clearingRead, journalEntryRead),
// field by field in the order the encoder writes them. A test holds the two to the same
// verdicts.
const CARD: Leaf = {
  t: 'obj',
  fields: [
    field('panToken', hex(PAN_TOKEN_BYTES, PAN_TOKEN_BYTES), FactSlot.PAN_TOKEN),
    field('panSealed', hex(8 + 33, PAN_SEALED_BYTES_MAX), FactSlot.PAN_SEALED),
    field('panMasked', str(PAN_MASKED_PATTERN, PAN_DIGITS_MAX), FactSlot.PAN_MASKED),
    field('psn', int(0, 0xff), FactSlot.PSN),
    field('uidHex', hex(0, UID_BYTES_MAX), FactSlot.UID_HEX),
  ],
};

const RECOVERY: Leaf = {
  t: 'obj',
  fields: [
    field('card', CARD),
    field('aidHex', hex(AID_BYTES_MIN, AID_BYTES_MAX)),
    field('atc', int(0, 0xffff), FactSlot.ATC),
    field('amountAuthorisedMinor', int(0, AMOUNT_MINOR_MAX)),
    field('currencyCode', int(0, 999)),
    field('transactionDate', str(DATE_YYMMDD_PATTERN, 6)),
    field('transactionTime', str(TIME_HHMMSS_PATTERN, 6)),
    field('unpredictableNumberHex', hex(4, 4)),
    field('aipHex', hex(2, 2)),
    field('aflHex', hex(4, AFL_BYTES_MAX, (bytes) => bytes % 4 === 0)),
    field('recordsReadCount', int(0, 255)),
    field('cryptogramHex', hex(8, 8)),
    field('iadHex', hex(0, IAD_BYTES_MAX)),
    field('ctqHex', hex(0, 2, (bytes) => bytes !== 1)),
    field('sdadHex', { t: 'hex', min: 1, max: SDAD_BYTES_MAX, nullable: true, lengthOk: null }),
    field('mode', choice(['ec', 'oda'])),
    field('track2ExpiryYymm', str(YYMM_PATTERN, 4)),
    field('tornRecordHex', hex(1, ICC_DATA_BYTES_MAX)),
    field('staticDataSealedHex', hex(0, STATIC_SEALED_BYTES_MAX)),
  ],
};

const CLEARING: Leaf = {
  t: 'obj',
  fields: [
    field('card', CARD),
    field('aidHex', hex(AID_BYTES_MIN, AID_BYTES_MAX), -1, FactSlot.CLEARING_REST_FROM),
    field('atc', int(0, 0xffff), FactSlot.ATC),
    field('amountMinor', int(0, AMOUNT_MINOR_MAX), FactSlot.AMOUNT_MINOR),
    field('currencyCode', int(0, 999)),
    field('fareRule', str(NAME_PATTERN, 32), FactSlot.FARE_RULE),
    field('cryptogramType', choice(['TC', 'ARQC'])),
    field('iccDataHex', hex(1, ICC_DATA_BYTES_MAX)),
    field('transactionDate', str(DATE_YYMMDD_PATTERN, 6)),
    field('transactionTime', str(TIME_HHMMSS_PATTERN, 6)),
    field('terminalId', TEXT),
    field('lineId', TEXT, FactSlot.LINE_ID),
    field('paramsVersion', int(0, SEQ_MAX), FactSlot.CLEARING_REST_TO),
  ],
};

const PENDING_SEQ = field('pendingSeq', intOrNull(1, SEQ_MAX), FactSlot.PENDING_SEQ);

// journal_tunion.ts (cardRead, purchaseRead, rideRead, tunionGreyRead, tunionFinalRead).
const U32_MAX = 0xffff_ffff;
const TUNION_CARD: Leaf = {
  t: 'obj',
  fields: [
    field('issuerIdHex', hex(8, 8)),
    field('serialDigits', str(TUNION_SERIAL_PATTERN, 20)),
    field('cityCodeHex', hex(2, 2)),
    field('uidHex', hex(0, 10)),
  ],
};
const TUNION_PURCHASE: Leaf = {
  t: 'obj',
  fields: [
    field('transactionType', int(0, 0xff)),
    field('atc', int(0, 0xffff), FactSlot.ATC),
    field('amountMinor', int(0, U32_MAX)),
    field('balanceBeforeMinor', int(0, U32_MAX)),
    field('terminalNumberHex', hex(6, 6)),
    field('terminalSerial', int(0, U32_MAX)),
    field('dateTimeDigits', str(TUNION_DATE_TIME_PATTERN, 14)),
  ],
};
const TUNION_RIDE: Leaf = {
  t: 'obj',
  fields: [
    field('tap', choice(['boarding', 'alighting', 'flat'])),
    field('lineId', TEXT),
    field('lineCode', int(0, 9999)),
    field('boardingStop', int(0, 255)),
    field('alightingStop', int(0, 255)),
    field('fareMinor', int(0, U32_MAX)),
    field('discountMinor', int(0, U32_MAX)),
    field('penaltyMinor', int(0, U32_MAX)),
  ],
};

const KIND_FIELDS: Readonly<Record<JournalKind, readonly Field[]>> = {
  pending: [
    field('recovery', RECOVERY),
    field('fareRule', str(NAME_PATTERN, 32)),
    field('amountMinor', int(0, AMOUNT_MINOR_MAX)),
  ],
  final: [PENDING_SEQ, field('clearing', CLEARING)],
  declined: [PENDING_SEQ, field('card', CARD), field('reason', TEXT)],
  torn: [
    PENDING_SEQ,
    field('recovery', RECOVERY),
    field('uncertain', { t: 'bool' }, FactSlot.UNCERTAIN),
    field('reason', TEXT),
  ],
  reconciled: [
    field('targetSeq', int(1, SEQ_MAX), FactSlot.TARGET_SEQ),
    field('outcome', choice(RECONCILE_OUTCOMES), FactSlot.OUTCOME),
    field('finalSeq', intOrNull(1, SEQ_MAX), FactSlot.FINAL_SEQ),
    field('note', TEXT),
  ],
  ack: [field('throughSeq', int(1, SEQ_MAX), FactSlot.THROUGH_SEQ)],
  tunion_grey: [
    field('card', TUNION_CARD, -1, FactSlot.TUNION_GREY_REST_FROM),
    field('purchase', TUNION_PURCHASE),
    field('ride', TUNION_RIDE),
    field('kernelRecordHex', hex(1, TUNION_KERNEL_RECORD_BYTES_MAX), -1,
      FactSlot.TUNION_GREY_REST_TO),
  ],
  tunion_final: [
    field('greySeq', intOrNull(1, SEQ_MAX), FactSlot.PENDING_SEQ,
      FactSlot.TUNION_FINAL_REST_FROM),
    field('card', TUNION_CARD),
    field('purchase', TUNION_PURCHASE),
    field('ride', TUNION_RIDE),
    field('balanceAfterMinor', int(0, U32_MAX)),
    field('tacHex', hex(4, 4)),
    field('terminalId', TEXT),
    field('paramsVersion', int(0, SEQ_MAX)),
    // Records before it have no such key (or null): not canonical, the strict reader reads them.
    field('mac2Verified', { t: 'bool' }),
  ],
  tunion_blocked: [
    field('card', TUNION_CARD),
    field('dateTimeDigits', str(TUNION_DATE_TIME_PATTERN, 14)),
    field('terminalNumberHex', hex(6, 6)),
    field('terminalId', TEXT),
    field('lineId', TEXT),
    field('paramsVersion', int(0, SEQ_MAX)),
    field('blockOutcome', choice(TUNION_BLOCK_OUTCOMES), FactSlot.BLOCK_OUTCOME),
    field('blockSwHex', hex(0, 2, (bytes) => bytes !== 1), FactSlot.BLOCK_SW_HEX),
    // Records before it have no such key: not canonical, the strict reader reads them.
    PENDING_SEQ,
  ],
};

/** The whole payload of each kind: `{"timeWallMs":N,"kind":"<kind>",...}`. */
const PAYLOADS: Readonly<Record<JournalKind, Leaf>> = {
  pending: payloadOf('pending'),
  final: payloadOf('final'),
  declined: payloadOf('declined'),
  torn: payloadOf('torn'),
  reconciled: payloadOf('reconciled'),
  ack: payloadOf('ack'),
  tunion_grey: payloadOf('tunion_grey'),
  tunion_final: payloadOf('tunion_final'),
  tunion_blocked: payloadOf('tunion_blocked'),
};

function payloadOf(kind: JournalKind): Leaf {
  return {
    t: 'obj',
    fields: [
      field('timeWallMs', int(0, Number.MAX_SAFE_INTEGER), FactSlot.TIME_WALL_MS),
      field('kind', choice([kind])),
      ...KIND_FIELDS[kind],
    ],
  };
}

/**
 * Checks `payload`, a record of `kind`, in place, and fills `facts` (slots of fields the kind
 * lacks keep stale values). True only when the payload is exactly what journalPayloadEncode
 * writes (keys in its order, no whitespace, integers as plain digits, hex in upper case,
 * strings of printable ASCII without escapes) and every field passes the rules of
 * journalPayloadDecode; false says nothing more: the caller decodes with journalPayloadDecode,
 * which decides (another JSON spelling of a valid record is still valid) and says why. So a
 * payload this accepts is one the decoder accepts, with the same values.
 *
 * Why: verify and export read every record, and JSON.parse builds some 40 objects and strings
 * per record; over 10^6 records that garbage alone grew the process by 10 MB (V8's heap and
 * its compiler's arenas), where this allocates nothing.
 */
export function payloadFastCheck(
  kind: JournalKind,
  payload: Uint8Array,
  facts: PayloadFacts,
): boolean {
  facts.bytes = payload;
  if (valueAt(payload, 0, PAYLOADS[kind], -1, facts) !== payload.length) return false;
  // The one rule across fields (tunionBlockedRead): a block's outcome, the card's answer and
  // the pending record it completes.
  return kind !== 'tunion_blocked' || blockAgrees(facts);
}

function blockAgrees(facts: PayloadFacts): boolean {
  const outcome = TUNION_BLOCK_OUTCOMES[facts.num[FactSlot.BLOCK_OUTCOME] ?? -1];
  return outcome !== undefined
    && tunionBlockDisagreement(outcome, facts.text(FactSlot.BLOCK_SW_HEX),
      facts.intOrNull(FactSlot.PENDING_SEQ)) === null;
}

/** The end of the value of `leaf` at `at`, or -1 when it is not canonical or not valid. */
function valueAt(bytes: Uint8Array, at: number, leaf: Leaf, slot: number, facts: PayloadFacts)
  : number {
  switch (leaf.t) {
    case 'int':
      return intAt(bytes, at, leaf.min, leaf.max, leaf.nullable, slot, facts);
    case 'bool':
      return boolAt(bytes, at, slot, facts);
    case 'str':
      return strAt(bytes, at, leaf.pattern, leaf.max, slot, facts);
    case 'hex':
      return hexAt(bytes, at, leaf, slot, facts);
    case 'choice':
      return choiceAt(bytes, at, leaf.choices, slot, facts);
    case 'obj':
      return objAt(bytes, at, leaf.fields, facts);
    default: {
      const unreachable: never = leaf;
      throw new Error(`unknown leaf ${String(unreachable)}`);
    }
  }
}

const BRACE_OPEN = 0x7b;
const BRACE_CLOSE = 0x7d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const NULL_BYTES = ASCII.encode('null');
const TRUE_BYTES = ASCII.encode('true');
const FALSE_BYTES = ASCII.encode('false');
/**
 * 1 at the bytes of an upper-case hex digit (0-9, A-F): one load per byte of a hex field, the
 * bulk of a record (a pending's kernel record alone is up to 8 KiB of hex).
 */
const HEX_UPPER_DIGIT: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let b = DIGIT_0; b <= DIGIT_9; b += 1) table[b] = 1;
  for (let b = 0x41; b <= 0x46; b += 1) table[b] = 1;
  return table;
})();
/** Digits of Number.MAX_SAFE_INTEGER: a longer run is no integer the rules admit. */
const SAFE_DIGITS_MAX = 16;

function objAt(bytes: Uint8Array, at: number, fields: readonly Field[], facts: PayloadFacts)
  : number {
  if (bytes[at] !== BRACE_OPEN) return -1;
  let pos = at + 1;
  for (let i = 0; i < fields.length; i += 1) {
    const f = fields[i];
    if (f === undefined) return -1;
    if (i > 0) {
      if (bytes[pos] !== COMMA) return -1;
      pos += 1;
    }
    if (f.keySlot >= 0) facts.start[f.keySlot] = pos;
    if (!bytesAt(bytes, pos, f.key)) return -1;
    pos = valueAt(bytes, pos + f.key.length, f.leaf, f.slot, facts);
    if (pos < 0) return -1;
  }
  return bytes[pos] === BRACE_CLOSE ? pos + 1 : -1;
}

function intAt(
  bytes: Uint8Array,
  at: number,
  min: number,
  max: number,
  nullable: boolean,
  slot: number,
  facts: PayloadFacts,
): number {
  if (nullable && bytesAt(bytes, at, NULL_BYTES)) return store(facts, slot, at, at + 4, NaN);
  let pos = at;
  let value = 0;
  // Bounded: at most SAFE_DIGITS_MAX + 1 digits are looked at.
  while (pos < bytes.length && pos - at <= SAFE_DIGITS_MAX) {
    const byte = bytes[pos] ?? 0;
    if (byte < DIGIT_0 || byte > DIGIT_9) break;
    value = value * 10 + (byte - DIGIT_0);
    pos += 1;
  }
  const digits = pos - at;
  // JSON.stringify writes no leading zero, sign, fraction or exponent for a safe integer.
  if (digits === 0 || digits > SAFE_DIGITS_MAX || (digits > 1 && bytes[at] === DIGIT_0)) {
    return -1;
  }
  if (!Number.isSafeInteger(value) || value < min || value > max) return -1;
  return store(facts, slot, at, pos, value);
}

function boolAt(bytes: Uint8Array, at: number, slot: number, facts: PayloadFacts): number {
  if (bytesAt(bytes, at, TRUE_BYTES)) return store(facts, slot, at, at + 4, 1);
  if (bytesAt(bytes, at, FALSE_BYTES)) return store(facts, slot, at, at + 5, 0);
  return -1;
}

/** A string of printable ASCII without escapes (a `"` or `\` inside is left to the decoder). */
function strAt(
  bytes: Uint8Array,
  at: number,
  pattern: RegExp | null,
  max: number,
  slot: number,
  facts: PayloadFacts,
): number {
  if (bytes[at] !== QUOTE) return -1;
  const from = at + 1;
  let pos = from;
  // Bounded: at most max + 1 characters are looked at.
  while (pos < bytes.length && pos - from <= max) {
    const byte = bytes[pos] ?? 0;
    if (byte === QUOTE) break;
    if (byte < 0x20 || byte > 0x7e || byte === 0x5c) return -1;
    pos += 1;
  }
  if (bytes[pos] !== QUOTE || pos - from > max) return -1;
  if (pattern !== null && !pattern.test(shortText(bytes, from, pos))) return -1;
  return store(facts, slot, from, pos, 0) + 1;
}

function hexAt(
  bytes: Uint8Array,
  at: number,
  leaf: Extract<Leaf, { t: 'hex' }>,
  slot: number,
  facts: PayloadFacts,
): number {
  if (leaf.nullable && bytesAt(bytes, at, NULL_BYTES)) {
    return store(facts, slot, at, at + 4, NaN);
  }
  if (bytes[at] !== QUOTE) return -1;
  const from = at + 1;
  let pos = from;
  // Bounded: at most 2 * max + 1 digits are looked at.
  const end = Math.min(bytes.length, from + 2 * leaf.max + 1);
  // Four digits a step while four fit (a kernel record is thousands of them), then one by one
  // (from the first of four that holds another byte, too).
  while (pos + 4 <= end && hexDigits4(bytes, pos)) pos += 4;
  while (pos < end && HEX_UPPER_DIGIT[bytes[pos] ?? 0] === 1) pos += 1;
  const digits = pos - from;
  if (bytes[pos] !== QUOTE || digits % 2 !== 0) return -1;
  const length = digits / 2;
  if (length < leaf.min || length > leaf.max) return -1;
  if (leaf.lengthOk !== null && !leaf.lengthOk(length)) return -1;
  return store(facts, slot, from, pos, 0) + 1;
}

/** True when the four bytes from `at` (all in `bytes`) are upper-case hex digits. */
function hexDigits4(bytes: Uint8Array, at: number): boolean {
  const t = HEX_UPPER_DIGIT;
  return ((t[bytes[at] ?? 0] ?? 0) & (t[bytes[at + 1] ?? 0] ?? 0)
    & (t[bytes[at + 2] ?? 0] ?? 0) & (t[bytes[at + 3] ?? 0] ?? 0)) === 1;
}

function choiceAt(
  bytes: Uint8Array,
  at: number,
  choices: readonly Uint8Array[],
  slot: number,
  facts: PayloadFacts,
): number {
  for (let i = 0; i < choices.length; i += 1) {
    const quoted = choices[i];
    if (quoted !== undefined && bytesAt(bytes, at, quoted)) {
      return store(facts, slot, at + 1, at + quoted.length - 1, i) + 1;
    }
  }
  return -1;
}

function bytesAt(bytes: Uint8Array, at: number, expected: Uint8Array): boolean {
  const length = expected.length;
  if (at + length > bytes.length) return false;
  // Four bytes a step (the keys are most of a record's structure), their differences or-ed.
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    const j = at + i;
    if ((((bytes[j] ?? 0) ^ (expected[i] ?? 0)) | ((bytes[j + 1] ?? 0) ^ (expected[i + 1] ?? 0))
      | ((bytes[j + 2] ?? 0) ^ (expected[i + 2] ?? 0))
      | ((bytes[j + 3] ?? 0) ^ (expected[i + 3] ?? 0))) !== 0) return false;
  }
  for (; i < length; i += 1) if (bytes[at + i] !== expected[i]) return false;
  return true;
}

/** Records a value's place and number in `slot` (if any); returns `end`. */
function store(facts: PayloadFacts, slot: number, start: number, end: number, value: number)
  : number {
  if (slot >= 0) {
    facts.start[slot] = start;
    facts.end[slot] = end;
    facts.num[slot] = value;
  }
  return end;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

/**
 * The text of a short string field (those with a pattern hold at most 32 characters), built
 * character by character: a Buffer view and its toString cost more than the whole check of a
 * short field (a record's check took 3.3 µs with them, 1.5 µs without, for 591 bytes).
 */
function shortText(bytes: Uint8Array, start: number, end: number): string {
  let text = '';
  for (let i = start; i < end; i += 1) text += String.fromCharCode(bytes[i] ?? 0);
  return text;
}
