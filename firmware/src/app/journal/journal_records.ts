// Journal record kinds, their fields, and the strict JSON payload codec.

import { NAME_PATTERN, TEXT_PATTERN } from '../params/field_patterns.js';
import { FieldError, JsonFields, type FieldPattern } from '../params/json_fields.js';
import { tunionBlockedRead, tunionFinalRead, tunionGreyRead } from './journal_tunion.js';
import type { TunionBlockedEntry, TunionFinalEntry, TunionGreyEntry } from './journal_tunion.js';

/** Record kinds and their one-byte codes in the frame header (never renumber). */
export const JOURNAL_KIND_CODES = {
  pending: 1,
  final: 2,
  declined: 3,
  torn: 4,
  reconciled: 5,
  ack: 6,
  /** T-Union (JT/T 978) grey and final records: journal_tunion.ts. */
  tunion_grey: 7,
  tunion_final: 8,
  /** A deny-listed T-Union card met and its application block tried: journal_tunion.ts. */
  tunion_blocked: 9,
} as const;

export type JournalKind = keyof typeof JOURNAL_KIND_CODES;

export const JOURNAL_KINDS: readonly JournalKind[] = [
  'pending', 'final', 'declined', 'torn', 'reconciled', 'ack', 'tunion_grey', 'tunion_final',
  'tunion_blocked',
];

/** Kind of a header code, or null for an unknown code. */
export function journalKindOfCode(code: number): JournalKind | null {
  return JOURNAL_KINDS.find((kind) => JOURNAL_KIND_CODES[kind] === code) ?? null;
}

/** Bounds of record fields (they keep a record well under the frame's payload bound). */
export const PAN_DIGITS_MIN = 8;
export const PAN_DIGITS_MAX = 19;
export const UID_BYTES_MAX = 10;
export const AID_BYTES_MIN = 5;
export const AID_BYTES_MAX = 16;
export const AFL_BYTES_MAX = 252;
export const IAD_BYTES_MAX = 32;
export const SDAD_BYTES_MAX = 256;
/**
 * ICC data: field 55 of a clearing record (at most 255 bytes in practice), or the kernel's
 * torn record of a pending/torn entry, which holds the certificates read so far.
 */
export const ICC_DATA_BYTES_MAX = 4096;
/** Bytes of a PAN token (pan_vault.ts PAN_TOKEN_BYTES). */
export const PAN_TOKEN_BYTES = 16;
/** A sealed PAN: 19 digits plus the vault's 33 bytes of version, key id, IV and tag. */
export const PAN_SEALED_BYTES_MAX = 19 + 33;
/** Sealed static data: the kernel's bound (2048) plus the seal overhead. */
export const STATIC_SEALED_BYTES_MAX = 2048 + 33;
export const TEXT_CHARS_MAX = 64;
/** EMV n12 amount (9F02): twelve decimal digits. */
export const AMOUNT_MINOR_MAX = 999_999_999_999;
export const SEQ_MAX = 0xffff_ffff;

/** maskPan's shape only: 6 digits, stars, 4 digits (or all stars), never more digits. */
export const PAN_MASKED_PATTERN: FieldPattern = {
  re: /^(?:[0-9]{6}\*{1,9}[0-9]{4}|\*{8,10})$/,
  says: "a masked PAN (6 digits, 1 to 9 '*', 4 digits; or 8 to 10 '*')",
};
export const YYMM_PATTERN: FieldPattern = {
  re: /^[0-9]{2}(?:0[1-9]|1[0-2])$/,
  says: 'a month YYMM (MM 01 to 12)',
};
/** Transaction date (9A) and time (9F21): six digits each. */
export const DATE_YYMMDD_PATTERN: FieldPattern = { re: /^[0-9]{6}$/, says: 'a date YYMMDD' };
export const TIME_HHMMSS_PATTERN: FieldPattern = { re: /^[0-9]{6}$/, says: 'a time hhmmss' };

/**
 * Who the card is, as the journal keeps it: never the clear PAN (PCI DSS v4.0 req. 3.5). The
 * keyed token matches a card across taps, the sealed PAN is opened only for the clearing
 * export (pan_vault.ts), the masked PAN is for screens, logs and reports.
 */
