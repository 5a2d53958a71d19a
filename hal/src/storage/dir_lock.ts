// Lock file of a data directory: one writer at a time (the validator or `shuaka journal ack`).

import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

import { HalStatus, halErr, halOk } from '../ports/hal_status.js';
import type { HalResult } from '../ports/hal_status.js';

/** The lock file's name in a journal directory. */
export const DIR_LOCK_NAME = 'journal.lock';

/** A held lock; `release` removes the lock file if it is still ours. */
export interface DirLock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Takes the lock of `dirPath`: creates `journal.lock` exclusively (O_CREAT | O_EXCL) holding
 * this process's pid. A lock whose pid no longer runs (a validator killed or a power cut) is
 * stale: it is removed and taken once more. Errors: BUSY (a live process holds it; the detail
 * names its pid), READER_IO.
 */
export async function dirLockAcquire(dirPath: string): Promise<HalResult<DirLock>> {
  const path = join(dirPath, DIR_LOCK_NAME);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return halOk({ path, release: () => dirLockRelease(path) });
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') {
        return halErr(HalStatus.READER_IO, `lock ${path}: ${describe(error)}`);
      }
    }
    const holder = await lockHolder(path);
    if (holder !== null && pidAlive(holder)) {
      return halErr(HalStatus.BUSY, `${path} is held by running process ${holder}`);
    }
    // Stale: its process is gone. Removing it races only with another taker doing the same,
    // and the O_EXCL create above decides between them.
    await unlink(path).catch(() => undefined);
  }
  return halErr(HalStatus.BUSY, `${path}: lock taken by another process meanwhile`);
}

async function dirLockRelease(path: string): Promise<void> {
  if ((await lockHolder(path)) === process.pid) await unlink(path).catch(() => undefined);
}

/** Pid written in the lock file; null when unreadable or not a pid (a torn lock file). */
async function lockHolder(path: string): Promise<number | null> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

/** Signal 0 tests for existence; EPERM means it exists under another user. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code: unknown = error.code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
