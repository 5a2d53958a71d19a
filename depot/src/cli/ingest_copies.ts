// The working copies `shuaka depot ingest` makes of an export (clear PANs included) in the
// depot's directory, and the sweep of those interrupted ingests left (SIGKILL, a power cut).
//
// A copy is `.ingest-PID-XXXXXX` with an `owner` file: the process that made it as Linux
// names it for good (pid, its start time in clock ticks, its pid namespace, the boot). A
// copy is swept when its owner is certainly gone: another boot, or the same namespace and
// no process with that pid and start time (a pid taken again by another process is not its
// owner). An owner in another pid namespace (an ingest in a container sharing the
// directory) cannot be judged from here: its copy is kept. A copy with no owner file (an
// older build's, or one cut before it was written) is swept once untouched for an hour.

import { mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { pidAlive, processIdentity } from '../../../hal/src/fs/process_identity.js';

const COPY_PREFIX = '.ingest-';
const OWNER_FILE = 'owner';
/** A copy without an owner file left this long is no live ingest's. */
const UNOWNED_COPY_STALE_MS = 3_600_000;

/** Who made a copy (process_identity.ts); '' where /proc does not say (not Linux). */
interface CopyOwner {
  readonly pid: number;
  readonly startTicks: string;
  readonly pidNs: string;
  readonly bootId: string;
}

/**
 * A new copy directory in `workDir`, its owner file written; `made` hears of it as soon as it
 * exists (a signal's cleanup must know it before the owner file is written). Rejects as
 * mkdtemp does.
 */
export async function ingestCopyDir(workDir: string, made: (dir: string) => void = () => {})
  : Promise<string> {
  const dir = await mkdtemp(join(workDir, `${COPY_PREFIX}${process.pid}-`));
  made(dir);
  await writeFile(join(dir, OWNER_FILE), JSON.stringify(await ownerSelf()), { mode: 0o600 });
  return dir;
}

/**
 * Removes the copies interrupted ingests left in `workDir` (see the top of this file).
 * Returns how many were removed; one it cannot read or remove is left. Never throws.
 */
export async function ingestCopiesSweep(workDir: string, nowMs: number): Promise<number> {
  let names: string[];
  try {
    names = await readdir(workDir);
  } catch {
    return 0;
  }
  const self = await ownerSelf();
  let removed = 0;
  for (const name of names) {
    if (!name.startsWith(COPY_PREFIX)) continue;
    const path = join(workDir, name);
    if (!(await copyAbandoned(path, self, nowMs))) continue;
    try {
      await rm(path, { recursive: true, force: true });
      removed += 1;
    } catch {
      // Left for the next ingest; the operator sees it in the directory.
    }
  }
  return removed;
}

async function copyAbandoned(path: string, self: CopyOwner, nowMs: number): Promise<boolean> {
  let owner: CopyOwner;
  try {
    owner = JSON.parse(await readFile(join(path, OWNER_FILE), 'utf8')) as CopyOwner;
  } catch {
    try {
      return (await stat(path)).mtimeMs < nowMs - UNOWNED_COPY_STALE_MS;
    } catch {
      return false;
    }
  }
  if (self.bootId !== '' && owner.bootId !== '' && owner.bootId !== self.bootId) return true;
  if (owner.pidNs !== self.pidNs) return false;
  if (!Number.isSafeInteger(owner.pid) || owner.pid <= 0) return true;
  const now = await processIdentity(owner.pid);
  // No /proc here: the live pid is all there is to go by.
  if (self.startTicks === '' || owner.startTicks === '') return !pidAlive(owner.pid);
  if (now === null || now.state === 'Z' || now.state === 'X') return true;
  return now.startTicks !== owner.startTicks;
}

/** This process as a copy's owner file records it. */
async function ownerSelf(): Promise<CopyOwner> {
  const identity = await processIdentity(process.pid);
  let pidNs = '';
  try {
    pidNs = await readlink('/proc/self/ns/pid');
  } catch {
    // Not Linux: every copy counts as this namespace's.
  }
  return { pid: process.pid, startTicks: identity?.startTicks ?? '', pidNs,
    bootId: identity?.bootId ?? '' };
}
