// A flag given twice, on the real `shuaka` binary: every command family (cliParse, the
// journal's own boolean flags, parseArgs with cliFlagsChecked, emu, bench) names the flag and
// exits 2, before it opens, reads or writes anything. The truth is the process's exit code
// and stderr, and that the journal directory named is never created.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shuaka-flags-twice-'));
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a flag given twice (real subprocess)', () => {
  it('isRefusedByName_withExit2_byEveryCommandFamily', () => {
    const journal = join(dir, 'never');
    const cases: [string[], string][] = [
      [['journal', 'export', '--salvage', '--salvage', '--journal', journal], '--salvage'],
      [['journal', 'verify', '--stats', '--journal', journal, '--stats'], '--stats'],
      [['journal', 'verify', '--journal', journal, '--journal', journal], '--journal'],
      [['swarm', '--seed', '1', '--taps', '5', '--seed', '2'], '--seed'],
      [['sim', '--riders', '3', '--riders', '4'], '--riders'],
      [['emu', '--display', '--display'], '--display'],
      [['depot', 'report', '--db', join(dir, 'a.db'), '--db', join(dir, 'b.db')], '--db'],
      [['bench', '--taps', '5', '--taps', '6'], '--taps'],
    ];
    for (const [args, flag] of cases) {
      const run = spawnSync(process.execPath, [BIN, ...args], {
        cwd: ROOT, encoding: 'utf8', timeout: 60_000,
      });
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain(`${flag} given twice: give it once`);
    }
    expect(existsSync(journal)).toBe(false);
    expect(existsSync(join(dir, 'a.db'))).toBe(false);
  }, 120_000);
});
