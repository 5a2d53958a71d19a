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
