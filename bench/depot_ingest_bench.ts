// Depot ingest throughput: 10^6 export lines through the ingest pipeline (JSON parse, strict
// validation, PAN seal + token, dedupe, one transaction per batch; on SQLite the batches that
// waited meanwhile share one commit) into SQLite (file, WAL, synchronous=FULL) and into a
// scratch PostgreSQL (fsync on), in one run; records/s of wall time and per CPU second (the
// depot's; with PostgreSQL also depot + server), the depot's peak RSS, and with SQLite the
// bytes written per record (WAL and checkpoints).
//
// The load (depot_ingest_load.ts): 100 terminals, batches of 1,000 lines; every 10th batch is
// sent twice (a replay after a lost answer) and 1 % of the taps repeat a card+ATC another
// terminal already sent. Its bodies are made first, into a file; then each engine's depot
// runs in a process of its own (depot_ingest_child.ts) as `depot serve` runs it: 4 terminals
// upload at once, each waiting for its answer; bodies are parsed, validated and sealed on the
// prepare worker while the database stores another batch. TLS is left out: it costs the same
// for both engines and is not what the store limits. Only the depot's work is timed, and the
// peak RSS is the depot process's kernel high-water mark, the load's making not in it.

import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { postgresBinDir, startPostgresScratch } from '../test_support/postgres_scratch.js';
import type { IngestFigure } from './depot_ingest_child.js';
import {
  BATCH_RECORDS, CROSS_DUPLICATE_PERCENT, loadBodiesWrite, loadSends, REPLAY_EVERY, TERMINALS,
} from './depot_ingest_load.js';

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
/**
 * Runs one engine's depot (`target`: a SQLite file or a postgres:// URL) in a process of its
 * own over the bodies at `bodiesPath`; rejects with its stderr when it fails.
 */
function ingestInChild(target: string, records: number, bodiesPath: string):
  Promise<IngestFigure> {
  const child = fork(new URL('./depot_ingest_child.js', import.meta.url),
    [target, String(records), bodiesPath], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    let figure: IngestFigure | null = null;
    child.on('message', (message: IngestFigure) => {
      figure = message;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 && figure !== null) resolve(figure);
      else reject(new Error(`depot ingest child exited ${String(code)}: ${stderr.trim()}`));
    });
  });
}

function printIngest(engine: string, f: IngestFigure): void {
  const all = f.recordsPerAllCpuS === null ? ''
    : `, ${f.recordsPerAllCpuS.toFixed(0)} per depot+server CPU-s`;
  console.log(`  ${engine.padEnd(12)} ${f.recordsPerS.toFixed(0).padStart(8)} records/s  `
    + `(${f.recordsPerCpuS.toFixed(0)} per depot CPU-s${all}, load `
    + `${loadavg()[0]?.toFixed(1) ?? '?'})  ${f.seconds.toFixed(1)} s busy  stored ${f.stored}${
      f.stored === f.storedExpected ? '' : ` (WRONG: expected ${f.storedExpected})`}  `
    + `duplicates ${f.duplicates}  depot peak RSS ${f.rssMbMax.toFixed(0)} MB${
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
    // Every batch the sends name, replays included (their original is one of them).
    const bodies = join(temp, 'bodies');
    loadBodiesWrite(bodies, Math.max(...loadSends(records).map((s) => s.index)) + 1);
    if (engines.has('sqlite'))
      printIngest('sqlite', await ingestInChild(join(temp, 'bench.sqlite'), records, bodies));
    if (!engines.has('postgres')) return;
    if (postgresBinDir() === null) {
      console.log('  postgres     not installed (run .ci/setup): no figure');
      return;
    }
    // fsync on, as a real server: a commit is durable before the 200, as on SQLite.
    const scratch = await startPostgresScratch({ durable: true, settings: PG_BENCH_SETTINGS });
    try {
      printIngest('postgres', await ingestInChild(scratch.url, records, bodies));
    } finally {
      scratch.stop();
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}
