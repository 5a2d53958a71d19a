// The verdicts of payloadFastCheck on recent records, by chain hash: a record read again is not
// checked again.

import { FRAME_HASH_BYTES } from './journal_frame.js';
import { FactSlot, PayloadFacts, payloadFastCheck } from './journal_payload_fast.js';
import type { JournalKind } from './journal_records.js';

/** Records remembered (a power of two): more than an upload pass or a boot reads again. */
const MEMO_RECORDS = 1024;
const SLOTS = FactSlot.COUNT;

/**
 * The facts of payloads that passed payloadFastCheck, each under its record's seq and chain
 * hash: a record whose chain hash, computed from its bytes, is one remembered has the same
 * header and payload (SHA-256 over them, after the previous hash), so the check, a function
 * of the kind and the payload alone, gives the same verdict and the same facts. An upload pass
 * reads the records a boot or the pass before it read (from a segment's checkpoint, after a
 * boot or a lost cursor), and the validator's own writes were checked as they were encoded.
 * One entry a seq (MEMO_RECORDS apart share a place): nothing is allocated per record.
 * Only a pass is remembered; a payload the check refuses is decoded as before.
 */
export class PayloadFactsMemo {
  /** Made at the first record remembered (420 KB: a process that reads none needs none). */
  private tables: MemoTables | null = null;
  private off = false;

  /**
   * For the rest of the process, remembers nothing and forgets what it held: `journal
   * verify` and `export` read each record once, so a memo only cost them its 420 KB of a
   * 64 MB budget and a copy of the facts per record.
   */
  turnOff(): void {
    this.off = true;
    this.tables = null;
  }

  /** Remembers `facts`, which payloadFastCheck filled for the record `seq` of chain `hash`. */
  remember(seq: number, hash: Uint8Array, facts: PayloadFacts): void {
    if (this.off) return;
    const tables = this.tables ??= memoTables();
    const place = seq % MEMO_RECORDS;
    tables.seqs[place] = seq;
    tables.hashes.set(hash, place * FRAME_HASH_BYTES);
    const at = place * SLOTS;
    for (let i = 0; i < SLOTS; i += 1) {
      tables.starts[at + i] = facts.start[i] ?? 0;
      tables.ends[at + i] = facts.end[i] ?? 0;
      tables.nums[at + i] = facts.num[i] ?? 0;
    }
  }

  /**
   * True, with `facts` filled as the check would fill them for `payload`, when record `seq`
   * of chain `hash` is remembered; false otherwise (`facts` untouched).
   */
  recall(seq: number, hash: Uint8Array, payload: Uint8Array, facts: PayloadFacts): boolean {
    const tables = this.tables;
    if (tables === null) return false;
    const place = seq % MEMO_RECORDS;
    if (tables.seqs[place] !== seq) return false;
    const hashAt = place * FRAME_HASH_BYTES;
    for (let i = 0; i < FRAME_HASH_BYTES; i += 1) {
      if (tables.hashes[hashAt + i] !== hash[i]) return false;
    }
    facts.bytes = payload;
    const at = place * SLOTS;
    for (let i = 0; i < SLOTS; i += 1) {
      facts.start[i] = tables.starts[at + i] ?? 0;
      facts.end[i] = tables.ends[at + i] ?? 0;
      facts.num[i] = tables.nums[at + i] ?? 0;
    }
    return true;
  }
}

/** One place per seq modulo MEMO_RECORDS: its seq (-1: none), chain hash and facts. */
interface MemoTables {
  readonly seqs: Float64Array;
  readonly hashes: Uint8Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly nums: Float64Array;
}

function memoTables(): MemoTables {
  return {
    seqs: new Float64Array(MEMO_RECORDS).fill(-1),
    hashes: new Uint8Array(MEMO_RECORDS * FRAME_HASH_BYTES),
    starts: new Int32Array(MEMO_RECORDS * SLOTS),
    ends: new Int32Array(MEMO_RECORDS * SLOTS),
    nums: new Float64Array(MEMO_RECORDS * SLOTS),
  };
}

/** The one memo of the process: the writer and every reader of its journals share it. */
export const PAYLOAD_FACTS_MEMO = new PayloadFactsMemo();

/**
 * payloadFastCheck of the payload of record `seq`, whose chain hash (computed from its bytes
 * and found equal to the stored one) is `hash`: from the memo when it holds that record,
 * else checked, and remembered when it passes.
 */
export function payloadFastCheckChained(
  seq: number,
  hash: Uint8Array,
  kind: JournalKind,
  payload: Uint8Array,
  facts: PayloadFacts,
): boolean {
  if (PAYLOAD_FACTS_MEMO.recall(seq, hash, payload, facts)) return true;
  if (!payloadFastCheck(kind, payload, facts)) return false;
  PAYLOAD_FACTS_MEMO.remember(seq, hash, facts);
  return true;
}
