// Who a process is, as Linux names it for good: a pid is taken again after its process ends,
// its start time (clock ticks after boot) and the boot id are not. The journal's lock and the
// depot's working copies record it and tell a live writer from a dead one with it.

import { readFile } from 'node:fs/promises';

import { errorCode } from './error_code.js';

/** The boot id, state and start time of `pid` from /proc; null where /proc does not say. */
export async function processIdentity(
  pid: number,
): Promise<{ readonly bootId: string; readonly state: string; readonly startTicks: string }
  | null> {
  try {
    const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and ')': the fields after it follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [state, startTicks] = [fields[0], fields[19]];
    if (!/^[0-9a-f-]{36}$/.test(bootId) || state === undefined || startTicks === undefined) {
      return null;
    }
    return /^[0-9]+$/.test(startTicks) ? { bootId, state, startTicks } : null;
  } catch {
    return null;
  }
}

/** Signal 0 tests for existence; EPERM means it exists under another user. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}