export interface CardKey {
  /** HMAC-SHA-256 token of the PAN digits under the terminal data key (hex, 16 bytes). */
  readonly panToken: string;
  /** The PAN digits sealed with AES-256-GCM under the terminal data key (hex). */
  readonly panSealed: string;
  /** First 6 and last 4 digits, the rest '*' (PCI DSS 3.4.1). */
  readonly panMasked: string;
  /** PAN sequence number 5F34 as its raw byte (0x01 for "01"). */
  readonly psn: number;
  /** ISO 14443 UID as hex; '' when not known. Phones send a random UID per tap. */
  readonly uidHex: string;
}

/**
 * Card data objects never kept after the tap (PCI DSS v4.0 req. 3.3.1): track 2 equivalent
 * (57), track 1 and track 2 discretionary data (9F1F, 9F20), track 1 (56), track 2 of the
 * contactless magstripe mode (9F6B), the cardholder name (5F20, and 9F0B, its extension when
 * the name is longer than 26 bytes), and the clear PAN (5A): the journal holds the PAN sealed
 * in CardKey only. And the cardholder's identity document that PBOC cards carry in their
 * records (JR/T 0025.5: 9F61 the ID number, 9F62 its type, e.g. 00 a resident identity card):
 * personal data the fare never needs.
 */
export const CARD_TAGS_NOT_STORED: readonly number[] = [
  0x57, 0x56, 0x9f6b, 0x9f1f, 0x9f20, 0x5f20, 0x9f0b, 0x5a, 0x9f61, 0x9f62,
];

/** Kernel torn-record tag of the ODA static data (assembly qpboc_torn.ts), kept sealed only. */
export const TAG_DF8104_STATIC_DATA = 0xdf8104;

/**
 * Firmware's tag, in a stored torn record only (the kernel never sees it): one card object
 * that holds the PAN, as the vault sealed its BER-TLV (validator/tap_records.ts). An SM2
 * certificate carries the PAN in clear (JR/T 0025.17), and the kernel needs it back.
 */
export const TAG_DF8170_SEALED_CARD_OBJECT = 0xdf8170;

/** What a torn record never holds: the card tags, and the ODA static data (DF8104). */
export const TORN_RECORD_TAGS_NOT_STORED: readonly number[] = [
  ...CARD_TAGS_NOT_STORED, TAG_DF8104_STATIC_DATA,
];

/**
 * What a validator needs to finish a torn qPBOC debit without a new GPO (domain.md §4.4;
 * Amadis' CUP torn record keys 9A, 9F21, PAN, 57, 94, 9F36, 82, 9F10, 9F6C, 9F37, 9F26,
 * 9F02, 5F2A). Hex fields are upper case. Track 2 is not kept: the kernel's torn record is
 * rebuilt at recovery with a track 2 made of the PAN and `track2ExpiryYymm` only
 * (tap_records.ts), which is all the kernel reads from it.
 */
export interface RecoveryContext {
  readonly card: CardKey;
  /** AID selected (4F/84). */
  readonly aidHex: string;
  /** 9F36 ATC from the GPO response. */
  readonly atc: number;
  /** 9F02 amount authorised, minor units. */
  readonly amountAuthorisedMinor: number;
  /** 5F2A transaction currency code, numeric (156 = CNY). */
  readonly currencyCode: number;
  /** 9A transaction date YYMMDD. */
  readonly transactionDate: string;
  /** 9F21 transaction time HHMMSS. */
  readonly transactionTime: string;
  /** 9F37 unpredictable number, 4 bytes. */
  readonly unpredictableNumberHex: string;
  /** 82 AIP, 2 bytes. */
  readonly aipHex: string;
  /** 94 AFL, 4 bytes per entry. */
  readonly aflHex: string;
  /** AFL records read before the tear, counted in AFL order. */
  readonly recordsReadCount: number;
  /** 9F26 application cryptogram, 8 bytes. */
  readonly cryptogramHex: string;
  /** 9F10 issuer application data. */
  readonly iadHex: string;
  /** 9F6C CTQ, 2 bytes, or '' when the card sent none. */
  readonly ctqHex: string;
  /** 9F4B SDAD if already received (GPO response or a record read before the tear). */
  readonly sdadHex: string | null;
  /**
   * 'ec' when the tap took the e-cash path (DF8102 of the kernel's torn record is 0), else
   * 'oda' (ODA, or auto mode off the e-cash path): the purse is never debited, only an ARQC.
   */
  readonly mode: 'ec' | 'oda';
  /** Expiry YYMM of track 2 (57), the only part of track 2 the kernel reads besides the PAN. */
  readonly track2ExpiryYymm: string;
  /**
   * The kernel's torn record without the objects of CARD_TAGS_NOT_STORED and without the ODA
   * static data (DF8104), BER-TLV hex. GPO-less recovery hands it back to the kernel rebuilt.
   */
  readonly tornRecordHex: string;
  /**
   * The ODA static data (DF8104: the signed records read so far, which may hold the PAN or
   * track 2) sealed under the terminal data key, needed to verify the card's certificate at
   * recovery; '' when there is none.
   */
  readonly staticDataSealedHex: string;
}

