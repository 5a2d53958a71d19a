// One upload pass: the journal read (wherever it runs) and the batches sent to the depot.
//
// The same code runs in-process (the simulator, in simulated time) and in a board's worker
// thread (with the HTTPS depot), so the rules of a pass live here once: wait while a tap runs,
// halve a batch the depot finds too large, accept only the ack of the batch sent, stop at the
// first failure. The caller hears of every stored batch as it happens: that is what it may
// ack into the journal, and nothing else.

import assert from 'node:assert';

import type { JournalExportContext } from '../journal/journal_export.js';
import type { DepotError, DepotPort } from './depot_port.js';
import type {
  UploadBatchLimits, UploadPassEnd, UploadSlice, UploadSliceVerdict,
} from './upload_batches.js';
import { uploadDetailSafe } from './upload_backoff.js';

/** A pass over the journal (uploadPass's contract), wherever it reads. */
export type UploadReadPass = (
  context: JournalExportContext,
  limits: UploadBatchLimits,
  send: (slice: UploadSlice) => Promise<UploadSliceVerdict>,
) => Promise<UploadPassEnd>;

/** A batch the depot answered 200 for: it durably holds every record through `throughSeq`. */
export interface UploadBatchStored {
  readonly firstSeq: number;
  readonly throughSeq: number;
  readonly records: number;
  readonly stored: number;
  readonly duplicates: number;
}

/** The batch call that ended a pass; `detail` is log-safe (uploadDetailSafe). */
export interface UploadBatchFailed {
  readonly error: DepotError;
  readonly httpStatus: number | null;
  readonly detail: string;
  readonly firstSeq: number;
  readonly throughSeq: number;
}

/**
 * How a whole pass ended: every record read was stored ('drained'); a batch call failed
 * ('failed', the records from its `firstSeq` on wait for the next contact); the journal could
 * not be read ('read-failed': storage, a sealed PAN that did not open, a dead worker); the
 * pass was stopped from outside ('stopped', at shutdown; the rest waits, as after a failure).
 */
export type UploadPassResult =
  | { readonly kind: 'drained'; readonly throughSeq: number }
  | { readonly kind: 'failed'; readonly failure: UploadBatchFailed }
  | { readonly kind: 'read-failed'; readonly detail: string }
  | { readonly kind: 'stopped' };

/**
 * A whole pass, read and send, wherever it runs. `onStored` is called once per batch the
 * depot stored, in seq order, before the pass reads on; it must not throw.
 */
export type UploadPassRunner = (
  context: JournalExportContext,
  limits: UploadBatchLimits,
  onStored: (batch: UploadBatchStored) => void,
) => Promise<UploadPassResult>;

/** What a pass sends with. */
export interface UploadSendParts {
  readonly depot: DepotPort;
  readonly terminalId: string;
  /** Resolves once no tap is under way (at once when none is). */
  readonly waitForNoTap: () => Promise<void>;
}

/** Splits of a batch the depot found too large before giving up on it (1 MiB → 2 KiB). */
const TOO_LARGE_SPLITS_MAX = 9;

/** A runner that reads with `read` and sends through `parts` in this thread. */
export function uploadPassRunner(read: UploadReadPass, parts: UploadSendParts): UploadPassRunner {
  return async (context, limits, onStored) => {
    let failure: UploadBatchFailed | null = null;
    const end = await read(context, limits, async (slice) => {
      failure = await uploadSliceSend(parts, slice, 0, onStored);
      return failure === null ? 'continue' : 'stop';
    });
    const failed = failure as UploadBatchFailed | null;
    switch (end.kind) {
      case 'read-failed':
        return end;
      case 'stopped':
        // Only a failed send stops the read.
        assert(failed !== null, 'an upload pass stopped without a failed batch');
        return { kind: 'failed', failure: failed };
      case 'drained':
        return failed === null ? end : { kind: 'failed', failure: failed };
      default: {
        const never: never = end;
        return never;
      }
    }
  };
}

/**
 * Sends one slice; null once the depot stored it (reported to `onStored`), else the failure.
 * A 413 halves the slice (by records) and sends the halves in order.
 */
async function uploadSliceSend(
  parts: UploadSendParts,
  slice: UploadSlice,
  splits: number,
  onStored: (batch: UploadBatchStored) => void,
): Promise<UploadBatchFailed | null> {
  await parts.waitForNoTap();
  const sent = await parts.depot.postBatch({
    terminalId: parts.terminalId, firstSeq: slice.firstSeq,
    throughSeq: slice.throughSeq, recordLines: slice.recordLines,
  });
  if (!sent.ok && sent.error === 'too-large' && slice.recordLines.length > 1
    && splits < TOO_LARGE_SPLITS_MAX) {
    const [head, tail] = uploadSliceHalves(slice);
    const first = await uploadSliceSend(parts, head, splits + 1, onStored);
    return first ?? uploadSliceSend(parts, tail, splits + 1, onStored);
  }
  const failed = (error: DepotError, httpStatus: number | null, detail: string) => ({
    error, httpStatus, detail: uploadDetailSafe(detail), firstSeq: slice.firstSeq,
    throughSeq: slice.throughSeq,
  });
  if (!sent.ok) return failed(sent.error, sent.httpStatus, sent.detail);
  const ack = sent.value;
  if (ack.ackThroughSeq !== slice.throughSeq) {
    return failed('protocol', 200,
      `ackThroughSeq ${ack.ackThroughSeq} for a batch through ${slice.throughSeq}`);
  }
  onStored({ firstSeq: slice.firstSeq, throughSeq: slice.throughSeq,
    records: slice.recordLines.length, stored: ack.stored, duplicates: ack.duplicates });
  return null;
}

/** 413: the first half (by records, its seq range ends at its last record), then the rest. */
function uploadSliceHalves(slice: UploadSlice): [UploadSlice, UploadSlice] {
  const half = Math.ceil(slice.recordLines.length / 2);
  const headLines = slice.recordLines.slice(0, half);
  const lastHead = headLines.at(-1) ?? '{}';
  const headThrough = (JSON.parse(lastHead) as { seq: number }).seq;
  const bytesOf = (lines: readonly string[]): number =>
    lines.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
  const tailLines = slice.recordLines.slice(half);
  return [
    { firstSeq: slice.firstSeq, throughSeq: headThrough, recordLines: headLines,
      bytes: bytesOf(headLines) },
    { firstSeq: headThrough + 1, throughSeq: slice.throughSeq, recordLines: tailLines,
      bytes: bytesOf(tailLines) },
  ];
}
