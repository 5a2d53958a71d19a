// The DepotDb contract, run against both engines: SQLite (a temp file) and a real scratch
// PostgreSQL. The truth is the engines themselves: what one commits, a second connection reads.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DepotDb } from '../../src/store/depot_db.js';
import { DepotStoreError } from '../../src/store/depot_db.js';
import { DEPOT_MIGRATIONS, depotMigrate } from '../../src/store/depot_migrations.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { openPostgresDepotDb } from '../../src/store/postgres_db.js';
import { openSqliteDepotDb } from '../../src/store/sqlite_db.js';
import type { PostgresScratch } from '../../../test_support/postgres_scratch.js';
import {
  createScratchDatabase,
  postgresRequired,
  startPostgresScratch,
} from '../../../test_support/postgres_scratch.js';

const NOW_MS = 1_790_000_000_000;
const TABLES = ['acquirer_messages', 'batches', 'debts', 'deny_entries', 'gate_records',
  'params_deny_deltas', 'params_sets', 'schema_migrations', 'taps', 'terminal_status',
  'terminals', 'tunion_blocks', 'tunion_taps'];
/** SQLite's card+ATC key levels (migration 6); PostgreSQL keeps its unique index instead. */
const SQLITE_TABLES = [...TABLES, 'tap_card_keys_l0', 'tap_card_keys_l1', 'tap_card_keys_l2']
  .sort();

interface Engine {
  readonly name: 'sqlite' | 'postgres';
  /** A fresh, empty database target (file path or URL). */
  fresh(label: string): Promise<string>;
}

let temp = '';
let scratch: PostgresScratch | null = null;

beforeAll(() => {
  temp = mkdtempSync(join(tmpdir(), 'shuaka-depot-db-'));
});
afterAll(() => {
  scratch?.stop();
  rmSync(temp, { recursive: true, force: true });
});

const sqlite: Engine = {
  name: 'sqlite',
  fresh: (label) => Promise.resolve(join(temp, `${label}.sqlite`)),
};
const postgres: Engine = {
  name: 'postgres',
  fresh: async (label) => {
    scratch ??= await startPostgresScratch();
    return createScratchDatabase(scratch, label);
  },
};

async function tableNames(db: DepotDb): Promise<string[]> {
  const rows = db.dialect === 'sqlite'
    ? await db.query("SELECT name FROM sqlite_master WHERE type = 'table'")
    : await db.query("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'");
  return rows.map((r) => String(r['name'])).sort();
}

function tapValues(terminal: string, seq: number, atc: number): (string | number | null)[] {
  return [terminal, seq, 'clearing', NOW_MS, 'tok', '01', atc, 200, '{}', 'new', NOW_MS];
}
const INSERT_TAP = `INSERT INTO taps (terminal_id, seq, type, time_wall_ms, pan_token, psn, atc,
  amount_minor, record_json, state, received_at_ms)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING RETURNING id`;

