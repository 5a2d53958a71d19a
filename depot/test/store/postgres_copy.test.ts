// copyText against the truth of a real PostgreSQL: values COPY'd into a table come back by
// SELECT exactly as they went in, however hostile the text (the escapes of COPY's text
// format, a line that reads as its end-of-data marker, the null marker as text).

import { afterAll, describe, expect, it } from 'vitest';
import type { DepotValue } from '../../src/store/depot_db.js';
import { DepotStoreError } from '../../src/store/depot_db.js';
import { openPostgresDepotDb } from '../../src/store/postgres_db.js';
import type { PostgresScratch } from '../../../test_support/postgres_scratch.js';
import {
  createScratchDatabase,
  postgresRequired,
  startPostgresScratch,
} from '../../../test_support/postgres_scratch.js';

let scratch: PostgresScratch | null = null;

afterAll(() => {
  scratch?.stop();
});

const HOSTILE: readonly string[] = ['', '\\', '\\.', '\\N', 'a\tb', 'line\nbreak', 'cr\rlf\r\n',
  '\\t literally', '{"k":"v\\"q\\\\"}', '刷卡 闪付', 'tab at end\t', '\\\\\\', ' ', 'null'];

describe.runIf(postgresRequired())('copyRows on a real PostgreSQL', () => {
  it('storesEveryValueAsGiven_textNullAndNumbers', async () => {
    scratch ??= await startPostgresScratch();
    const db = await openPostgresDepotDb(await createScratchDatabase(scratch, 'copy_text'));
    try {
      await db.run('CREATE TABLE t (n BIGINT, s TEXT, z TEXT)');
      const rows: DepotValue[][] = HOSTILE.map((s, i) => [i * 1_000_003 - 7, s, i % 3 === 0
        ? null : `${s}|${s}`]);
      rows.push([2 ** 53 - 1, null, '']);
      const copied = await db.transaction(async (tx) => tx.copyIn?.('COPY t (n, s, z) FROM STDIN',
        rows));
      expect(copied).toBe(rows.length);
      const back = await db.query('SELECT n, s, z FROM t ORDER BY n');
      expect(back.map((r) => [r['n'], r['s'], r['z']]))
        .toEqual([...rows].sort((a, b) => Number(a[0]) - Number(b[0])));
    } finally {
      await db.close();
    }
  }, 120_000);

  it('refusesAValueTheColumnCannotHold_asDepotStoreError_andRollsBack', async () => {
    scratch ??= await startPostgresScratch();
    const db = await openPostgresDepotDb(await createScratchDatabase(scratch, 'copy_bad'));
    try {
      await db.run('CREATE TABLE t (n BIGINT)');
      const failed = db.transaction(async (tx) => tx.copyIn?.('COPY t (n) FROM STDIN',
        [[1], ['not a number']]));
      await expect(failed).rejects.toThrow(DepotStoreError);
      await expect(failed).rejects.toThrow(/invalid input syntax for type bigint/);
      expect(await db.query('SELECT count(*) AS n FROM t')).toEqual([{ n: 0 }]);
      // The pool's connection is usable again after the failed COPY.
      expect(await db.query('SELECT 41 + 1 AS v')).toEqual([{ v: 42 }]);
    } finally {
      await db.close();
    }
  }, 120_000);
});
