// Starts `shuaka sim --web` as a real process for the web tests, and stops it by SIGINT.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = join(ROOT, 'bin', 'shuaka.js');

/** Debian's chromium (.ci/setup installs it); SHUAKA_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env['SHUAKA_CHROMIUM'] ?? '/usr/bin/chromium';

/**
 * True when Chromium is there; else `test` says it is skipped (the page tests cannot run
 * here), and on CI, which must have it, throws.
 */
export function chromiumReady(test: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${test}: SKIPPED because ${CHROMIUM} is missing (Debian: apt-get install -y `
    + 'chromium fonts-wqy-microhei)';
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI requires it`);
  console.warn(`\n!!!!!!!! ${message}\n`);
  return false;
}

/** A running `sim --web` and what it printed so far. */
export interface WebProcess {
  readonly child: ChildProcess;
  readonly url: string;
  output(): { stdout: string; stderr: string };
  /** SIGINT, then the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns `node bin/shuaka.js sim --web ...args` and waits for the URL it prints. */
export async function startWebProcess(args: readonly string[]): Promise<WebProcess> {
  const child = spawn(process.execPath, [BIN, 'sim', '--web', ...args], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed: ${stdout} ${stderr}`)), 30_000);
    const look = (): void => {
      const found = /http:\/\/127\.0\.0\.1:[0-9]+\//.exec(stdout);
      if (found !== null) {
        clearTimeout(timer);
        resolve(found[0]);
      }
    };
    child.stdout.on('data', look);
    void exited.then((code) => reject(new Error(`exited ${code}: ${stdout} ${stderr}`)));
  });
  return {
    child,
    url,
    output: () => ({ stdout, stderr }),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      return exited;
    },
  };
}
