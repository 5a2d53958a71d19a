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
import { journalRead } from '../journal/journal_reader.js';
import type { JournalKind } from '../journal/journal_records.js';
import { PanVaultError } from '../journal/pan_vault.js';
import { UploadCursor, UploadStoredPoints } from './upload_cursor.js';

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
