// The board's uploader (the pass in a worker thread, HTTPS with the terminal's certificate)
// against a real `shuaka depot serve` on SQLite: the depot holds exactly the journal's export,
// the journal is acknowledged, and a replayed pass from the start counts duplicates only;
// T-Union purchase and deny-list block lines arrive in their own tables and in the report.
// Truth: `shuaka journal export` of the files (a process of its own) and the depot's database.

import { spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depotServeStart, depotServeStop } from '../../test_support/depot_serve_process.js';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { ClockSim } from '../../host-sim/src/clock_sim.js';
import { JOURNAL_FILE_NAME, Journal } from '../src/app/journal/journal.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { DATA_KEY_FILE_NAME } from '../src/app/journal/pan_vault_file.js';
import { Uploader, UPLOADER_CONFIG_DEFAULT } from '../src/app/upload/uploader.js';
import { DepotHttps, depotIdentityRead } from '../src/boards/depot_https.js';
import { UploadPassWorker, UploadTapGate } from '../src/boards/upload_pass_worker.js';
import {
  card, clearing, FIXTURE_VAULT, journalOptions, recovery, WALL_EPOCH_MS, writeJournalDir,
} from './journal_fixtures.js';
import { tunionBlockedEntry, tunionEntries } from './journal_tunion_fixtures.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
let dir = '';
let serve: ChildProcess | null = null;
let port = 0;

function shuaka(...args: string[]): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-upload-depot-'));
  expect(shuaka('depot', 'init', '--dir', join(dir, 'depot')).code).toBe(0);
  const ids = join(dir, 'ids');
  const added = shuaka('depot', 'terminal', 'add', '--db', join(dir, 'd.db'), '--id',
    'T0001', '--dir', join(dir, 'depot'), '--out', ids);
  expect(added.code, added.err).toBe(0);
  copyFileSync(join(dir, 'depot', 'ca.pem'), join(ids, 'ca.pem'));
  ({ child: serve, port } = await depotServeStart(BIN, join(dir, 'depot'), join(dir, 'd.db'), ROOT));
}, 300_000);

afterAll(async () => {
  await depotServeStop(serve);
  rmSync(dir, { recursive: true, force: true });
});

/** Taps of cards cardBase+1..cardBase+taps; `seqBefore`: the journal's last seq before them. */
function entries(taps: number, cardBase = 0, seqBefore = 0): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (let n = 1; n <= taps; n += 1) {
    const pendingSeq = seqBefore + out.length + 1;
    const key = card(cardBase + n);
    out.push({ kind: 'pending', recovery: recovery(key, n), fareRule: 'flat',
      amountMinor: 200 });
    out.push({ kind: 'final', pendingSeq, clearing: clearing(key, n) });
  }
  return out;
}

