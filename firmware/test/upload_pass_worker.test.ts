// The uploader's whole pass in a worker thread, over real mutual TLS on loopback: the depot
// receives exactly the slices of the in-process read (uploadPass on the same files), the main
// thread hears each stored batch, a failed batch ends the pass without a word about what
// follows, no request goes out while the tap gate is closed, and a stop or an unreadable
// directory ends the pass with its own result.

import { spawnSync } from 'node:child_process';
import {
  mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fleetTlsCreate } from '../../host-sim/src/pki/fleet_tls.js';
import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { Journal, JOURNAL_FILE_NAME } from '../src/app/journal/journal.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { uploadPass, type UploadSlice } from '../src/app/upload/upload_batches.js';
import type { UploadBatchStored } from '../src/app/upload/upload_send.js';
import { depotIdentityRead, type DepotIdentity } from '../src/boards/depot_https.js';
import { UploadPassWorker, UploadTapGate } from '../src/boards/upload_pass_worker.js';
import { DATA_KEY_FILE_NAME } from '../src/app/journal/pan_vault_file.js';
import {
  card, clearing, FIXTURE_VAULT, journalOptions, newClock, recovery, writeJournalDir,
} from './journal_fixtures.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LIMITS = { recordsMax: 70, bytesMax: 1 << 20 };

interface Batch {
  firstSeq: number;
  throughSeq: number;
  records: unknown[];
  gateClosed: boolean;
}

/** 400 taps: a pending and a final each (800 records, one segment). */
function tapEntries(first = 1, count = 400, seq = 0): JournalEntry[] {
  const entries: JournalEntry[] = [];
  for (let n = first; n < first + count; n += 1) {
    const pendingSeq = seq + entries.length + 1;
    entries.push({ kind: 'pending', recovery: recovery(card(n), n), fareRule: 'flat',
      amountMinor: 200 });
    entries.push({ kind: 'final', pendingSeq, clearing: clearing(card(n), n) });
  }
  return entries;
}

/** Appends `count` taps after the 800 records of tapEntries() to the journal in `journal`. */
async function appendTaps(journal: string, count: number): Promise<void> {
  const storage = await FileStorage.open(journal, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const options = { ...journalOptions(newClock(), 1 << 22), fileName: JOURNAL_FILE_NAME };
  const opened = await Journal.open(storage.value, options);
  if (!opened.ok) throw new Error(opened.detail);
  for (const entry of tapEntries(401, count, 800)) {
    const appended = await opened.value.journal.append(entry);
    if (!appended.ok) throw new Error(appended.detail);
  }
  await storage.value.close();
}

let dir = '';
let journalDir = '';
let identity: DepotIdentity;
let server: Server | undefined;
let port = 0;
let gate = new UploadTapGate();
const batches: Batch[] = [];
/** The depot stand-in's answer to the n-th batch (0-based) of a test. */
let answer: (n: number) => number = () => 200;

beforeAll(async () => {
  // The worker runs the built script: the bin rebuilds dist/ when a source is newer.
  const warm = spawnSync(process.execPath, [join(ROOT, 'bin', 'shuaka.js'), 'journal', '--help'],
    { cwd: ROOT });
  expect(warm.status, warm.stderr.toString()).toBe(0);
  dir = mkdtempSync(join(tmpdir(), 'shuaka-upload-worker-'));
  journalDir = await writeJournalDir(dir, 'journal', tapEntries());
  const tls = await fleetTlsCreate(join(dir, 'tls'), ['SIM00001']);
  const read = await depotIdentityRead(tls.terminalDirs.get('SIM00001') ?? '');
  if (!read.ok) throw new Error(read.detail);
  identity = read.value;
  const listening = createServer({
    key: await readFile(tls.serverKeyPath), cert: await readFile(tls.serverCertPath),
    ca: await readFile(tls.caCertPath), requestCert: true, rejectUnauthorized: true,
  }, (req, res) => {
    const gateClosed = gate.isClosed();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as Batch;
      const status = answer(batches.length);
      batches.push({ firstSeq: body.firstSeq, throughSeq: body.throughSeq,
        records: body.records, gateClosed });
      if (status !== 200) return void res.writeHead(status).end('{"error":"store-unavailable"}');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        ackThroughSeq: body.throughSeq, stored: body.records.length, duplicates: 0 }));
    });
  });
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  port = (listening.address() as AddressInfo).port;
}, 300_000);

afterAll(async () => {
  const s = server;
  if (s !== undefined) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  rmSync(dir, { recursive: true, force: true });
});

function worker(journal = journalDir): UploadPassWorker {
  gate = new UploadTapGate();
  batches.length = 0;
  return new UploadPassWorker({
    dir: journal, fileName: JOURNAL_FILE_NAME, dataKeyPath: join(journalDir, DATA_KEY_FILE_NAME),
    terminalId: 'SIM00001', depotUrl: new URL(`https://localhost:${port}/`), identity,
    timeoutMs: 10_000, niceness: 19, gate, tapInProgress: null, tapPollMs: 5,
  });
}

