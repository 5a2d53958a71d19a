// `shuaka sim` keeps every record of its ride on the simulated medium (the depot's ack comes
// after the ride): the medium must hold the journal of as many riders as --riders allows.
// A fixed 8 MiB filled at ~6,000 riders (`--riders 6000`: 649 taps out of service, exit 1).
// The truth: the bytes a real run's journal takes per rider (`--journal DIR`, on disk),
// scaled to the largest --riders, fit the medium the sim gives that many riders.

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
});