function depotTaps(): number {
  const db = new Database(join(dir, 'd.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT count(*) AS n FROM taps WHERE terminal_id = ?')
      .get('T0001') as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

/** The board's uploader (pass in a worker, HTTPS) on the journal in `journalDir`. */
async function boardUploader(journalDir: string, logs: Record<string, unknown>[] = []): Promise<{
  uploader: Uploader; journal: Journal; pass: () => UploadPassWorker; close: () => Promise<void>;
}> {
  const storage = await FileStorage.open(journalDir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const clock = new ClockSim(WALL_EPOCH_MS);
  const opened = await Journal.open(storage.value,
    { ...journalOptions(clock), fileName: JOURNAL_FILE_NAME });
  if (!opened.ok) throw new Error(opened.detail);
  const identity = await depotIdentityRead(join(dir, 'ids'));
  if (!identity.ok) throw new Error(identity.detail);
  const url = new URL(`https://localhost:${port}/`);
  const depot = new DepotHttps({ url, identity: identity.value, timeoutMs: 10_000 });
  const pass = (): UploadPassWorker => new UploadPassWorker({
    dir: journalDir, fileName: JOURNAL_FILE_NAME,
    dataKeyPath: join(journalDir, DATA_KEY_FILE_NAME), terminalId: 'T0001', depotUrl: url,
    identity: identity.value, timeoutMs: 10_000, niceness: 10, gate: new UploadTapGate(),
    tapInProgress: () => false, tapPollMs: 5,
  });
  const uploader = new Uploader({
    depot, storage: storage.value, journalFileName: JOURNAL_FILE_NAME,
    journal: opened.value.journal, panVault: FIXTURE_VAULT, clock, random01: () => 0.5,
    log: { log: (e) => logs.push(e) }, tapInProgress: () => false, params: null,
    passRunner: pass().run,
  }, { ...UPLOADER_CONFIG_DEFAULT, terminalId: 'T0001',
    batch: { recordsMax: 40, bytesMax: 1 << 20 } });
  const close = async (): Promise<void> => {
    depot.close();
    await storage.value.close();
  };
  return { uploader, journal: opened.value.journal, pass, close };
}

describe('the board uploader against a real depot', () => {
  it('workerPass_depotHoldsTheExport_replayIsDuplicatesOnly_journalAcked', async () => {
    const journalDir = await writeJournalDir(dir, 'journal', entries(300));
    const exported = shuaka('journal', 'export', '--journal', journalDir);
    expect(exported.code, exported.err).toBe(0);
    const truth = exported.out.split('\n').filter((line) => line !== '');
    expect(truth.length).toBe(300);
    const board = await boardUploader(journalDir);
    try {
      // A pass whose acks never reached the journal (a power cut before betweenTaps).
      const first = await board.pass().run({ ackThroughSeq: 0, openSeqs: new Set(),
        vault: FIXTURE_VAULT }, { recordsMax: 40, bytesMax: 1 << 20 }, () => undefined);
      expect(first).toEqual({ kind: 'drained', throughSeq: 600 });
      expect(board.journal.summary().ackThroughSeq).toBe(0);
      // The next contact sends the same records again: duplicates only, nothing counts twice.
      expect(await board.uploader.contact()).toEqual({ ok: true });
      expect(board.uploader.state()).toMatchObject({ recordsStored: 0,
        duplicates: truth.length });
      await board.uploader.betweenTaps();
      expect(board.journal.summary().ackThroughSeq).toBe(600);
      expect(depotTaps()).toBe(truth.length);
    } finally {
      await board.close();
    }
  }, 300_000);

  it('replacedJournal_isRefused409_keptUnacked_thenInitAfterTheDepotsSeq_uploads', async () => {
    // The depot holds T0001 through seq 600 (the test above). The storage card is replaced:
    // a new journal numbers from 1 again, other riders' cards at the same seqs.
    const held = depotTaps();
    const logs: Record<string, unknown>[] = [];
    const anew = await boardUploader(await writeJournalDir(dir, 'replaced',
      entries(5, 1000)), logs);
    try {
      expect(await anew.uploader.contact()).toMatchObject({ ok: false, error: 'conflict' });
      await anew.uploader.betweenTaps();
      expect(anew.journal.summary().ackThroughSeq).toBe(0);
      const failed = logs.find((e) => e['event'] === 'upload-failed');
      expect(failed).toMatchObject({ error: 'conflict', httpStatus: 409 });
      expect(String(failed?.['detail'])).toContain('--after-seq 600');
    } finally {
      await anew.close();
    }
    expect(depotTaps()).toBe(held);
    expect(shuaka('journal', 'export', '--journal', join(dir, 'replaced')).out
      .split('\n').filter((line) => line !== '')).toHaveLength(5);
    // The technician starts the next journal after what the depot holds, as it said.
    const init = shuaka('journal', 'init', '--after-seq', '600', '--journal',
      join(dir, 'resumed'));
    expect(init.code, init.err).toBe(0);
    const resumed = await boardUploader(await writeJournalDir(dir, 'resumed',
      entries(5, 1000, 600)));
    try {
      expect(await resumed.uploader.contact()).toEqual({ ok: true });
      await resumed.uploader.betweenTaps();
      expect(resumed.journal.summary().ackThroughSeq).toBe(610);
      expect(resumed.uploader.state()).toMatchObject({ recordsStored: 5, duplicates: 0 });
    } finally {
      await resumed.close();
    }
    expect(depotTaps()).toBe(held + 5);
  }, 300_000);

  it('tunionPurchaseAndBlockLines_reachTheDepot_asTheExportHasThem', async () => {
    // After what the depot holds for T0001 (the tests above), a journal of T-Union records:
    // a grey and its final (MAC2 checked), and three deny-listed cards met: blocked (pending,
    // then its final), not sent (a final alone), and a power cut after the command (pending).
    const held = depotSeqMax();
    expect(shuaka('journal', 'init', '--after-seq', String(held), '--journal',
      join(dir, 'tunion')).code).toBe(0);
    const [grey, final] = tunionEntries(4, 31, held + 1);
    const written: JournalEntry[] = [grey, { ...final, terminalId: 'T0001' },
      tunionBlockedEntry(5, 'pending', ''), tunionBlockedEntry(5, 'blocked', '9000', held + 3),
      tunionBlockedEntry(6, 'not-sent', ''), tunionBlockedEntry(7, 'pending', ''),
    ].map((e) => (e.kind === 'tunion_grey' ? e : { ...e, terminalId: 'T0001' }));
    const board = await boardUploader(await writeJournalDir(dir, 'tunion', written));
    try {
      expect(await board.uploader.contact()).toEqual({ ok: true });
      await board.uploader.betweenTaps();
      expect(board.journal.summary().ackThroughSeq).toBe(held + 6);
    } finally {
      await board.close();
    }
    const db = new Database(join(dir, 'd.db'), { readonly: true });
    try {
      const taps = db.prepare('SELECT type, record_json FROM tunion_taps WHERE seq > ? '
        + 'ORDER BY seq').all(held) as { type: string; record_json: string }[];
      expect(taps.map((t) => t.type)).toEqual(['tunion_grey', 'tunion_clearing']);
      expect(JSON.parse(taps[1]?.record_json ?? '{}')).toMatchObject({ mac2Verified: true });
      const blocks = db.prepare('SELECT seq, card_serial, block_outcome FROM tunion_blocks '
        + 'ORDER BY seq').all() as Record<string, unknown>[];
      expect(blocks.map((b) => b['block_outcome']))
        .toEqual(['pending', 'blocked', 'not-sent', 'pending']);
    } finally {
      db.close();
    }
    const report = shuaka('depot', 'report', '--db', join(dir, 'd.db'), '--section',
      'tunion-blocked', '--format', 'csv');
    expect(report.code, report.err).toBe(0);
    // One row per card met, with the block's final outcome; the pending line no final names
    // reads as not confirmed.
    const rows = report.out.trim().split(/\r?\n/).slice(1).map((l) => l.split(','));
    expect(rows.map((r) => [r[4], r[7], r[8], Number(r[11])])).toEqual([
      ['03105170070000000005', 'blocked', '9000', held + 4],
      ['03105170070000000006', 'not-sent', '-', held + 5],
      ['03105170070000000007', 'not-confirmed', '-', held + 6]]);
  }, 300_000);
});

/** The highest seq the depot holds for T0001 (any table), as `depot terminal list` says. */
function depotSeqMax(): number {
  const db = new Database(join(dir, 'd.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT max(seq) AS n FROM taps WHERE terminal_id = ?')
      .get('T0001') as { n: number | null };
    return row.n ?? 0;
  } finally {
    db.close();
  }
}
