// Batch preparation (JSON parse, validation, PAN token and seal: batch_seal.ts) on worker
// threads, so the thread that owns the database writes one batch while the next is prepared.
// On SQLite the write blocks its thread (better-sqlite3 is synchronous, and the commit waits
// for the WAL's fsync); on PostgreSQL the server works while Node prepares. The depot's
// throughput is then the slower of the two halves instead of their sum (bench/README.md,
// depot ingest).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { BatchError } from './batch_error.js';
import { batchUnpack, type PackedBatch } from './batch_pack.js';
import type { SealedBatch } from './batch_seal.js';

/** workerData of a prepare worker: the depot's data key (its own vault per thread). */
export interface PrepareWorkerData {
  readonly dataKey: Uint8Array;
}

/** Main → worker. */
export interface PrepareJob {
  readonly id: number;
  readonly text: string;
  readonly terminalId: string;
}

/** Worker → main: the sealed batch (packed), or why it was refused (`internal`: a bug). */
export type PrepareAnswer =
  | { readonly id: number; readonly ok: true; readonly packed: PackedBatch }
  | { readonly id: number; readonly ok: false;
    readonly code: BatchError['code'] | 'internal';
    readonly path: string; readonly reason: string };

/** Prepares batch bodies off the calling thread. */
export interface BatchPreparePool {
  /**
   * The body `text` of a POST /v1/batches over `certTerminalId`'s certificate, sealed. Rejects
   * with BatchError (bad-batch, terminal-mismatch) for a bad body, with Error when a worker
   * failed or the pool is closed.
   */
  prepare(text: string, certTerminalId: string): Promise<SealedBatch>;
  /** Stops the workers; jobs in flight reject. */
  close(): Promise<void>;
}

interface Pending {
  readonly resolve: (batch: SealedBatch) => void;
  readonly reject: (error: Error) => void;
}

/** The compiled worker script (a test running the TS sources uses the built one in dist/). */
function workerScript(): URL {
  const here = new URL('./batch_prepare_worker_main.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../../dist/depot/src/ingest/batch_prepare_worker_main.js', import.meta.url);
}

/** One worker and the jobs it has not answered yet. */
class PrepareWorker {
  readonly pending = new Map<number, Pending>();
  private readonly worker: Worker;
  private stopped = false;

  constructor(data: PrepareWorkerData, private readonly onDead: (w: PrepareWorker) => void) {
    this.worker = new Worker(workerScript(), { workerData: data });
    this.worker.unref();
    this.worker.on('message', (answer: PrepareAnswer) => this.answer(answer));
    this.worker.on('error', (error) => this.fail(`batch prepare worker failed: ${error.message}`));
    this.worker.on('exit', (code) => this.fail(`batch prepare worker exited (${code})`));
  }

  send(job: PrepareJob, pending: Pending): void {
    this.pending.set(job.id, pending);
    this.worker.postMessage(job);
  }

  async stop(): Promise<void> {
    this.fail('batch prepare pool closed');
    await this.worker.terminate();
  }

  private answer(answer: PrepareAnswer): void {
    const pending = this.pending.get(answer.id);
    if (pending === undefined) return;
    this.pending.delete(answer.id);
    if (answer.ok) this.resolve(answer.packed, pending);
    else if (answer.code === 'internal') pending.reject(new Error(answer.reason));
    else pending.reject(new BatchError(answer.code, answer.path, answer.reason));
  }

  private resolve(packed: PackedBatch, pending: Pending): void {
    let batch: SealedBatch;
    try {
      batch = batchUnpack(packed);
    } catch (error) {
      pending.reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    pending.resolve(batch);
  }

  private fail(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const pending of this.pending.values()) pending.reject(new Error(reason));
    this.pending.clear();
    this.onDead(this);
  }
}

/**
 * Starts `workers` threads (at least 1) preparing under `dataKey` (32 bytes). Jobs go to the
 * worker with the fewest unanswered; a worker that dies rejects its jobs and is replaced.
 */
export function batchPreparePool(dataKey: Uint8Array, workers = 1): BatchPreparePool {
  const data: PrepareWorkerData = { dataKey: Uint8Array.from(dataKey) };
  let closed = false;
  let nextId = 1;
  const live: PrepareWorker[] = [];
  const spawn = (): void => {
    live.push(new PrepareWorker(data, (dead) => {
      const at = live.indexOf(dead);
      if (at >= 0) live.splice(at, 1);
      if (!closed) spawn();
    }));
  };
  for (let i = 0; i < Math.max(1, workers); i += 1) spawn();
  return {
    prepare: (text, certTerminalId) => new Promise<SealedBatch>((resolve, reject) => {
      const idle = live.reduce<PrepareWorker | undefined>((best, w) =>
        best === undefined || w.pending.size < best.pending.size ? w : best, undefined);
      if (closed || idle === undefined) {
        reject(new Error('batch prepare pool closed'));
        return;
      }
      const id = nextId;
      nextId += 1;
      idle.send({ id, text, terminalId: certTerminalId }, { resolve, reject });
    }),
    close: async () => {
      closed = true;
      await Promise.all(live.map((w) => w.stop()));
    },
  };
}
