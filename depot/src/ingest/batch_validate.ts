// Strict validation of POST /v1/batches: the depot does not trust the validator. Every export
// line is checked against firmware's own journal bounds (journal_records.ts), its key set, and
// (clearing) against its ICC data; the PAN is split off so nothing downstream sees it clear.

import type { JournalEntry } from '../../../firmware/src/app/journal/journal_records.js';
import {
  journalEntryNormalise,
  maskPan,
  SEQ_MAX,
} from '../../../firmware/src/app/journal/journal_records.js';
import { FieldError } from '../../../firmware/src/app/params/json_fields.js';
import { BatchError } from './batch_error.js';
import { clearingKeysExact, clearingLineCheck } from './clearing_line_check.js';
import { isTunionLine, tunionLineValidate } from '../tunion/tunion_ingest.js';
import { TERMINAL_ID_PATTERN } from './terminal_registry.js';
import type { TunionIngestRecord } from '../tunion/tunion_ingest.js';

/** Most records one batch may carry (8 MiB of export lines is about 10^4). */
export const BATCH_RECORDS_MAX = 50_000;

export type TapType = 'clearing' | 'torn' | 'reconciled' | 'pending_open';

/** One validated record, ready for the `taps` table. `pan` is clear: seal it, never store it. */
export interface IngestRecord {
  readonly seq: number;
  readonly type: TapType;
  readonly timeWallMs: number;
  readonly routeId: string | null;
  readonly pan: string | null;
  readonly psn: string | null;
  readonly atc: number | null;
  readonly amountMinor: number | null;
  readonly currencyCode: number | null;
  readonly fareRule: string | null;
  readonly cryptogramType: 'TC' | 'ARQC' | null;
  /** Field 55 without the PAN-bearing objects (5A, 57). */
  readonly iccDataHex: string | null;
  readonly transactionDate: string | null;
  readonly transactionTime: string | null;
  readonly paramsVersion: number | null;
  /** The export line as JSON with every clear PAN removed or masked. */
  readonly recordJson: string;
}

export interface IngestBatch {
  readonly terminalId: string;
  readonly firstSeq: number;
  readonly throughSeq: number;
  readonly records: readonly IngestRecord[];
  /** T-Union lines (depot/src/tunion): stored apart, never sent to the acquirer. */
  readonly tunion: readonly TunionIngestRecord[];
}

const BATCH_KEYS = ['terminalId', 'firstSeq', 'throughSeq', 'records'];
const LINE_KEYS: Record<TapType, readonly string[]> = {
  clearing: ['type', 'seq', 'timeWallMs', 'pendingSeq', 'pan', 'psn', 'panMasked', 'uidHex',
    'aidHex', 'atc', 'amountMinor', 'currencyCode', 'fareRule', 'cryptogramType', 'iccDataHex',
    'transactionDate', 'transactionTime', 'terminalId', 'lineId', 'paramsVersion'],
  torn: ['type', 'seq', 'timeWallMs', 'pendingSeq', 'uncertain', 'stillUncertain', 'reason',
    'pan', 'panMasked', 'psn', 'recovery'],
  reconciled: ['type', 'seq', 'timeWallMs', 'targetSeq', 'outcome', 'finalSeq', 'note'],
  pending_open: ['type', 'seq', 'timeWallMs', 'pan', 'panMasked', 'psn', 'fareRule',
    'amountMinor', 'recovery'],
};
/** journal_records.ts RecoveryContext, as journal_export.ts sends it. */
const RECOVERY_KEYS = ['card', 'aidHex', 'atc', 'amountAuthorisedMinor', 'currencyCode',
  'transactionDate', 'transactionTime', 'unpredictableNumberHex', 'aipHex', 'aflHex',
  'recordsReadCount', 'cryptogramHex', 'iadHex', 'ctqHex', 'sdadHex', 'mode',
  'track2ExpiryYymm', 'tornRecordHex', 'staticDataSealedHex'];
const CARD_KEYS = ['psn', 'uidHex'];

export type Obj = Readonly<Record<string, unknown>>;

