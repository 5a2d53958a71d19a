// The uploader's whole pass in a worker thread: the journal read, the batch bodies and HTTPS
// (TLS over megabyte bodies) all run there; the tap loop's thread only hears "the depot
// stored through seq N" and writes that ack between taps.
//
// A tap has priority twice over: the worker thread runs at a lower scheduling priority (on
// Linux, niceness is per thread), and it stops at the next record or body chunk while the tap
// gate is closed (a shared counter the tap loop's thread raises for a tap). Measured in
// bench/upload_bench.ts; see firmware/src/app/upload/README.md.

import assert from 'node:assert';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import type { UploadCursorImage } from '../app/upload/upload_cursor.js';
import type {
  UploadBatchStored, UploadPassResult, UploadPassRunner,
} from '../app/upload/upload_send.js';
import type { DepotIdentity } from './depot_https.js';

/** What the worker is asked to do (workerData). */
export interface UploadPassRequest {
  readonly dir: string;
  readonly fileName: string;
  readonly ackThroughSeq: number;
  readonly openSeqs: readonly number[];
  /** The terminal data key file: the worker opens the sealed PANs with its own vault. */
  readonly dataKeyPath: string;
  readonly limits: { readonly recordsMax: number; readonly bytesMax: number };
  readonly terminalId: string;
  readonly depotUrl: string;
  readonly identity: DepotIdentity;
  readonly timeoutMs: number;
  /** The worker thread's niceness (0-19); a failure to set it is not an error. */
  readonly niceness: number;
  /** UploadTapGate.shared: one Int32, the number of holders; the worker waits while > 0. */
  readonly gate: SharedArrayBuffer;
  /** Where the previous pass's read ended (see UploadCursor), or null. */
  readonly cursor: UploadCursorImage | null;
}

/** Worker → main: a batch the depot stored, or the end of the pass. */
export type UploadPassWorkerMessage =
  | { readonly kind: 'stored'; readonly batch: UploadBatchStored }
  | {
    readonly kind: 'end';
    readonly result: UploadPassResult;
    /** Where the next pass may resume (UploadCursor.image), or null. */
    readonly cursor: UploadCursorImage | null;
  };

/**
 * The tap gate: a counter in shared memory. `close` while a tap runs (or anything else that
 * must not share the CPU and the disk with the upload), `open` after; the worker waits at its
 * next record, request or body chunk while any holder keeps it closed.
 */
export class UploadTapGate {
  readonly shared = new SharedArrayBuffer(4);
  private readonly cell = new Int32Array(this.shared);

  close(): void {
    Atomics.add(this.cell, 0, 1);
  }

  /** Only the owning thread closes and opens; the worker only reads. */
  open(): void {
    assert(Atomics.load(this.cell, 0) > 0, 'UploadTapGate.open without close');
    if (Atomics.sub(this.cell, 0, 1) === 1) Atomics.notify(this.cell, 0);
  }

  isClosed(): boolean {
    return Atomics.load(this.cell, 0) > 0;
  }
}

/** Choices of the pass worker. */
export interface UploadPassWorkerOptions {
  readonly dir: string;
  readonly fileName: string;
  readonly dataKeyPath: string;
  readonly terminalId: string;
  readonly depotUrl: URL;
  readonly identity: DepotIdentity;
  readonly timeoutMs: number;
  /** Niceness of the worker thread: 19, the upload is background work. */
  readonly niceness: number;
  readonly gate: UploadTapGate;
  /**
   * Polled every `tapPollMs` while a pass runs, holding the gate closed while true (a board:
   * the validator is Processing); null when the caller drives the gate itself.
   */
  readonly tapInProgress: (() => boolean) | null;
  readonly tapPollMs: number;
}

/** The compiled worker script (a test running the TS sources uses the built one in dist/). */
function workerScript(): URL {
  const here = new URL('./upload_pass_worker_main.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../../dist/firmware/src/boards/upload_pass_worker_main.js', import.meta.url);
}

/**
 * Runs each pass in a new worker thread. What survives a pass is its upload cursor, as bytes
 * the next pass checks as a checkpoint and against the journal before it resumes there.
 */
export class UploadPassWorker {
  private running: Worker | null = null;
  private cursor: UploadCursorImage | null = null;
  private stopRequested: Worker | null = null;

  constructor(private readonly options: UploadPassWorkerOptions) {}

  /** The Uploader's `passRunner`. */
  readonly run: UploadPassRunner = (context, limits, onStored) => {
    const o = this.options;
    const request: UploadPassRequest = {
      dir: o.dir, fileName: o.fileName, ackThroughSeq: context.ackThroughSeq,
      openSeqs: [...context.openSeqs], dataKeyPath: o.dataKeyPath,
      limits: { recordsMax: limits.recordsMax, bytesMax: limits.bytesMax },
      terminalId: o.terminalId, depotUrl: o.depotUrl.href, identity: o.identity,
      timeoutMs: o.timeoutMs, niceness: o.niceness, gate: o.gate.shared, cursor: this.cursor,
    };
    // A pass that does not say where it ended leaves none.
    this.cursor = null;
    return new Promise<UploadPassResult>((resolve) => {
      const worker = new Worker(workerScript(), { workerData: request });
      this.running = worker;
      const stopPolling = this.pollTaps();
      let ended = false;
      const finish = (result: UploadPassResult): void => {
        if (ended) return;
        ended = true;
        stopPolling();
        this.running = null;
        resolve(result);
        void worker.terminate();
      };
      worker.on('message', (message: UploadPassWorkerMessage) => {
        if (message.kind === 'end') {
          if (!ended) this.cursor = message.cursor;
          finish(message.result);
        }
        else if (!ended) onStored(message.batch);
      });
      worker.on('error', (error) => finish({ kind: 'read-failed', detail: error.message }));
      worker.on('exit', (code) => finish(this.stopping(worker)
        ? { kind: 'stopped' } : { kind: 'read-failed', detail: `upload worker exit ${code}` }));
    });
  };

  /** Ends the pass in flight, if any (at shutdown): it resolves 'stopped'. */
  stop(): void {
    if (this.running === null) return;
    this.stopRequested = this.running;
    void this.running.terminate();
  }

  private stopping(worker: Worker): boolean {
    return this.stopRequested === worker;
  }

  /** Mirrors tapInProgress into the gate while a pass runs; returns the stop. */
  private pollTaps(): () => void {
    const poll = this.options.tapInProgress;
    if (poll === null) return () => undefined;
    let held = false;
    const timer = setInterval(() => {
      const tap = poll();
      if (tap && !held) this.options.gate.close();
      if (!tap && held) this.options.gate.open();
      held = tap;
    }, this.options.tapPollMs);
    return () => {
      clearInterval(timer);
      if (held) this.options.gate.open();
    };
  }
}
