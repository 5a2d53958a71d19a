// `shuaka sim` keeps every record of its ride on the simulated medium (the depot's ack comes
// after the ride): the medium must hold the journal of as many riders as --riders allows.
// A fixed 8 MiB filled at ~6,000 riders (`--riders 6000`: 649 taps out of service, exit 1).
// The truth: the bytes a real run's journal takes per rider (`--journal DIR`, on disk),
// scaled to the largest --riders, fit the medium the sim gives that many riders. And a
// --journal DIR that cannot take the journal (a file-size limit standing for a full disk)
// gets one line and exit 2, and no half journal is left there (it printed a stack trace and
// left a journal that `journal verify` called CORRUPT).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

import { simStorageBytes } from '../../src/sim/sim_board_parts.js';
import { testSeed } from './support/sim_ride.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const RIDERS_MAX = 100_000;
const temp = mkdtempSync(join(tmpdir(), 'shuaka-sim-storage-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('shuaka sim medium (process)', () => {
  it('holdsTheJournalOfTheLargestRun_scaledFromARealRunsBytesPerRider', () => {
    const seed = testSeed(11);
    const riders = 300;
    const journal = join(temp, 'journal');
    const run = spawnSync('node', [BIN, 'sim', '--seed', String(seed), '--riders',
      String(riders), '--torn', '0.5', '--link', 'memory', '--quiet', '--no-depot', '--journal',
      journal], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, `seed ${seed}: ${run.stdout.slice(-2000)}${run.stderr}`).toBe(0);
    const bytes = readdirSync(journal).filter((n) => n.startsWith('journal'))
      .reduce((sum, n) => sum + statSync(join(journal, n)).size, 0);
    const perRider = bytes / riders;
    expect(perRider).toBeGreaterThan(500);
    // Room for the largest run with half as much again (a heavier mix, more re-taps).
    expect(simStorageBytes(RIDERS_MAX)).toBeGreaterThan(RIDERS_MAX * perRider * 1.5);
    expect(simStorageBytes(6_000)).toBeGreaterThan(6_000 * perRider * 1.5);
  }, 180_000);

  it('aJournalDirThatCannotTakeIt_oneLine_exit2_nothingHalfLeft', () => {
    const seed = testSeed(12);
    const journal = join(temp, 'limited');
    // ulimit -f counts KiB: 100 KiB, less than the journal of 300 riders.
    const run = spawnSync('sh', ['-c', `ulimit -f 100; exec '${process.execPath}' '${BIN}' sim `
      + `--seed ${seed} --riders 300 --link memory --quiet --no-depot --journal '${journal}'`],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, `seed ${seed}: ${run.stderr}`).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      `shuaka sim: --journal ${journal}: the journal was not kept (EFBIG: file too large, `
        + 'write); the files this run wrote there are removed',
    ]);
    expect(readdirSync(journal)).toEqual([]);
    // The ride itself was checked and said so.
    expect(run.stdout).toContain('checks: no double charge');
  }, 180_000);
});
