// Peak resident set size of this process, for the figures the journal commands and the
// benchmarks print.
//
// getrusage's ru_maxrss (process.resourceUsage().maxRSS) is the wrong number for a child: Linux
// keeps in it the peak of the memory the process had before its execve, and a process node
// spawns is a fork of its parent until then. A child of a 99 MB parent reports at least 99 MB
// whatever it used itself: the journal bench builds its 10^6-record journal in the parent,
// and its start-up child printed 99 MB where the child's own peak was 84. VmHWM in
// /proc/self/status is the peak of the process's own memory map only.

import { readFileSync } from 'node:fs';

const VM_HWM = /^VmHWM:\s*([0-9]+) kB$/m;

/**
 * This process's peak RSS in bytes: VmHWM where /proc says it (Linux), else getrusage's
 * maxRSS (which may include the parent's before exec, see above). Never throws.
 */
export function peakRssBytes(): number {
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'latin1');
  } catch {
    // No /proc (not Linux, or not mounted): getrusage is all there is.
  }
  const kib = VM_HWM.exec(status)?.[1];
  return kib === undefined ? process.resourceUsage().maxRSS * 1024 : Number(kib) * 1024;
}