/** The clearing record of an approved or admitted tap (what the back office is sent). */
export interface ClearingRecord {
  readonly card: CardKey;
  readonly aidHex: string;
  readonly atc: number;
  readonly amountMinor: number;
  readonly currencyCode: number;
  /** Fare rule applied ("flat", "concession", "transfer"...). */
  readonly fareRule: string;
  /** TC for an offline EC debit, ARQC for UnionPay ODA (authorised later). */
  readonly cryptogramType: 'TC' | 'ARQC';
  /** ICC data as ISO 8583 field 55 carries it: BER-TLV, hex. */
  readonly iccDataHex: string;
  readonly transactionDate: string;
  readonly transactionTime: string;
  readonly terminalId: string;
  readonly lineId: string;
  /** Version of the parameter set in force. */
  readonly paramsVersion: number;
}

/** How an uncertain (pending or torn) tap ended. */
export type ReconcileOutcome =
  /** The card committed: the debit happened; `finalSeq` names its final record. */
  | 'debited'
  /** The card did not commit (nothing debited). */
  | 'not_debited'
  /** The terminal cannot tell (card pulled, ATC moved on): the back office decides. */
  | 'unresolved';

export const RECONCILE_OUTCOMES: readonly ReconcileOutcome[] = [
  'debited', 'not_debited', 'unresolved',
];

/** What a caller appends. */
export type JournalEntry =
  /** Grey record: durable before the last READ RECORD (the command on which the card commits). */
  | {
      readonly kind: 'pending';
      readonly recovery: RecoveryContext;
      readonly fareRule: string;
      readonly amountMinor: number;
    }
  /** Approved / admitted. */
  | {
      readonly kind: 'final';
      readonly pendingSeq: number | null;
      readonly clearing: ClearingRecord;
    }
  | {
      readonly kind: 'declined';
      readonly pendingSeq: number | null;
      readonly card: CardKey;
      readonly reason: string;
    }
  /** The card left in the failure window (domain.md §4.2 rows 2-3). */
  | {
      readonly kind: 'torn';
      readonly pendingSeq: number | null;
      readonly recovery: RecoveryContext;
      readonly uncertain: boolean;
      readonly reason: string;
    }
  /** A pending or torn record resolved later. */
  | {
      readonly kind: 'reconciled';
      readonly targetSeq: number;
      readonly outcome: ReconcileOutcome;
      readonly finalSeq: number | null;
      readonly note: string;
    }
  /** The back office acknowledged every record up to `throughSeq`. */
  | { readonly kind: 'ack'; readonly throughSeq: number }
  /** A T-Union purchase before DEBIT (grey) and after it (final, with the TAC). */
  | TunionGreyEntry
  | TunionFinalEntry
  /** A deny-listed T-Union card and how its application block ended. */
  | TunionBlockedEntry;

/** A durable record: sequence number, wall time stamped at append, entry. */
export interface JournalRecord {
  readonly seq: number;
  readonly timeWallMs: number;
  readonly entry: JournalEntry;
}

const TEXT_ENCODER = new TextEncoder();
const TEXT_DECODER = new TextDecoder('utf-8', { fatal: true });

/** Payload bytes: JSON with a fixed key order, built from validated fields only. */
export function journalPayloadEncode(timeWallMs: number, entry: JournalEntry): Uint8Array {
  return TEXT_ENCODER.encode(JSON.stringify({ timeWallMs, ...entry }));
}

/**
 * Parses and validates a payload. `strict` refuses unknown keys (reading the journal);
 * appending validates the caller's object leniently and writes the validated copy.
 * Throws FieldError naming the field.
 */
export function journalPayloadDecode(
  kind: JournalKind,
  payload: Uint8Array,
  file: string,
): { timeWallMs: number; entry: JournalEntry } {
  let text: string;
  try {
    text = TEXT_DECODER.decode(payload);
  } catch {
    throw new FieldError(file, '', 'payload is not UTF-8');
  }
  const fields = JsonFields.of(JsonFields.parse(text, file), file, '');
  const timeWallMs = fields.int('timeWallMs', 0, Number.MAX_SAFE_INTEGER);
  const entry = journalEntryRead(fields, kind, true);
  fields.finish();
  return { timeWallMs, entry };
}

