// Whether the PC/SC stack the vpcd tests need is installed; loud when it is not.

import { spawnSync } from 'node:child_process';
import { checkPcscStack } from './pcscd_private.js';

/**
 * Null when pcscd, the vpcd driver and `tools` (programs on PATH, for instance pcsc_scan) are
 * present; otherwise the reason. Under CI (`CI=true`) a missing piece throws Error instead,
 * because a PC/SC path left untested there would hide a broken pipeline.
 */
export function pcscStackMissing(tools: readonly string[], context: string): string | null {
  const stack = checkPcscStack();
  const missing: string[] = stack.ok ? [] : [stack.missing];
  for (const tool of tools) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) missing.push(tool);
  }
  if (missing.length === 0) return null;
  const message =
    `${context}: NOT RUN, missing ${missing.join(', ')} ` +
    '(Debian: apt-get install -y pcscd vsmartcard-vpcd pcsc-tools libpcsclite-dev)';
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI requires them`);
  console.warn(`\n!!!!!!!! ${message}\n`);
  return message;
}
