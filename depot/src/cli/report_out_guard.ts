// `shuaka depot report --out FILE` writes FILE in place: aimed at the depot's own database
// (or its -wal / -shm / -journal companion), at the --tac-keys file or at a day file of the
// gate ledger it reads, it would put CSV where the depot's data was ("file is not a database"
// at the next command, a day of gate counts gone). Such a target is refused before any write.

import { existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import { isPostgresUrl } from '../store/open_depot_db.js';

/** SQLite's companion files of a database: what a write over them would damage too. */
const SQLITE_COMPANIONS = ['', '-wal', '-shm', '-journal'];
/** A day file of the gate ledger (firmware/src/app/gate/gate_ledger.ts). */
const GATE_LEDGER_FILE = /^gate-[0-9]{4}-[0-9]{2}-[0-9]{2}\.log$/;

/** What the report reads, which its --out must not replace. */
export interface ReportInputs {
  readonly db: string | undefined;
  readonly tacKeys: string | undefined;
  readonly gateLedger: string | undefined;
}

/** The same file: one inode on one device (a link or symlink to it counts). */
function sameFile(a: string, b: string): boolean {
  if (!existsSync(a) || !existsSync(b)) return false;
  const [sa, sb] = [statSync(a), statSync(b)];
  return sa.dev === sb.dev && sa.ino === sb.ino;
}

/** The same directory, whatever the spelling of its path. */
function sameDir(a: string, b: string): boolean {
  return sameFile(a, b) && statSync(a).isDirectory();
}

/** A path as its directory's real path and its own name: a file that need not exist yet. */
function placeOf(path: string): string {
  const dir = dirname(resolve(path));
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {
    // A directory that does not exist: the path as written is the best name of the place.
  }
  return join(real, basename(path));
}

/**
 * True when `out` is the database `db` or one of its companions: the same file when it
 * exists, and otherwise the same place, for SQLite creates (and deletes) a companion beside
 * the database, or beside the file a link to it names, whenever it likes: a report written
 * there is gone, or worse, read back as a journal.
 */
function databaseFileOf(out: string, db: string): boolean {
  if (SQLITE_COMPANIONS.some((suffix) => sameFile(out, `${db}${suffix}`))) return true;
  const bases = [db];
  if (existsSync(db)) bases.push(realpathSync(db));
  const at = placeOf(out);
  return bases.some((base) => SQLITE_COMPANIONS.some((suffix) => placeOf(`${base}${suffix}`)
    === at));
}

/** Why `out` may not be written, or null when it may (or there is no --out). */
export function reportOutRefusal(out: string | undefined, inputs: ReportInputs): string | null {
  if (out === undefined) return null;
  const db = inputs.db;
  if (db !== undefined && !isPostgresUrl(db) && databaseFileOf(out, db)) {
    return `--out ${out} is the depot database ${db} (or a file of it)`;
  }
  if (inputs.tacKeys !== undefined && sameFile(out, inputs.tacKeys)) {
    return `--out ${out} is the --tac-keys file`;
  }
  const ledger = inputs.gateLedger;
  if (ledger !== undefined && GATE_LEDGER_FILE.test(basename(out))
    && sameDir(dirname(out), ledger)) {
    return `--out ${out} is a day file of the gate ledger ${ledger}`;
  }
  return null;
}
