// Journal on the real file-backed storage: every truncation of the last record is recovered.

import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { Journal, JournalStatus } from '../src/app/journal/journal.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { JOURNAL_FILE, journalOptions, newClock, scriptedEntries } from './journal_fixtures.js';

let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shuaka-journal-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function openOnDisk(): Promise<{ storage: FileStorage; journal: Journal; cutBytes: number }> {
  const storage = await FileStorage.open(dir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const opened = await Journal.open(storage.value, journalOptions(newClock()));
  if (!opened.ok) throw new Error(`${opened.error} ${opened.detail}`);
  const cutBytes = opened.value.recovery.tornTail?.bytes ?? 0;
  return { storage: storage.value, journal: opened.value.journal, cutBytes };
}

async function appendAll(journal: Journal, entries: readonly JournalEntry[]): Promise<void> {
  for (const entry of entries) expect((await journal.append(entry)).ok).toBe(true);
}

describe('journal on FileStorage', () => {
  it('truncatedAtEveryByteOfTheLastRecord_reopensWithThePreviousRecords', async () => {
    const entries = scriptedEntries().slice(0, 4);
    const first = await openOnDisk();
    await appendAll(first.journal, entries.slice(0, 3));
    const sizeBefore = first.journal.summary().sizeBytes;
    const headBefore = first.journal.summary().headHashHex;
    const last = entries[3];
    if (last === undefined) throw new Error('script');
    expect((await first.journal.append(last)).ok).toBe(true);
    await first.storage.close();
    const path = join(dir, JOURNAL_FILE);
    const image = await readFile(path);
    for (let length = sizeBefore; length < image.length; length += 1) {
      await writeFile(path, image.subarray(0, length));
      const reopened = await openOnDisk();
      const summary = reopened.journal.summary();
      expect(summary.lastSeq, `cut at ${length}`).toBe(3);
      expect(summary.headHashHex, `cut at ${length}`).toBe(headBefore);
      expect(reopened.cutBytes, `cut at ${length}`).toBe(length - sizeBefore);
      expect((await readFile(path)).length, `cut at ${length}`).toBe(sizeBefore);
      // And the journal takes the lost record again.
      expect((await reopened.journal.append(last)).ok, `cut at ${length}`).toBe(true);
      await reopened.storage.close();
      // Same clock, seq and chain: the rewritten record is byte-identical to the lost one.
      expect(Buffer.compare(await readFile(path), image), `cut at ${length}`).toBe(0);
    }
  });

  it('flippedByteInTheLastRecord_isCorruptKeptAndQuarantined', async () => {
    const first = await openOnDisk();
    await appendAll(first.journal, scriptedEntries().slice(0, 3));
    await first.storage.close();
    const path = join(dir, JOURNAL_FILE);
    const image = await readFile(path);
    const damaged = Buffer.from(image);
    const index = image.length - 10;
    damaged[index] = (damaged[index] ?? 0) ^ 0x01;
    await writeFile(path, damaged);
    const storage = await FileStorage.open(dir, { quotaBytes: null });
    if (!storage.ok) throw new Error(storage.detail);
    const reopened = await Journal.open(storage.value, journalOptions(newClock()));
    expect(reopened.ok ? null : reopened.error).toBe(JournalStatus.CORRUPT);
    if (!reopened.ok) expect(reopened.detail).toMatch(/seq 3\).*quarantine-journal\.bin/);
    // The committed record is neither cut nor changed, and a copy sits in quarantine.
    expect(Buffer.compare(await readFile(path), damaged)).toBe(0);
    const quarantined = await readFile(join(dir, `quarantine-${JOURNAL_FILE}`));
    expect(Buffer.compare(quarantined, damaged)).toBe(0);
    await storage.value.close();
  });

  it('damageInAnEarlierRecord_refusesToOpenAndLeavesTheFile', async () => {
    const first = await openOnDisk();
    await appendAll(first.journal, scriptedEntries().slice(0, 3));
    await first.storage.close();
    const path = join(dir, JOURNAL_FILE);
    const image = await readFile(path);
    const damaged = Buffer.from(image);
    damaged[40] = (damaged[40] ?? 0) ^ 0x04;
    await writeFile(path, damaged);
    const storage = await FileStorage.open(dir, { quotaBytes: null });
    if (!storage.ok) throw new Error(storage.detail);
    const reopened = await Journal.open(storage.value, journalOptions(newClock()));
    expect(reopened.ok ? null : reopened.error).toBe(JournalStatus.CORRUPT);
    expect(Buffer.compare(await readFile(path), damaged)).toBe(0);
    await truncate(path, 0);
  });
});