function objectAt(value: unknown, path: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new BatchError('bad-batch', path, 'expected an object');
  return value as Obj;
}

function exactKeys(value: Obj, keys: readonly string[], path: string): void {
  for (const key of keys)
    if (!Object.prototype.hasOwnProperty.call(value, key))
      throw new BatchError('bad-batch', at(path, key), 'missing');
  for (const key of Object.keys(value))
    if (!keys.includes(key)) throw new BatchError('bad-batch', at(path, key), 'unexpected field');
}

export function at(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function seqAt(value: unknown, path: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min
    || value > SEQ_MAX)
    throw new BatchError('bad-batch', path, `expected an integer in ${min}..${SEQ_MAX}`);
  return value;
}

/** How a clearing line is checked and stored (the reference test swaps in a second one). */
export type ClearingValidator =
  (line: Obj, path: string, terminalId: string, base: LineBase) => IngestRecord;

/**
 * Validates a parsed batch body sent over the certificate of `certTerminalId`. Throws
 * BatchError (bad-batch or terminal-mismatch).
 */
export function batchValidate(
  body: unknown,
  certTerminalId: string,
  clearing: ClearingValidator = clearingValidate,
): IngestBatch {
  const batch = objectAt(body, '');
  exactKeys(batch, BATCH_KEYS, '');
  const terminalId = batch['terminalId'];
  // The registry's own pattern: an id no terminal can be registered under is a bad batch.
  if (typeof terminalId !== 'string' || !TERMINAL_ID_PATTERN.re.test(terminalId))
    throw new BatchError('bad-batch', 'terminalId', `expected ${TERMINAL_ID_PATTERN.says}`);
  if (terminalId !== certTerminalId)
    throw new BatchError('terminal-mismatch', 'terminalId', 'not the certificate\'s terminal');
  const firstSeq = seqAt(batch['firstSeq'], 'firstSeq', 1);
  const throughSeq = seqAt(batch['throughSeq'], 'throughSeq', firstSeq);
  const lines = batch['records'];
  if (!Array.isArray(lines)) throw new BatchError('bad-batch', 'records', 'expected an array');
  if (lines.length > BATCH_RECORDS_MAX)
    throw new BatchError('bad-batch', 'records', `at most ${BATCH_RECORDS_MAX} records`);
  const records: IngestRecord[] = [];
  const tunion: TunionIngestRecord[] = [];
  let previous = firstSeq - 1;
  for (let i = 0; i < lines.length; i += 1) {
    const value = lines[i] as unknown;
    const tunionLine = tunionOf(value, i, terminalId);
    const record = tunionLine ?? lineValidate(value, i, terminalId, clearing);
    if (record.seq <= previous || record.seq > throughSeq)
      throw new BatchError('bad-batch', `records[${i}].seq`,
        `must increase and lie in firstSeq..throughSeq (${firstSeq}..${throughSeq})`);
    previous = record.seq;
    if (tunionLine !== null) tunion.push(tunionLine);
    else records.push(record as IngestRecord);
  }
  return { terminalId, firstSeq, throughSeq, records, tunion };
}

/** A T-Union line validated, or null for any other line. Throws BatchError. */
function tunionOf(value: unknown, i: number, terminalId: string): TunionIngestRecord | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const line = value as Obj;
  const type = line['type'];
  if (!isTunionLine(type)) return null;
  const seq = seqAt(line['seq'], at(linePath(i), 'seq'), 1);
  const timeWallMs = line['timeWallMs'];
  if (typeof timeWallMs !== 'number' || !Number.isSafeInteger(timeWallMs) || timeWallMs < 0)
    throw new BatchError('bad-batch', at(linePath(i), 'timeWallMs'),
      'expected a non-negative integer');
  return tunionLineValidate(line, linePath(i), terminalId, { seq, timeWallMs, type });
}

/** `records[i]`: built only when needed (an error, a rare line type). */
function linePath(i: number): string {
  return `records[${i}]`;
}

