// The swarm's signed parameter sets: a version after the first is its own manifest over the
// first set's content files, byte for byte the set `writeDefaultParams` signs for it.

import { describe, expect, it } from 'vitest';

import { Prng } from '../../src/prng.js';
import { simSigningKey } from '../../src/sim/sim_board_parts.js';
import { SWARM_HOOKS_STOCK, swarmWorld } from '../../src/swarm/swarm_run.js';
import { SWARM_CHECKS, SWARM_FAULTS } from '../../src/swarm/swarm_options.js';
import { swarmParamsSigned } from '../../src/swarm/swarm_params.js';

describe('SwarmParams', () => {
  it('everyVersion_isTheSetWriteDefaultParamsSigns', async () => {
    const seed = 5;
    const world = await swarmWorld(
      { seed, taps: 10, faults: SWARM_FAULTS, checks: SWARM_CHECKS, quietTaps: 4 },
      SWARM_HOOKS_STOCK,
    );
    const params = world.params;
    for (let v = 2; v <= 4; v += 1) expect((await params.pushNewer()).ok).toBe(true);
    // The run's signing key, as SwarmParams draws it (swarm_run.ts forks 'params').
    const prng = new Prng(seed).fork('params');
    const { privateKey } = simSigningKey(prng.fork('params-key'));
    for (let v = 1; v <= 4; v += 1) {
      const expected = await swarmParamsSigned(world.boardOptions, privateKey, prng, v);
      const image = params.signedImage(v);
      expect(image === null ? null : [...image], `version ${v}`).toEqual([...expected]);
    }
  });
});
