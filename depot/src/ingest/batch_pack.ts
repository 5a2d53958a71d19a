// A sealed batch as it crosses from the prepare worker to the thread that stores it: the
// records' stored fields as one string instead of a structured clone of a thousand objects.
// Cloning objects costs both threads (the worker serialises each property, the store's thread
// rebuilds each object and string); one string of every text and two typed arrays (numbers,
// text lengths) are copied whole and cut once. They hold exactly what batch_store.ts writes:
// token and seal, never the clear PAN.

import type { PanVault } from '../store/pan_vault.js';
import type { IngestBatch, IngestRecord, TapType } from './batch_validate.js';
import { batchCards, type SealedBatch, type SealedRecord } from './batch_seal.js';
import type { TunionIngestRecord } from '../tunion/tunion_ingest.js';

/** A SealedBatch packed for postMessage (batchPack, batchUnpack). */
export interface PackedBatch {
  readonly terminalId: string;
  readonly firstSeq: number;
  readonly throughSeq: number;
  /** Records packed. */
  readonly count: number;
  /** NUMBERS_PER_RECORD per record; NaN for null. */
  readonly numbers: Float64Array<ArrayBuffer>;
  /** TEXTS_PER_RECORD lengths per record into `texts`; -1 for null. */
  readonly textLengths: Int32Array<ArrayBuffer>;
  /** Every record's texts, one after the other. */
  readonly texts: string;
  readonly tunion: readonly TunionIngestRecord[];
}

/**
 * seq, timeWallMs, atc, amountMinor, currencyCode, paramsVersion, then the type and the
 * cryptogram type as their index in TAP_TYPES and CRYPTOGRAM_TYPES (-1: null).
 */
const NUMBERS_PER_RECORD = 8;
/**
 * routeId, psn, fareRule, iccDataHex, transactionDate, transactionTime, recordJson,
 * panToken, panSealed: lengths instead of separators, so no text needs escaping or checking.
 */
const TEXTS_PER_RECORD = 9;
const NULL_LENGTH = -1;

const TAP_TYPES: readonly TapType[] = ['clearing', 'torn', 'reconciled', 'pending_open'];
const CRYPTOGRAM_TYPES: readonly ('TC' | 'ARQC')[] = ['TC', 'ARQC'];

/** Packs the fields of `r` (its token and seal given) as record `i` of the arrays. */
function recordPack(r: IngestRecord, token: string | null, sealed: string | null,
  into: { numbers: Float64Array; lengths: Int32Array; texts: string[] }, i: number): void {
  const n = i * NUMBERS_PER_RECORD;
  const { numbers } = into;
  numbers[n] = r.seq;
  numbers[n + 1] = r.timeWallMs;
  numbers[n + 2] = r.atc ?? NaN;
  numbers[n + 3] = r.amountMinor ?? NaN;
  numbers[n + 4] = r.currencyCode ?? NaN;
  numbers[n + 5] = r.paramsVersion ?? NaN;
  numbers[n + 6] = TAP_TYPES.indexOf(r.type);
  numbers[n + 7] = r.cryptogramType === null ? -1 : CRYPTOGRAM_TYPES.indexOf(r.cryptogramType);
  const t = i * TEXTS_PER_RECORD;
  textPut(into, t, r.routeId);
  textPut(into, t + 1, r.psn);
  textPut(into, t + 2, r.fareRule);
  textPut(into, t + 3, r.iccDataHex);
  textPut(into, t + 4, r.transactionDate);
  textPut(into, t + 5, r.transactionTime);
  textPut(into, t + 6, r.recordJson);
  textPut(into, t + 7, token);
  textPut(into, t + 8, sealed);
}

function textPut(into: { lengths: Int32Array; texts: string[] }, k: number,
  value: string | null): void {
  into.lengths[k] = value === null ? NULL_LENGTH : value.length;
  if (value !== null) into.texts.push(value);
}

/** `batch` sealed under `vault` (batch_seal.ts batchCards) and packed. */
export function batchPack(batch: IngestBatch, vault: PanVault): PackedBatch {
  const cards = batchCards(batch, vault);
  const count = batch.records.length;
  const into = { numbers: new Float64Array(count * NUMBERS_PER_RECORD),
    lengths: new Int32Array(count * TEXTS_PER_RECORD), texts: new Array<string>() };
  let card = 0;
  batch.records.forEach((record, i) => {
    const token = record.pan === null ? null : cards.tokens[card] ?? '';
    const sealed = record.pan === null ? null : cards.sealed[card] ?? '';
    if (record.pan !== null) card += 1;
    recordPack(record, token, sealed, into, i);
  });
  return { terminalId: batch.terminalId, firstSeq: batch.firstSeq,
    throughSeq: batch.throughSeq, count, numbers: into.numbers, textLengths: into.lengths,
    texts: into.texts.join(''), tunion: batch.tunion };
}

/** The SealedBatch of `packed`. Throws Error when it is not batchPack's (a bug). */
export function batchUnpack(packed: PackedBatch): SealedBatch {
  const { count, numbers, textLengths, texts } = packed;
  if (numbers.length !== count * NUMBERS_PER_RECORD
    || textLengths.length !== count * TEXTS_PER_RECORD)
    throw new Error(`packed batch: arrays do not hold ${count} records`);
  let at = 0;
  const text = (k: number): string | null => {
    const length = textLengths[k] ?? NULL_LENGTH;
    if (length === NULL_LENGTH) return null;
    at += length;
    return texts.slice(at - length, at);
  };
  const number = (k: number): number | null => {
    const value = numbers[k] ?? NaN;
    return Number.isNaN(value) ? null : value;
  };
  const records = new Array<SealedRecord>(count);
  for (let i = 0; i < count; i += 1) {
    const n = i * NUMBERS_PER_RECORD;
    const t = i * TEXTS_PER_RECORD;
    const type = TAP_TYPES[numbers[n + 6] ?? -1];
    const cryptogram = numbers[n + 7] ?? -1;
    const cryptogramType = cryptogram === -1 ? null : CRYPTOGRAM_TYPES[cryptogram];
    if (type === undefined || cryptogramType === undefined)
      throw new Error(`packed batch: record ${i} has a bad type or cryptogram type`);
    // text() reads the texts in order: this literal names them in TEXT order.
    const record: IngestRecord = { seq: numbers[n] ?? 0, type, timeWallMs: numbers[n + 1] ?? 0,
      routeId: text(t), pan: null, psn: text(t + 1), atc: number(n + 2),
      amountMinor: number(n + 3), currencyCode: number(n + 4), fareRule: text(t + 2),
      cryptogramType, iccDataHex: text(t + 3), transactionDate: text(t + 4),
      transactionTime: text(t + 5), paramsVersion: number(n + 5), recordJson: text(t + 6) ?? '' };
    records[i] = { record, panToken: text(t + 7), panSealed: text(t + 8) };
  }
  if (at !== texts.length) throw new Error('packed batch: texts do not add up');
  return { terminalId: packed.terminalId, firstSeq: packed.firstSeq,
    throughSeq: packed.throughSeq, records, tunion: packed.tunion };
}
