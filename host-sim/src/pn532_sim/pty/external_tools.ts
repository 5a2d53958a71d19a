// Checks for the external programs the pty and libnfc tests need; loud when they are missing.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** A program on PATH, or "pkg-config:<module>" for a development library. */
export type ExternalTool = string;

/** The tools missing on this machine, in the order asked. */
export function missingTools(tools: readonly ExternalTool[]): ExternalTool[] {
  return tools.filter((tool) => !toolPresent(tool));
}

/**
 * True when every tool is present. Otherwise: under CI (`CI=true`) throws, because a skipped
 * conformance check there would hide a broken pipeline; elsewhere prints a loud warning and
 * returns false so the caller's test can return early.
 */
export function externalToolsReady(tools: readonly ExternalTool[], context: string): boolean {
  const missing = missingTools(tools);
  if (missing.length === 0) return true;
  const message =
    `${context}: SKIPPED because these tools are missing: ${missing.join(', ')} ` +
    '(Debian: apt-get install -y socat libnfc-bin libnfc-examples libnfc-pn53x-examples ' +
    'libnfc-dev gcc pkg-config)';
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI requires them`);
  console.warn(`\n!!!!!!!! ${message}\n`);
  return false;
}

function toolPresent(tool: ExternalTool): boolean {
  if (tool.startsWith('pkg-config:')) {
    const r = spawnSync('pkg-config', ['--exists', tool.slice('pkg-config:'.length)]);
    return r.status === 0;
  }
  const dirs = (process.env['PATH'] ?? '').split(path.delimiter).filter((d) => d !== '');
  return dirs.some((dir) => {
    try {
      fs.accessSync(path.join(dir, tool), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
