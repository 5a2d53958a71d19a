// Upload bench: a validator with a 10^5-clearing-record backlog drains it over HTTPS with
// mutual TLS on loopback, while taps keep coming; tap latency idle vs during the upload.
//
// The depot is a stand-in in its own process (upload_sink_child.ts: mutual TLS, parses every
// batch, answers the ack), so the figures are the validator's side. A "tap" here is the
// terminal's own durable work, timed from the card's arrival (a timer every 25 ms) to its
// final record synced: a pending and a final appended and fsynced on the same journal the
// upload drains, as the validator does; between taps the tap loop writes the acks the depot
// earned (Uploader.betweenTaps). The card and air time (hundreds of ms, bench e2e) are not in
// it, so the ratio is of the part the uploader could delay. On a board the tap gate closes
// when the validator enters Processing (within UPLOAD_TAP_POLL_MS), and the card exchange
// takes 100-500 ms before the commit; here each tap closes it GATE_LEAD_MS before its commit,
// far less than a card exchange.
//
// Idle and uploading are measured in the same run, interleaved: the upload runs in windows of
// WINDOW_MS and is held (its gate closed, as a tap holds it) in the windows between, so other
// load on a shared machine falls on both alike. Taps due in the first SETTLE_MS of an idle
// window are left out (the batch in flight is still being answered); the drain time is the
// sum of the upload windows, and the wall time is printed beside it.

import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';

import { fleetTlsCreate } from '../host-sim/src/pki/fleet_tls.js';
import { FileStorage } from '../hal/src/storage/file_storage.js';
import {
  JOURNAL_FILE_NAME, JOURNAL_RESERVE_BYTES_DEFAULT, Journal,
} from '../firmware/src/app/journal/journal.js';
import type { ClockPort } from '../hal/src/ports/clock_port.js';
import { Uploader, UPLOADER_CONFIG_DEFAULT } from '../firmware/src/app/upload/uploader.js';
import {
  UPLOAD_TAP_POLL_MS, UPLOAD_WORKER_NICENESS,
} from '../firmware/src/boards/bus_uploader.js';
import { DepotHttps, depotIdentityRead } from '../firmware/src/boards/depot_https.js';
import { UploadPassWorker, UploadTapGate } from '../firmware/src/boards/upload_pass_worker.js';
import { DATA_KEY_FILE_NAME } from '../firmware/src/app/journal/pan_vault_file.js';
import { BENCH_VAULT, buildJournal, journalBenchEntry } from './journal_bench.js';

/** 2 × 10^5 journal records: 10^5 taps, each a pending and a clearing (final) record. */
const BACKLOG_RECORDS = 200_000;
const TAP_INTERVAL_MS = 25;
const WINDOW_MS = 1_000;
const SETTLE_MS = 100;
/** How long before its commit a tap has closed the gate (a board: the card exchange). */
const GATE_LEAD_MS = 2;
/**
 * The depot stand-in's niceness: it stands for another machine, so it yields to the
 * validator's threads; not 19, so that other load on a shared machine cannot starve it past
 * the request timeout.
 */
const SINK_NICENESS = 10;
/**
 * Where the pass runs: 'worker' (the board: read, bodies and TLS in a worker thread) or
 * 'main' (the simulator's in-process pass, on the tap loop's thread), for comparison.
 */
type PassPlace = 'worker' | 'main';

