// `shuaka sim --journal DIR`: what the simulated validator's journal medium starts with.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { mkdirParentsSync } from '../../../hal/src/fs/mkdir_parents.js';

import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalUnits } from '../../../firmware/src/app/journal/journal_files.js';
import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';

/**
 * The files of DIR the run starts from: null for a missing or empty DIR (a new journal), the
 * checkpoint of a journal `shuaka journal init --after-seq N` started (no record yet, so the
 * run's first record is N + 1, as on a validator given that directory), or why DIR is
 * refused: anything else (a run never continues or overwrites a journal with records).
 */
export function simJournalDirFiles(dir: string): ReadonlyMap<string, Uint8Array> | null | string {
  const refused = `--journal ${dir} is not empty (a run writes a new journal, or starts on one`
    + ' that `shuaka journal init` made and nothing else)';
  if (!existsSync(dir)) {
    // Made now, so that a directory that cannot be is said before the run, not after it.
    try {
      mkdirParentsSync(dir);
    } catch (error) {
      return `--journal ${dir}: cannot create it: ${error instanceof Error ? error.message
        : String(error)}`;
    }
    return null;
  }
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    return `--journal ${dir}: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (names.length === 0) return null;
  const units = journalUnits(JOURNAL_FILE_NAME, names);
  const unit = units[0];
  if (units.length !== 1 || unit === undefined || unit.segmentExists || unit.checkpoint === null
    || names.length !== 1) {
    return refused;
  }
  const bytes = new Uint8Array(readFileSync(join(dir, unit.checkpoint)));
  const files = new Map([[unit.checkpoint, bytes]]);
  const scan = journalScanFiles(files, JOURNAL_FILE_NAME, false);
  if (scan.corruption !== null) {
    return `--journal ${dir}: ${scan.corruption.file}: ${scan.corruption.reason}`;
  }
  return files;
}
