// Journal benchmarks: start-up, verify, export and salvage time and peak memory at 10^4, 10^5
// and 10^6 records, and append + sync per record on the real file system.
//
// Memory is the peak RSS (getrusage maxrss) of a child process that does one thing, so the
// figures are clean of this process's history: start-up opens the journal in a child of
// this file; verify and export run `node bin/shuaka.js journal ... --stats` as an operator does
// (the figures of the bounded-heap process it starts, which does the work; the first process
// only waits, as a bare node). A bare child's RSS is printed next to them. Journals are built
// once per size in a temporary directory without fsync per record (the bytes are the same),
// and kept unacknowledged so that verify and export walk every record. The salvage
// (`journal export --salvage`) is measured last, on the same journal once one bit of a record
// mid-journal is flipped: the other figures are of the intact journal.

import { spawnSync } from 'node:child_process';
import {
  closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { peakRssBytes } from '../hal/src/fs/peak_rss.js';
import { HalStatus, halErr, halOk } from '../hal/src/ports/hal_status.js';
import type { HalResult } from '../hal/src/ports/hal_status.js';
import type { StoragePort } from '../hal/src/ports/storage_port.js';
import { FileStorage } from '../hal/src/storage/file_storage.js';
import {
  JOURNAL_FILE_NAME,
  JOURNAL_RESERVE_BYTES_DEFAULT,
  Journal,
  JournalStatus,
} from '../firmware/src/app/journal/journal.js';
import type { JournalOptions } from '../firmware/src/app/journal/journal.js';
import { FRAME_HEADER_BYTES, frameCheck } from '../firmware/src/app/journal/journal_frame.js';
import type {
  CardKey,
  ClearingRecord,
  JournalEntry,
  RecoveryContext,
} from '../firmware/src/app/journal/journal_records.js';
import { PanVault } from '../firmware/src/app/journal/pan_vault.js';
import { DATA_KEY_FILE_NAME } from '../firmware/src/app/journal/pan_vault_file.js';
import { SHUAKA_BIN } from './bench_util.js';

/** Record counts measured. */
export const JOURNAL_BENCH_SIZES = [10_000, 100_000, 1_000_000] as const;
/** Taps whose append + fsync is timed one by one. */
const SYNCED_TAPS = 200;
/** Distinct cards riding (the validator's per-card map grows with them, not with records). */
const CARDS = 20_000;
const WALL_EPOCH_MS = 1_714_550_400_000;
/** The bench's terminal data key (the export opens the PANs with it, as on a validator). */
const BENCH_DATA_KEY = new Uint8Array(32).fill(0x42);
let ivCounter = 0;
export const BENCH_VAULT = PanVault.fromKey(BENCH_DATA_KEY, (n) => {
  // Distinct IVs without a CSPRNG call per seal: a counter is a valid GCM IV under one key.
  const iv = new Uint8Array(n);
  new DataView(iv.buffer).setUint32(0, (ivCounter += 1));
  return iv;
});
/** Card keys by card number: sealed once per card, as the journal sees repeat riders. */
const CARD_KEYS = new Map<number, CardKey>();
const SELF = fileURLToPath(import.meta.url);
/** Issue 11's bound of `journal verify` and `journal export` at any journal size. */
const VERIFY_RSS_TARGET_MB = 64;
/** What is measured at each size, in this order (salvage last: it damages the journal). */
const JOURNAL_BENCH_MODES = ['startup', 'verify', 'export', 'salvage'] as const;
/** The command line measured of each mode but start-up (a child of this file). */
type CliMode = Exclude<(typeof JOURNAL_BENCH_MODES)[number], 'startup'>;

/** What a child measured. */
interface ChildFigure {
  readonly ms: number;
  /** CPU time (user + system): the figure that a loaded machine does not inflate. */
  readonly cpuMs: number;
  readonly maxRssMb: number;
  readonly detail: string;
}

/** Prints the journal tables. */
export async function runJournalBench(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'shuaka-journal-bench-'));
  try {
    const load = loadavg()[0] ?? 0;
    console.log(
      `\njournal (child processes: wall time, CPU time, peak RSS; load ${load.toFixed(1)}; `
        + `Node.js ${process.versions.node}, whose own binary is part of every RSS)`,
    );
    const bare = child(['bare']);
    console.log(`  bare node child: ${bare.maxRssMb.toFixed(0)} MB RSS`);
    for (const records of JOURNAL_BENCH_SIZES) {
      const dir = join(root, `j${records}`);
      const built = await buildJournal(dir, records);
      console.log(
        `  ${records} records, ${(built.bytes / 2 ** 20).toFixed(0)} MiB in ` +
          `${built.segments} segments (built in ${(built.ms / 1000).toFixed(1)} s)`,
      );
      for (const mode of JOURNAL_BENCH_MODES) {
        if (mode === 'salvage') damageMidJournal(dir);
        const figure = mode === 'startup'
          ? child([mode, dir])
          : cliChild(mode, dir, join(root, 'export.jsonl'));
        console.log(figureLine(mode, figure));
      }
      rmSync(dir, { recursive: true, force: true });
    }
    await printStartupAtCapacity(join(root, 'full'));
    console.log(
      '  target (issue 11): start-up <= 1 s and <= 96 MB RSS at capacity; verify, export and '
        + `salvage (export --salvage) <= ${VERIFY_RSS_TARGET_MB} MB RSS at any size (the CLI's `
        + 'own process, --stats)',
    );
    const perTap = await appendSyncPerRecord(join(root, 'synced'));
    console.log(
      `  append + fsync per record (FileStorage, ${SYNCED_TAPS} taps): ` +
        `median ${perTap.medianUs.toFixed(0)} µs, p95 ${perTap.p95Us.toFixed(0)} µs`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Start-up of a journal at the bus validator's configured capacity (full: it refuses the next
 * record), which issue 11's start-up target is about; the sizes above go past it.
 */
async function printStartupAtCapacity(dir: string): Promise<void> {
  // Imported here, not at the top: the measuring children load the journal modules only.
  const { BUS_VALIDATOR_JOURNAL_BYTES_MAX } =
    await import('../firmware/src/boards/bus_validator_parts.js');
  const built = await buildFullJournal(dir, BUS_VALIDATOR_JOURNAL_BYTES_MAX);
  const figure = child(['startup', dir]);
  console.log(
    `  at the bus validator's capacity (${BUS_VALIDATOR_JOURNAL_BYTES_MAX / 2 ** 20} MiB): `
      + `${built.records} records, ${(built.bytes / 2 ** 20).toFixed(0)} MiB in `
      + `${built.segments} segments (built in ${(built.ms / 1000).toFixed(1)} s)`,
  );
  console.log(figureLine('startup', figure));
  rmSync(dir, { recursive: true, force: true });
}

function figureLine(mode: string, figure: ChildFigure): string {
  return `    ${mode.padEnd(8)} ${figure.ms.toFixed(0).padStart(7)} ms wall `
    + `${figure.cpuMs.toFixed(0).padStart(7)} ms CPU `
    + `${figure.maxRssMb.toFixed(0).padStart(5)} MB RSS  ${figure.detail}`;
}

function child(args: readonly string[]): ChildFigure {
  const result = spawnSync(process.execPath, [SELF, 'child', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  if (result.status !== 0 || !line.startsWith('{')) {
    throw new Error(`journal bench child ${args.join(' ')}: ${result.stderr}`);
  }
  return JSON.parse(line) as ChildFigure;
}

/**
 * `shuaka journal verify|export [--salvage] --stats` as an operator runs it (bin/shuaka.js
 * starts the command in a bounded-heap node process, whose figures the --stats line gives).
 * A salvage exits 3: the journal is corrupt.
 */
function cliChild(mode: CliMode, dir: string, outPath: string): ChildFigure {
  const out = ['--journal', dir, '--out', outPath, '--stats'];
  const args = mode === 'verify'
    ? ['journal', 'verify', '--journal', dir, '--stats']
    : ['journal', 'export', ...(mode === 'salvage' ? ['--salvage'] : []), ...out];
  const result = spawnSync(process.execPath, [SHUAKA_BIN, ...args], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  const stats = /stats: (\d+) ms wall, (\d+) ms CPU, peak RSS ([0-9.]+) MiB/.exec(result.stderr);
  if (result.status !== (mode === 'salvage' ? 3 : 0) || stats === null) {
    throw new Error(`journal bench ${mode}: exit ${result.status}: ${result.stderr.slice(-500)}`);
  }
  const lead = mode === 'salvage' ? 'salvaged' : 'exported';
  const detail = mode === 'verify'
    ? (result.stdout.split('\n')[1] ?? '')
    : (result.stderr.split('\n').find((line) => line.startsWith(lead)) ?? '');
  return {
    ms: Number(stats[1]),
    cpuMs: Number(stats[2]),
    maxRssMb: Number(stats[3]),
    detail: detail.trim().slice(0, 70),
  };
}

/**
 * Flips one bit in the payload of the record in the middle of the journal's middle segment
 * (its record CRC fails: the salvage skips that record and reads on).
 */
function damageMidJournal(dir: string): void {
  const firstSeq = (name: string): number => Number(/-(\d{10})\./.exec(name)?.[1] ?? 1);
  const segments = readdirSync(dir).filter((name) => /^journal(-\d{10})?\.bin$/.test(name))
    .sort((a, b) => firstSeq(a) - firstSeq(b));
  const path = join(dir, segments[Math.floor(segments.length / 2)] ?? JOURNAL_FILE_NAME);
  const image = readFileSync(path);
  const offsets: number[] = [];
  for (let at = 0; at < image.length;) {
    const checked = frameCheck(image, at);
    if (!checked.ok) throw new Error(`journal bench: ${path} at ${at}: ${checked.defect}`);
    offsets.push(at);
    at += checked.frame.frameBytes;
  }
  const at = (offsets[Math.floor(offsets.length / 2)] ?? 0) + FRAME_HEADER_BYTES + 20;
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Uint8Array.of((image[at] ?? 0) ^ 0x10), 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

/**
 * A FileStorage seen through a write buffer, without fsync or free-space checks: builds big
 * journals fast (the bytes are the same; appends reach the file in 1 MiB chunks).
 */
function buffered(storage: FileStorage): StoragePort & { flush(): Promise<void> } {
  const pending = new Map<string, Uint8Array[]>();
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    for (const [name, chunks] of pending) {
      const written = await storage.append(name, Buffer.concat(chunks));
      if (!written.ok) throw new Error(written.detail);
    }
    pending.clear();
    pendingBytes = 0;
  };
  const flushed = async <T>(call: () => Promise<T>): Promise<T> => {
    await flush();
    return call();
  };
  return {
    flush,
    read: (name) => flushed(() => storage.read(name)),
    append: async (name, bytes): Promise<HalResult<void>> => {
      pending.set(name, [...(pending.get(name) ?? []), bytes.slice()]);
      pendingBytes += bytes.length;
      if (pendingBytes >= 1 << 20) await flush();
      return halOk(undefined);
    },
    replace: (name, bytes) => flushed(() => storage.replace(name, bytes)),
    sync: (): Promise<HalResult<void>> => Promise.resolve(halOk(undefined)),
    truncate: (name, length) => flushed(() => storage.truncate(name, length)),
    list: () => flushed(() => storage.list()),
    size: (name) => flushed(() => storage.size(name)),
    remove: (name) => flushed(() => storage.remove(name)),
    capacity: () => Promise.resolve(halErr(HalStatus.NOT_SUPPORTED, 'bench build')),
  };
}

function options(sizeBytesMax: number): JournalOptions {
  let wallMs = WALL_EPOCH_MS;
  const clock = {
    nowMs: () => wallMs - WALL_EPOCH_MS,
    wallMs: () => (wallMs += 1500),
    sleepMs: () => Promise.resolve(),
  };
  return {
    fileName: JOURNAL_FILE_NAME,
    clock,
    reserveBytes: JOURNAL_RESERVE_BYTES_DEFAULT,
    sizeBytesMax,
  };
}

/** A journal the bench built. */
interface BuiltJournal {
  readonly ms: number;
  readonly records: number;
  readonly bytes: number;
  readonly segments: number;
}

/** Writes `records` journal records (pending/final pairs) into `dir`, buffered (no sync each). */
export function buildJournal(dir: string, records: number): Promise<BuiltJournal> {
  return build(dir, 2 ** 40, records);
}

/**
 * Writes records into `dir` until a journal of `sizeBytesMax` refuses the next one as full:
 * a validator's journal at its configured capacity (nothing acknowledged).
 */
export function buildFullJournal(dir: string, sizeBytesMax: number): Promise<BuiltJournal> {
  return build(dir, sizeBytesMax, Number.POSITIVE_INFINITY);
}

async function build(dir: string, sizeBytesMax: number, records: number): Promise<BuiltJournal> {
  const started = performance.now();
  const storage = await FileStorage.open(dir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const port = buffered(storage.value);
  const opened = await Journal.open(port, options(sizeBytesMax));
  if (!opened.ok) throw new Error(opened.detail);
  const journal = opened.value.journal;
  // Bounded: `records`, or the capacity (every append takes bytes of it).
  for (let seq = 1; seq <= records; seq += 1) {
    const appended = await journal.append(entryFor(seq));
    if (!appended.ok && appended.error === JournalStatus.FULL && records === Infinity) break;
    if (!appended.ok) throw new Error(`build ${seq}: ${appended.detail}`);
  }
  await port.flush();
  await storage.value.close();
  writeFileSync(join(dir, DATA_KEY_FILE_NAME), BENCH_DATA_KEY, { mode: 0o600 });
  const summary = journal.summary();
  return {
    ms: performance.now() - started,
    records: summary.lastSeq,
    bytes: summary.sizeBytes,
    segments: summary.segmentCount,
  };
}

/** Odd seqs are pendings, even ones their finals; one tap in 500 is left open (uncertain). */
function entryFor(seq: number): JournalEntry {
  const tapIndex = Math.floor((seq - 1) / 2);
  const key = cardOf(tapIndex % CARDS);
  if (seq % 2 === 1) {
    return {
      kind: 'pending',
      recovery: recoveryOf(key, tapIndex),
      fareRule: 'flat',
      amountMinor: 200,
    };
  }
  if (tapIndex % 500 === 7) {
    return { kind: 'declined', pendingSeq: null, card: key, reason: 'deny list' };
  }
  return { kind: 'final', pendingSeq: seq - 1, clearing: clearingOf(key, tapIndex) };
}

function cardOf(n: number): CardKey {
  const known = CARD_KEYS.get(n);
  if (known !== undefined) return known;
  const uidHex = (0x10000000 + n).toString(16).toUpperCase();
  const key = BENCH_VAULT.cardKey(`6231${String(n).padStart(15, '0')}`, 1, uidHex);
  if (key === null) throw new Error('bench card without a PAN');
  CARD_KEYS.set(n, key);
  return key;
}

function recoveryOf(card: CardKey, atc: number): RecoveryContext {
  return {
    card,
    aidHex: 'A000000333010101',
    atc: atc & 0xffff,
    amountAuthorisedMinor: 200,
    currencyCode: 156,
    transactionDate: '240501',
    transactionTime: '080000',
    unpredictableNumberHex: '1A2B3C4D',
    aipHex: '7C00',
    aflHex: '0801010010010200',
    recordsReadCount: 1,
    cryptogramHex: '0123456789ABCDEF',
    iadHex: '07010103900000010A01000000000011223344',
    ctqHex: '0000',
    sdadHex: null,
    mode: 'ec',
    track2ExpiryYymm: '2912',
    tornRecordHex: `9F3602${(atc & 0xffff).toString(16).toUpperCase().padStart(4, '0')}`,
    staticDataSealedHex: '',
  };
}

function clearingOf(card: CardKey, atc: number): ClearingRecord {
  return {
    card,
    aidHex: 'A000000333010101',
    atc: atc & 0xffff,
    amountMinor: 200,
    currencyCode: 156,
    fareRule: 'flat',
    cryptogramType: 'TC',
    iccDataHex: '9F26080123456789ABCDEF9F02060000000002005F2A020156',
    transactionDate: '240501',
    transactionTime: '080000',
    terminalId: 'T0001',
    lineId: 'L42',
    paramsVersion: 3,
  };
}

/** Median and p95 of one record's append + fsync on the real file system. */
async function appendSyncPerRecord(dir: string): Promise<{ medianUs: number; p95Us: number }> {
  const storage = await FileStorage.open(dir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  // Imported here, not at the top: the measuring children load the journal modules only.
  const { BUS_VALIDATOR_JOURNAL_BYTES_MAX } =
    await import('../firmware/src/boards/bus_validator_parts.js');
  const opened = await Journal.open(storage.value, options(BUS_VALIDATOR_JOURNAL_BYTES_MAX));
  if (!opened.ok) throw new Error(opened.detail);
  const times: number[] = [];
  for (let seq = 1; seq <= 2 * SYNCED_TAPS; seq += 1) {
    const started = performance.now();
    const appended = await opened.value.journal.append(entryFor(seq));
    times.push((performance.now() - started) * 1000);
    if (!appended.ok) throw new Error(appended.detail);
  }
  await storage.value.close();
  times.sort((a, b) => a - b);
  return {
    medianUs: times[Math.floor(times.length / 2)] ?? 0,
    p95Us: times[Math.floor(times.length * 0.95)] ?? 0,
  };
}

/** Child side: one measured action, then one JSON line. */
async function childMain(mode: string, dir: string): Promise<void> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let detail = '';
  if (mode === 'startup') {
    const storage = await FileStorage.open(dir, { quotaBytes: null });
    if (!storage.ok) throw new Error(storage.detail);
    const opened = await Journal.open(storage.value, options(2 ** 40));
    if (!opened.ok) throw new Error(opened.detail);
    const summary = opened.value.journal.summary();
    detail = `last seq ${summary.lastSeq}, ${summary.uncertainCount} uncertain`;
    await storage.value.close();
  }
  const ms = mode === 'bare' ? 0 : performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuMs = mode === 'bare' ? 0 : (cpu.user + cpu.system) / 1000;
  // The child's own peak: getrusage's would be at least the parent's, which built the journal.
  const maxRssMb = peakRssBytes() / 2 ** 20;
  process.stdout.write(`${JSON.stringify({ ms, cpuMs, maxRssMb, detail })}\n`);
}

if (process.argv[1] === SELF && process.argv[2] === 'child') {
  const [, , , mode = '', dir = ''] = process.argv;
  childMain(mode, dir).catch((error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}

/** The bench's journal entry for `seq` (the upload bench's taps use the same records). */
export const journalBenchEntry = entryFor;
