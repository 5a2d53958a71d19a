// Streams the unacknowledged part of a journal into upload batches, one segment at a time.
//
// The journal reader calls back with every record of a segment, then awaits `beforeRead`
// before the next file; batches cut while a segment was read are sent there, so memory holds
// at most one segment's lines plus one batch, whatever the backlog (10^5 records or more).

import type { StoragePort } from '../../../../hal/src/ports/storage_port.js';
import {
  journalExportPayloadLine,
  type JournalExportContext,
} from '../journal/journal_export.js';
import type { PayloadFacts } from '../journal/journal_payload_fast.js';
import {
  journalRead, type JournalResume, type JournalResumePoints,
} from '../journal/journal_reader.js';
import type { JournalKind } from '../journal/journal_records.js';
import { checkpointDecode, checkpointEncode } from '../journal/journal_checkpoint.js';
import { JournalState } from '../journal/journal_state.js';
import { FieldError } from '../params/json_fields.js';
import { PanVaultError } from '../journal/pan_vault.js';

/** Bounds of one batch (the depot refuses bodies over 8 MiB: stay well below). */
export interface UploadBatchLimits {
  readonly recordsMax: number;
  readonly bytesMax: number;
}

/** Contract defaults: 500 records or 1 MiB of lines, whichever comes first. */
export const UPLOAD_BATCH_LIMITS_DEFAULT: UploadBatchLimits = {
  recordsMax: 500,
  bytesMax: 1 << 20,
};

/** A batch cut from the journal: seq range and export lines (may be empty, see below). */
export interface UploadSlice {
  readonly firstSeq: number;
  readonly throughSeq: number;
  readonly recordLines: readonly string[];
  readonly bytes: number;
}

/** What the consumer of a slice says: go on, or stop the pass (failure or a stop request). */
export type UploadSliceVerdict = 'continue' | 'stop';

/** How a pass ended. */
export type UploadPassEnd =
  | { readonly kind: 'drained'; readonly throughSeq: number }
  | { readonly kind: 'stopped' }
  | { readonly kind: 'read-failed'; readonly detail: string };

class PassStopped extends Error {}

