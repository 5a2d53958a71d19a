// The clearing export line, checked field by field without intermediate objects: this is the
// line a depot sees 10^6 times a day, so it is read straight off the parsed JSON. The bounds are
// firmware's journal bounds (journal_records.ts, clearingRead and cardRead); a differential
// test holds this check to firmware's own journalEntryNormalise on mutated lines.

import {
  AID_BYTES_MAX,
  AID_BYTES_MIN,
  AMOUNT_MINOR_MAX,
  CARD_TAGS_NOT_STORED,
  DATE_YYMMDD_PATTERN,
  ICC_DATA_BYTES_MAX,
  SEQ_MAX,
  TEXT_CHARS_MAX,
  TIME_HHMMSS_PATTERN,
  UID_BYTES_MAX,
  tlvTagsFind,
} from '../../../firmware/src/app/journal/journal_records.js';
import { NAME_PATTERN, TEXT_PATTERN } from '../../../firmware/src/app/params/field_patterns.js';
import type { FieldPattern } from '../../../firmware/src/app/params/json_fields.js';
import { BatchError } from './batch_error.js';
import { berTlvScan, type TlvSpan } from './ber_tlv_scan.js';
import { clearingIccCheck } from './clearing_icc_check.js';

/** The keys of a clearing line, in the order journal_export.ts writes them. */
export const CLEARING_LINE_KEYS: readonly string[] = ['type', 'seq', 'timeWallMs', 'pendingSeq',
  'pan', 'psn', 'panMasked', 'uidHex', 'aidHex', 'atc', 'amountMinor', 'currencyCode',
  'fareRule', 'cryptogramType', 'iccDataHex', 'transactionDate', 'transactionTime',
  'terminalId', 'lineId', 'paramsVersion'];
const CLEARING_KEY_SET: ReadonlySet<string> = new Set(CLEARING_LINE_KEYS);

// Firmware's journal patterns are imported; its hex pattern, /^(?:[0-9A-Fa-f]{2})*$/, is
// isHexText here (the differential test fails if the two drift apart).
const RULE_CHARS_MAX = 32;
const PAN_PATTERN = /^[0-9]{8,19}$/;
const PSN_PATTERN = /^[0-9A-F]{2}$/;
/** BER-TLV: bit 6 of a tag's first byte marks a constructed object (EMV 4.4 Book 3, B1). */
const TAG_CONSTRUCTED_BIT = 0x20;

type Obj = Readonly<Record<string, unknown>>;

/** The fields of a checked clearing line the depot stores. */
export interface ClearingLineFields {
  readonly pan: string;
  readonly psn: string;
  readonly atc: number;
  readonly amountMinor: number;
  readonly currencyCode: number;
  readonly fareRule: string;
  readonly cryptogramType: 'TC' | 'ARQC';
  /** Field 55 without 5A, 57, 5F20, 9F6B, upper case. */
  readonly iccDataHex: string;
  readonly transactionDate: string;
  readonly transactionTime: string;
  readonly lineId: string;
  readonly paramsVersion: number;
  /** The line as JSON without the clear PAN, iccDataHex as stored. */
  readonly recordJson: string;
}

/** True when `line`'s keys are exactly CLEARING_LINE_KEYS (the caller names a bad key). */
export function clearingKeysExact(line: Obj): boolean {
  let count = 0;
  for (const key in line) {
    if (!CLEARING_KEY_SET.has(key)) return false;
    count += 1;
  }
  return count === CLEARING_LINE_KEYS.length;
}

function fail(path: string, field: string, reason: string): never {
  throw new BatchError('bad-batch', `${path}.${field}`, reason);
}

function intIn(line: Obj, field: string, min: number, max: number, path: string): number {
  const value = line[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max)
    fail(path, field, `expected an integer in ${min}..${grouped(max)}`);
  return value;
}

/**
 * A bound in groups of three digits: 12 digits in a row read as a PAN to the message
 * redactor, and "0..[redacted]" told nobody what amount is allowed.
 */
function grouped(n: number): string {
  return n.toLocaleString('en-US');
}

