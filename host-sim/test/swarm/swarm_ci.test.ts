// The bounded swarm CI runs on every submission: 20 seeds of the whole validator under their
// own fault mixes, every invariant that holds on this branch checked after every tap.
//
// The truth is independent of the validator: the cards' own ledgers (what was debited), the
// model of every record the validator reported written, the firmware's journal scanner, and
// the PANs of the population searched for in the stored bytes. SHUAKA_SEED=N moves the seed
// window; a failure names the seed and `shuaka swarm --seed N --taps M` replays it.

import { describe, expect, it } from 'vitest';
import { swarmReplayCommand, swarmSummary } from '../../src/swarm/swarm_cli.js';
import { describeMix } from '../../src/swarm/swarm_mix.js';
import {
  SWARM_CHECKS,
  SWARM_FAULTS,
  type SwarmOptions,
} from '../../src/swarm/swarm_options.js';
import { runSwarm, SWARM_HOOKS_STOCK, type SwarmHooks } from '../../src/swarm/swarm_run.js';
import { testSeed } from '../sim/support/sim_ride.js';

/**
 * Every invariant and every fault runs in CI; `no-pan` (no PAN or track 2 in the journal
 * medium or the log) holds: PANs are sealed and tokenised, track data and names stripped
 * before anything is written.
 */
export const CI_CHECKS = SWARM_CHECKS;
export const CI_FAULTS = SWARM_FAULTS;
const SEEDS = 20;
const TAPS = 40;
const FIRST_SEED = testSeed(1000);

function options(seed: number): SwarmOptions {
  return { seed, taps: TAPS, faults: CI_FAULTS, checks: CI_CHECKS, quietTaps: 4 };
}

describe(`bounded swarm: seeds ${FIRST_SEED}..${FIRST_SEED + SEEDS - 1}, ${TAPS} taps each`, () => {
  for (let i = 0; i < SEEDS; i += 1) {
    const seed = FIRST_SEED + i;
    it(`seed ${seed} holds every invariant`, async () => {
      const result = await runSwarm(options(seed));
      const replay = swarmReplayCommand(result.options);
      console.log(`${swarmSummary(result)}\n  faults: ${describeMix(result.mix)}`);
      expect(result.crash?.message ?? null, `crash; replay: ${replay}`).toBeNull();
      const found = result.violations.map((v) => `[${v.check}] event ${v.event}: ${v.message}`);
      expect(found, `replay: ${replay}`).toEqual([]);
      // The run reached its end: every tap (and the re-taps) happened.
      expect(result.stats.taps, replay).toBeGreaterThanOrEqual(TAPS);
      expect(result.stats.answered, replay).toBeGreaterThan(TAPS / 2);
    });
  }
});

/** The seed's drawn mix with every fault forced on at a high rate (any seed window). */
const FORCED: SwarmHooks = {
  ...SWARM_HOOKS_STOCK,
  tuneMix: (drawn) => ({
    ...drawn,
    powerCutPerTap: Math.max(drawn.powerCutPerTap, 0.03),
    unplugPerTap: Math.max(drawn.unplugPerTap, 0.05),
    paramsUpdatePerTap: 0.4,
    paramsRollbackShare: 0.3,
    paramsCorruptShare: 0.2,
  }),
};

describe('parameter pushes go through the power-safe install (A/B slots, version floor)', () => {
  it('refuses rollbacks and corrupt sets, and boots a whole set after a cut install', async () => {
    const seed = FIRST_SEED + 100;
    const result = await runSwarm({ ...options(seed), taps: 100 }, FORCED);
    const replay = swarmReplayCommand(result.options);
    console.log(swarmSummary(result));
    expect(result.crash?.message ?? null, replay).toBeNull();
    expect(
      result.violations.map((v) => `[${v.check}] ${v.message}`),
      replay,
    ).toEqual([]);
    // The run did what it is about: many pushes, some of them cut by a power loss, and the
    // reader unplugged and reopened.
    expect(result.stats.paramsPushes, replay).toBeGreaterThanOrEqual(20);
    expect(result.stats.paramsCuts, replay).toBeGreaterThan(0);
    expect(result.stats.unplugs, replay).toBeGreaterThan(0);
  });
});

describe('the swarm is deterministic', () => {
  it('replays a seed with faults exactly: same events, same journal bytes', async () => {
    const seed = FIRST_SEED + 7;
    const first = await runSwarm(options(seed), FORCED);
    const second = await runSwarm(options(seed), FORCED);
    expect(second.stats, `seed ${seed}`).toEqual(first.stats);
    expect(second.journalSha256Hex, `seed ${seed}`).toBe(first.journalSha256Hex);
    expect(second.violations, `seed ${seed}`).toEqual(first.violations);
    expect(first.stats.reboots + first.stats.cuts, `seed ${seed} had no reboot`).toBeGreaterThan(0);
  });

  it('gives different seeds different runs', async () => {
    const a = await runSwarm(options(FIRST_SEED));
    const b = await runSwarm(options(FIRST_SEED + 1));
    expect(a.journalSha256Hex).not.toBe(b.journalSha256Hex);
  });
});
