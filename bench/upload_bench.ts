// Upload bench: a validator with a 10^5-clearing-record backlog drains it over HTTPS with
// mutual TLS on loopback, while taps keep coming; tap latency idle vs during the upload.
//
// The depot is a stand-in in its own process (upload_sink_child.ts: mutual TLS, parses every
// batch, answers the ack), so the figures are the validator's side. A "tap" here is the
// terminal's own durable work, timed from the card's arrival (a timer every 25 ms) to its
// final record synced: a pending and a final appended and fsynced on the tap journal, as the
// validator does. The card and air time (hundreds of ms, bench e2e) are not in it, so the
// ratio is of the part the uploader could delay.

import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { fleetTlsCreate } from '../host-sim/src/pki/fleet_tls.js';
import { FileStorage } from '../hal/src/storage/file_storage.js';
import {
  JOURNAL_FILE_NAME, JOURNAL_RESERVE_BYTES_DEFAULT, Journal,
} from '../firmware/src/app/journal/journal.js';
import type { ClockPort } from '../hal/src/ports/clock_port.js';
import { Uploader, UPLOADER_CONFIG_DEFAULT } from '../firmware/src/app/upload/uploader.js';
import { DepotHttps, depotIdentityRead } from '../firmware/src/boards/depot_https.js';
import { uploadReadPassInWorker } from '../firmware/src/boards/upload_read_worker.js';
import { DATA_KEY_FILE_NAME } from '../firmware/src/app/journal/pan_vault_file.js';
import { BENCH_VAULT, buildJournal, journalBenchEntry } from './journal_bench.js';

/** 2 × 10^5 journal records: 10^5 taps, each a pending and a clearing (final) record. */
const BACKLOG_RECORDS = 200_000;
const TAP_INTERVAL_MS = 25;
const TAPS_IDLE = 200;

