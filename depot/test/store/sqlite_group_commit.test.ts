// Group commit on SQLite (sqlite_group_commit.ts): transactions queued behind a running one
// commit together, one failing member is rolled back alone, and no member resolves before the
// shared COMMIT. Truth: a second connection to the file (what it can read is what committed)
// and the order in which the promises settle.

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DepotDb } from '../../src/store/depot_db.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';

const NOW_MS = 1_790_000_000_000;
const temp = mkdtempSync(join(tmpdir(), 'shuaka-group-commit-'));

afterAll(() => {
  rmSync(temp, { recursive: true, force: true });
});

async function terminalInsert(tx: DepotDb, id: string): Promise<void> {
  await tx.run(`INSERT INTO terminals (terminal_id, cert_sha256, status, registered_at_ms)
    VALUES ($1, $1, 'active', $2)`, [id, NOW_MS]);
}

describe('SQLite group commit', () => {
  it('queuedTransactions_commitTogether_aFailingOneAlone_rolledBack', async () => {
    const path = join(temp, 'group.sqlite');
    const db = await openDepotDb(path, NOW_MS);
    const reader = new Database(path, { readonly: true });
    const visible = (id: string): boolean => reader.prepare(
      'SELECT 1 FROM terminals WHERE terminal_id = ?').get(id) !== undefined;
    const settled: string[] = [];
    const seenByLast: { a: boolean; aSettled: boolean } = { a: true, aSettled: true };
    try {
      let release = (): void => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      // The first transaction holds the connection until the others are queued.
      const first = db.transaction(async (tx) => {
        await terminalInsert(tx, 'first');
        await gate;
      });
      const a = db.transaction((tx) => terminalInsert(tx, 'a')).then(() => settled.push('a'));
      const bad = db.transaction(async (tx) => {
        await terminalInsert(tx, 'bad');
        throw new Error('bad batch');
      });
      const last = db.transaction(async (tx) => {
        await terminalInsert(tx, 'last');
        // Same transaction as `a`: not committed yet, so neither readable nor acknowledged.
        seenByLast.a = visible('a');
        seenByLast.aSettled = settled.includes('a');
        return 'last done';
      });
      release();
      await first;
      await expect(bad).rejects.toThrow('bad batch');
      await a;
      expect(await last).toBe('last done');
      expect(seenByLast).toEqual({ a: false, aSettled: false });
      expect(['first', 'a', 'bad', 'last'].map(visible)).toEqual([true, true, false, true]);
    } finally {
      reader.close();
      await db.close();
    }
  });

  it('transactionsQueuedAfterClose_rejectWithStoreError', async () => {
    const db = await openDepotDb(join(temp, 'closed.sqlite'), NOW_MS);
    await db.close();
    await expect(db.transaction((tx) => terminalInsert(tx, 'x'))).rejects.toThrow(/closed/);
  });
});