function lineValidate(
  value: unknown,
  i: number,
  terminalId: string,
  clearing: ClearingValidator,
): IngestRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    objectAt(value, linePath(i));
  const line = value as Obj;
  const type = line['type'];
  if (type !== 'clearing' && type !== 'torn' && type !== 'reconciled'
    && type !== 'pending_open')
    throw new BatchError('bad-batch', at(linePath(i), 'type'),
      'expected clearing, torn, reconciled, pending_open, tunion_clearing, tunion_grey or '
      + 'tunion_blocked');
  if (type !== 'clearing') exactKeys(line, LINE_KEYS[type], linePath(i));
  else if (!clearingKeysExact(line)) {
    exactKeys(line, LINE_KEYS.clearing, linePath(i));
    throw new BatchError('bad-batch', linePath(i), 'unexpected fields');
  }
  const seq = line['seq'];
  const timeWallMs = line['timeWallMs'];
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || seq > SEQ_MAX)
    seqAt(seq, at(linePath(i), 'seq'), 1);
  if (typeof timeWallMs !== 'number' || !Number.isSafeInteger(timeWallMs) || timeWallMs < 0)
    throw new BatchError('bad-batch', at(linePath(i), 'timeWallMs'),
      'expected a non-negative integer');
  const base: LineBase = { seq: seq as number, type, timeWallMs };
  const path = linePath(i);
  switch (type) {
    case 'clearing':
      return clearing(line, path, terminalId, base);
    case 'torn':
    case 'pending_open':
      return uncertainValidate(line, path, base);
    case 'reconciled':
      return reconciledValidate(line, path, base);
    default: {
      const unreachable: never = type;
      throw new BatchError('bad-batch', at(linePath(i), 'type'),
        `unknown ${String(unreachable)}`);
    }
  }
}

export interface LineBase {
  readonly seq: number;
  readonly type: TapType;
  readonly timeWallMs: number;
}

const EMPTY: Omit<IngestRecord, 'seq' | 'type' | 'timeWallMs' | 'recordJson'> = {
  routeId: null, pan: null, psn: null, atc: null, amountMinor: null, currencyCode: null,
  fareRule: null, cryptogramType: null, iccDataHex: null, transactionDate: null,
  transactionTime: null, paramsVersion: null,
};

/** Runs firmware's own entry validation; its field path is mapped back onto the line. */
export function normalise(entry: unknown, path: string, strip: (field: string) => string):
  JournalEntry {
  try {
    return journalEntryNormalise(entry as JournalEntry, 'batch');
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    throw new BatchError('bad-batch', at(path, strip(error.field)), error.reason);
  }
}

const PAN_PATTERN = /^[0-9]{8,19}$/;
/** Placeholders for the validator's own token and seal, which never leave the validator. */
const TOKEN_PLACEHOLDER = '00'.repeat(16);
const SEALED_PLACEHOLDER = '00'.repeat(41);

/**
 * The card on the wire is the line's `pan` with {psn, uidHex} (depot/README.md); firmware's
 * journal bounds check a validator's card with its PAN token and seal in place of the PAN.
 * This checks the PAN and hands normalise a card in the journal's shape; the depot seals the
 * PAN itself.
 */
export function wireCard(card: Obj, path: string):
  { readonly pan: string; readonly card: object } {
  const pan = card['pan'];
  if (typeof pan !== 'string' || !PAN_PATTERN.test(pan))
    throw new BatchError('bad-batch', at(path, 'pan'), 'expected 8 to 19 digits');
  return {
    pan,
    card: { panToken: TOKEN_PLACEHOLDER, panSealed: SEALED_PLACEHOLDER, panMasked: maskPan(pan),
      psn: card['psn'], uidHex: card['uidHex'] },
  };
}

export function psnByte(line: Obj, path: string): number {
  const psn = line['psn'];
  if (typeof psn !== 'string' || !/^[0-9A-F]{2}$/.test(psn))
    throw new BatchError('bad-batch', at(path, 'psn'), 'expected two upper-case hex digits');
  return parseInt(psn, 16);
}