const CLOCK: ClockPort = {
  nowMs: () => performance.now(),
  wallMs: () => Date.now(),
  sleepMs: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export async function runUploadBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shuaka-upload-bench-'));
  const child = { kill: (): void => undefined };
  try {
    const tls = await fleetTlsCreate(join(dir, 'tls'), ['BENCH0001']);
    const sink = fork(new URL('./upload_sink_child.js', import.meta.url),
      [tls.serverKeyPath, tls.serverCertPath, tls.caCertPath]);
    child.kill = () => sink.kill();
    const port = await new Promise<number>((resolve) => sink.once('message',
      (m: { port: number }) => resolve(m.port)));
    const built = await buildJournal(join(dir, 'backlog'), BACKLOG_RECORDS);
    console.log(`upload: backlog of ${BACKLOG_RECORDS} journal records `
      + `(${BACKLOG_RECORDS / 2} clearing), ${(built.bytes / 2 ** 20).toFixed(1)} MiB in `
      + `${built.segments} segments`);
    const taps = await TapJournal.open(join(dir, 'taps'));
    const idle = await taps.ride(TAPS_IDLE, () => false);
    const upload = await openUpload(join(dir, 'backlog'), port, tls.terminalDirs, taps);
    const started = performance.now();
    let done = false;
    const draining = upload.drain().finally(() => {
      done = true;
    });
    const during = await taps.ride(Number.MAX_SAFE_INTEGER, () => done);
    const drained = await draining;
    const seconds = (performance.now() - started) / 1000;
    console.log(`upload: ${drained.records} clearing records in ${drained.batches} batches, `
      + `${seconds.toFixed(1)} s (${(drained.records / seconds).toFixed(0)} records/s), `
      + `journal acked through ${drained.ackThroughSeq}; budget 30 s`);
    printLatency('idle', idle);
    printLatency('uploading', during);
    const ratio = mean(during) / mean(idle);
    console.log(`upload: tap latency during upload / idle (mean): ${ratio.toFixed(3)} `
      + `(budget 1.05)`);
    upload.close();
    await taps.close();
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

async function openUpload(
  dir: string,
  port: number,
  identities: ReadonlyMap<string, string>,
  taps: TapJournal,
) {
  const storage = await FileStorage.open(dir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const opened = await Journal.open(storage.value, { fileName: JOURNAL_FILE_NAME, clock: CLOCK,
    reserveBytes: JOURNAL_RESERVE_BYTES_DEFAULT, sizeBytesMax: 2 ** 40 });
  if (!opened.ok) throw new Error(opened.detail);
  const journal = opened.value.journal;
  const identity = await depotIdentityRead(identities.get('BENCH0001') ?? '');
  if (!identity.ok) throw new Error(identity.detail);
  const depot = new DepotHttps({ url: new URL(`https://localhost:${port}/`),
    identity: identity.value, timeoutMs: 30_000 });
  const uploader = new Uploader({
    depot, storage: storage.value, journalFileName: JOURNAL_FILE_NAME, journal,
    panVault: BENCH_VAULT, clock: CLOCK,
    random01: () => 0.5, log: { log: () => undefined }, tapInProgress: () => taps.busy,
    params: null,
    readPass: uploadReadPassInWorker(dir, JOURNAL_FILE_NAME, join(dir, DATA_KEY_FILE_NAME)),
  }, { ...UPLOADER_CONFIG_DEFAULT, terminalId: 'BENCH0001' });
  return {
    drain: async () => {
      const result = await uploader.contact();
      if (!result.ok) throw new Error(`upload failed: ${result.error} ${result.detail}`);
      await uploader.betweenTaps();
      const s = uploader.state();
      return { records: s.recordsSent, batches: s.batchesSent,
        ackThroughSeq: journal.summary().ackThroughSeq };
    },
    close: () => {
      depot.close();
      void storage.value.close();
    },
  };
}

/** The taps' own journal: each tap appends a pending and its final, each synced. */
class TapJournal {
  busy = false;
  private tap = 0;

  private constructor(
    private readonly journal: Journal,
    private readonly storage: FileStorage,
  ) {}

  static async open(dir: string): Promise<TapJournal> {
    const storage = await FileStorage.open(dir, { quotaBytes: null });
    if (!storage.ok) throw new Error(storage.detail);
    const opened = await Journal.open(storage.value, { fileName: JOURNAL_FILE_NAME,
      clock: CLOCK, reserveBytes: JOURNAL_RESERVE_BYTES_DEFAULT, sizeBytesMax: 2 ** 30 });
    if (!opened.ok) throw new Error(opened.detail);
    return new TapJournal(opened.value.journal, storage.value);
  }

  /** Taps every TAP_INTERVAL_MS until `count` or `stop()`; latencies in ms. */
  async ride(count: number, stop: () => boolean): Promise<number[]> {
    const latencies: number[] = [];
    let due = performance.now();
    for (let i = 0; i < count && !stop(); i += 1) {
      due += TAP_INTERVAL_MS;
      const waitMs = due - performance.now();
      if (waitMs > 0) await CLOCK.sleepMs(waitMs);
      this.busy = true;
      for (const offset of [1, 2]) {
        const seq = this.journal.summary().lastSeq + 1;
        const entry = journalBenchEntry(this.tap * 2 + offset);
        const appended = await this.journal.append(
          entry.kind === 'final' ? { ...entry, pendingSeq: seq - 1 } : entry);
        if (!appended.ok) throw new Error(appended.detail);
      }
      this.tap += 1;
      this.busy = false;
      latencies.push(performance.now() - due);
    }
    return latencies;
  }

  async close(): Promise<void> {
    await this.storage.close();
  }
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
}

function printLatency(label: string, values: readonly number[]): void {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): string =>
    (sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0).toFixed(2);
  console.log(`upload: tap latency ${label.padEnd(9)} mean ${mean(values).toFixed(2)} ms, `
    + `p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms (${values.length} taps)`);
}
