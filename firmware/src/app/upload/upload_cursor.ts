// Where an upload pass may start: the cursor a pass leaves for the next (also as an image a
// board's worker thread hands on), and the resume points a pass collects as the depot stores
// its batches (upload_batches.ts).

import { checkpointDecode, checkpointEncode } from '../journal/journal_checkpoint.js';
import type { JournalResume, JournalResumePoints } from '../journal/journal_reader.js';
import { JournalState } from '../journal/journal_state.js';
import { FieldError } from '../params/json_fields.js';

/** A resume point of an upload read, and the last record before it that is not an ack. */
export interface UploadCursorAt {
  readonly resume: JournalResume;
  readonly contentThroughSeq: number;
}

/**
 * Where the next upload pass over a journal may start: just after a record the pass before it
 * read, instead of from the checkpoint of the segment holding the first record after the ack
 * (which re-reads, re-hashes and re-checks every acknowledged record of that segment at every
 * pass). Kept by the caller from pass to pass, one per journal; it holds the reader's state
 * after that record (what a checkpoint holds: bounded as the journal's open taps are).
 * A pass resumes only when every record before the cursor that is exported is acknowledged
 * and the read finds the cursor's last record still there (JournalResume); otherwise it reads
 * as without a cursor. A drained pass leaves the end of its read. A pass the depot stopped
 * (a failed send) leaves the last point the depot is known to hold everything before: the
 * end of its last stored batch when the read handed one out, else the ack or the cursor it
 * started from; what was sent after it is read and sent again. A pass whose read failed
 * leaves none.
 */
export class UploadCursor {
  private at: UploadCursorAt | null = null;

  /** The resume for a pass after `ackThroughSeq`, or null; the cursor is empty afterwards. */
  take(ackThroughSeq: number): UploadCursorAt | null {
    const at = this.at;
    this.at = null;
    return at !== null && at.contentThroughSeq <= ackThroughSeq ? at : null;
  }

  /** Where the pass that took the cursor ended (null: nowhere to resume). */
  set(at: UploadCursorAt | null): void {
    this.at = at;
  }

  /**
   * The cursor as bytes and numbers (a board's pass runs in a worker thread that ends with
   * the pass: the next one starts from this), or null when empty. The state is written as a
   * checkpoint file holds it, so it comes back through the same checks.
   */
  image(): UploadCursorImage | null {
    const at = this.at;
    if (at === null) return null;
    const r = at.resume;
    const checkpoint = checkpointEncode({
      firstSeq: r.state.lastSeq + 1, headHash: r.headHash, state: r.state.snapshot(),
    });
    return { unitFirstSeq: r.unitFirstSeq, segment: r.segment,
      lastFrameOffset: r.lastFrameOffset, offset: r.offset,
      contentThroughSeq: at.contentThroughSeq, checkpoint };
  }

  /**
   * A cursor from `image()`; empty when none, or when the image does not decode (the pass
   * then reads from the checkpoint, as without a cursor).
   */
  static fromImage(image: UploadCursorImage | null): UploadCursor {
    const cursor = new UploadCursor();
    if (image === null) return cursor;
    try {
      const decoded = checkpointDecode(image.checkpoint, 'upload cursor', null, 'bytes');
      const state = JournalState.fromSnapshot(decoded.state, false);
      if (typeof state === 'string' || state.lastSeq + 1 !== decoded.firstSeq) return cursor;
      cursor.at = {
        resume: { unitFirstSeq: image.unitFirstSeq, segment: image.segment,
          lastFrameOffset: image.lastFrameOffset, offset: image.offset, state,
          headHash: decoded.headHash },
        contentThroughSeq: image.contentThroughSeq,
      };
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
    }
    return cursor;
  }
}

/** An UploadCursor as structured-clonable data (see UploadCursor.image). */
export interface UploadCursorImage {
  readonly unitFirstSeq: number;
  readonly segment: string;
  readonly lastFrameOffset: number;
  readonly offset: number;
  readonly contentThroughSeq: number;
  /** The reader state and the chain hash of its last record, as a checkpoint file. */
  readonly checkpoint: Uint8Array;
}

/**
 * The points an upload read may resume from later, as the depot stores its batches: the ack
 * (or the cursor the pass started from), then the end of each batch cut at `recordsMax` once
 * the depot stored it. (A batch cut at `bytesMax` ends before the record being read, which
 * the state is already past: it gives no point, and the previous one stays.)
 */
export class UploadStoredPoints implements JournalResumePoints {
  /** The last point the depot holds every record before. */
  stored: UploadCursorAt | null;
  /** Points at the end of batches cut and not yet stored, oldest first. */
  private readonly cut: UploadCursorAt[] = [];
  /** The seq of the last point taken (where the pass started, before the first). */
  private takenSeq: number;

  constructor(
    start: UploadCursorAt | null,
    private readonly ackThroughSeq: number,
    private readonly cutThrough: () => number,
  ) {
    this.stored = start;
    this.takenSeq = start?.resume.state.lastSeq ?? ackThroughSeq;
  }

  /**
   * At a batch end, only once the records read since the last point are at least as many as
   * the finals a copy of the state holds: a copy costs as much as reading that many records,
   * so the points of a long backlog (10^6 records, a state of 5 x 10^5 finals at its end) come
   * at doubling distances and cost no more than the read, instead of one copy a batch (which
   * made a pass over 10^6 records twice as slow). A pass stopped after `n` records then reads
   * again at most about n / 2 of them.
   */
  wants(seq: number, state: JournalState): boolean {
    if (seq === this.ackThroughSeq) return true;
    return seq === this.cutThrough()
      && seq - this.takenSeq >= state.unacknowledgedFinalCount();
  }

  take(resume: JournalResume): void {
    const seq = resume.state.lastSeq;
    this.takenSeq = seq;
    const at = { resume, contentThroughSeq: seq };
    if (seq <= this.ackThroughSeq) this.stored = at;
    else this.cut.push(at);
  }

  /** The depot stored every record through `throughSeq`. */
  storedThrough(throughSeq: number): void {
    // Bounded: the points of the batches cut since the last send, a few per read window.
    while ((this.cut[0]?.resume.state.lastSeq ?? Infinity) <= throughSeq) {
      this.stored = this.cut.shift() ?? null;
    }
  }
}
