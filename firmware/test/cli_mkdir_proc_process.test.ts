// A directory the commands make, named under /proc: mkdir answers ENOENT under a parent that
// exists, and node's recursive mkdir (sync or not) retries that for ever at full CPU, deaf to
// SIGTERM. Each command must instead end at once with its own exit code and the reason
// (hal/src/fs/mkdir_parents.ts). Real processes; a command still running after the guard is
// killed, and its null status fails the test.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const GUARD_MS = 30_000;
const temp = mkdtempSync(join(tmpdir(), 'shuaka-mkdir-proc-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const CASES: readonly (readonly [string, readonly string[], number])[] = [
  ['depot init', ['depot', 'init', '--dir', '/proc/shuaka-x/depot'], 1],
  ['sim --journal', ['sim', '--journal', '/proc/shuaka-x/journal', '--link', 'memory',
    '--quiet', '--no-depot', '--riders', '1'], 2],
  ['emu --dir', ['emu', '--dir', '/proc/shuaka-x/emu'], 1],
  ['params init', ['params', 'init', '--deny-key', join(temp, 'deny.key'),
    '/proc/shuaka-x/set'], 1],
];

describe('a directory to make under /proc (subprocess)', () => {
  it.each(CASES)('%s ends at once with its exit code and ENOENT', (_name, argv, code) => {
    const run = spawnSync(process.execPath, [BIN, ...argv], {
      cwd: temp, encoding: 'utf8', timeout: GUARD_MS, input: '',
    });
    expect(run.signal, 'still making the directory when the guard ran out').toBeNull();
    expect(run.status, run.stderr).toBe(code);
    expect(run.stderr).toMatch(/ENOENT/);
  }, GUARD_MS + 10_000);
});
