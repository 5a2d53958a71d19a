// The checkpointer worker moves committed WAL frames into the SQLite file while the depot's
// connection keeps writing (its own automatic checkpoint waits for 10^5 frames, far beyond
// this test). The truth is SQLite itself: the file grows, the WAL is rewound and stays below
// what was written, and a second connection opened after close reads every row.
// Needs the build (the worker runs dist/; `npm run build`).

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { openSqliteDepotDb } from '../../src/store/sqlite_db.js';

const temp = mkdtempSync(join(tmpdir(), 'shuaka-checkpointer-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const ROWS_PER_TRANSACTION = 200;
const TRANSACTIONS = 150;
const PAD = 'x'.repeat(2_000);

describe('SQLite checkpointer', () => {
  it('checkpointsOffTheWritingConnection_andLosesNothing', async () => {
    const path = join(temp, 'ck.sqlite');
    const db = await openSqliteDepotDb(path);
    await db.run('CREATE TABLE t (n BIGINT PRIMARY KEY, pad TEXT NOT NULL)');
    let walMax = 0;
    for (let t = 0; t < TRANSACTIONS; t += 1) {
      await db.transaction(async (tx) => {
        for (let i = 0; i < ROWS_PER_TRANSACTION; i += 1)
          await tx.run('INSERT INTO t (n, pad) VALUES ($1, $2)',
            [t * ROWS_PER_TRANSACTION + i, `${t}:${PAD}`]);
      });
      walMax = Math.max(walMax, statSync(`${path}-wal`).size);
      // Give the 50 ms rounds a chance now and then, as the gaps between batches do.
      if (t % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 120));
    }
    const written = TRANSACTIONS * ROWS_PER_TRANSACTION * PAD.length;
    // Without a checkpoint the file would hold only the schema and the WAL every row.
    expect(statSync(path).size).toBeGreaterThan(written / 2);
    expect(walMax).toBeLessThan(written);
    await db.close();
    const reader = new Database(path, { readonly: true });
    const row = reader.prepare('SELECT count(*) AS c, sum(n) AS s FROM t').get() as
      { c: number; s: number };
    reader.close();
    const n = TRANSACTIONS * ROWS_PER_TRANSACTION;
    expect(row).toEqual({ c: n, s: n * (n - 1) / 2 });
  });
});
