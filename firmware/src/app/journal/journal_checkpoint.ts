// Segment checkpoint: the journal state at a segment's first seq, so start-up reads one segment.

import { createHash } from 'node:crypto';

import { FieldError, JsonFields } from '../params/json_fields.js';
import { FRAME_HASH_BYTES, hashEqual, toHex } from './journal_frame.js';
import {
  JOURNAL_KINDS, SEQ_MAX, journalPayloadDecode, journalPayloadEncode,
} from './journal_records.js';
import type { JournalKind, JournalRecord } from './journal_records.js';
import type { JournalStateSnapshot, LastFinal } from './journal_state.js';

/** What a checkpoint file holds. */
export interface JournalCheckpoint {
  /** Seq of the first record of the segment it starts (the state is after firstSeq - 1). */
  readonly firstSeq: number;
  /** Chain hash of record firstSeq - 1: the segment's first frame chains from it. */
  readonly headHash: Uint8Array;
  readonly state: JournalStateSnapshot;
}

const MAGIC = [0x53, 0x4a, 0x43, 0x4b]; // "SJCK"
const VERSION = 1;
const HEADER_BYTES = 12;
const TEXT_ENCODER = new TextEncoder();
const TEXT_DECODER = new TextDecoder('utf-8', { fatal: true });
/** Bounds of what a checkpoint may list (a sanity bound against a damaged length). */
const ITEMS_MAX = 10_000_000;
const WALL_MS_MAX = Number.MAX_SAFE_INTEGER;

/**
 * Encodes a checkpoint: magic "SJCK", version 1, 3 reserved zero bytes, u32 LE length n, n
 * bytes of UTF-8 JSON, then SHA-256 of everything before it. Records inside are their journal
 * payloads, written with the journal's own payload codec.
 */
export function checkpointEncode(checkpoint: JournalCheckpoint): Uint8Array {
  const state = checkpoint.state;
  const json = JSON.stringify({
    firstSeq: checkpoint.firstSeq,
    headHashHex: toHex(checkpoint.headHash),
    lastSeq: state.lastSeq,
    ackThroughSeq: state.ackThroughSeq,
    maxWallMs: state.maxWallMs,
    countsByKind: state.countsByKind,
    records: state.records.map((record) => ({
      seq: record.seq,
      kind: record.entry.kind,
      payload: TEXT_DECODER.decode(journalPayloadEncode(record.timeWallMs, record.entry)),
    })),
    pendings: state.pendings.map(({ seq, tornSeq }) => [seq, tornSeq]),
    uncertainSeqs: state.uncertainSeqs,
    finals: runsEncode(state.finals),
    lastFinals: state.lastFinals.map(({ cardHash, last }) => [
      cardHash, last.seq, last.timeWallMs, last.lineId, last.fareRule, last.amountMinor,
    ]),
  });
  const payload = TEXT_ENCODER.encode(json);
  const out = new Uint8Array(HEADER_BYTES + payload.length + FRAME_HASH_BYTES);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  new DataView(out.buffer).setUint32(8, payload.length, true);
  out.set(payload, HEADER_BYTES);
  out.set(sha256(out.subarray(0, HEADER_BYTES + payload.length)), HEADER_BYTES + payload.length);
  return out;
}

/** Decodes and checks a checkpoint file. Throws FieldError naming what is wrong. */
export function checkpointDecode(bytes: Uint8Array, file: string): JournalCheckpoint {
  if (bytes.length < HEADER_BYTES + FRAME_HASH_BYTES || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new FieldError(file, '', 'not a journal checkpoint (magic or size)');
  }
  if (bytes[4] !== VERSION || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new FieldError(file, '', `checkpoint version ${bytes[4] ?? 0} is not ${VERSION}`);
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (bytes.length !== HEADER_BYTES + length + FRAME_HASH_BYTES) {
    throw new FieldError(file, '', `checkpoint length ${length} does not match the file`);
  }
  const hashed = bytes.subarray(0, HEADER_BYTES + length);
  if (!hashEqual(sha256(hashed), bytes.subarray(HEADER_BYTES + length))) {
    throw new FieldError(file, '', 'checkpoint SHA-256 does not match');
  }
  let text: string;
  try {
    text = TEXT_DECODER.decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + length));
  } catch {
    throw new FieldError(file, '', 'checkpoint is not UTF-8');
  }
  return checkpointRead(JsonFields.of(JsonFields.parse(text, file), file, ''), file);
}