/** A resume point of an upload read, and the last record before it that is not an ack. */
interface UploadCursorAt {
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
class UploadStoredPoints implements JournalResumePoints {
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

/**
 * Reads the journal on `storage` from the segment that holds the first record after
 * `context.ackThroughSeq` (older segments hold only what the depot has) and hands `send`
 * every slice of records after the ack, oldest first, each within `limits`. A slice's
 * `throughSeq` covers the records not exported (declined, ack) up to the next exported one,
 * so an ack of it lets the journal reclaim them; a range holding only ack records is never
 * sent (acking it would write another ack record, forever). `send` is awaited: the pass waits
 * for the depot. `pace`, when given, is called before each record is cut (a worker blocks
 * there while a tap runs). `cursor`, when given, is where the pass before ended and where this
 * one leaves its end (see UploadCursor): the slices are the same with or without it. Errors:
 * 'read-failed' (the storage's list or read failed, or a sealed PAN did not open under the
 * context's key).
 */
export async function uploadPass(
  storage: StoragePort,
  fileName: string,
  context: JournalExportContext,
  limits: UploadBatchLimits,
  send: (slice: UploadSlice) => Promise<UploadSliceVerdict>,
  pace?: () => void,
  cursor?: UploadCursor,
): Promise<UploadPassEnd> {
  const cutter = new SliceCutter(context, limits);
  const afterSeq = context.ackThroughSeq;
  const start = cursor?.take(afterSeq) ?? null;
  const resume = start?.resume ?? null;
  // The last record before the cursor.
  const resumeLastSeq = resume?.state.lastSeq ?? 0;
  // The last record read that is not an ack (those before a resume are all acknowledged).
  let contentThroughSeq = 0;
  const points = cursor === undefined ? undefined
    : new UploadStoredPoints(start, afterSeq, () => cutter.cutThroughSeq);
  const flush = async (): Promise<void> => {
    for (let slice = cutter.take(); slice !== null; slice = cutter.take()) {
      if ((await send(slice)) === 'stop') throw new PassStopped();
      points?.storedThrough(slice.throughSeq);
    }
  };
  try {
    // From the segment that holds the first record after the ack (the older ones are at the
    // depot), payloads, not decoded records: a canonical final is exported from its bytes
    // (journalExportPayloadLine, the same line byte for byte).
    const read = await journalRead(storage, fileName, {
      from: resume === null ? { afterSeq } : { resume, afterSeq },
      trackLastFinals: false,
      onRecord: null,
      onPayload: (seq, kind, payload, facts) => {
        if (kind !== 'ack') contentThroughSeq = seq;
        pace?.();
        cutter.push(seq, kind, payload, facts);
      },
      beforeRead: flush,
      ...(points === undefined ? {} : { resumePoints: points }),
    });
    if (!read.ok) return { kind: 'read-failed', detail: read.detail };
    cutter.end();
    // The records before damage are intact (chained, checked): they go. What follows it
    // cannot be read, so the pass says so rather than ending as if it had sent everything.
    await flush();
    const damage = read.value.corruption;
    if (damage !== null) {
      cursor?.set(points?.stored ?? null);
      return { kind: 'read-failed', detail: `journal damaged: ${damage.file} at byte `
        + `${damage.offset} (seq ${damage.seqExpected}): ${damage.reason}` };
    }
    // A resumed read passed over the records before the cursor (after the ack, acks only),
    // which a read from the checkpoint would have counted as seen.
    const passedOver = read.value.resumed ? resumeLastSeq : 0;
    const throughSeq = Math.max(cutter.lastSeq(), passedOver);
    const end = read.value.resume;
    cursor?.set(end === null ? points?.stored ?? null : { resume: end, contentThroughSeq });
    return { kind: 'drained', throughSeq };
  } catch (error) {
    if (error instanceof PassStopped) {
      cursor?.set(points?.stored ?? null);
      return { kind: 'stopped' };
    }
    // A sealed PAN that does not open (another key, a tampered record): nothing past it goes.
    if (error instanceof PanVaultError) return { kind: 'read-failed', detail: error.message };
    throw error;
  }
}

/** Cuts records into slices as they are read. */
class SliceCutter {
  private readonly ready: UploadSlice[] = [];
  private lines: string[] = [];
  private bytes = 0;
  private firstSeq: number;
  private lastSeen: number;
  /** The last seq of the last slice cut (0 before the first). */
  cutThroughSeq = 0;
  /** The open range holds a record other than an ack. */
  private content = false;

  constructor(
    private readonly context: JournalExportContext,
    private readonly limits: UploadBatchLimits,
  ) {
    this.firstSeq = context.ackThroughSeq + 1;
    this.lastSeen = context.ackThroughSeq;
  }

  push(seq: number, kind: JournalKind, payload: Uint8Array, facts: PayloadFacts | null): void {
    if (seq <= this.context.ackThroughSeq) return;
    const line = journalExportPayloadLine(seq, kind, payload, facts, this.context);
    if (line !== null) {
      const size = Buffer.byteLength(line.text) + 1;
      if (this.lines.length > 0 && this.bytes + size > this.limits.bytesMax) this.cut();
      this.lines.push(line.text);
      this.bytes += size;
    }
    this.lastSeen = seq;
    if (kind !== 'ack') this.content = true;
    if (this.lines.length >= this.limits.recordsMax) this.cut();
  }

  /** The read is over: the open range becomes the last slice. */
  end(): void {
    if (this.content) this.cut();
  }

  take(): UploadSlice | null {
    return this.ready.shift() ?? null;
  }

  lastSeq(): number {
    return this.lastSeen;
  }

  private cut(): void {
    this.cutThroughSeq = this.lastSeen;
    this.ready.push({
      firstSeq: this.firstSeq,
      throughSeq: this.lastSeen,
      recordLines: this.lines,
      bytes: this.bytes,
    });
    this.firstSeq = this.lastSeen + 1;
    this.lines = [];
    this.bytes = 0;
    this.content = false;
  }
}
