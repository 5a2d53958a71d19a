// T-Union riders in the swarm. The truth is each T-Union card twin's own debit list (what the
// card counted at DEBIT FOR PURCHASE and at which offline serial), set against the journal's
// grey and final records and the depot's lines by the model. The canary of the proof recovery
// (swarm_canary.test.ts) is caught; here the same seed and fault mix, without the defect,
// holds every invariant and does finish torn debits by the card's proof.

import { describe, expect, it } from 'vitest';
import { testPki } from '../../src/pki/test_pki.js';
import { riderPool } from '../../src/sim/bus_riders.js';
import { swarmReplayCommand, swarmSummary } from '../../src/swarm/swarm_cli.js';
import { swarmCanary } from '../../src/swarm/swarm_canaries.js';
import { drawSwarmMix, SWARM_TUNION_SHARE_PERCENT } from '../../src/swarm/swarm_mix.js';
import { SWARM_FAULTS } from '../../src/swarm/swarm_options.js';
import { runSwarm, SWARM_CARD_GROUPS, SWARM_HOOKS_STOCK } from '../../src/swarm/swarm_run.js';
import { Prng } from '../../src/prng.js';
import { testSeed } from '../sim/support/sim_ride.js';

const SEED = testSeed(4242);

describe('T-Union riders in the swarm', () => {
  it('finish torn T-Union debits by proof under the recovery canary\'s faults, defect off',
    async () => {
      const canary = swarmCanary('tunion-recovery-off',
        riderPool(SEED, SWARM_CARD_GROUPS, testPki()));
      const options = { seed: SEED, taps: 120, faults: canary.faults, checks: canary.checks,
        quietTaps: 4 };
      // The canary's mix (many T-Union riders, pulled and cut often) on the stock validator.
      const result = await runSwarm(options, { ...SWARM_HOOKS_STOCK,
        tuneMix: canary.hooks.tuneMix });
      const replay = swarmReplayCommand(options);
      console.log(swarmSummary(result));
      expect(result.crash?.message ?? null, replay).toBeNull();
      expect(result.violations.map((v) => `[${v.check}] event ${v.event}: ${v.message}`),
        replay).toEqual([]);
      expect(result.stats.tunionApproved, replay).toBeGreaterThan(20);
      // Torn debits happened and were finished by GET TRANSACTION PROOF (the path the canary
      // turns off).
      expect(result.stats.tunionRecovered, replay).toBeGreaterThan(0);
    }, 120_000);

  it('draws each seed\'s share of T-Union taps within its bounds, some low, some high', () => {
    const shares = Array.from({ length: 200 }, (_, i) =>
      drawSwarmMix(new Prng(i).fork('mix'), SWARM_FAULTS).tunionShare);
    const { low, high } = SWARM_TUNION_SHARE_PERCENT;
    for (const share of shares) {
      expect(share).toBeGreaterThanOrEqual(low / 100);
      expect(share).toBeLessThanOrEqual(high / 100);
    }
    expect(Math.min(...shares)).toBeLessThan(0.1);
    expect(Math.max(...shares)).toBeGreaterThan(0.35);
  });
});
