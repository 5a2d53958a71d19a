// The depot of the ingest bench, in its own process (forked by depot_ingest_bench.ts): one
// engine's ingest of the load (depot_ingest_load.ts) as `depot serve` runs it, 4 terminals
// uploading at once, each waiting for its answer, bodies parsed, validated and sealed on the
// prepare worker (batch_prepare_pool.ts) while the database stores another batch. Each body is
// read from the load's file when its lane sends it, as a server receives it. The process holds
// nothing but the depot, so its kernel peak (getrusage maxrss) is the depot's own memory.
// Usage (forked): TARGET RECORDS BODIES, where TARGET is a SQLite file or a postgres:// URL.
// It sends one IngestFigure and exits 0, or prints why on stderr and exits 1.

import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { peakRssBytes } from '../hal/src/fs/peak_rss.js';
import { batchPreparePool, type BatchPreparePool } from
  '../depot/src/ingest/batch_prepare_pool.js';
import { batchStoreSealed } from '../depot/src/ingest/batch_store.js';
import { terminalAdd } from '../depot/src/ingest/terminal_registry.js';
import type { DepotDb } from '../depot/src/store/depot_db.js';
import { openDepotDb } from '../depot/src/store/open_depot_db.js';
import {
  loadBodiesOpen, loadSends, loadStoredExpected, TERMINALS, terminalOf, WALL_MS,
  type LoadBodies, type Send,
} from './depot_ingest_load.js';

/** Terminals uploading at once, each waiting for its answer (two cores: store and prepare). */
const LANES = 4;
const PREPARE_WORKERS = 1;

/** One engine's figures, sent to the bench process. */
export interface IngestFigure {
  readonly recordsPerS: number;
  /** Per CPU second of the depot process (PostgreSQL's own CPU is not in it). */
  readonly recordsPerCpuS: number;
  /** Per CPU second of the depot process and the PostgreSQL server together; null on SQLite. */
  readonly recordsPerAllCpuS: number | null;
  readonly stored: number;
  /** What the load's construction says must be counted. */
  readonly storedExpected: number;
  readonly duplicates: number;
  readonly seconds: number;
  /** The depot process's peak resident set (getrusage maxrss), MiB. */
  readonly rssMbMax: number;
  /** Bytes the depot process wrote to files per record sent (SQLite: WAL and checkpoints). */
  readonly writtenPerRecord: number | null;
}

/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux). */
const PROC_TICKS_PER_S = 100;

/** utime + stime (+ cutime + cstime with `children`) of `pid` in seconds; 0 when unreadable. */
function procCpuS(pid: number, children: boolean): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    const own = (fields[11] ?? 0) + (fields[12] ?? 0);
    return (children ? own + (fields[13] ?? 0) + (fields[14] ?? 0) : own) / PROC_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** Bytes this process has written to storage (/proc/self/io); null without /proc. */
function writtenBytes(): number | null {
  try {
    const match = /^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
    return match === null ? null : Number(match[1]);
  } catch {
    return null;
  }
}

/**
 * CPU seconds of the PostgreSQL server so far: the postmaster with its exited children plus
 * every live child (backends, WAL writer, checkpointer). null on SQLite or without /proc.
 */
async function serverCpuS(db: DepotDb): Promise<number | null> {
  if (db.dialect !== 'postgres') return null;
  const backend = Number((await db.query('SELECT pg_backend_pid() AS pid'))[0]?.['pid']);
  let postmaster: number;
  try {
    const stat = readFileSync(`/proc/${backend}/stat`, 'utf8');
    postmaster = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
  let total = procCpuS(postmaster, true);
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster)
        total += procCpuS(Number(name), false);
    } catch {
      // The process ended between the listing and the read: its CPU moved to cutime.
    }
  }
  return total;
}

interface SendTotals {
  stored: number;
  duplicates: number;
  sent: number;
}

/**
 * Ingests every send the way `depot serve` does: LANES terminals upload at once, each waits
 * for its answer before its next batch (a replay follows its original's answer), bodies are
 * prepared on the pool's worker while the database stores another lane's batch.
 */
async function sendsIngest(db: DepotDb, pool: BatchPreparePool, sends: readonly Send[],
  bodies: LoadBodies): Promise<SendTotals> {
  const totals = { stored: 0, duplicates: 0, sent: 0 };
  // A batch and its replay form one job of one lane, in order.
  const jobs: Send[][] = [];
  for (const send of sends) {
    const last = jobs[jobs.length - 1];
    if (send.replay && last !== undefined) last.push(send);
    else jobs.push([send]);
  }
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
      for (const send of job) {
        const body = bodies.body(send.index);
        const batch = await pool.prepare(body.text, body.terminalId);
        const receipt = await batchStoreSealed(db, batch, WALL_MS);
        totals.stored += receipt.stored;
        totals.duplicates += receipt.duplicates;
        totals.sent += batch.records.length;
      }
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  return totals;
}

/** Ingests `records` records of the load at `bodiesPath` into `db`; times only the ingest. */
async function ingestRun(db: DepotDb, records: number, bodiesPath: string):
  Promise<IngestFigure> {
  for (let t = 0; t < TERMINALS; t += 1)
    await terminalAdd(db, { terminalId: terminalOf(t), certSha256: String(t).padStart(64, '0'),
      routeId: 'R12', nowMs: WALL_MS });
  const pool = batchPreparePool(Buffer.alloc(32, 9), PREPARE_WORKERS);
  const bodies = loadBodiesOpen(bodiesPath);
  const sends = loadSends(records);
  const serverBefore = await serverCpuS(db);
  const writtenBefore = writtenBytes();
  const start = performance.now();
  const cpu = process.cpuUsage();
  let totals: SendTotals;
  try {
    totals = await sendsIngest(db, pool, sends, bodies);
  } finally {
    bodies.close();
    await pool.close();
  }
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuS = (used.user + used.system) / 1e6;
  const [serverAfter, writtenAfter] = [await serverCpuS(db), writtenBytes()];
  const serverS = serverBefore === null || serverAfter === null ? null
    : serverAfter - serverBefore;
  const { sent, stored, duplicates } = totals;
  const written = writtenBefore === null || writtenAfter === null ? null
    : (writtenAfter - writtenBefore) / sent;
  return { writtenPerRecord: db.dialect === 'sqlite' ? written : null,
    recordsPerS: sent / seconds, recordsPerCpuS: sent / cpuS,
    recordsPerAllCpuS: serverS === null ? null : sent / (cpuS + serverS), stored,
    storedExpected: loadStoredExpected(sends), duplicates, seconds,
    rssMbMax: peakRssBytes() / 2 ** 20 };
}

async function main(argv: readonly string[]): Promise<void> {
  const [target, recordsText, bodiesPath] = argv;
  const records = Number(recordsText);
  if (target === undefined || bodiesPath === undefined || !Number.isSafeInteger(records)
    || records < 1 || process.send === undefined)
    throw new Error('usage (forked): depot_ingest_child TARGET RECORDS BODIES');
  const db = await openDepotDb(target, WALL_MS);
  try {
    const figure = await ingestRun(db, records, bodiesPath);
    await new Promise<void>((resolve, reject) => {
      process.send?.(figure, (error: Error | null) => (error === null ? resolve()
        : reject(error)));
    });
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(() => {
  process.disconnect?.();
}, (error: unknown) => {
  process.stderr.write(`depot ingest bench: ${error instanceof Error ? error.message
    : String(error)}\n`);
  process.exitCode = 1;
  process.disconnect?.();
});
