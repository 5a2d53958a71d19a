// The uploader's journal read in a worker thread gives exactly the slices of the in-process
// read (uploadPass on the same files), stops when told, and reports an unreadable directory.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { JOURNAL_FILE_NAME } from '../src/app/journal/journal.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { uploadPass, type UploadSlice } from '../src/app/upload/upload_batches.js';
import { uploadReadPassInWorker } from '../src/boards/upload_read_worker.js';
import { DATA_KEY_FILE_NAME } from '../src/app/journal/pan_vault_file.js';
import {
  card, clearing, FIXTURE_VAULT, recovery, writeJournalDir,
} from './journal_fixtures.js';

/** writeJournalDir puts the fixtures' data key beside the journal. */
const keyPath = (): string => join(journalDir, DATA_KEY_FILE_NAME);

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let dir = '';
let journalDir = '';

beforeAll(async () => {
  // The worker runs the built script: the bin rebuilds dist/ when a source is newer.
  const warm = spawnSync(process.execPath, [join(ROOT, 'bin', 'shuaka.js'), 'journal', '--help'],
    { cwd: ROOT });
  expect(warm.status, warm.stderr.toString()).toBe(0);
  dir = mkdtempSync(join(tmpdir(), 'shuaka-upload-worker-'));
  const entries: JournalEntry[] = [];
  for (let n = 1; n <= 600; n += 1) {
    const pendingSeq = entries.length + 1;
    entries.push({ kind: 'pending', recovery: recovery(card(n), n), fareRule: 'flat',
      amountMinor: 200 });
    entries.push({ kind: 'final', pendingSeq, clearing: clearing(card(n), n) });
  }
  journalDir = await writeJournalDir(dir, 'journal', entries);
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LIMITS = { recordsMax: 70, bytesMax: 1 << 20 };

async function inProcess(ackThroughSeq: number): Promise<UploadSlice[]> {
  const storage = await FileStorage.open(journalDir, { quotaBytes: null, readOnly: true });
  if (!storage.ok) throw new Error(storage.detail);
  const slices: UploadSlice[] = [];
  await uploadPass(storage.value, JOURNAL_FILE_NAME, { ackThroughSeq, openSeqs: new Set(), vault: FIXTURE_VAULT },
    LIMITS, async (slice) => { slices.push(slice); return 'continue'; });
  await storage.value.close();
  return slices;
}

describe('upload read in a worker thread', () => {
  it('slices_equalTheInProcessRead', async () => {
    for (const ack of [0, 333]) {
      const slices: UploadSlice[] = [];
      const end = await uploadReadPassInWorker(journalDir, JOURNAL_FILE_NAME, keyPath())(
        { ackThroughSeq: ack, openSeqs: new Set(), vault: FIXTURE_VAULT }, LIMITS,
        async (slice) => { slices.push(slice); return 'continue'; });
      expect(end).toEqual({ kind: 'drained', throughSeq: 1200 });
      expect(slices).toEqual(await inProcess(ack));
    }
  });

  it('stop_endsThePass_andAMissingDirectory_isReadFailed', async () => {
    let seen = 0;
    const end = await uploadReadPassInWorker(journalDir, JOURNAL_FILE_NAME, keyPath())(
      { ackThroughSeq: 0, openSeqs: new Set(), vault: FIXTURE_VAULT }, LIMITS,
      async () => { seen += 1; return seen === 2 ? 'stop' : 'continue'; });
    expect(end).toEqual({ kind: 'stopped' });
    expect(seen).toBe(2);
    const missing = await uploadReadPassInWorker(join(dir, 'nope'), JOURNAL_FILE_NAME, keyPath())(
      { ackThroughSeq: 0, openSeqs: new Set(), vault: FIXTURE_VAULT }, LIMITS, async () => 'continue');
    expect(missing.kind).toBe('read-failed');
  });
});
