// The uploader's journal read in a worker thread. Scanning a segment (CRC, chain hash, JSON of
// every record) is synchronous and costs about 0.1 ms a record; a 2 MiB segment would hold the
// tap loop for a quarter of a second. In a worker it never does: the main thread only sends.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import type { UploadPassEnd, UploadSlice } from '../app/upload/upload_batches.js';
import type { UploadReadPass } from '../app/upload/uploader.js';

/** What the worker is asked to read. */
export interface UploadReadRequest {
  readonly dir: string;
  readonly fileName: string;
  readonly ackThroughSeq: number;
  readonly openSeqs: readonly number[];
  /** The terminal data key file: the worker opens the sealed PANs with its own vault. */
  readonly dataKeyPath: string;
  readonly limits: { readonly recordsMax: number; readonly bytesMax: number };
}

/** Worker → main: a slice to send (answered with the verdict), or the end of the pass. */
export type UploadWorkerMessage =
  | { readonly kind: 'slice'; readonly slice: UploadSlice }
  | { readonly kind: 'end'; readonly end: UploadPassEnd };

/** The compiled worker script (a test running the TS sources uses the built one in dist/). */
function workerScript(): URL {
  const here = new URL('./upload_read_worker_main.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../../dist/firmware/src/boards/upload_read_worker_main.js', import.meta.url);
}

/** A read pass over the journal in `dir`, run in a new worker thread per pass. */
export function uploadReadPassInWorker(
  dir: string,
  fileName: string,
  dataKeyPath: string,
): UploadReadPass {
  return (context, limits, send) => new Promise<UploadPassEnd>((resolve) => {
    const request: UploadReadRequest = {
      dir, fileName, ackThroughSeq: context.ackThroughSeq, openSeqs: [...context.openSeqs],
      dataKeyPath,
      limits: { recordsMax: limits.recordsMax, bytesMax: limits.bytesMax },
    };
    const worker = new Worker(workerScript(), { workerData: request });
    let ended = false;
    const finish = (end: UploadPassEnd): void => {
      if (ended) return;
      ended = true;
      resolve(end);
      void worker.terminate();
    };
    worker.on('message', (message: UploadWorkerMessage) => {
      if (message.kind === 'end') finish(message.end);
      else void send(message.slice).then((verdict) => worker.postMessage(verdict));
    });
    worker.on('error', (error) => finish({ kind: 'read-failed', detail: error.message }));
    worker.on('exit', (code) => finish({ kind: 'read-failed', detail: `worker exit ${code}` }));
  });
}
