// `shuaka journal export --out FILE` must never replace a file the validator keeps: the export
// is renamed over FILE when complete, so `--out DIR/journal.bin` would put JSON lines where
// the journal was (every unacknowledged fare gone, the journal CORRUPT at the next start), and
// `--out DIR/data.key` would lose the key that opens the journal's sealed PANs. Nor anything
// that is not a regular file: the rename replaces a device node or a link with the export.

import { fstatSync } from 'node:fs';
import { lstat, open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { FRAME_MAGIC_0, FRAME_MAGIC_1 } from '../app/journal/journal_frame.js';
import type { CliIo } from './cli_args.js';

/** Names in a journal directory that belong to the validator (journal_files.ts and beside). */
const VALIDATOR_NAMES: readonly RegExp[] = [
  /^journal.*\.(bin|ckpt)$/, // segments and checkpoints
  /^journal\.lock$/, // dir_lock.ts
  /^(data|deny)\.key$/, // terminal data key, fleet deny key (their default places)
  /^params_version_floor\.json$/, // params_floor.ts
  /^quarantine-/, // copies of damaged journal files
  /^gate-.*\.log$/, // the gate ledger
  /^gate-upload\.json$/, // gate_upload.ts: its upload cursor
  /^terminal_id$/, // params_own_terminal.ts: the validator's own terminal id
];

/**
 * Files only a validator's journal directory holds: one beside FILE makes it one; so does a
 * segment, told by its first bytes (an export may be called journal.bin too).
 */
const JOURNAL_DIR_MARKS: readonly RegExp[] = [
  /^journal.*\.ckpt$/, /^journal\.lock$/, /^data\.key$/, /^params_version_floor\.json$/,
  /^terminal_id$/,
];

/** The same directory entry: one name in one directory (rename replaces entries, not inodes). */
async function sameEntry(a: string, b: string): Promise<boolean> {
  if (basename(a) !== basename(b)) return false;
  const [dirA, dirB] = await Promise.all([stat(dirname(a)).catch(() => null),
    stat(dirname(b)).catch(() => null)]);
  return dirA !== null && dirB !== null && dirA.dev === dirB.dev && dirA.ino === dirB.ino;
}

/**
 * True, after saying why on stderr, when `out` (absent: stdout) may not be written: a file
 * of journal directory `dir`, the data key `dataKeyPath`, or a stdout that is the null device.
 */
export async function exportOutRefused(
  out: string | undefined, dir: string, dataKeyPath: string, io: CliIo,
): Promise<boolean> {
  if (out === undefined) {
    const refusal = await stdoutRefusal();
    if (refusal !== null) io.err(`not exported: ${refusal}`);
    return refusal !== null;
  }
  const refusal = await exportOutRefusal(out, dir, dataKeyPath);
  if (refusal !== null) {
    io.err(`not exported: ${refusal}: the export would replace it; write it elsewhere`);
  }
  return refusal !== null;
}

/**
 * Why stdout may not take the export, or null when it may: the null device. Node puts it in
 * place of a closed stdout (`export >&-`, a service started without one), so the lines went
 * nowhere, the command said "exported", exit 0, and advised the ack that drops them.
 */
async function stdoutRefusal(): Promise<string | null> {
  const [own, nul] = await Promise.all([
    Promise.resolve().then(() => fstatSync(1)).catch(() => null),
    stat('/dev/null').catch(() => null)]);
  if (own === null || nul === null || !own.isCharacterDevice() || own.rdev !== nul.rdev) {
    return null;
  }
  return 'stdout is the null device (closed, or sent to /dev/null): the lines would go '
    + 'nowhere; give --out FILE, or a pipe';
}

/** Why `out` may not be written, or null when it may. */
async function exportOutRefusal(
  out: string, dir: string, dataKeyPath: string,
): Promise<string | null> {
  // The rename would put a plain file in place of a device, a pipe or a link: run as root,
  // `--out /dev/null` replaced the system's /dev/null (every later `> /dev/null` failed).
  const entry = await lstat(out).catch(() => null);
  if (entry !== null && !entry.isFile()) {
    return `--out ${out} is not a regular file (a device, a pipe, a link or a directory; `
      + 'without --out the lines go to stdout)';
  }
  if (await sameEntry(out, dataKeyPath)) return `--out ${out} is the terminal data key`;
  if (!VALIDATOR_NAMES.some((name) => name.test(basename(out)))) return null;
  if (await sameEntry(out, join(dir, basename(out)))) {
    return `--out ${out} is a file of the journal directory ${dir}`;
  }
  // The same name in another validator's journal directory (a copy, a second journal): it is
  // that validator's file, as much as one of DIR's. Elsewhere (an earlier export of that
  // name, an operator's own file) it may be replaced.
  if (entry !== null && await inJournalDir(out)) {
    return `--out ${out} is a file of another validator's journal directory`;
  }
  return null;
}

/** True when another file beside `out` is one only a journal directory holds. */
async function inJournalDir(out: string): Promise<boolean> {
  const names = await readdir(dirname(out)).catch(() => [] as string[]);
  for (const name of names) {
    if (name === basename(out)) continue;
    if (JOURNAL_DIR_MARKS.some((mark) => mark.test(name))) return true;
    if (/^journal.*\.bin$/.test(name) && await isSegment(join(dirname(out), name))) return true;
  }
  return false;
}

/** True when the file starts as a journal segment does (its first frame's magic). */
async function isSegment(path: string): Promise<boolean> {
  const handle = await open(path, 'r').catch(() => null);
  if (handle === null) return false;
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === FRAME_MAGIC_0 && head[1] === FRAME_MAGIC_1;
  } finally {
    await handle.close();
  }
}
