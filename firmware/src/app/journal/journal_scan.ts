// Scan of one journal segment: frames, CRCs, chain, references; torn tail vs corruption.

import { FieldError } from '../params/json_fields.js';
import {
  CHAIN_GENESIS_HASH,
  FRAME_BYTES_MAX,
  FRAME_HASH_BYTES,
  FRAME_HEADER_BYTES,
  FRAME_OVERHEAD_BYTES,
  chainHashInto,
  frameCheck,
  hashEqual,
} from './journal_frame.js';
import type { FrameDefect, FrameView } from './journal_frame.js';
import { payloadFastCheckChained } from './journal_facts_memo.js';
import { FactSlot, PayloadFacts } from './journal_payload_fast.js';
import { journalKindOfCode, journalPayloadDecode } from './journal_records.js';
import type { JournalKind, JournalRecord, ReconcileOutcome } from './journal_records.js';
import { HeldRecord, JournalState, recordFacts } from './journal_state.js';
import type { LastFinal, RecordFacts } from './journal_state.js';

/**
 * Called with every intact record's payload, in order: `payload` is a view valid during the
 * call only; `facts` holds its fields when it is in the canonical form (payloadFastCheck),
 * else null (decode it with journalPayloadDecode: the scan found it valid).
 */
export type PayloadSink = (
  seq: number,
  kind: JournalKind,
  payload: Uint8Array,
  facts: PayloadFacts | null,
) => void;

/** An incomplete last record: a write the power cut interrupted. */
export interface TornTail {
  /** Segment file holding it. */
  readonly file: string;
  readonly offset: number;
  readonly bytes: number;
  readonly defect: FrameDefect;
}

/** Damage that a torn write cannot explain: the journal must not be used or silently cut. */
export interface Corruption {
  /** File holding the damage (a segment or a checkpoint). */
  readonly file: string;
  readonly offset: number;
  /** Seq the damaged record should have had. */
  readonly seqExpected: number;
  readonly reason: string;
}

/** Result of a scan. Records before `validBytes` are intact and chained. */
export interface JournalScan {
  readonly state: JournalState;
  /** Every intact record, oldest first, when the scan was asked to collect them. */
  readonly records: JournalRecord[];
  /** Bytes of intact records (over every segment scanned). */
  readonly validBytes: number;
  /** Chain hash of the last intact record (the genesis hash for an empty journal). */
  readonly headHash: Uint8Array;
  readonly tornTail: TornTail | null;
  readonly corruption: Corruption | null;
}

/** Where a segment scan starts: the state and chain hash after the previous record. */
export interface SegmentStart {
  readonly state: JournalState;
  readonly headHash: Uint8Array;
}

/** One segment's scan: intact bytes, head hash, and a torn tail or a corruption. */
export interface SegmentScan {
  readonly validBytes: number;
  readonly headHash: Uint8Array;
  readonly tornTail: TornTail | null;
  readonly corruption: Corruption | null;
}

/**
 * Scans a single-segment image from the empty journal (a test's or a tool's view of one
 * file). Never throws on any input bytes.
 */
export function journalScan(bytes: Uint8Array, file: string, collect: boolean): JournalScan {
  const state = new JournalState();
  const records: JournalRecord[] = [];
  const start = { state, headHash: CHAIN_GENESIS_HASH };
  const onRecord = collect ? (record: JournalRecord) => records.push(record) : null;
  const scan = segmentScan(bytes, file, start, true, onRecord);
  return { state, records, ...scan };
}

/**
 * Walks one whole segment image, applying its records to `start.state` (mutated). See
 * `SegmentScanner` for the rules. Never throws on any input bytes.
 */
export function segmentScan(
  bytes: Uint8Array,
  file: string,
  start: SegmentStart,
  newest: boolean,
  onRecord: ((record: JournalRecord) => void) | null,
): SegmentScan {
  const scanner = new SegmentScanner(file, start, newest, onRecord);
  const step = scanner.scan(bytes, true);
  if ('end' in step) return step.end;
  // Unreachable with eof true (the window holds the whole tail); classified here all the same.
  return scanner.tail(bytes.length - scanner.offset, isZeros(bytes.subarray(scanner.offset)));
}

/** What one window of a segment gave: more to read, the end, or a tail to classify. */
export type SegmentStep =
  /** The whole frames of the window were applied; read on from `offset`. */
  | { readonly more: true }
  | { readonly end: SegmentScan }
  /**
   * The frame at `offset` is damaged and the file runs past the window: torn only if every
   * byte from `offset` to the end is zero (read them, then call `tail`).
   */
  | { readonly zerosFrom: number };