/** Validates a caller's entry and returns a copy holding only known fields. Throws FieldError. */
export function journalEntryNormalise(entry: JournalEntry, file: string): JournalEntry {
  const fields = JsonFields.of(entry, file, 'entry');
  return journalEntryRead(fields, fields.choice('kind', JOURNAL_KINDS), false);
}

/**
 * As journalEntryNormalise, but refusing unknown keys inside its objects too (the depot reads
 * an export line's entry this way: what the validator wrote has no other key). Throws
 * FieldError naming the field.
 */
export function journalEntryStrict(entry: JournalEntry, file: string): JournalEntry {
  const fields = JsonFields.of(entry, file, 'entry');
  return journalEntryRead(fields, fields.choice('kind', JOURNAL_KINDS), true);
}

function journalEntryRead(fields: JsonFields, kind: JournalKind, strict: boolean): JournalEntry {
  const kindField = fields.choice('kind', JOURNAL_KINDS);
  if (kindField !== kind) {
    throw new FieldError(fields.file, fields.at('kind'), `header says ${kind}`);
  }
  const seqOrNull = (name: string): number | null => fields.intOrNull(name, 1, SEQ_MAX);
  switch (kind) {
    case 'pending':
      return {
        kind,
        recovery: recoveryRead(fields.obj('recovery'), strict),
        fareRule: fields.str('fareRule', NAME_PATTERN, 32),
        amountMinor: fields.int('amountMinor', 0, AMOUNT_MINOR_MAX),
      };
    case 'final':
      return {
        kind,
        pendingSeq: seqOrNull('pendingSeq'),
        clearing: clearingRead(fields.obj('clearing'), strict),
      };
    case 'declined':
      return {
        kind,
        pendingSeq: seqOrNull('pendingSeq'),
        card: cardRead(fields.obj('card'), strict),
        reason: fields.str('reason', TEXT_PATTERN, TEXT_CHARS_MAX),
      };
    case 'torn':
      return {
        kind,
        pendingSeq: seqOrNull('pendingSeq'),
        recovery: recoveryRead(fields.obj('recovery'), strict),
        uncertain: fields.bool('uncertain'),
        reason: fields.str('reason', TEXT_PATTERN, TEXT_CHARS_MAX),
      };
    case 'reconciled':
      return {
        kind,
        targetSeq: fields.int('targetSeq', 1, SEQ_MAX),
        outcome: fields.choice('outcome', RECONCILE_OUTCOMES),
        finalSeq: seqOrNull('finalSeq'),
        note: fields.str('note', TEXT_PATTERN, TEXT_CHARS_MAX),
      };
    case 'ack':
      return { kind, throughSeq: fields.int('throughSeq', 1, SEQ_MAX) };
    case 'tunion_grey':
      return tunionGreyRead(fields, strict);
    case 'tunion_final':
      return tunionFinalRead(fields, strict);
    case 'tunion_blocked':
      return tunionBlockedRead(fields, strict);
    default: {
      const unreachable: never = kind;
      throw new FieldError(fields.file, 'kind', `unknown kind ${String(unreachable)}`);
    }
  }
}

function cardRead(fields: JsonFields, strict: boolean): CardKey {
  const card: CardKey = {
    panToken: fields.hex('panToken', PAN_TOKEN_BYTES, PAN_TOKEN_BYTES),
    panSealed: fields.hex('panSealed', 8 + 33, PAN_SEALED_BYTES_MAX),
    panMasked: fields.str('panMasked', PAN_MASKED_PATTERN, PAN_DIGITS_MAX),
    psn: fields.int('psn', 0, 0xff),
    uidHex: fields.hex('uidHex', 0, UID_BYTES_MAX),
  };
  if (strict) fields.finish();
  return card;
}

