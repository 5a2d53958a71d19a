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

import { readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const COPY_PREFIX = '.ingest-';
const OWNER_FILE = 'owner';
/** A copy without an owner file left this long is no live ingest's. */
const UNOWNED_COPY_STALE_MS = 3_600_000;

/** Who made a copy; '' where /proc does not say (not Linux). */
interface CopyOwner {
  readonly pid: number;
  readonly startTicks: string;
  readonly pidNs: string;
  readonly bootId: string;
}

/** A new copy directory in `workDir`, its owner file written. Rejects as mkdtemp does. */
export async function ingestCopyDir(workDir: string): Promise<string> {
  const dir = await mkdtemp(join(workDir, `${COPY_PREFIX}${process.pid}-`));
  await writeFile(join(dir, OWNER_FILE), JSON.stringify(ownerOf('self', process.pid)),
    { mode: 0o600 });
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
  const self = ownerOf('self', process.pid);
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
  const now = ownerOf(String(owner.pid), owner.pid);
  if (owner.startTicks === '' || now.startTicks === '') return !processAlive(owner.pid);
  return now.startTicks !== owner.startTicks;
}

/** The owner record of process `proc` ('self' or a pid) as /proc shows it now. */
function ownerOf(proc: string, pid: number): CopyOwner {
  return {
    pid,
    startTicks: procRead(() => startTicksOf(readFileSync(`/proc/${proc}/stat`, 'utf8'))),
    pidNs: procRead(() => readlinkSync('/proc/self/ns/pid')),
    bootId: procRead(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()),
  };
}

/** Field 22 of /proc/PID/stat (start time, clock ticks after boot); the name may hold ')'. */
function startTicksOf(stat: string): string {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

function procRead(read: () => string): string {
  try {
    return read();
  } catch {
    return '';
  }
}

/** False only when no process has this pid (EPERM: one exists, another user's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