/** An even number of 0-9A-Fa-f digits: a loop, cheaper than a regular expression per field. */
function isHexText(value: string): boolean {
  if (value.length % 2 !== 0) return false;
  for (let i = 0; i < value.length; i += 1) {
    const c = value.charCodeAt(i) | 0x20;
    // | 0x20 folds A-F onto a-f and leaves 0-9 as they are ('0' is 0x30).
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** line.panMasked === maskPan(pan), compared in place (maskPan makes three strings). */
function panMaskedMatches(masked: unknown, pan: string): boolean {
  if (typeof masked !== 'string' || masked.length !== pan.length) return false;
  const length = pan.length;
  for (let i = 0; i < length; i += 1) {
    const shown = length > 10 && (i < 6 || i >= length - 4);
    if (masked.charCodeAt(i) !== (shown ? pan.charCodeAt(i) : 0x2a)) return false;
  }
  return true;
}

function hexIn(line: Obj, field: string, bytesMin: number, bytesMax: number, path: string):
  string {
  const value = line[field];
  if (typeof value !== 'string' || !isHexText(value))
    fail(path, field, 'expected hex (an even number of 0-9A-F digits)');
  if (value.length < 2 * bytesMin || value.length > 2 * bytesMax)
    fail(path, field, `expected ${bytesMin}..${bytesMax} bytes`);
  return value;
}

/** As JsonFields.str: the length first, then the pattern, refused in words. */
function textIn(line: Obj, field: string, pattern: FieldPattern, lengthMax: number,
  path: string): string {
  const value = line[field];
  if (typeof value === 'string' && value.length > lengthMax)
    fail(path, field, `expected at most ${lengthMax} characters, got ${value.length}`);
  if (typeof value !== 'string' || !pattern.re.test(value))
    fail(path, field, `expected ${pattern.says}`);
  return value;
}

/**
 * Field 55 decoded, for the checks of one line at a time (nothing keeps it: the stored hex is
 * cut from the text, clearing_icc_check.ts).
 */
const iccScratch = Buffer.alloc(ICC_DATA_BYTES_MAX);

/**
 * Checks the fields of clearing line `line` (keys, seq and timeWallMs already checked) in the
 * order the depot always refused them, and returns what is stored. `path` is `records[i]`.
 * Throws BatchError: bad-batch at the field, or terminal-mismatch at `terminalId`.
 */
export function clearingLineCheck(line: Obj, seq: number, path: string, terminalId: string):
  ClearingLineFields {
  const psn = line['psn'];
  if (typeof psn !== 'string' || !PSN_PATTERN.test(psn))
    fail(path, 'psn', 'expected two upper-case hex digits');
  const pan = line['pan'];
  if (typeof pan !== 'string' || !PAN_PATTERN.test(pan))
    fail(path, 'pan', 'expected 8 to 19 digits');
  const pendingSeq = line['pendingSeq'] === null ? null
    : intIn(line, 'pendingSeq', 1, SEQ_MAX, path);
  hexIn(line, 'uidHex', 0, UID_BYTES_MAX, path);
  hexIn(line, 'aidHex', AID_BYTES_MIN, AID_BYTES_MAX, path);
  const atc = intIn(line, 'atc', 0, 0xffff, path);
  const amountMinor = intIn(line, 'amountMinor', 0, AMOUNT_MINOR_MAX, path);
  const currencyCode = intIn(line, 'currencyCode', 0, 999, path);
  const fareRule = textIn(line, 'fareRule', NAME_PATTERN, RULE_CHARS_MAX, path);
  const cryptogramType = line['cryptogramType'];
  if (cryptogramType !== 'TC' && cryptogramType !== 'ARQC')
    fail(path, 'cryptogramType', 'expected one of TC, ARQC');
  const iccDataHex = hexIn(line, 'iccDataHex', 1, ICC_DATA_BYTES_MAX, path).toUpperCase();
  const transactionDate = textIn(line, 'transactionDate', DATE_YYMMDD_PATTERN, 6, path);
  const transactionTime = textIn(line, 'transactionTime', TIME_HHMMSS_PATTERN, 6, path);
  const lineTerminalId = textIn(line, 'terminalId', TEXT_PATTERN, TEXT_CHARS_MAX, path);
  const lineId = textIn(line, 'lineId', TEXT_PATTERN, TEXT_CHARS_MAX, path);
  const paramsVersion = intIn(line, 'paramsVersion', 0, SEQ_MAX, path);
  const bytes = iccScratch.subarray(0, iccScratch.write(iccDataHex, 'hex'));
  const spans = iccNothingStoredCheck(bytes, path);
  if (!panMaskedMatches(line['panMasked'], pan)) fail(path, 'panMasked', 'does not match the PAN');
  if (lineTerminalId !== terminalId)
    throw new BatchError('terminal-mismatch', `${path}.terminalId`,
      'not the certificate\'s terminal');
  if (pendingSeq !== null && pendingSeq >= seq)
    fail(path, 'pendingSeq', 'must precede the record');
  const stripped = clearingIccCheck({ iccDataHex, psn: parseInt(psn, 16), atc, amountMinor,
    currencyCode, transactionDate }, pan, `${path}.iccDataHex`, { bytes, spans });
  return { pan, psn, atc, amountMinor, currencyCode, fareRule, cryptogramType,
    iccDataHex: stripped, transactionDate, transactionTime, lineId, paramsVersion,
    recordJson: clearingJson(line, stripped) };
}

/**
 * Firmware never journals field 55 holding a CARD_TAGS_NOT_STORED object at any depth, or
 * field 55 that is not BER-TLV (journal_records.ts, refuseStored): neither does the depot.
 * The flat scan answers for the usual all-primitive field 55; a constructed object is walked
 * by firmware's own tree search. Returns the top-level spans, or null when the flat scan
 * refused the coding (clearingIccCheck then reports it).
 */
function iccNothingStoredCheck(bytes: Uint8Array, path: string): TlvSpan[] | null {
  const spans = berTlvScan(bytes);
  let flat = spans !== null;
  if (spans !== null)
    for (const span of spans) {
      // Firmware's search walks a constructed object's children before later objects.
      if (((bytes[span.start] ?? 0) & TAG_CONSTRUCTED_BIT) !== 0) {
        flat = false;
        break;
      }
      if (CARD_TAGS_NOT_STORED.includes(span.tag))
        fail(path, 'iccDataHex', `holds tag ${span.tag.toString(16).toUpperCase()}`);
    }
  if (flat) return spans;
  const found = tlvTagsFind(bytes, CARD_TAGS_NOT_STORED);
  if (found === undefined) fail(path, 'iccDataHex', 'not BER-TLV');
  if (found !== null) fail(path, 'iccDataHex', `holds tag ${found.toString(16).toUpperCase()}`);
  return spans;
}

/**
 * The stored `record_json`: the line in export order without `pan`, field 55 as stored.
 * Every value was checked above: numbers are safe integers and only terminalId and lineId
 * (printable ASCII) may need JSON escapes.
 */
function clearingJson(line: Obj, iccDataHex: string): string {
  // One join makes one flat string; a chain of + makes a tree of ~40 pieces per record, which
  // the batch keeps alive through its collections and every later reader walks.
  return ['{"type":"clearing","seq":', String(line['seq']), ',"timeWallMs":',
    String(line['timeWallMs']), ',"pendingSeq":', String(line['pendingSeq']), ',"psn":"',
    String(line['psn']), '","panMasked":"', String(line['panMasked']), '","uidHex":"',
    String(line['uidHex']), '","aidHex":"', String(line['aidHex']), '","atc":',
    String(line['atc']), ',"amountMinor":', String(line['amountMinor']), ',"currencyCode":',
    String(line['currencyCode']), ',"fareRule":"', String(line['fareRule']),
    '","cryptogramType":"', String(line['cryptogramType']), '","iccDataHex":"', iccDataHex,
    '","transactionDate":"', String(line['transactionDate']), '","transactionTime":"',
    String(line['transactionTime']), '","terminalId":', JSON.stringify(line['terminalId']),
    ',"lineId":', JSON.stringify(line['lineId']), ',"paramsVersion":',
    String(line['paramsVersion']), '}'].join('');
}