/**
 * Walks one segment window by window, so that a reader holds one window (at least
 * FRAME_BYTES_MAX bytes) instead of the whole file, applying the records to `start.state`
 * (mutated). A damaged frame is a torn tail only in the journal's newest segment (`newest`)
 * and only when the bytes from it to the end cannot hold a complete record (see
 * `tailDefect`): the journal syncs every record, so a power cut interrupts at most the last
 * append. A complete frame with a bad CRC (one flipped bit in the last committed record),
 * bytes that are no frame at all, and any intact frame that breaks the chain, the sequence or
 * the reference rules are corruption. Never throws on any input bytes.
 */
export class SegmentScanner {
  /** File offset of the next frame (bytes before it are intact records). */
  offset = 0;
  /** File offset of the last intact frame, or -1 before the first. */
  lastFrameOffset = -1;
  /** Chain hash of the last intact record, and the buffer the next one is computed into. */
  private headHash: Uint8Array = new Uint8Array(FRAME_HASH_BYTES);
  private nextHash: Uint8Array = new Uint8Array(FRAME_HASH_BYTES);
  private defect: FrameDefect = 'short';

  /** Reused for every record: a canonical payload is checked without decoding it. */
  private readonly payloadFacts = new PayloadFacts();
  private readonly facts = new PayloadRecordFacts(this.payloadFacts);

  /**
   * `onRecord` (decodes every record) or `onPayload` (decodes none that is canonical), or
   * neither. `afterRecord`: called with the seq of each intact record once it is applied and
   * `offset`, `lastFrameOffset` and the chain hash are past it.
   */
  constructor(
    private readonly file: string,
    private readonly start: SegmentStart,
    private readonly newest: boolean,
    private readonly onRecord: ((record: JournalRecord) => void) | null,
    private readonly onPayload: PayloadSink | null = null,
    private readonly afterRecord: ((seq: number) => void) | null = null,
  ) {
    this.headHash.set(start.headHash);
  }

  /**
   * Scans `window`, the file's bytes from `offset` on (`eof`: up to the end of the file).
   * Without `eof`, stops before a frame that may not be whole in the window, so the next
   * window must start at `offset`; a window of FRAME_BYTES_MAX bytes or more always advances.
   */
  scan(window: Uint8Array, eof: boolean): SegmentStep {
    const step = this.scanWindow(window, eof);
    this.facts.detach(this.state());
    return step;
  }

  private scanWindow(window: Uint8Array, eof: boolean): SegmentStep {
    let at = 0;
    // Bounded: every iteration consumes one whole frame of at least FRAME_OVERHEAD_BYTES.
    while (at < window.length) {
      if (!eof && window.length - at < FRAME_BYTES_MAX) break;
      const checked = frameCheck(window, at);
      if (!checked.ok) {
        this.defect = checked.defect;
        if (eof) return { end: this.tailIn(window.subarray(at)) };
        if (!this.newest) return { end: this.tail(window.length - at, false) };
        return { zerosFrom: this.offset };
      }
      const problem = this.apply(checked.frame);
      if (problem !== null) return { end: this.corrupt(problem) };
      this.lastFrameOffset = this.offset;
      at += checked.frame.frameBytes;
      this.offset += checked.frame.frameBytes;
      if (this.afterRecord !== null) this.afterRecord(checked.frame.seq);
    }
    if (eof) return { end: this.result(null, null) };
    return { more: true };
  }

  /**
   * Ends the scan at a damaged frame whose bytes run past the window: `restBytes` from
   * `offset` to the end of the file, `allZeros` whether every one of them is zero.
   */
  tail(restBytes: number, allZeros: boolean): SegmentScan {
    const tail = this.newest
      ? tailDefect(restBytes, allZeros, null, this.state().lastSeq + 1, this.defect)
      : { corrupt: `damaged record (${this.defect}) in a sealed segment` };
    return this.tailEnd(tail, restBytes);
  }