function recoveryRead(fields: JsonFields, strict: boolean): RecoveryContext {
  const recovery: RecoveryContext = {
    card: cardRead(fields.obj('card'), strict),
    aidHex: fields.hex('aidHex', AID_BYTES_MIN, AID_BYTES_MAX),
    atc: fields.int('atc', 0, 0xffff),
    amountAuthorisedMinor: fields.int('amountAuthorisedMinor', 0, AMOUNT_MINOR_MAX),
    currencyCode: fields.int('currencyCode', 0, 999),
    transactionDate: fields.str('transactionDate', DATE_YYMMDD_PATTERN, 6),
    transactionTime: fields.str('transactionTime', TIME_HHMMSS_PATTERN, 6),
    unpredictableNumberHex: fields.hex('unpredictableNumberHex', 4, 4),
    aipHex: fields.hex('aipHex', 2, 2),
    aflHex: aflRead(fields),
    recordsReadCount: fields.int('recordsReadCount', 0, 255),
    cryptogramHex: fields.hex('cryptogramHex', 8, 8),
    iadHex: fields.hex('iadHex', 0, IAD_BYTES_MAX),
    ctqHex: ctqRead(fields),
    sdadHex: fields.hexOrNull('sdadHex', 1, SDAD_BYTES_MAX),
    mode: fields.choice('mode', ['ec', 'oda'] as const),
    track2ExpiryYymm: fields.str('track2ExpiryYymm', YYMM_PATTERN, 4),
    tornRecordHex: fields.hex('tornRecordHex', 1, ICC_DATA_BYTES_MAX),
    staticDataSealedHex: fields.hex('staticDataSealedHex', 0, STATIC_SEALED_BYTES_MAX),
  };
  if (!strict) {
    refuseStored(fields, 'tornRecordHex', recovery.tornRecordHex, TORN_RECORD_TAGS_NOT_STORED);
  }
  if (strict) fields.finish();
  return recovery;
}

function aflRead(fields: JsonFields): string {
  const afl = fields.hex('aflHex', 4, AFL_BYTES_MAX);
  if (afl.length % 8 !== 0) {
    throw new FieldError(fields.file, fields.at('aflHex'), 'AFL is 4 bytes per entry');
  }
  return afl;
}

function ctqRead(fields: JsonFields): string {
  const ctq = fields.hex('ctqHex', 0, 2);
  if (ctq.length !== 0 && ctq.length !== 4) {
    throw new FieldError(fields.file, fields.at('ctqHex'), 'CTQ is 2 bytes or absent');
  }
  return ctq;
}

function clearingRead(fields: JsonFields, strict: boolean): ClearingRecord {
  const clearing: ClearingRecord = {
    card: cardRead(fields.obj('card'), strict),
    aidHex: fields.hex('aidHex', AID_BYTES_MIN, AID_BYTES_MAX),
    atc: fields.int('atc', 0, 0xffff),
    amountMinor: fields.int('amountMinor', 0, AMOUNT_MINOR_MAX),
    currencyCode: fields.int('currencyCode', 0, 999),
    fareRule: fields.str('fareRule', NAME_PATTERN, 32),
    cryptogramType: fields.choice('cryptogramType', ['TC', 'ARQC'] as const),
    iccDataHex: fields.hex('iccDataHex', 1, ICC_DATA_BYTES_MAX),
    transactionDate: fields.str('transactionDate', DATE_YYMMDD_PATTERN, 6),
    transactionTime: fields.str('transactionTime', TIME_HHMMSS_PATTERN, 6),
    terminalId: fields.str('terminalId', TEXT_PATTERN, TEXT_CHARS_MAX),
    lineId: fields.str('lineId', TEXT_PATTERN, TEXT_CHARS_MAX),
    paramsVersion: fields.int('paramsVersion', 0, SEQ_MAX),
  };
  if (!strict) refuseStored(fields, 'iccDataHex', clearing.iccDataHex, CARD_TAGS_NOT_STORED);
  if (strict) fields.finish();
  return clearing;
}

/**
 * Refuses BER-TLV `hex` holding a tag of `refused`, or that is not BER-TLV: a record carrying
 * track data or a clear PAN is never written. Run on append only: the start-up scan reads
 * every record, and decoding all their TLV would cost start-up time for bytes this code never
 * writes.
 */
function refuseStored(
  fields: JsonFields,
  name: string,
  hex: string,
  refused: readonly number[],
): void {
  const found = tlvTagsFind(Buffer.from(hex, 'hex'), refused);
  if (found === undefined) fields.refuse(name, 'not BER-TLV');
  if (found !== null) fields.refuse(name, `holds tag ${found.toString(16).toUpperCase()}`);
}

