// PSAM faults in the swarm (fault `psam`). The canary `psam-failure-no-debit` (a PSAM failure
// after the card's DEBIT taken for no debit, its grey record dropped) is caught in
// swarm_canary.test.ts; here the same seed and mix on the stock validator hold every invariant
// while CREDIT SAM FOR PURCHASE fails after real debits, each way the slot can fail it. The truth
// is the card twins' own debits (the model) and what the PSAM port answered (counted beside).

import { describe, expect, it } from 'vitest';
import type { PsamPort } from '../../../hal/src/ports/psam_port.js';
import { testPki } from '../../src/pki/test_pki.js';
import { Prng } from '../../src/prng.js';
import { riderPool } from '../../src/sim/bus_riders.js';
import { swarmReplayCommand, swarmSummary } from '../../src/swarm/swarm_cli.js';
import { swarmCanary } from '../../src/swarm/swarm_canaries.js';
import { SWARM_PSAM_OUT_MS_MAX } from '../../src/swarm/swarm_events.js';
import { drawSwarmMix, type SwarmMix } from '../../src/swarm/swarm_mix.js';
import { SWARM_FAULTS } from '../../src/swarm/swarm_options.js';
import { runSwarm, SWARM_CARD_GROUPS, SWARM_HOOKS_STOCK } from '../../src/swarm/swarm_run.js';
import { SWARM_REBOOT_MS } from '../../src/swarm/swarm_session.js';
import { testSeed } from '../sim/support/sim_ride.js';

const SEED = testSeed(4242);

/** The port as it is, counting how CREDIT SAM FOR PURCHASE (80 72) ended: SW or HAL error. */
function countingCredits(counts: Map<string, number>): (inner: PsamPort) => PsamPort {
  return (inner) => ({
    powerOn: (options) => inner.powerOn(options),
    transmit: async (capdu, options) => {
      const answer = await inner.transmit(capdu, options);
      if (capdu[0] === 0x80 && capdu[1] === 0x72) {
        const end = answer.ok ? Buffer.from(answer.value.subarray(-2)).toString('hex')
          : answer.error;
        counts.set(end, (counts.get(end) ?? 0) + 1);
      }
      return answer;
    },
    powerOff: () => inner.powerOff(),
    slotState: () => inner.slotState(),
  });
}

/** The mix less its PSAM fields. */
function withoutPsam(mix: SwarmMix): Record<string, unknown> {
  return Object.fromEntries(Object.entries(mix).filter(([name]) => !name.startsWith('psam')));
}

describe('PSAM faults in the swarm', () => {
  it('hold every invariant with CREDIT SAM failing after real debits (the canary\'s mix)',
    async () => {
      const canary = swarmCanary('psam-failure-no-debit',
        riderPool(SEED, SWARM_CARD_GROUPS, testPki()));
      const options = { seed: SEED, taps: 120, faults: canary.faults, checks: canary.checks,
        quietTaps: 4 };
      const credits = new Map<string, number>();
      const result = await runSwarm(options, { ...SWARM_HOOKS_STOCK,
        tuneMix: canary.hooks.tuneMix, wrapPsam: countingCredits(credits) });
      const replay = swarmReplayCommand(options);
      console.log(`${swarmSummary(result)}\n  CREDIT SAM: ${JSON.stringify([...credits])}`);
      expect(result.crash?.message ?? null, replay).toBeNull();
      expect(result.violations.map((v) => `[${v.check}] event ${v.event}: ${v.message}`),
        replay).toEqual([]);
      // Each way of failing after DEBIT happened: no answer, the card lost, an error word.
      const count = (end: string): number => credits.get(end) ?? 0;
      expect(count('TIMEOUT'), replay).toBeGreaterThan(0);
      expect(count('CARD_GONE'), replay).toBeGreaterThan(0);
      const words = [...credits].filter(([end]) => /^[0-9a-f]{4}$/.test(end) && end !== '9000');
      expect(words.length, replay).toBeGreaterThan(0);
      expect(count('9000'), replay).toBeGreaterThan(10);
      expect(result.stats.psamFaults, replay).toBeGreaterThan(5);
      // A refused MAC2 check leaves the debit's grey open: the card's next tap finished one.
      expect(result.stats.tunionRecovered, replay).toBeGreaterThan(0);
    }, 120_000);

  it('are drawn after every other fault: a seed draws the rest as it did without them', () => {
    const without = SWARM_FAULTS.filter((f) => f !== 'psam');
    let on = 0;
    for (let seed = 0; seed < 200; seed += 1) {
      const all = drawSwarmMix(new Prng(seed).fork('mix'), SWARM_FAULTS);
      const before = drawSwarmMix(new Prng(seed).fork('mix'), without);
      expect(withoutPsam(all), `seed ${seed}`).toEqual(withoutPsam(before));
      expect(before.psamFaultPerTap).toBe(0);
      if (all.psamFaultPerTap > 0) {
        on += 1;
        expect(all.psamFaultPerTap).toBeGreaterThanOrEqual(0.02);
        expect(all.psamFaultPerTap).toBeLessThanOrEqual(0.3);
        expect(all.psamPulledShare).toBeLessThanOrEqual(0.5);
        expect(all.psamCreditShare).toBeGreaterThanOrEqual(0.25);
        expect(all.psamCreditShare).toBeLessThanOrEqual(0.75);
      }
    }
    // Each fault is on for about two seeds in three.
    expect(on).toBeGreaterThan(100);
    expect(on).toBeLessThan(170);
  });

  it('a pulled PSAM is back before a rebooted board starts (the boot needs it)', () => {
    expect(SWARM_PSAM_OUT_MS_MAX).toBeLessThan(SWARM_REBOOT_MS);
  });
});
