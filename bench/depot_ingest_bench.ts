// Depot ingest throughput: 10^6 export lines through the ingest pipeline (JSON parse, strict
// validation, PAN seal + token, dedupe, one transaction per batch; on SQLite the batches that
// waited meanwhile share one commit) into SQLite (file, WAL, synchronous=FULL) and into a
// scratch PostgreSQL (fsync on), in one run; records/s of wall time and per CPU second (the
// depot's; with PostgreSQL also depot + server), peak RSS, and with SQLite the bytes written
// per record (WAL and checkpoints).
//
// The load: 100 terminals, batches of 1,000 lines; every 10th batch is sent twice (a replay
// after a lost answer) and 1 % of the taps repeat a card+ATC another terminal already sent.
// As `depot serve` runs it: 4 terminals upload at once, each waiting for its answer; bodies
// are parsed, validated and sealed on the prepare worker (batch_prepare_pool.ts) while the
// database stores another batch. TLS is left out: it costs the same for both engines and is
// not what the store limits. Bodies are made before the clock starts, 100 sends at a time,
// and only the depot's work is timed.

import { cardOf, fixtureVault } from '../test_support/clear_clearing.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { journalExportLine } from '../firmware/src/app/journal/journal_export.js';
import type { ClearingRecord } from '../firmware/src/app/journal/journal_records.js';
import { batchPreparePool, type BatchPreparePool } from
  '../depot/src/ingest/batch_prepare_pool.js';
import { batchStoreSealed } from '../depot/src/ingest/batch_store.js';
import { terminalAdd } from '../depot/src/ingest/terminal_registry.js';
import type { DepotDb } from '../depot/src/store/depot_db.js';
import { openDepotDb } from '../depot/src/store/open_depot_db.js';
import { postgresBinDir, startPostgresScratch } from '../test_support/postgres_scratch.js';

export const DEPOT_BENCH_RECORDS = 1_000_000;
/**
 * The bench cluster's settings beyond initdb's defaults: what a depot's own server would be
 * given, none of which trades durability (fsync, synchronous_commit and full_page_writes stay
 * on). shared_buffers 256 MB instead of 128 MB holds the taps indexes at 10^6 rows (about
 * 150 MB, random keys); max_wal_size 4 GB instead of 1 GB and checkpoint_timeout 15 min
 * instead of 5 spread checkpoints, each of which makes the next write of every page a full
 * page image in the WAL; wal_compression compresses those images.
 */
export const PG_BENCH_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '256MB',
  max_wal_size: '4GB',
  checkpoint_timeout: '15min',
  wal_compression: 'on',
};
const BATCH_RECORDS = 1_000;
const TERMINALS = 100;
const REPLAY_EVERY = 10;
const CROSS_DUPLICATE_PERCENT = 1;
const WALL_MS = 1_790_000_000_000;
/**
 * Terminals uploading at once: the depot stores one batch while the next is prepared (two
 * cores: the database's thread and the prepare worker). Each lane waits for its answer.
 */
const LANES = 4;
const PREPARE_WORKERS = 1;
/** Sends whose bodies are made (untimed) before each timed window: about 50 MB of text. */
const WINDOW_SENDS = 100;
/** The validators' data key of the generated batches (their export opens the seals). */
const BENCH_VAULT = fixtureVault();

function clearing(card: number, atc: number, terminalId: string): ClearingRecord {
  const pan = `6231${String(card).padStart(15, '0')}`;
  const atcHex = atc.toString(16).toUpperCase().padStart(4, '0');
  return {
    card: cardOf(BENCH_VAULT, pan, 1), aidHex: 'A000000333010101', atc, amountMinor: 200,
    currencyCode: 156, fareRule: 'flat', cryptogramType: 'ARQC',
    iccDataHex: `9F26080123456789ABCDEF5F3401019F3602${atcHex}`
      + '9F02060000000002005F2A0201569A03261202',
    transactionDate: '261202', transactionTime: '081500', terminalId, lineId: 'R12',
    paramsVersion: 3,
  };
}

