// Scan of one journal segment: frames, CRCs, chain, references; torn tail vs corruption.

import { FieldError } from '../params/json_fields.js';
import {
  CHAIN_GENESIS_HASH,
  FRAME_HEADER_BYTES,
  FRAME_OVERHEAD_BYTES,
  chainHash,
  frameCheck,
  hashEqual,
} from './journal_frame.js';
import type { FrameDefect } from './journal_frame.js';
import { journalKindOfCode, journalPayloadDecode } from './journal_records.js';
import type { JournalRecord } from './journal_records.js';
import { JournalState } from './journal_state.js';

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
 * Walks one segment, applying its records to `start.state` (mutated). A damaged frame is a
 * torn tail only in the journal's newest segment (`newest`) and only when the bytes from it
 * to the end cannot hold a complete record (see `tailDefect`): the journal syncs every
 * record, so a power cut interrupts at most the last append. A complete frame with a bad CRC
 * (one flipped bit in the last committed record), bytes that are no frame at all, and any
 * intact frame that breaks the chain, the sequence or the reference rules are corruption.
 * Never throws on any input bytes.
 */
export function segmentScan(
  bytes: Uint8Array,
  file: string,
  start: SegmentStart,
  newest: boolean,
  onRecord: ((record: JournalRecord) => void) | null,
): SegmentScan {
  const state = start.state;
  let offset = 0;
  let headHash = start.headHash;
  // Bounded: every iteration consumes one whole frame of at least FRAME_OVERHEAD_BYTES.
  while (offset < bytes.length) {
    const checked = frameCheck(bytes, offset);
    const seqExpected = state.lastSeq + 1;
    const stop = { validBytes: offset, headHash };
    if (!checked.ok) {
      const tail = newest
        ? tailDefect(bytes, offset, seqExpected, checked.defect)
        : { corrupt: `damaged record (${checked.defect}) in a sealed segment` };
      if ('torn' in tail) {
        const tornTail = { file, offset, bytes: bytes.length - offset, defect: tail.torn };
        return { ...stop, tornTail, corruption: null };
      }
      const reason = tail.corrupt;
      return { ...stop, tornTail: null, corruption: { file, offset, seqExpected, reason } };
    }
    const frame = checked.frame;
    const reason = scanFrameProblem(frame.seq, seqExpected, headHash, frame.hash, frame.hashed);
    const decoded = reason === null ? scanDecode(frame.kindCode, frame.payload, file) : reason;
    if (typeof decoded === 'string') {
      const corruption = { file, offset, seqExpected, reason: decoded };
      return { ...stop, tornTail: null, corruption };
    }
    const record: JournalRecord = { seq: frame.seq, ...decoded };
    const referenceProblem = state.check(record.entry, record.seq);
    if (referenceProblem !== null) {
      const corruption = { file, offset, seqExpected, reason: referenceProblem };
      return { ...stop, tornTail: null, corruption };
    }
    state.apply(record);
    onRecord?.(record);
    headHash = frame.hash;
    offset += frame.frameBytes;
  }
  return { validBytes: offset, headHash, tornTail: null, corruption: null };
}

/**
 * Classifies the bytes from `offset` to the end, which are not an intact frame: the defect of
 * a torn tail, or why it is corruption. Torn means the bytes cannot hold a complete record:
 * fewer than a header; all zeros (the file grew, its data never landed); a valid header of
 * the expected seq whose frame runs past the end; or a damaged header with fewer bytes than
 * the smallest frame.
 */
function tailDefect(
  bytes: Uint8Array,
  offset: number,
  seqExpected: number,
  defect: FrameDefect,
): { torn: FrameDefect } | { corrupt: string } {
  const rest = bytes.length - offset;
  if (rest < FRAME_HEADER_BYTES) return { torn: 'short' };
  if (bytes.subarray(offset).every((byte) => byte === 0)) return { torn: 'zeros' };
  if (defect === 'short') {
    const seq = new DataView(bytes.buffer, bytes.byteOffset + offset).getUint32(4, true);
    if (seq === seqExpected) return { torn: 'short' };
    return { corrupt: `incomplete record with seq ${seq} where ${seqExpected} was expected` };
  }
  if (defect === 'record_crc') {
    return { corrupt: 'record CRC fails on a complete record (damaged bytes)' };
  }
  if (rest < FRAME_OVERHEAD_BYTES) return { torn: defect };
  return { corrupt: `${rest} bytes that are no record (${defect}) at the end` };
}

function scanFrameProblem(
  seq: number,
  seqExpected: number,
  prevHash: Uint8Array,
  storedHash: Uint8Array,
  hashed: Uint8Array,
): string | null {
  if (seq !== seqExpected) return `seq ${seq} where ${seqExpected} was expected`;
  if (!hashEqual(chainHash(prevHash, hashed), storedHash)) return 'chain hash does not match';
  return null;
}

function scanDecode(
  kindCode: number,
  payload: Uint8Array,
  file: string,
): Omit<JournalRecord, 'seq'> | string {
  const kind = journalKindOfCode(kindCode);
  if (kind === null) return `unknown record kind ${kindCode}`;
  try {
    return journalPayloadDecode(kind, payload, file);
  } catch (error) {
    if (error instanceof FieldError) return `bad payload: ${error.message}`;
    throw error;
  }
}
