// `shuaka depot report --out FILE` writes FILE in place: aimed at the depot's own database
// (or its -wal / -shm / -journal companion), at the --tac-keys file or at a day file of the
// gate ledger it reads, it would put CSV where the depot's data was ("file is not a database"
// at the next command, a day of gate counts gone). Such a target is refused before any write.

import { existsSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';

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

/** Why `out` may not be written, or null when it may (or there is no --out). */
export function reportOutRefusal(out: string | undefined, inputs: ReportInputs): string | null {
  if (out === undefined) return null;
  const db = inputs.db;
  if (db !== undefined && !isPostgresUrl(db)
    && SQLITE_COMPANIONS.some((suffix) => sameFile(out, `${db}${suffix}`))) {
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