/** Body text of batch `index` (terminal index % TERMINALS, its seqs continuing). */
export function batchBody(index: number): { terminalId: string; text: string } {
  const terminal = index % TERMINALS;
  const terminalId = `SIM${String(terminal).padStart(5, '0')}`;
  const first = Math.floor(index / TERMINALS) * BATCH_RECORDS + 1;
  const records: unknown[] = [];
  for (let i = 0; i < BATCH_RECORDS; i += 1) {
    const seq = first + i;
    const n = index * BATCH_RECORDS + i;
    // 1 %: the card+ATC of a tap of the previous terminal's batch (already stored), one that
    // is not itself a repeat (i % 100 is 1 there).
    const dup = n % 100 < CROSS_DUPLICATE_PERCENT && index > 0;
    const card = dup ? n - BATCH_RECORDS + 1 : n;
    const line = journalExportLine({ seq, timeWallMs: WALL_MS + seq,
      entry: { kind: 'final', pendingSeq: null,
        clearing: clearing(card, card % 60_000, terminalId) } },
    { ackThroughSeq: 0, openSeqs: new Set(), vault: BENCH_VAULT });
    if (line !== null) records.push(JSON.parse(line.text));
  }
  const text = JSON.stringify({ terminalId, firstSeq: first,
    throughSeq: first + BATCH_RECORDS - 1, records });
  return { terminalId, text };
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

interface IngestFigure {
  readonly recordsPerS: number;
  /** Per CPU second of this process (PostgreSQL's own CPU is not in it). */
  readonly recordsPerCpuS: number;
  /** Per CPU second of this process and the PostgreSQL server together; null on SQLite. */
  readonly recordsPerAllCpuS: number | null;
  readonly stored: number;
  /** What the load's construction says must be counted. */
  readonly storedExpected: number;
  readonly duplicates: number;
  readonly seconds: number;
  readonly rssMbMax: number;
  /** Bytes this process wrote to files per record sent (SQLite: WAL and checkpoints). */
  readonly writtenPerRecord: number | null;
}

/** One send of the load: batch `index`, and whether it is the replay of an earlier send. */
interface Send {
  readonly index: number;
  readonly replay: boolean;
}

/** The sends of `records` records in order: every REPLAY_EVERY-th batch goes twice. */
function loadSends(records: number): Send[] {
  const sends: Send[] = [];
  for (let index = 0, sent = 0; sent < records; index += 1) {
    sends.push({ index, replay: false });
    sent += BATCH_RECORDS;
    if (index % REPLAY_EVERY === REPLAY_EVERY - 1 && sent < records) {
      sends.push({ index, replay: true });
      sent += BATCH_RECORDS;
    }
  }
  return sends;
}

interface WindowFigure {
  readonly stored: number;
  readonly duplicates: number;
  readonly sent: number;
}

/**
 * Ingests the bodies of one window the way `depot serve` does: LANES terminals upload at once,
 * each waits for its answer before its next batch (a replay follows its original's answer),
 * bodies are prepared on the pool's worker while the database stores another lane's batch.
 */
async function windowIngest(db: DepotDb, pool: BatchPreparePool, sends: readonly Send[],
  bodies: ReadonlyMap<number, { terminalId: string; text: string }>): Promise<WindowFigure> {
  const figure = { stored: 0, duplicates: 0, sent: 0 };
  // A batch and its replay form one job of one lane, in order.
  const jobs: Send[][] = [];
  for (const send of sends) {
    if (send.replay) jobs[jobs.length - 1]?.push(send);
    else jobs.push([send]);
  }
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
      for (const send of job) {
        const body = bodies.get(send.index);
        if (body === undefined) throw new Error(`bench: no body for batch ${send.index}`);
        const batch = await pool.prepare(body.text, body.terminalId);
        const receipt = await batchStoreSealed(db, batch, WALL_MS);
        figure.stored += receipt.stored;
        figure.duplicates += receipt.duplicates;
        figure.sent += batch.records.length;
      }
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  return figure;
}

async function ingestRun(db: DepotDb, records: number): Promise<IngestFigure> {
  for (let t = 0; t < TERMINALS; t += 1)
    await terminalAdd(db, { terminalId: `SIM${String(t).padStart(5, '0')}`,
      certSha256: String(t).padStart(64, '0'), routeId: 'R12', nowMs: WALL_MS });
  const pool = batchPreparePool(Buffer.alloc(32, 9), PREPARE_WORKERS);
  let busyMs = 0;
  let cpuMs = 0;
  let rssMax = 0;
  const total = { stored: 0, duplicates: 0, sent: 0 };
  const sends = loadSends(records);
  // The first send of a batch counts all but its card+ATC repeats; a replay counts none.
  const storedExpected = sends.filter((s) => !s.replay).reduce((sum, s) => sum + BATCH_RECORDS
    - (s.index === 0 ? 0 : BATCH_RECORDS * CROSS_DUPLICATE_PERCENT / 100), 0);
  const serverBefore = await serverCpuS(db);
  const writtenBefore = writtenBytes();
  try {
    for (let at = 0; at < sends.length; at += WINDOW_SENDS) {
      const window = sends.slice(at, at + WINDOW_SENDS);
      // Bodies are made before the clock starts: only the depot's work is timed.
      const bodies = new Map(window.map((s) => [s.index, batchBody(s.index)]));
      const start = performance.now();
      const cpu = process.cpuUsage();
      const figure = await windowIngest(db, pool, window, bodies);
      busyMs += performance.now() - start;
      const used = process.cpuUsage(cpu);
      cpuMs += (used.user + used.system) / 1000;
      total.stored += figure.stored;
      total.duplicates += figure.duplicates;
      total.sent += figure.sent;
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }
  } finally {
    await pool.close();
  }
  const serverAfter = await serverCpuS(db);
  const serverS = serverBefore === null || serverAfter === null ? null
    : serverAfter - serverBefore;
  const { sent, stored, duplicates } = total;
  const writtenAfter = writtenBytes();
  const written = writtenBefore === null || writtenAfter === null ? null
    : (writtenAfter - writtenBefore) / sent;
  return { writtenPerRecord: db.dialect === 'sqlite' ? written : null,
    recordsPerS: sent / (busyMs / 1000), recordsPerCpuS: sent / (cpuMs / 1000),
    recordsPerAllCpuS: serverS === null ? null : sent / (cpuMs / 1000 + serverS), stored,
    storedExpected, duplicates, seconds: busyMs / 1000, rssMbMax: rssMax / 2 ** 20 };
}

function printIngest(engine: string, f: IngestFigure): void {
  const all = f.recordsPerAllCpuS === null ? ''
    : `, ${f.recordsPerAllCpuS.toFixed(0)} per depot+server CPU-s`;
  console.log(`  ${engine.padEnd(12)} ${f.recordsPerS.toFixed(0).padStart(8)} records/s  `
    + `(${f.recordsPerCpuS.toFixed(0)} per depot CPU-s${all}, load `
    + `${loadavg()[0]?.toFixed(1) ?? '?'})  ${f.seconds.toFixed(1)} s busy  stored ${f.stored}${
      f.stored === f.storedExpected ? '' : ` (WRONG: expected ${f.storedExpected})`}  `
    + `duplicates ${f.duplicates}  peak RSS ${f.rssMbMax.toFixed(0)} MB${
      f.writtenPerRecord === null ? '' : `  written ${f.writtenPerRecord.toFixed(0)} B/record`}`);
}

/**
 * Records per engine: SHUAKA_DEPOT_BENCH_RECORDS (a quick run, e.g. 20000) or 10^6. Throws on
 * a value that is not a positive integer.
 */
export function depotBenchRecords(env = process.env): number {
  const text = env['SHUAKA_DEPOT_BENCH_RECORDS'];
  if (text === undefined || text === '') return DEPOT_BENCH_RECORDS;
  if (!/^[1-9][0-9]*$/.test(text))
    throw new Error(`SHUAKA_DEPOT_BENCH_RECORDS must be a positive integer, not "${text}"`);
  return Number(text);
}

/** The engines to measure: SHUAKA_DEPOT_BENCH_ENGINES (sqlite, postgres or both, comma
 * separated) or both. Throws on another name. */
export function depotBenchEngines(env = process.env): ReadonlySet<'sqlite' | 'postgres'> {
  const text = env['SHUAKA_DEPOT_BENCH_ENGINES'];
  if (text === undefined || text === '') return new Set(['sqlite', 'postgres']);
  const engines = new Set<'sqlite' | 'postgres'>();
  for (const name of text.split(',')) {
    if (name !== 'sqlite' && name !== 'postgres')
      throw new Error(`SHUAKA_DEPOT_BENCH_ENGINES takes sqlite and postgres, not "${name}"`);
    engines.add(name);
  }
  return engines;
}

/** Runs the suite; `records` defaults to depotBenchRecords(), `engines` to
 * depotBenchEngines(). */
export async function runDepotIngestBench(records = depotBenchRecords(),
  engines = depotBenchEngines()): Promise<void> {
  console.log(`\ndepot ingest: ${records} records per engine, batches of ${BATCH_RECORDS}, `
    + `${TERMINALS} terminals, every ${REPLAY_EVERY}th batch replayed, `
    + `${CROSS_DUPLICATE_PERCENT} % card+ATC duplicates`);
  const temp = mkdtempSync(join(tmpdir(), 'shuaka-depot-bench-'));
  try {
    if (engines.has('sqlite')) {
      const sqlite = await openDepotDb(join(temp, 'bench.sqlite'), WALL_MS);
      try {
        printIngest('sqlite', await ingestRun(sqlite, records));
      } finally {
        await sqlite.close();
      }
    }
    if (!engines.has('postgres')) return;
    if (postgresBinDir() === null) {
      console.log('  postgres     not installed (run .ci/setup): no figure');
      return;
    }
    // fsync on, as a real server: a commit is durable before the 200, as on SQLite.
    const scratch = await startPostgresScratch({ durable: true, settings: PG_BENCH_SETTINGS });
    try {
      const pg = await openDepotDb(scratch.url, WALL_MS);
      try {
        printIngest('postgres', await ingestRun(pg, records));
      } finally {
        await pg.close();
      }
    } finally {
      scratch.stop();
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
