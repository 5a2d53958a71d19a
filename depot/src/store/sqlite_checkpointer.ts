// WAL checkpoints of the depot's SQLite file on a worker thread. A checkpoint copies every
// page the WAL holds into the database file at random places and fsyncs it: at 10^6 taps
// about as much writing as the commits themselves (the card+ATC index takes random keys).
// Run by the committing connection (wal_autocheckpoint), it blocked the ingest thread; here
// it overlaps the next batches. Durability is the WAL's fsync at each commit either way.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** workerData of the checkpointer. */
export interface CheckpointerData {
  readonly path: string;
  readonly intervalMs: number;
  /** WAL frames after which a round also rewinds the WAL (RESTART) so it stops growing. */
  readonly restartFrames: number;
  readonly busyTimeoutMs: number;
}

/** A running checkpointer. */
export interface SqliteCheckpointer {
  /** Stops the worker after its round in progress; resolves once its connection closed. */
  stop(): Promise<void>;
}

/** The compiled worker script (a test running the TS sources uses the built one in dist/). */
function workerScript(): URL {
  const here = new URL('./sqlite_checkpointer_main.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../../dist/depot/src/store/sqlite_checkpointer_main.js', import.meta.url);
}

/**
 * Starts checkpointing `data.path` (a WAL-mode SQLite file that exists). A worker that fails
 * only stops checkpointing: the committing connection's wal_autocheckpoint takes over.
 */
export function sqliteCheckpointerStart(data: CheckpointerData): SqliteCheckpointer {
  const worker = new Worker(workerScript(), { workerData: data });
  worker.unref();
  let exited = false;
  const ended = new Promise<void>((resolve) => {
    worker.on('exit', () => {
      exited = true;
      resolve();
    });
  });
  worker.on('error', () => undefined);
  return {
    stop: async () => {
      // Referenced again while it stops: an unreferenced worker would let the process end
      // before its connection closed.
      if (!exited) {
        worker.ref();
        worker.postMessage('stop');
      }
      await ended;
    },
  };
}