describe.each([sqlite, ...(postgresRequired() ? [postgres] : [])])('DepotDb on $name', (e) => {
  it('migrate_onEmpty_createsEverySchemaTable_andTwiceIsANoOp', async () => {
    const db = await openDepotDb(await e.fresh('migrate_twice'), NOW_MS);
    try {
      expect(await tableNames(db)).toEqual(e.name === 'sqlite' ? SQLITE_TABLES : TABLES);
      expect(await depotMigrate(db, NOW_MS + 1)).toEqual([]);
      const rows = await db.query('SELECT version, applied_at_ms FROM schema_migrations');
      expect(rows).toEqual(DEPOT_MIGRATIONS.map((m) => ({ version: m.version,
        applied_at_ms: NOW_MS })));
    } finally {
      await db.close();
    }
  });

  it('migrate_whenDatabaseIsNewer_refusesWithStoreError', async () => {
    const db = await openDepotDb(await e.fresh('migrate_newer'), NOW_MS);
    try {
      await db.run('INSERT INTO schema_migrations VALUES ($1, $2)', [99, NOW_MS]);
      await expect(depotMigrate(db, NOW_MS)).rejects.toThrow(/version 99 is newer/);
    } finally {
      await db.close();
    }
  });

  it('migrate_whenAStatementFails_appliesNothing', async () => {
    const db = e.name === 'sqlite'
      ? await openSqliteDepotDb(await e.fresh('migrate_fail'))
      : await openPostgresDepotDb(await e.fresh('migrate_fail'));
    try {
      const next = DEPOT_MIGRATIONS.length + 1;
      const broken = [...DEPOT_MIGRATIONS, { version: next, name: 'bad', statements: [
        'CREATE TABLE later (x BIGINT)', 'CREATE TABLE terminals (x BIGINT)'] }];
      await expect(depotMigrate(db, NOW_MS, broken)).rejects.toBeInstanceOf(DepotStoreError);
      expect(await tableNames(db)).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('transaction_whenWorkRejects_rollsBackEveryStatement', async () => {
    const db = await openDepotDb(await e.fresh('rollback'), NOW_MS);
    try {
      await expect(db.transaction(async (tx) => {
        await tx.query(INSERT_TAP, tapValues('T1', 1, 7));
        throw new Error('crash after insert');
      })).rejects.toThrow('crash after insert');
      expect(await db.query('SELECT count(*) AS n FROM taps')).toEqual([{ n: 0 }]);
      const ids = await db.transaction(async (tx) => tx.query(INSERT_TAP, tapValues('T1', 1, 7)));
      expect(ids).toHaveLength(1);
      expect(await db.query('SELECT count(*) AS n FROM taps')).toEqual([{ n: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('taps_uniqueSeqAndCountedCardAtc_areEnforcedByTheSchema', async () => {
    const db = await openDepotDb(await e.fresh('unique'), NOW_MS);
    try {
      const first = await db.query(INSERT_TAP, tapValues('T1', 1, 7));
      expect(await db.query(INSERT_TAP, tapValues('T1', 1, 8))).toEqual([]);
      expect(await db.query(INSERT_TAP, tapValues('T2', 1, 7))).toEqual([]);
      // Kept as a duplicate (duplicate_of set): outside the partial unique index.
      const dup = await db.run(`INSERT INTO taps (terminal_id, seq, type, time_wall_ms,
        pan_token, psn, atc, record_json, state, duplicate_of, received_at_ms)
        VALUES ($1, 1, 'clearing', $2, 'tok', '01', 7, '{}', 'duplicate', $3, $2)`,
      ['T2', NOW_MS, Number(first[0]?.['id'])]);
      expect(dup).toBe(1);
      await expect(db.run("UPDATE taps SET state = 'lost'")).rejects.toBeInstanceOf(
        DepotStoreError);
    } finally {
      await db.close();
    }
  });

  it('query_bigintAndSums_comeBackAsNumbers_withRepeatedPlaceholders', async () => {
    const db = await openDepotDb(await e.fresh('numbers'), NOW_MS);
    try {
      const big = 999_999_999_999;
      await db.query(INSERT_TAP, [...tapValues('T1', 4_294_967_295, 1).slice(0, 7), big,
        '{}', 'new', NOW_MS]);
      await db.query(INSERT_TAP, [...tapValues('T1', 2, 2).slice(0, 7), 5, '{}', 'new', NOW_MS]);
      const rows = await db.query(`SELECT sum(amount_minor) AS total, max(seq) AS top,
        count(*) AS n FROM taps WHERE terminal_id = $1 AND received_at_ms = $2
        AND time_wall_ms = $2`, ['T1', NOW_MS]);
      expect(rows).toEqual([{ total: big + 5, top: 4_294_967_295, n: 2 }]);
      const text = await db.query("SELECT '$1' AS t, $1 AS v", ['x']);
      expect(text).toEqual([{ t: '$1', v: 'x' }]);
    } finally {
      await db.close();
    }
  });

  it('transaction_excludesOtherCallers_untilItCommits', async () => {
    const db = await openDepotDb(await e.fresh('isolation'), NOW_MS);
    try {
      let release = (): void => undefined;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      const slow = db.transaction(async (tx) => {
        await tx.query(INSERT_TAP, tapValues('T1', 1, 1));
        await gate;
        await tx.query(INSERT_TAP, tapValues('T1', 2, 2));
      });
      const seen = db.query('SELECT count(*) AS n FROM taps');
      release();
      await slow;
      // Either the reader waited (SQLite's queue) or saw the snapshot before the commit (pg).
      expect([[{ n: 0 }], [{ n: 2 }]]).toContainEqual(await seen);
      expect(await db.query('SELECT count(*) AS n FROM taps')).toEqual([{ n: 2 }]);
    } finally {
      await db.close();
    }
  });

  it('committedRows_surviveClose_andAreReadByANewConnection', async () => {
    const target = await e.fresh('durable');
    const db = await openDepotDb(target, NOW_MS);
    await db.transaction(async (tx) => tx.query(INSERT_TAP, tapValues('T9', 3, 3)));
    await db.close();
    await expect(db.query('SELECT 1')).rejects.toBeInstanceOf(Error);
    const again = await openDepotDb(target, NOW_MS + 5);
    try {
      expect(await again.query('SELECT terminal_id, seq FROM taps')).toEqual([
        { terminal_id: 'T9', seq: 3 }]);
    } finally {
      await again.close();
    }
  });
});

describe('SQLite specifics', () => {
  it('open_usesWalAndFullSync', async () => {
    const db = await openSqliteDepotDb(join(temp, 'pragma.sqlite'));
    try {
      expect(await db.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
      expect(await db.query('PRAGMA synchronous')).toEqual([{ synchronous: 2 }]);
    } finally {
      await db.close();
    }
  });

  it('open_whenFileIsNotADatabase_orFolderMissing_rejectsWithStoreError', async () => {
    const junk = join(temp, 'junk.sqlite');
    writeFileSync(junk, 'this is not a database, just text long enough to fill a header....');
    await expect(openSqliteDepotDb(junk)).rejects.toThrow(/cannot open SQLite database/);
    await expect(openSqliteDepotDb(join(temp, 'no', 'such', 'x.sqlite'))).rejects
      .toBeInstanceOf(DepotStoreError);
  });
});

describe.runIf(postgresRequired())('PostgreSQL specifics', () => {
  it('migrate_fromEightProcessesAtOnce_appliesOnce', async () => {
    scratch ??= await startPostgresScratch();
    const url = await createScratchDatabase(scratch, 'race');
    const dbs = await Promise.all(Array.from({ length: 8 }, () => openPostgresDepotDb(url)));
    try {
      const applied = await Promise.all(dbs.map((db, i) => depotMigrate(db, NOW_MS + i)));
      expect(applied.flat()).toEqual(DEPOT_MIGRATIONS.map((m) => m.version));
      const rows = await dbs[0]!.query('SELECT count(*) AS n FROM schema_migrations');
      expect(rows).toEqual([{ n: DEPOT_MIGRATIONS.length }]);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  it('whenServerStops_callsRejectWithStoreError_andWorkAgainAfterRestart', async () => {
    scratch ??= await startPostgresScratch();
    const url = await createScratchDatabase(scratch, 'down');
    const db = await openDepotDb(url, NOW_MS);
    try {
      await db.query(INSERT_TAP, tapValues('T1', 1, 1));
      scratch.halt();
      await expect(db.query('SELECT count(*) AS n FROM taps')).rejects.toBeInstanceOf(
        DepotStoreError);
      await expect(db.transaction(async (tx) => tx.query('SELECT 1'))).rejects.toBeInstanceOf(
        DepotStoreError);
      scratch.resume();
      expect(await db.query('SELECT count(*) AS n FROM taps')).toEqual([{ n: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('open_whenNothingListens_rejectsWithStoreError', async () => {
    await expect(openPostgresDepotDb('postgres://postgres@127.0.0.1:1/none')).rejects
      .toBeInstanceOf(DepotStoreError);
  });
});
