// A real pid reuse on demand: Linux hands out the pid after /proc/sys/kernel/ns_last_pid
// (writable by root, as the tests and CI run), so a process spawned right after writing P - 1
// gets pid P, the pid of a process that died. That is what a reboot or a restart does to the
// pid a SIGKILLed validator left in its lock file.

import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';
/** Another process of the machine may take the pid between the write and the spawn. */
const TRIES = 20;

/**
 * Spawns (with `spawnIt`) until the child gets `pid`; kills the children that missed it.
 * Throws when the kernel refuses the write or `pid` stays taken by another process.
 */
export async function spawnWithPid(
  pid: number,
  spawnIt: () => ChildProcess,
): Promise<ChildProcess> {
  for (let attempt = 0; attempt < TRIES; attempt += 1) {
    writeFileSync(NS_LAST_PID, String(pid - 1));
    const child = spawnIt();
    if (child.pid === pid) return child;
    const gone = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGKILL');
    await gone;
  }
  throw new Error(`pid ${pid} could not be reused in ${TRIES} tries (${NS_LAST_PID})`);
}
