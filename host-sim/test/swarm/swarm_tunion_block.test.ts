// Deny-listed T-Union riders in the swarm. The truth is each deny-listed card twin's own state
// (blocked or not) and debit list, set against the journal's block records on the medium and
// the depot's lines by the model (swarm_tunion_blocks.ts). The canary that records the block
// only after the card's answer (swarm_canary.test.ts) is caught; here the same seed and fault
// mix, without the defect, holds every invariant and does block cards, each with its pending
// record before the command.

import { describe, expect, it } from 'vitest';
import type { Journal } from '../../../firmware/src/app/journal/journal.js';
import { testPki } from '../../src/pki/test_pki.js';
import { Prng } from '../../src/prng.js';
import { riderPool } from '../../src/sim/bus_riders.js';
import { swarmReplayCommand, swarmSummary } from '../../src/swarm/swarm_cli.js';
import { swarmCanary } from '../../src/swarm/swarm_canaries.js';
import { drawSwarmMix } from '../../src/swarm/swarm_mix.js';
import { SWARM_FAULTS } from '../../src/swarm/swarm_options.js';
import { runSwarm, SWARM_CARD_GROUPS, SWARM_HOOKS_STOCK } from '../../src/swarm/swarm_run.js';
import { testSeed } from '../sim/support/sim_ride.js';

const SEED = testSeed(4242);

/** The journal as the validator writes it, counting the block records by outcome. */
function countingBlocks(counts: Map<string, number>): (journal: Journal) => Journal {
  return (journal) => new Proxy(journal, {
    get: (target, property) => {
      if (property === 'append') {
        return async (entry: Parameters<Journal['append']>[0]) => {
          const written = await target.append(entry);
          if (written.ok && entry.kind === 'tunion_blocked') {
            counts.set(entry.blockOutcome, (counts.get(entry.blockOutcome) ?? 0) + 1);
          }
          return written;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

describe('deny-listed T-Union riders in the swarm', () => {
  it('are blocked with a pending record first under the canary\'s cuts, defect off', async () => {
    const canary = swarmCanary('tunion-block-after-answer',
      riderPool(SEED, SWARM_CARD_GROUPS, testPki()));
    const options = { seed: SEED, taps: 120, faults: canary.faults, checks: canary.checks,
      quietTaps: 4 };
    const counts = new Map<string, number>();
    // The canary's mix (many deny-listed riders, power cuts often) on the stock validator.
    const result = await runSwarm(options, { ...SWARM_HOOKS_STOCK,
      tuneMix: canary.hooks.tuneMix, wrapJournal: countingBlocks(counts) });
    const replay = swarmReplayCommand(options);
    console.log(swarmSummary(result), Object.fromEntries(counts));
    expect(result.crash?.message ?? null, replay).toBeNull();
    expect(result.violations.map((v) => `[${v.check}] event ${v.event}: ${v.message}`),
      replay).toEqual([]);
    expect(result.stats.cuts, replay).toBeGreaterThan(5);
    // Cards were blocked (a final 'blocked' each), every command sent after its pending
    // record; some pending records never got their final (the power went).
    expect(counts.get('blocked') ?? 0, replay).toBeGreaterThan(2);
    expect(counts.get('pending') ?? 0, replay)
      .toBeGreaterThan((counts.get('blocked') ?? 0) + (counts.get('not-confirmed') ?? 0));
  }, 120_000);

  it('come to half the seeds, 2 to 10 % of their T-Union taps', () => {
    let on = 0;
    for (let seed = 0; seed < 200; seed += 1) {
      const share = drawSwarmMix(new Prng(seed).fork('mix'), SWARM_FAULTS).tunionDeniedShare;
      if (share > 0) on += 1;
      expect(share === 0 || (share >= 0.02 && share <= 0.1), `seed ${seed}: ${share}`).toBe(true);
    }
    expect(on).toBeGreaterThan(70);
    expect(on).toBeLessThan(130);
  });
});