const CLOCK: ClockPort = {
  nowMs: () => performance.now(),
  wallMs: () => Date.now(),
  sleepMs: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export async function runUploadBench(): Promise<void> {
  const place: PassPlace = process.env['SHUAKA_UPLOAD_BENCH_PASS'] === 'main' ? 'main' : 'worker';
  const dir = await mkdtemp(join(tmpdir(), 'shuaka-upload-bench-'));
  const child = { kill: (): void => undefined };
  try {
    const tls = await fleetTlsCreate(join(dir, 'tls'), ['BENCH0001']);
    const sink = fork(new URL('./upload_sink_child.js', import.meta.url),
      [tls.serverKeyPath, tls.serverCertPath, tls.caCertPath]);
    child.kill = () => sink.kill();
    // The depot is another machine: its CPU must not count against the validator's taps.
    if (sink.pid !== undefined) setPriority(sink.pid, SINK_NICENESS);
    const port = await new Promise<number>((resolve) => sink.once('message',
      (m: { port: number }) => resolve(m.port)));
    const built = await buildJournal(join(dir, 'backlog'), BACKLOG_RECORDS);
    console.log(`upload: backlog of ${BACKLOG_RECORDS} journal records `
      + `(${BACKLOG_RECORDS / 2} clearing), ${(built.bytes / 2 ** 20).toFixed(1)} MiB in `
      + `${built.segments} segments; pass in the ${place === 'worker' ? 'worker thread'
        : 'tap loop\'s thread'}`);
    const rig = await openRig(join(dir, 'backlog'), port, tls.terminalDirs, place);
    const run = await rideWindows(rig);
    const drained = rig.uploader.state();
    const s = run.uploadMs / 1000;
    console.log(`upload: ${drained.recordsSent} clearing records in ${drained.batchesSent} `
      + `batches, ${s.toFixed(1)} s uploading (${(run.wallMs / 1000).toFixed(1)} s wall with `
      + `the idle windows), ${(drained.recordsSent / s).toFixed(0)} records/s, journal acked `
      + `through ${rig.journal.summary().ackThroughSeq} of ${rig.journal.summary().lastSeq}; `
      + 'budget 30 s');
    printLatency('idle', run.idle);
    printLatency('uploading', run.during);
    const ratio = (f: (v: readonly number[]) => number): string =>
      (f(run.during) / f(run.idle)).toFixed(3);
    console.log(`upload: tap latency uploading / idle: mean ${ratio(mean)}, `
      + `p50 ${ratio((v) => quantile(v, 0.5))}, p99 ${ratio((v) => quantile(v, 0.99))} `
      + '(budget 1.05)');
    rig.close();
    await rig.storage.close();
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

interface Rig {
  readonly journal: Journal;
  readonly storage: FileStorage;
  readonly uploader: Uploader;
  readonly gate: UploadTapGate;
  close(): void;
}

async function openRig(
  dir: string,
  port: number,
  identities: ReadonlyMap<string, string>,
  place: PassPlace,
): Promise<Rig> {
  const storage = await FileStorage.open(dir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const opened = await Journal.open(storage.value, { fileName: JOURNAL_FILE_NAME, clock: CLOCK,
    reserveBytes: JOURNAL_RESERVE_BYTES_DEFAULT, sizeBytesMax: 2 ** 40 });
  if (!opened.ok) throw new Error(opened.detail);
  const journal = opened.value.journal;
  const identity = await depotIdentityRead(identities.get('BENCH0001') ?? '');
  if (!identity.ok) throw new Error(identity.detail);
  const url = new URL(`https://localhost:${port}/`);
  const depot = new DepotHttps({ url, identity: identity.value, timeoutMs: 30_000 });
  const gate = new UploadTapGate();
  const pass = new UploadPassWorker({
    dir, fileName: JOURNAL_FILE_NAME, dataKeyPath: join(dir, DATA_KEY_FILE_NAME),
    terminalId: 'BENCH0001', depotUrl: url, identity: identity.value, timeoutMs: 30_000,
    niceness: Number(process.env['SHUAKA_UPLOAD_BENCH_NICE'] ?? UPLOAD_WORKER_NICENESS),
    gate, tapInProgress: null, tapPollMs: UPLOAD_TAP_POLL_MS,
  });
  const uploader = new Uploader({
    depot, storage: storage.value, journalFileName: JOURNAL_FILE_NAME, journal,
    panVault: BENCH_VAULT, clock: CLOCK, random01: () => 0.5, log: { log: () => undefined },
    tapInProgress: () => gate.isClosed(), params: null,
    ...(place === 'worker' ? { passRunner: pass.run } : {}),
  }, { ...UPLOADER_CONFIG_DEFAULT, terminalId: 'BENCH0001', tapWaitMs: 1 });
  return {
    journal, storage: storage.value, uploader, gate,
    close: () => {
      pass.stop();
      depot.close();
    },
  };
}

/** Taps throughout; the upload runs in every other window until its contact ends. */
async function rideWindows(rig: Rig): Promise<{
  idle: number[]; during: number[]; uploadMs: number; wallMs: number;
}> {
  const taps = new TapLoop(rig);
  const idle: number[] = [];
  const during: number[] = [];
  let done = false;
  let uploadMs = 0;
  const started = performance.now();
  const contact = rig.uploader.contact().then((result) => {
    done = true;
    if (!result.ok) throw new Error(`upload failed: ${result.error} ${result.detail}`);
  });
  for (let window = 0; !done; window += 1) {
    const uploading = window % 2 === 0;
    if (!uploading) rig.gate.close();
    const from = performance.now();
    const until = from + WINDOW_MS;
    const latencies = await taps.ride(() => done || performance.now() >= until,
      uploading ? 0 : from + SETTLE_MS);
    if (uploading) {
      uploadMs += performance.now() - from;
      during.push(...latencies);
    } else {
      rig.gate.open();
      idle.push(...latencies);
    }
  }
  await contact;
  await rig.uploader.betweenTaps();
  return { idle, during, uploadMs, wallMs: performance.now() - started };
}

/**
 * Taps on the drained journal every TAP_INTERVAL_MS: each closes the upload's gate
 * GATE_LEAD_MS ahead, appends a pending and its final (each synced), opens the gate, then
 * lets the uploader write its ack.
 */
class TapLoop {
  private tap = 0;
  private due = performance.now();

  constructor(private readonly rig: Rig) {}

  /** Taps until `stop()`; the latencies (ms) of the taps due at or after `countFromMs`. */
  async ride(stop: () => boolean, countFromMs: number): Promise<number[]> {
    const latencies: number[] = [];
    const journal = this.rig.journal;
    while (!stop()) {
      this.due += TAP_INTERVAL_MS;
      const leadMs = this.due - GATE_LEAD_MS - performance.now();
      if (leadMs > 0) await CLOCK.sleepMs(leadMs);
      this.rig.gate.close();
      const waitMs = this.due - performance.now();
      if (waitMs > 0) await CLOCK.sleepMs(waitMs);
      for (const offset of [1, 2]) {
        const seq = journal.summary().lastSeq + 1;
        const entry = journalBenchEntry(this.tap * 2 + offset);
        const appended = await journal.append(
          entry.kind === 'final' ? { ...entry, pendingSeq: seq - 1 } : entry);
        if (!appended.ok) throw new Error(appended.detail);
      }
      this.rig.gate.open();
      this.tap += 1;
      if (this.due >= countFromMs) latencies.push(performance.now() - this.due);
      await this.rig.uploader.betweenTaps();
    }
    return latencies;
  }
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
}

function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}

function printLatency(label: string, values: readonly number[]): void {
  const at = (p: number): string => quantile(values, p).toFixed(2);
  console.log(`upload: tap latency ${label.padEnd(9)} mean ${mean(values).toFixed(2)} ms, `
    + `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms (${values.length} taps)`);
}
