// Start-up scan of a journal image: frames, CRCs, chain, references; torn tail vs corruption.

import { FieldError } from '../params/json_fields.js';
import {
  CHAIN_GENESIS_HASH,
  FRAME_HEADER_BYTES,
  FRAME_MAGIC_0,
  FRAME_MAGIC_1,
  chainHash,
  frameCheck,
  hashEqual,
} from './journal_frame.js';
import type { FrameDefect } from './journal_frame.js';
import { journalKindOfCode, journalPayloadDecode } from './journal_records.js';
import type { JournalRecord } from './journal_records.js';
import { JournalState } from './journal_state.js';

/** An incomplete or damaged last record: a write the power cut interrupted. */
export interface TornTail {
  readonly offset: number;
  readonly bytes: number;
  readonly defect: FrameDefect;
}

/** Damage that a torn write cannot explain: the journal must not be used or silently cut. */
export interface Corruption {
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
  readonly validBytes: number;
  /** Chain hash of the last intact record (the genesis hash for an empty journal). */
  readonly headHash: Uint8Array;
  readonly tornTail: TornTail | null;
  readonly corruption: Corruption | null;
}

/**
 * Walks a journal image from the start. A frame that fails its integrity checks is a torn tail
 * only when no intact frame follows it anywhere in the image: a power cut interrupts at most the
 * last append (the journal syncs every record), so an intact frame after a bad one means the
 * damage is in committed data, which is reported and never truncated. A frame that is intact
 * but breaks the chain, the sequence or the reference rules is corruption even at the tail.
 * Never throws on any input bytes.
 */
export function journalScan(bytes: Uint8Array, file: string, collect: boolean): JournalScan {
  const state = new JournalState();
  const records: JournalRecord[] = [];
  let offset = 0;
  let headHash = CHAIN_GENESIS_HASH;
  // Bounded: every iteration consumes one whole frame of at least FRAME_OVERHEAD_BYTES.
  while (offset < bytes.length) {
    const checked = frameCheck(bytes, offset);
    const seqExpected = state.lastSeq + 1;
    const stop = { state, records, validBytes: offset, headHash, tornTail: null };
    if (!checked.ok) {
      if (intactFrameAfter(bytes, offset + 1)) {
        const reason = `damaged record (${checked.defect}) followed by intact records`;
        return { ...stop, corruption: { offset, seqExpected, reason } };
      }
      const tornTail = { offset, bytes: bytes.length - offset, defect: checked.defect };
      return { ...stop, tornTail, corruption: null };
    }
    const frame = checked.frame;
    const reason = scanFrameProblem(frame.seq, seqExpected, headHash, frame.hash, frame.hashed);
    const decoded = reason === null ? scanDecode(frame.kindCode, frame.payload, file) : reason;
    if (typeof decoded === 'string') {
      return { ...stop, corruption: { offset, seqExpected, reason: decoded } };
    }
    const record: JournalRecord = { seq: frame.seq, ...decoded };
    const referenceProblem = state.check(record.entry, record.seq);
    if (referenceProblem !== null) {
      return { ...stop, corruption: { offset, seqExpected, reason: referenceProblem } };
    }
    state.apply(record);
    if (collect) records.push(record);
    headHash = frame.hash;
    offset += frame.frameBytes;
  }
  return { state, records, validBytes: offset, headHash, tornTail: null, corruption: null };
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

/** True when an intact frame starts anywhere at or after `from`. */
function intactFrameAfter(bytes: Uint8Array, from: number): boolean {
  const last = bytes.length - FRAME_HEADER_BYTES;
  for (let offset = from; offset <= last; offset += 1) {
    if (bytes[offset] === FRAME_MAGIC_0 && bytes[offset + 1] === FRAME_MAGIC_1) {
      if (frameCheck(bytes, offset).ok) return true;
    }
  }
  return false;
}
