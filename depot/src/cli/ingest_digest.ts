// FILE.sha256 beside an export file (`shuaka journal export --out FILE` writes it, in
// sha256sum's format): checked before `shuaka depot ingest` stores a line, since nothing else
// protects a file carried on a medium. A changed byte in an ARQC would be stored, declined by
// the issuer and end as a debt and a deny-list entry on the rider's genuine card.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PEM_BYTES_MAX, readFileBounded } from '../../../hal/src/fs/read_bounded.js';
import { ingestCopyDir } from './ingest_copies.js';

/** What the digest file said of FILE. */
export type IngestDigest =
  /**
   * `copy` is FILE as read once and checked, in a private directory the caller removes with
   * `done`: the ingest stores it, never FILE read again (replaced or rewritten after the check,
   * a FIFO, a file still being copied). A copy on disk, not in memory: an export of a full
   * journal is hundreds of MB.
   */
  | { readonly kind: 'matches'; readonly copy: string; readonly done: () => Promise<void> }
  /** No FILE.sha256 (stdout exports, older builds): the file is taken unchecked. */
  | { readonly kind: 'absent' }
  | { readonly kind: 'refused'; readonly why: string }
  /**
   * FILE cannot be read, or its working copy cannot be written (the depot's disk full): the
   * ingest's own "FILE unreadable" (exit 1), nothing stored.
   */
  | { readonly kind: 'unreadable'; readonly why: string };

/**
 * The file's lines must not be stored when this is 'refused'. The checked copy is made in a
 * new directory under `workDir` (the depot's directory). Never throws.
 */
export async function ingestDigestCheck(file: string, workDir: string): Promise<IngestDigest> {
  const digestPath = `${file}.sha256`;
  let text: string;
  try {
    text = (await readFileBounded(digestPath, PEM_BYTES_MAX)).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    return { kind: 'refused', why: `cannot read ${digestPath}: ${(error as Error).message}` };
  }
  // sha256sum's line: 64 hex digits, a space, a space or '*' (binary mode), the file name,
  // with a backslash first when sha256sum escaped a backslash or newline in the name (the
  // name is not compared).
  const expected = /^\\?([0-9a-fA-F]{64}) [ *]\S/.exec(text)?.[1]?.toLowerCase();
  if (expected === undefined) {
    return { kind: 'refused', why: `${digestPath} is not a sha256sum line (HEX  NAME)` };
  }
  // The copy holds clear PANs: a signal removes it before it ends the process, from the
  // moment it exists (a signal between mkdtemp and the handler left it behind).
  let made: string | null = null;
  const release = copyRemovedOnSignal(() => {
    if (made !== null) rmSync(made, { recursive: true, force: true });
  });
  let dir: string;
  try {
    dir = await ingestCopyDir(workDir, (d) => {
      made = d;
    });
  } catch (error) {
    release();
    if (made !== null) await rm(made, { recursive: true, force: true });
    return { kind: 'unreadable', why: `cannot make a working copy in ${workDir}: `
      + `${(error as Error).message}` };
  }
  const workDirCopy = dir;
  const done = async (): Promise<void> => {
    release();
    await rm(workDirCopy, { recursive: true, force: true });
  };
  const copy = join(dir, 'checked.jsonl');
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(file), hashing, createWriteStream(copy, { mode: 0o600 }));
  } catch (error) {
    await done();
    const message = (error as Error).message;
    // A write that fails (a full disk, a file-size limit) names no path: the copy's too.
    const failed = error as NodeJS.ErrnoException;
    if (failed.path === copy || failed.syscall === 'write') {
      return { kind: 'unreadable', why: `cannot make a working copy in ${workDir}: ${message}` };
    }
    return { kind: 'unreadable', why: `cannot read ${file}: ${message}` };
  }
  const actual = hash.digest('hex');
  if (actual !== expected) {
    await done();
    return {
      kind: 'refused',
      why: `${file} does not match ${digestPath} (SHA-256 ${actual}, expected ${expected}): `
        + 'it changed after the export, in transfer or on the medium; export it again',
    };
  }
  return { kind: 'matches', copy, done };
}

/**
 * Until the returned function is called, SIGINT, SIGTERM and SIGHUP call `removeCopy`, then
 * end the process as the signal would have (the depot's tables are transactional: a batch is
 * whole or not there). A process killed outright leaves the copy to `ingestCopiesSweep`.
 */
function copyRemovedOnSignal(removeCopy: () => void): () => void {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (signal: NodeJS.Signals): void => {
    release();
    removeCopy();
    process.kill(process.pid, signal);
  };
  const release = (): void => {
    for (const s of signals) process.off(s, onSignal);
  };
  for (const s of signals) process.on(s, onSignal);
  return release;
}
