// Lock file of a data directory: one writer at a time (the validator or `shuaka journal ack`).

import { randomBytes } from 'node:crypto';
import { link, open, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { HalStatus, halErr, halOk } from '../ports/hal_status.js';
import type { HalResult } from '../ports/hal_status.js';
import { errorCode } from '../fs/error_code.js';
import { pidAlive, processIdentity } from '../fs/process_identity.js';

/** The lock file's name in a journal directory. */
export const DIR_LOCK_NAME = 'journal.lock';

/** A held lock; `release` removes the lock file if it is still ours. */
export interface DirLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Who wrote a lock file: its pid and, where /proc tells them, the boot and start time. */
interface LockHolder {
  readonly pid: number;
  /** /proc/sys/kernel/random/boot_id when it was written; null in a pid-only lock. */
  readonly bootId: string | null;
  /** The process's start time (clock ticks since boot, /proc/PID/stat field 22). */
  readonly startTicks: string | null;
}

/** Lock paths this process holds now: a second taker in the same process is refused. */
const heldHere = new Set<string>();

/**
 * Takes the lock of `dirPath`: `journal.lock`, holding this process's pid, boot id and start
 * time. A lock whose process no longer runs (a validator killed or a power cut) is stale: it
 * is removed and taken once more. A pid alone does not say the process runs: after a SIGKILL
 * or a reboot the pid is reused, often by the restarted validator itself, so a lock whose boot
 * id or start time differs from the live pid's is stale too. Errors: BUSY (a live process
 * holds it; the detail names its pid), READER_IO.
 */
export async function dirLockAcquire(dirPath: string): Promise<HalResult<DirLock>> {
  const path = join(dirPath, DIR_LOCK_NAME);
  // A stale lock takes two more tries (break it, create), and a stale break lock one more.
  for (let attempt = 0; attempt < 4; attempt += 1) {
    const created = await createWhole(path);
    if (!created.ok) return created;
    if (created.value) {
      heldHere.add(resolve(path));
      return halOk({ path, release: () => dirLockRelease(path) });
    }
    const text = await readText(path);
    if (text === null) continue;
    const holder = lockHolder(text);
    if (holder !== null && (await holderRuns(path, holder))) {
      return halErr(HalStatus.BUSY, `${path} is held by running process ${holder.pid}`);
    }
    const broken = await dirLockBreakStale(path, text);
    if (!broken.ok) return broken;
  }
  return halErr(HalStatus.BUSY, `${path}: lock taken by another process meanwhile`);
}

/**
 * Creates `path` holding this process's lock line, whole or not at all: the line is written
 * and synced in a file of this process's own, then linked to `path` (link fails when `path`
 * exists). An O_EXCL create followed by a write let another taker read the lock empty in
 * between, judge it a torn stale lock and remove it: two holders (6 processes contending:
 * ~30 overlaps in 60 rounds each). A file system without hard links (FAT on an SD card)
 * gets that O_EXCL create: the lock still works, with that narrow window. False when `path`
 * exists. Errors: READER_IO.
 */
async function createWhole(path: string): Promise<HalResult<boolean>> {
  const line = `${await lockLine(process.pid)}\n`;
  const own = `${path}.${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await writeSynced(own, line);
    await link(own, path);
    return halOk(true);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') return halOk(false);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
      return halErr(HalStatus.READER_IO, `lock ${path}: ${describe(error)}`);
    }
  } finally {
    await unlink(own).catch(() => undefined);
  }
  try {
    await writeSynced(path, line);
    return halOk(true);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return halOk(false);
    return halErr(HalStatus.READER_IO, `lock ${path}: ${describe(error)}`);
  }
}

/** Creates `path` (it must not exist), writes `text` and syncs it. Throws the fs error. */
async function writeSynced(path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Removes the lock at `path` if it still reads `staleText`. Takers that found it stale at the
 * same time must not remove each other's new locks (one removes the stale lock and takes
 * `path`, the next, still holding the old verdict, removes that new lock): removal is done by
 * one taker at a time, under `journal.lock.break`, and only after reading the lock again
 * under it. A break lock held by a process that no longer runs (killed inside these few
 * milliseconds) is removed. Exported for its test (another taker's verdict, made before a
 * new lock was taken, must not remove that lock). Errors: READER_IO.
 */
export async function dirLockBreakStale(path: string, staleText: string): Promise<HalResult<void>> {
  const breakPath = `${path}.break`;
  const took = await createWhole(breakPath);
  if (!took.ok) return took;
  if (!took.value) {
    const text = await readText(breakPath);
    const breaker = text === null ? null : lockHolder(text);
    // This very process breaking it (another call under way) is not an earlier life's.
    const ours = text === `${await lockLine(process.pid)}\n`;
    if (text !== null && !ours
      && (breaker === null || !(await holderRuns(breakPath, breaker)))) {
      await unlink(breakPath).catch(() => undefined);
    }
    return halOk(undefined);
  }
  try {
    if ((await readText(path)) === staleText) await unlink(path);
    return halOk(undefined);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return halOk(undefined);
    return halErr(HalStatus.READER_IO, `lock ${path}: ${describe(error)}`);
  } finally {
    await unlink(breakPath).catch(() => undefined);
  }
}

async function dirLockRelease(path: string): Promise<void> {
  heldHere.delete(resolve(path));
  const text = await readText(path);
  if (text !== null && lockHolder(text)?.pid === process.pid) {
    await unlink(path).catch(() => undefined);
  }
}

/**
 * Whether the lock's writer still runs. A lock naming this process that this process did not
 * take is an earlier life's (a validator restarted with the same pid after a power cut).
 */
async function holderRuns(path: string, holder: LockHolder): Promise<boolean> {
  if (heldHere.has(resolve(path))) return true;
  if (holder.pid === process.pid || !pidAlive(holder.pid)) return false;
  const now = await processIdentity(holder.pid);
  // No /proc (or hidden): the live pid is all there is to go by.
  if (now === null) return true;
  // A zombie (killed, not yet reaped by a late init) answers signal 0 but runs no more.
  if (now.state === 'Z' || now.state === 'X') return false;
  if (holder.bootId === null) return true;
  return now.bootId === holder.bootId && now.startTicks === holder.startTicks;
}

/** 'PID' or 'PID BOOT_ID START_TICKS' when /proc tells them. */
async function lockLine(pid: number): Promise<string> {
  const identity = await processIdentity(pid);
  return identity === null ? `${pid}` : `${pid} ${identity.bootId} ${identity.startTicks}`;
}

/** A lock file's text; null when it is not there (or cannot be read). */
async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** A lock file's writer; null when its text is not a lock line (a torn lock file). */
function lockHolder(text: string): LockHolder | null {
  const match = /^([1-9][0-9]{0,9})(?: ([0-9a-f-]{36}) ([0-9]+))?$/.exec(text.trim());
  if (match === null) return null;
  return { pid: Number(match[1]), bootId: match[2] ?? null, startTicks: match[3] ?? null };
}


function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