async function inProcess(ackThroughSeq: number): Promise<UploadSlice[]> {
  const storage = await FileStorage.open(journalDir, { quotaBytes: null, readOnly: true });
  if (!storage.ok) throw new Error(storage.detail);
  const slices: UploadSlice[] = [];
  await uploadPass(storage.value, JOURNAL_FILE_NAME,
    { ackThroughSeq, openSeqs: new Set(), vault: FIXTURE_VAULT },
    LIMITS, async (slice) => { slices.push(slice); return 'continue'; });
  await storage.value.close();
  return slices;
}

const context = (ackThroughSeq: number) =>
  ({ ackThroughSeq, openSeqs: new Set<number>(), vault: FIXTURE_VAULT });

describe('upload pass in a worker thread (HTTPS, mutual TLS)', () => {
  it('depotGetsTheInProcessSlices_andMainHearsEachStoredBatch', async () => {
    for (const ack of [0, 333]) {
      const stored: UploadBatchStored[] = [];
      const end = await worker().run(context(ack), LIMITS, (b) => stored.push(b));
      expect(end).toEqual({ kind: 'drained', throughSeq: 800 });
      const truth = await inProcess(ack);
      expect(batches.map((b) => ({ firstSeq: b.firstSeq, throughSeq: b.throughSeq,
        records: b.records }))).toEqual(truth.map((s) => ({ firstSeq: s.firstSeq,
        throughSeq: s.throughSeq, records: s.recordLines.map((l) => JSON.parse(l) as unknown) })));
      expect(stored).toEqual(truth.map((s) => ({ firstSeq: s.firstSeq, throughSeq: s.throughSeq,
        records: s.recordLines.length, stored: s.recordLines.length, duplicates: 0 })));
    }
  });

  it('503_endsThePass_onlyTheBatchesBeforeItAreReportedStored', async () => {
    answer = (n) => (n === 2 ? 503 : 200);
    const stored: UploadBatchStored[] = [];
    const end = await worker().run(context(0), LIMITS, (b) => stored.push(b));
    answer = () => 200;
    const truth = await inProcess(0);
    expect(end).toMatchObject({ kind: 'failed', failure: { error: 'unavailable',
      httpStatus: 503, firstSeq: truth[2]?.firstSeq, throughSeq: truth[2]?.throughSeq } });
    expect(batches).toHaveLength(3);
    expect(stored.map((b) => b.throughSeq)).toEqual([truth[0]?.throughSeq, truth[1]?.throughSeq]);
  });

  it('closedGate_noRequestGoesOut_untilItOpens', async () => {
    const pass = worker();
    // At the second batch the depot closes the gate for 300 ms (a tap): a request arriving
    // meanwhile would carry gateClosed.
    answer = (n) => {
      if (n === 1) {
        gate.close();
        setTimeout(() => gate.open(), 300);
      }
      return 200;
    };
    const end = await pass.run(context(0), LIMITS, () => undefined);
    answer = () => 200;
    expect(end.kind).toBe('drained');
    expect(batches.length).toBeGreaterThan(3);
    expect(batches.filter((b) => b.gateClosed)).toEqual([]);
  });

  it('stop_endsThePassStopped_andAMissingDirectory_isReadFailed', async () => {
    const pass = worker();
    answer = (n) => {
      if (n === 1) pass.stop();
      return 200;
    };
    const end = await pass.run(context(0), LIMITS, () => undefined);
    answer = () => 200;
    expect(end).toEqual({ kind: 'stopped' });
    const missing = await worker(join(dir, 'nope')).run(context(0), LIMITS, () => undefined);
    expect(missing.kind).toBe('read-failed');
  });

  // The thread ends with its pass; its cursor does not. Proof: a bit flipped in a record the
  // depot already has stops a pass that reads the segment from its start (a new worker), and
  // not one that resumes where the previous pass of the same worker ended.
  it('cursor_survivesTheThread_theNextPassResumesPastTheAcknowledgedRecords', async () => {
    const cursorDir = await writeJournalDir(dir, 'journal-cursor', tapEntries());
    const same = worker(cursorDir);
    expect(await same.run(context(0), LIMITS, () => undefined))
      .toEqual({ kind: 'drained', throughSeq: 800 });
    await appendTaps(cursorDir, 10);
    // The newest numbered segment: a pass after seq 800 reads it from its checkpoint on.
    const segment = readdirSync(cursorDir).filter((f) => f.endsWith('.bin')).sort().at(-2) ?? '';
    const bytes = readFileSync(join(cursorDir, segment));
    bytes[200] = (bytes[200] ?? 0) ^ 0x10;
    writeFileSync(join(cursorDir, segment), bytes);
    expect(await worker(cursorDir).run(context(800), LIMITS, () => undefined)).toEqual({
      kind: 'read-failed', detail: expect.stringMatching(/^journal damaged: journal-0+704\.bin/) });
    expect(await same.run(context(800), LIMITS, () => undefined))
      .toEqual({ kind: 'drained', throughSeq: 820 });
  });

  it('gate_countsHolders_andOpenWithoutCloseIsAProgrammerError', () => {
    const g = new UploadTapGate();
    g.close();
    g.close();
    g.open();
    expect(g.isClosed()).toBe(true);
    g.open();
    expect(g.isClosed()).toBe(false);
    expect(() => g.open()).toThrow(/without close/);
  });
});