/**
 * True when the BER-TLV `entry` carries (a torn record, ICC data) is BER-TLV and holds no tag
 * a record never stores: the rule refuseStored applies when an entry is normalised, for an
 * append that takes an already canonical entry as it is (Journal.canonicalPayload). Without
 * it, that path wrote a final whose ICC data held track 2 (57) or a clear PAN (5A). The hex
 * is read in place (tlvHexTagsFind): its values are not decoded, only the objects' headers.
 */
export function entryStoresNoCardTags(entry: JournalEntry): boolean {
  switch (entry.kind) {
    case 'pending':
    case 'torn':
      return tlvHexTagsFind(entry.recovery.tornRecordHex, TORN_RECORD_TAGS_NOT_STORED) === null;
    case 'final':
      return tlvHexTagsFind(entry.clearing.iccDataHex, CARD_TAGS_NOT_STORED) === null;
    default:
      return true;
  }
}

/**
 * The first tag of `tags` anywhere in the BER-TLV tree of `bytes` (in the order of the bytes,
 * a constructed object before what it holds); null when none; undefined when `bytes` is not
 * BER-TLV. Never throws. Reads the bytes as decodeTlv (qpboc_session.ts) does, object for
 * object, without building its tree: an append checks every torn record and ICC data so.
 */
export function tlvTagsFind(bytes: Uint8Array, tags: readonly number[]): number | null | undefined {
  return tlvTagsFindIn(bytes, 0, bytes.length, tags);
}

/**
 * tlvTagsFind(Buffer.from(hex, 'hex'), tags) for `hex` made of hex digits only, read where it
 * is: the headers of its objects are the only bytes looked at, so a record's thousands of
 * digits are neither decoded nor copied (Buffer.from took 4 µs for a 1.5 KB torn record). A
 * header byte that is not two hex digits makes it not BER-TLV (undefined); a digit that is not
 * one inside a value is not seen: the caller has checked the digits (payloadFastCheck does).
 * Never throws.
 */
export function tlvHexTagsFind(hex: string, tags: readonly number[]): number | null | undefined {
  return tlvTagsFindIn(hex, 0, hex.length >> 1, tags);
}

/** Values of the hex digits by character code, -1 for any other character. */
const HEX_DIGIT_VALUES: Int8Array = (() => {
  const values = new Int8Array(128).fill(-1);
  for (let digit = 0; digit < 16; digit += 1) {
    const text = digit.toString(16);
    values[text.charCodeAt(0)] = digit;
    values[text.toUpperCase().charCodeAt(0)] = digit;
  }
  return values;
})();

/** Byte `p` of `source` (bytes, or hex digits two a byte); -1 for two characters not hex. */
function tlvByteAt(source: Uint8Array | string, p: number): number {
  if (typeof source !== 'string') return source[p] ?? 0;
  const high = HEX_DIGIT_VALUES[source.charCodeAt(2 * p)] ?? -1;
  const low = HEX_DIGIT_VALUES[source.charCodeAt(2 * p + 1)] ?? -1;
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

/**
 * tlvTagsFind over bytes[start, end) of `source` as decodeTlv reads bytes.subarray(start,
 * end): a byte at or past `end` reads as 0, and an object running past `end` makes the whole
 * not BER-TLV (decodeTlv throws, wherever in the tree, even after a tag of `tags`).
 */
function tlvTagsFindIn(
  source: Uint8Array | string,
  start: number,
  end: number,
  tags: readonly number[],
): number | null | undefined {
  let bad = false;
  const at = (p: number): number => {
    const byte = p < end ? tlvByteAt(source, p) : 0;
    if (byte < 0) bad = true;
    return byte;
  };
  let found: number | null = null;
  let p = start;
  while (p < end) {
    const first = at(p);
    p += 1;
    if (first === 0x00 || first === 0xff) continue;
    let tag = first;
    if ((first & 0x1f) === 0x1f) {
      do {
        tag = tag * 256 + at(p);
        p += 1;
      } while ((at(p - 1) & 0x80) !== 0 && p < end);
    }
    let length = at(p);
    p += 1;
    if (length > 0x80) {
      const count = length & 0x7f;
      length = 0;
      for (let i = 0; i < count; i += 1) length = length * 256 + at(p + i);
      p += count;
    }
    if (bad || p + length > end) return undefined;
    if (found === null && tags.includes(tag)) found = tag;
    if ((first & 0x20) !== 0) {
      const inner = tlvTagsFindIn(source, p, p + length, tags);
      if (inner === undefined) return undefined;
      found ??= inner;
    }
    p += length;
  }
  return bad ? undefined : found;
}

export { maskPan, panScrub } from './pan_mask.js';