function checkpointRead(fields: JsonFields, file: string): JournalCheckpoint {
  const firstSeq = fields.int('firstSeq', 1, SEQ_MAX);
  const headHashHex = fields.hex('headHashHex', FRAME_HASH_BYTES, FRAME_HASH_BYTES);
  const lastSeq = fields.int('lastSeq', 0, SEQ_MAX);
  if (lastSeq !== firstSeq - 1) fields.refuse('lastSeq', `must be firstSeq - 1 = ${firstSeq - 1}`);
  const ackThroughSeq = fields.int('ackThroughSeq', 0, lastSeq);
  const maxWallMs = fields.int('maxWallMs', 0, WALL_MS_MAX);
  const countFields = fields.obj('countsByKind');
  const countsByKind = {} as Record<JournalKind, number>;
  for (const kind of JOURNAL_KINDS) countsByKind[kind] = countFields.int(kind, 0, SEQ_MAX);
  countFields.finish();
  const records = fields.arr('records', ITEMS_MAX).map((item, i) => {
    const record = JsonFields.of(item, file, `records[${i}]`);
    const seq = record.int('seq', 1, lastSeq);
    const kind = record.choice('kind', JOURNAL_KINDS);
    const payload = TEXT_ENCODER.encode(record.str('payload', /^/, 1 << 20));
    record.finish();
    return { seq, ...journalPayloadDecode(kind, payload, file) } satisfies JournalRecord;
  });
  const pendings = fields.arr('pendings', ITEMS_MAX).map((item, i) => {
    const pair = tuple(item, 2, file, `pendings[${i}]`);
    const tornSeq = pair[1] === null ? null : seqOf(pair[1], lastSeq, file, `pendings[${i}]`);
    return { seq: seqOf(pair[0], lastSeq, file, `pendings[${i}]`), tornSeq };
  });
  const uncertainSeqs = fields.arr('uncertainSeqs', ITEMS_MAX)
    .map((item, i) => seqOf(item, lastSeq, file, `uncertainSeqs[${i}]`));
  const finals = runsDecode(fields.arr('finals', ITEMS_MAX), lastSeq, file);
  const lastFinals = fields.arr('lastFinals', ITEMS_MAX)
    .map((item, i) => lastFinalRead(item, lastSeq, file, `lastFinals[${i}]`));
  fields.finish();
  const headHash = Uint8Array.from(Buffer.from(headHashHex, 'hex'));
  const state = {
    lastSeq, ackThroughSeq, maxWallMs, countsByKind, records, pendings, uncertainSeqs, finals,
    lastFinals,
  };
  return { firstSeq, headHash, state };
}

function lastFinalRead(
  item: unknown,
  lastSeq: number,
  file: string,
  path: string,
): { cardHash: string; last: LastFinal } {
  const t = tuple(item, 6, file, path);
  const [cardHash, seq, timeWallMs, lineId, fareRule, amountMinor] = t;
  const text = (value: unknown): string => {
    if (typeof value !== 'string' || value.length > 64) throw new FieldError(file, path, 'text');
    return value;
  };
  if (typeof cardHash !== 'string' || !/^[0-9a-f]{32}$/.test(cardHash)) {
    throw new FieldError(file, path, 'card hash');
  }
  const last: LastFinal = {
    seq: seqOf(seq, lastSeq, file, path),
    timeWallMs: intOf(timeWallMs, WALL_MS_MAX, file, path),
    lineId: text(lineId),
    fareRule: text(fareRule),
    amountMinor: intOf(amountMinor, Number.MAX_SAFE_INTEGER, file, path),
  };
  return { cardHash, last };
}

/**
 * Ascending seqs as runs of equal steps, flat: [first, step, count, step, count, ...] (a
 * final every second record is three numbers however many there are).
 */
function runsEncode(seqs: readonly number[]): number[] {
  const out: number[] = [];
  const first = seqs[0];
  if (first === undefined) return out;
  out.push(first);
  for (let i = 1; i < seqs.length; i += 1) {
    const step = (seqs[i] ?? 0) - (seqs[i - 1] ?? 0);
    if (out.length > 1 && out[out.length - 2] === step) out[out.length - 1] = (out.at(-1) ?? 0) + 1;
    else out.push(step, 1);
  }
  return out;
}

function runsDecode(items: readonly unknown[], lastSeq: number, file: string): number[] {
  const seqs: number[] = [];
  if (items.length === 0) return seqs;
  if (items.length % 2 !== 1) throw new FieldError(file, 'finals', 'expected first, then pairs');
  let seq = seqOf(items[0], lastSeq, file, 'finals[0]');
  seqs.push(seq);
  for (let i = 1; i < items.length; i += 2) {
    const step = intOf(items[i], lastSeq, file, `finals[${i}]`);
    const count = intOf(items[i + 1], lastSeq, file, `finals[${i + 1}]`);
    if (step < 1 || count < 1 || seq + step * count > lastSeq) {
      throw new FieldError(file, `finals[${i}]`, 'run out of range');
    }
    for (let k = 0; k < count; k += 1) {
      seq += step;
      seqs.push(seq);
    }
  }
  return seqs;
}

function tuple(item: unknown, length: number, file: string, path: string): readonly unknown[] {
  if (!Array.isArray(item) || item.length !== length) {
    throw new FieldError(file, path, `expected an array of ${length}`);
  }
  return item;
}

function seqOf(value: unknown, lastSeq: number, file: string, path: string): number {
  const seq = intOf(value, lastSeq, file, path);
  if (seq < 1) throw new FieldError(file, path, 'seq 0');
  return seq;
}

function intOf(value: unknown, max: number, file: string, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new FieldError(file, path, `expected an integer in 0..${max}`);
  }
  return value;
}

function sha256(bytes: Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(bytes).digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}
