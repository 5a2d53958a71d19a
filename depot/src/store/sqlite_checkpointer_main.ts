// The worker thread of sqlite_checkpointer.ts: its own connection to the depot's SQLite file,
// copying committed WAL frames into the database (and fsyncing it) off the thread that
// commits batches. Checkpoints never change what is durable: a commit is durable once its WAL
// frames are synced, before any checkpoint (https://sqlite.org/wal.html, "Checkpointing").

import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

import type { CheckpointerData } from './sqlite_checkpointer.js';

const data = workerData as CheckpointerData;
const port = parentPort;
if (port === null) throw new Error('SQLite checkpointer started outside a worker thread');
const db = new Database(data.path, { fileMustExist: true });
db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
db.pragma('synchronous = FULL');
// This connection never writes rows: no automatic checkpoint of its own.
db.pragma('wal_autocheckpoint = 0');

/** One round: PASSIVE copies what it can without waiting; RESTART rewinds a long WAL. */
function checkpoint(): void {
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
    if ((row?.log ?? 0) >= data.restartFrames) db.pragma('wal_checkpoint(RESTART)');
  } catch {
    // Busy or failed: the next round tries again, and the committing connection's own
    // wal_autocheckpoint still bounds the WAL.
  }
}

const timer = setInterval(checkpoint, data.intervalMs);
port.on('message', () => {
  clearInterval(timer);
  db.close();
  port.close();
});