  /** The end at a damaged frame whose bytes to the end of the file are `rest` (or start it). */
  private tailIn(rest: Uint8Array): SegmentScan {
    if (!this.newest) return this.tail(rest.length, false);
    const headerSeq = rest.length >= FRAME_HEADER_BYTES
      ? new DataView(rest.buffer, rest.byteOffset).getUint32(4, true)
      : null;
    const seqExpected = this.state().lastSeq + 1;
    return this.tailEnd(
      tailDefect(rest.length, isZeros(rest), headerSeq, seqExpected, this.defect), rest.length,
    );
  }

  private tailEnd(
    tail: { torn: FrameDefect } | { corrupt: string },
    restBytes: number,
  ): SegmentScan {
    if ('torn' in tail) {
      const defect = tail.torn;
      return this.result({ file: this.file, offset: this.offset, bytes: restBytes, defect }, null);
    }
    return this.corrupt(tail.corrupt);
  }

  /** Checks and applies one intact frame; why it is corruption, or null. */
  private apply(frame: FrameView): string | null {
    const state = this.state();
    const seqExpected = state.lastSeq + 1;
    if (frame.seq !== seqExpected) return `seq ${frame.seq} where ${seqExpected} was expected`;
    // The hash computed here, not the stored one: the window it sits in is reused.
    // Computed into a reused buffer (no buffer per record), and compared with the stored hash
    // rather than taken from it: the window it sits in is reused.
    const hash = chainHashInto(this.headHash, frame.hashed, this.nextHash);
    if (!hashEqual(hash, frame.hash)) return 'chain hash does not match';
    const kind = journalKindOfCode(frame.kindCode);
    if (kind === null) return `unknown record kind ${frame.kindCode}`;
    const fast = this.onRecord === null
      && payloadFastCheckChained(frame.seq, hash, kind, frame.payload, this.payloadFacts);
    let facts: RecordFacts;
    let record: JournalRecord | null = null;
    if (fast) {
      facts = this.facts.fill(frame.seq, kind, frame.payload, state.keepsDecoded);
    } else {
      const decoded = scanDecode(kind, frame.payload, this.file);
      if (typeof decoded === 'string') return decoded;
      record = { seq: frame.seq, ...decoded };
      facts = recordFacts(record);
    }
    const referenceProblem = state.checkFacts(facts);
    if (referenceProblem !== null) return referenceProblem;
    state.applyFacts(facts);
    if (record !== null) this.onRecord?.(record);
    this.onPayload?.(frame.seq, kind, frame.payload, fast ? this.payloadFacts : null);
    this.nextHash = this.headHash;
    this.headHash = hash;
    return null;
  }

  /** A copy of the chain hash of the last intact record. */
  headHashNow(): Uint8Array {
    return this.headHash.slice();
  }

  private state(): JournalState {
    return this.start.state;
  }

  private corrupt(reason: string): SegmentScan {
    const seqExpected = this.state().lastSeq + 1;
    return this.result(null, { file: this.file, offset: this.offset, seqExpected, reason });
  }

  private result(tornTail: TornTail | null, corruption: Corruption | null): SegmentScan {
    return { validBytes: this.offset, headHash: this.headHash.slice(), tornTail, corruption };
  }
}