function panMaskedCheck(line: Obj, pan: string, path: string): void {
  if (line['panMasked'] !== maskPan(pan))
    throw new BatchError('bad-batch', at(path, 'pan'), 'does not match panMasked');
}

function clearingValidate(line: Obj, path: string, terminalId: string, base: LineBase):
  IngestRecord {
  const checked = clearingLineCheck(line, base.seq, path, terminalId);
  return {
    seq: base.seq,
    type: base.type,
    timeWallMs: base.timeWallMs,
    routeId: checked.lineId,
    pan: checked.pan,
    psn: checked.psn,
    atc: checked.atc,
    amountMinor: checked.amountMinor,
    currencyCode: checked.currencyCode,
    fareRule: checked.fareRule,
    cryptogramType: checked.cryptogramType,
    iccDataHex: checked.iccDataHex,
    transactionDate: checked.transactionDate,
    transactionTime: checked.transactionTime,
    paramsVersion: checked.paramsVersion,
    recordJson: checked.recordJson,
  };
}

function uncertainValidate(line: Obj, path: string, base: LineBase): IngestRecord {
  const recovery = objectAt(line['recovery'], at(path, 'recovery'));
  exactKeys(recovery, RECOVERY_KEYS, at(path, 'recovery'));
  exactKeys(objectAt(recovery['card'], at(path, 'recovery.card')), CARD_KEYS,
    at(path, 'recovery.card'));
  const torn = base.type === 'torn';
  const wire = wireCard({ ...objectAt(recovery['card'], ''), pan: line['pan'] }, path);
  const checked = { ...recovery, card: wire.card };
  const entry = normalise(torn
    ? { kind: 'torn', pendingSeq: line['pendingSeq'], recovery: checked,
      uncertain: line['uncertain'], reason: line['reason'] }
    : { kind: 'pending', recovery: checked, fareRule: line['fareRule'],
      amountMinor: line['amountMinor'] },
  path, (field) => field.replace(/^entry\./, ''));
  if (entry.kind !== 'torn' && entry.kind !== 'pending')
    throw new BatchError('bad-batch', at(path, 'type'), 'not an uncertain tap');
  if (torn && typeof line['stillUncertain'] !== 'boolean')
    throw new BatchError('bad-batch', at(path, 'stillUncertain'), 'expected true or false');
  const card = { ...entry.recovery.card, pan: wire.pan };
  panMaskedCheck(line, card.pan, path);
  if (psnByte(line, path) !== card.psn)
    throw new BatchError('bad-batch', at(path, 'psn'), 'does not match recovery.card.psn');
  const { pan: _pan, ...withoutPan } = line;
  const scrubbed = JSON.stringify(withoutPan);
  return {
    ...base, ...EMPTY,
    pan: card.pan,
    psn: String(line['psn']),
    atc: entry.recovery.atc,
    amountMinor: entry.kind === 'pending' ? entry.amountMinor
      : entry.recovery.amountAuthorisedMinor,
    currencyCode: entry.recovery.currencyCode,
    fareRule: entry.kind === 'pending' ? entry.fareRule : null,
    transactionDate: entry.recovery.transactionDate,
    transactionTime: entry.recovery.transactionTime,
    // The kernel's torn record may hold the PAN (5A, 57) in BCD: its digits are hex digits.
    recordJson: scrubbed.split(card.pan).join('F'.repeat(card.pan.length)),
  };
}

function reconciledValidate(line: Obj, path: string, base: LineBase): IngestRecord {
  const entry = normalise({ kind: 'reconciled', targetSeq: line['targetSeq'],
    outcome: line['outcome'], finalSeq: line['finalSeq'], note: line['note'] }, path,
  (field) => field.replace(/^entry\./, ''));
  if (entry.kind !== 'reconciled')
    throw new BatchError('bad-batch', at(path, 'type'), 'not reconciled');
  if (entry.targetSeq >= base.seq)
    throw new BatchError('bad-batch', at(path, 'targetSeq'), 'must precede the record');
  return { ...base, ...EMPTY, recordJson: JSON.stringify(line) };
}
