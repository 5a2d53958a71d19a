// Opens the depot database named on the command line: a SQLite file or a postgres:// URL.

import type { DepotDb } from './depot_db.js';
import { DepotStoreError } from './depot_db.js';
import { depotMigrate } from './depot_migrations.js';
import { openPostgresDepotDb } from './postgres_db.js';
import { openSqliteDepotDb, type SqliteDepotOptions } from './sqlite_db.js';

/** True when `target` names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/**
 * Opens `target` (`postgres://...`/`postgresql://...`, else a SQLite file path) and migrates
 * it to the newest schema. Rejects with DepotStoreError when it cannot be opened or migrated;
 * the error's message never includes the URL's password. `sqlite` applies to a SQLite file.
 */
export async function openDepotDb(target: string, nowMs: number,
  sqlite: SqliteDepotOptions = {}): Promise<DepotDb> {
  if (target === '') throw new DepotStoreError('no database given');
  const db = isPostgresUrl(target)
    ? await openPostgresDepotDb(target)
    : await openSqliteDepotDb(target, sqlite);
  try {
    await depotMigrate(db, nowMs);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return db;
}

/** Problems SQLite's quick_check reports at most (the first ones name the damage). */
const QUICK_CHECK_LINES = 5;

/**
 * What SQLite's `PRAGMA quick_check` finds wrong with a SQLite depot (empty when it is sound):
 * pages, b-trees, record formats, NOT NULL and CHECK constraints, read through the whole
 * file. A flipped bit in a page of stored taps is otherwise met only by the statement that
 * happens to read it, perhaps weeks later. PostgreSQL keeps its own checks: nothing to run.
 */
export async function depotIntegrityProblems(db: DepotDb): Promise<string[]> {
  if (db.dialect !== 'sqlite') return [];
  try {
    const rows = await db.query(`PRAGMA quick_check(${QUICK_CHECK_LINES})`);
    const lines = rows.map((row) => String(Object.values(row)[0]));
    return lines.length === 1 && lines[0] === 'ok' ? [] : lines;
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}