/** True when every byte is zero. */
export function isZeros(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

/**
 * Classifies the `restBytes` bytes from a damaged frame to the end of the newest segment: the
 * defect of a torn tail, or why it is corruption. Torn means the bytes cannot hold a complete
 * record: fewer than a header; all zeros, at most one frame of them (the file grew, its data
 * never landed); a valid header of the expected seq whose frame runs past the end
 * (`headerSeq` is the seq field of a header that is whole, else null); or a damaged header
 * with fewer bytes than the smallest frame.
 */
function tailDefect(
  restBytes: number,
  allZeros: boolean,
  headerSeq: number | null,
  seqExpected: number,
  defect: FrameDefect,
): { torn: FrameDefect } | { corrupt: string } {
  if (restBytes < FRAME_HEADER_BYTES) return { torn: 'short' };
  // Zeros are a torn tail only as long as the one append a power cut can interrupt: records
  // before it were synced one by one, so more zeros than a frame are records wiped.
  if (allZeros && restBytes <= FRAME_BYTES_MAX) return { torn: 'zeros' };
  if (allZeros) {
    return { corrupt: `${restBytes} zero bytes at the end, more than one record can be `
      + `(${FRAME_BYTES_MAX}): records that were written are gone` };
  }
  if (defect === 'short') {
    if (headerSeq === seqExpected) return { torn: 'short' };
    return {
      corrupt: `incomplete record with seq ${String(headerSeq)} where ${seqExpected} was expected`,
    };
  }
  if (defect === 'record_crc') {
    return { corrupt: 'record CRC fails on a complete record (damaged bytes)' };
  }
  if (restBytes < FRAME_OVERHEAD_BYTES) return { torn: defect };
  return { corrupt: `${restBytes} bytes that are no record (${defect}) at the end` };
}

function scanDecode(
  kind: JournalKind,
  payload: Uint8Array,
  file: string,
): Omit<JournalRecord, 'seq'> | string {
  try {
    return journalPayloadDecode(kind, payload, file);
  } catch (error) {
    if (error instanceof FieldError) return `bad payload: ${error.message}`;
    throw error;
  }
}

/**
 * The RecordFacts of a payload that passed payloadFastCheck (one instance, refilled). A
 * reader whose window is reused calls `detach` before each reuse (the scan, the salvage).
 */
export class PayloadRecordFacts implements RecordFacts {
  seq = 0;
  timeWallMs = 0;
  kind: JournalKind = 'ack';
  pendingSeq: number | null = null;
  panToken = '';
  psn = 0;
  atc = 0;
  uncertain = false;
  targetSeq = 0;
  outcome: ReconcileOutcome = 'unresolved';
  finalSeq: number | null = null;
  throughSeq = 0;
  private payload: Uint8Array = new Uint8Array(0);
  private keepDecoded = false;
  /** Held records that view the current read window. */
  private readonly inWindow: HeldRecord[] = [];

  constructor(private readonly facts: PayloadFacts) {}

  /** Reads the fields of `kind` from the facts of `payload` (valid until the next fill). */
  fill(seq: number, kind: JournalKind, payload: Uint8Array, keepDecoded: boolean): this {
    const facts = this.facts;
    this.seq = seq;
    this.kind = kind;
    this.payload = payload;
    this.keepDecoded = keepDecoded;
    this.timeWallMs = facts.num[FactSlot.TIME_WALL_MS] ?? 0;
    // T-Union records carry a card number, not a PAN token (journal_tunion.ts).
    const carded = kind !== 'reconciled' && kind !== 'ack' && kind !== 'tunion_grey'
      && kind !== 'tunion_final' && kind !== 'tunion_blocked';
    this.panToken = carded ? facts.text(FactSlot.PAN_TOKEN) : '';
    this.psn = carded ? (facts.num[FactSlot.PSN] ?? 0) : 0;
    const withAtc = kind === 'pending' || kind === 'torn' || kind === 'final'
      || kind === 'tunion_grey' || kind === 'tunion_final';
    this.atc = withAtc ? (facts.num[FactSlot.ATC] ?? 0) : 0;
    // As recordFacts: every kind whose payload names a pending record (a block's, too).
    const closes = kind === 'final' || kind === 'declined' || kind === 'torn'
      || kind === 'tunion_final' || kind === 'tunion_blocked';
    this.pendingSeq = closes ? facts.intOrNull(FactSlot.PENDING_SEQ) : null;
    this.uncertain = kind === 'torn' && facts.num[FactSlot.UNCERTAIN] === 1;
    const reconciled = kind === 'reconciled';
    this.targetSeq = reconciled ? (facts.num[FactSlot.TARGET_SEQ] ?? 0) : 0;
    this.outcome = reconciled ? facts.outcome() : 'unresolved';
    this.finalSeq = reconciled ? facts.intOrNull(FactSlot.FINAL_SEQ) : null;
    this.throughSeq = kind === 'ack' ? (facts.num[FactSlot.THROUGH_SEQ] ?? 0) : 0;
    return this;
  }

  lastFinal(): Omit<LastFinal, 'seq' | 'timeWallMs'> {
    const facts = this.facts;
    return {
      lineId: facts.text(FactSlot.LINE_ID),
      fareRule: facts.text(FactSlot.FARE_RULE),
      amountMinor: facts.num[FactSlot.AMOUNT_MINOR] ?? 0,
    };
  }

  hold(): HeldRecord {
    const held = HeldRecord.ofPayload(this, this.payload, this.keepDecoded, false);
    this.inWindow.push(held);
    return held;
  }

  /**
   * Before the read window is reused: copies out the payloads the state still holds. A
   * pending is most often closed by the next record, so most are never copied.
   */
  detach(state: JournalState): void {
    for (const held of this.inWindow) if (state.held(held.seq) === held) held.detach();
    this.inWindow.length = 0;
  }
}
