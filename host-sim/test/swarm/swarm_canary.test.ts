// Canaries: each puts one defect of issue 11 back (or a plain bug of the same family) and
// asserts the swarm catches it, with the check and exit code it must report. A swarm that let
// one of these through would be testing nothing.

import { describe, expect, it } from 'vitest';
import { testPki } from '../../src/pki/test_pki.js';
import { riderPool } from '../../src/sim/bus_riders.js';
import { swarmExitCode, swarmReplayCommand } from '../../src/swarm/swarm_cli.js';
import {
  SWARM_CANARIES,
  swarmCanary,
  type SwarmCanaryName,
} from '../../src/swarm/swarm_canaries.js';
import {
  SWARM_EXIT_CRASH,
  SWARM_EXIT_LIVENESS,
  SWARM_EXIT_VIOLATION,
} from '../../src/swarm/swarm_options.js';
import { runSwarm, SWARM_CARD_GROUPS } from '../../src/swarm/swarm_run.js';
import { testSeed } from '../sim/support/sim_ride.js';

const SEED = testSeed(4242);
const TAPS = 80;

async function runCanary(name: SwarmCanaryName) {
  const canary = swarmCanary(name, riderPool(SEED, SWARM_CARD_GROUPS, testPki()));
  const options = {
    seed: SEED,
    taps: TAPS,
    faults: canary.faults,
    checks: canary.checks,
    quietTaps: 4,
  };
  const result = await runSwarm(options, canary.hooks);
  const where = `canary ${name}: ${canary.defect}; seed ${SEED} (${swarmReplayCommand(options)})`;
  return { canary, result, where };
}

describe(`canaries: the swarm catches defects put back (seed ${SEED})`, () => {
  it('knows every canary', () => {
    expect(SWARM_CANARIES.length).toBeGreaterThanOrEqual(6);
  });

  for (const name of SWARM_CANARIES) {
    it(`catches ${name}`, async () => {
      const { canary, result, where } = await runCanary(name);
      const checks = result.violations.map((v) => v.check);
      console.log(
        `${where}\n  -> ${result.crash === null ? '' : 'crash; '}` +
          result.violations
            .slice(0, 3)
            .map((v) => `[${v.check}] event ${v.event}: ${v.message}`)
            .join('; '),
      );
      if (canary.caughtBy.length === 0) {
        expect(result.crash, where).not.toBeNull();
        expect(swarmExitCode(result), where).toBe(SWARM_EXIT_CRASH);
        return;
      }
      expect(result.crash?.message ?? null, where).toBeNull();
      expect(
        checks.some((c) => canary.caughtBy.includes(c)),
        `${where}: found ${checks.join(', ')}`,
      ).toBe(true);
      const exit = canary.caughtBy.includes('liveness')
        ? SWARM_EXIT_LIVENESS
        : SWARM_EXIT_VIOLATION;
      expect(swarmExitCode(result), where).toBe(exit);
      // The run stops at the event that found it, well before its end.
      expect(result.stats.taps, where).toBeLessThan(TAPS + 40);
    });
  }
});
