// Start-up check of the journal directory: can the validator record a tap durably at all?
//
// A validator that says "in service" must be able to write and fsync its journal. A data
// partition remounted read-only after an eMMC error, a full disk or a directory on the wrong
// (tiny) mount are all found here, before the reader is touched, by doing what the journal
// will do: create a file, write it, fsync it and the directory, delete it; then statfs.

import { constants } from 'node:fs';
import { access, open, readdir, rmdir, stat, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { mkdirParents } from '../../../hal/src/fs/mkdir_parents.js';
import { JOURNAL_FILE_NAME } from '../app/journal/journal.js';
import { journalUnits } from '../app/journal/journal_files.js';

/** What the check requires; every field explicit. */
export interface JournalDirCheckOptions {
  /** Bytes written and fsynced by the probe (about one day of taps' worth of appends). */
  readonly probeBytes: number;
  /** Free space (statfs f_bavail x f_bsize, what a non-root writer may use) required, bytes. */
  readonly minFreeBytes: number;
}

/** Why the directory is unusable; `problem` names the kind for the exit code and the log. */
export interface JournalDirProblem {
  readonly problem: 'not-a-directory' | 'read-only' | 'no-permission' | 'full' | 'too-small' | 'io';
  readonly message: string;
}

/** The directory passed: its free space, and whether this check created it. */
export interface JournalDirOk {
  readonly freeBytes: number;
  readonly createdDir: boolean;
}

/** The probe file's name; a crash mid-check leaves at most this file, which the next removes. */
export const JOURNAL_PROBE_FILE = '.shuaka-write-probe';

/**
 * Checks `dir` (creating it when missing). Returns the free space, or the problem with a
 * sentence for the operator. Never throws. On a problem the probe file is gone and a
 * directory this check created is removed again, so a refused start changes nothing.
 */
export async function checkJournalDir(
  dir: string,
  options: JournalDirCheckOptions,
): Promise<{ ok: true; value: JournalDirOk } | { ok: false; error: JournalDirProblem }> {
  let createdDir = false;
  try {
    if (!(await stat(dir)).isDirectory()) {
      return problem('not-a-directory', `journal ${dir}: not a directory`);
    }
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') return fromErrno(dir, 'cannot reach', error);
    try {
      await mkdirParents(dir);
      createdDir = true;
    } catch (mkdirError) {
      return fromErrno(dir, 'cannot create', mkdirError);
    }
  }
  const checked = await probeAndMeasure(dir, options);
  if (!checked.ok && createdDir) await rmdir(dir).catch(() => undefined);
  if (!checked.ok) return checked;
  return { ok: true, value: { freeBytes: checked.value, createdDir } };
}

async function probeAndMeasure(
  dir: string,
  options: JournalDirCheckOptions,
): Promise<{ ok: true; value: number } | { ok: false; error: JournalDirProblem }> {
  const probePath = join(dir, JOURNAL_PROBE_FILE);
  try {
    await unlink(probePath).catch(() => undefined);
    const file = await open(probePath, 'wx');
    try {
      await file.write(new Uint8Array(options.probeBytes), 0, options.probeBytes, 0);
      await file.sync();
    } finally {
      await file.close();
    }
    await unlink(probePath);
    const dirHandle = await open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch (error) {
    await unlink(probePath).catch(() => undefined);
    return fromErrno(dir, 'cannot write and fsync a probe file in', error);
  }
  const unwritable = await appendedFileUnwritable(dir);
  if (unwritable !== null) return unwritable;
  let freeBytes: number;
  try {
    const fs = await statfs(dir);
    freeBytes = fs.bavail * fs.bsize;
  } catch (error) {
    return fromErrno(dir, 'cannot measure the free space of', error);
  }
  if (freeBytes < options.minFreeBytes) {
    return problem(
      'too-small',
      `journal ${dir}: ${mib(freeBytes)} free, below the required ${mib(options.minFreeBytes)}` +
        ' (--journal-min-free-mb)',
    );
  }
  return { ok: true, value: freeBytes };
}

/** The gate's ledger days (gate_ledger.ts): the newest by name is the latest day. */
const GATE_LEDGER_DAY = /^gate-[0-9]{4}-[0-9]{2}-[0-9]{2}\.log$/;

/**
 * A file the validator will append to next that it may not write (a journal.bin left by a
 * technician's run as root, the service running as its own user): the directory passed the
 * probe, the start said "in service", and the first rider's tap failed, out of service. Only
 * the newest segment and ledger day are appended to; older ones are read, and removed with
 * the directory's own write permission.
 */
async function appendedFileUnwritable(dir: string)
  : Promise<{ ok: false; error: JournalDirProblem } | null> {
  try {
    const names = await readdir(dir);
    const newest = journalUnits(JOURNAL_FILE_NAME, names).at(-1);
    const day = names.filter((name) => GATE_LEDGER_DAY.test(name)).sort().at(-1);
    for (const name of [newest?.segmentExists === true ? newest.segment : null, day]) {
      if (name !== null && name !== undefined) await access(join(dir, name), constants.W_OK);
    }
    return null;
  } catch (error) {
    return fromErrno(dir, 'cannot write the files kept in', error);
  }
}

function fromErrno(
  dir: string,
  what: string,
  error: unknown,
): { ok: false; error: JournalDirProblem } {
  const code = codeOf(error);
  const text = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'EROFS':
      return problem('read-only', `journal ${dir}: read-only file system (${text})`);
    case 'EACCES':
    case 'EPERM':
      return problem('no-permission', `journal ${dir}: not writable (${text})`);
    case 'ENOSPC':
    case 'EDQUOT':
      return problem('full', `journal ${dir}: disk full (${text})`);
    case 'ENOTDIR':
      return problem('not-a-directory', `journal ${dir}: not a directory (${text})`);
    default:
      return problem('io', `journal ${dir}: ${what} it: ${text}`);
  }
}

function problem(
  kind: JournalDirProblem['problem'],
  message: string,
): { ok: false; error: JournalDirProblem } {
  return { ok: false, error: { problem: kind, message } };
}

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = (error as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
