// Finds external tools for conformance tests: missing tools fail in CI and warn loudly elsewhere.

import { spawnSync } from 'node:child_process';

/** True when `command` runs. */
export function haveTool(command: string, args: readonly string[] = ['--version']): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore' });
  return result.error === undefined;
}

/**
 * Checks that the tools exist. In CI (CI=true) a missing tool throws, failing the test; outside
 * CI it prints a loud warning and returns false so the caller can return early.
 */
export function requireTools(purpose: string, commands: readonly string[]): boolean {
  const missing = commands.filter((c) => !haveTool(c));
  if (missing.length === 0) return true;
  const message = `${purpose}: missing ${missing.join(', ')} (apt-get install -y wabt socat libnfc-bin ...)`;
  if (process.env['CI'] === 'true') throw new Error(`${message}: required in CI`);
  console.warn(`\n!!! SKIPPED ${message}\n`);
  return false;
}
