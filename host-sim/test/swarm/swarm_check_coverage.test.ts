// What the swarm says it checks, it checks: the no-pan check at rest covers every checkpoint
// the validator writes, also one written and reclaimed between two full checks (seed 357 at
// 600 taps wrote 69 checkpoints and searched 58; the truth: the checkpoint bytes the storage
// port was handed, each among the bytes the PAN finder searched); the whole-medium check runs
// every 64 taps, re-taps counted (it ran at multiples of 64 only: 256 taps went unchecked).

import { afterEach, describe, expect, it, vi } from 'vitest';

import type { StoragePort } from '../../../hal/src/ports/storage_port.js';
import type { StorageSim } from '../../src/storage_sim.js';
import { SWARM_CHECKS, SWARM_FAULTS } from '../../src/swarm/swarm_options.js';
import { PanFinder } from '../../src/swarm/swarm_pan.js';
import { SwarmModel } from '../../src/swarm/swarm_model.js';
import { runSwarm, SWARM_HOOKS_STOCK } from '../../src/swarm/swarm_run.js';
import { SWARM_FULL_CHECK_EVERY } from '../../src/swarm/swarm_session.js';
import { testSeed } from '../sim/support/sim_ride.js';

const SEED = testSeed(357);
const TAPS = 600;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('swarm check coverage', () => {
  it('searchesEveryCheckpointWritten_evenOneReclaimedBeforeTheNextFullCheck', async () => {
    const searched: Buffer[] = [];
    const find = PanFinder.prototype.findInBytes;
    vi.spyOn(PanFinder.prototype, 'findInBytes').mockImplementation(function (
      this: PanFinder, bytes: Uint8Array) {
      searched.push(Buffer.from(bytes));
      return find.call(this, bytes);
    });
    const written: { name: string; bytes: Buffer }[] = [];
    const journalPort = (storage: StorageSim): StoragePort => new Proxy(storage, {
      get: (target, property) => {
        if (property === 'replace') {
          return async (name: string, bytes: Uint8Array) => {
            const done = await target.replace(name, bytes);
            if (done.ok && name.endsWith('.ckpt')) written.push({ name, bytes: Buffer.from(bytes) });
            return done;
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function'
          ? (value as (...args: unknown[]) => unknown).bind(target)
          : value;
      },
    });
    const result = await runSwarm({ seed: SEED, taps: TAPS, faults: SWARM_FAULTS,
      checks: SWARM_CHECKS, quietTaps: 4 }, { ...SWARM_HOOKS_STOCK, journalPort });
    const where = `seed ${SEED}, ${TAPS} taps`;
    expect(result.violations, where).toEqual([]);
    expect(written.length, where).toBeGreaterThan(20);
    const never = written.filter((w) => !searched.some((s) => s.includes(w.bytes)));
    expect(never.map((w) => w.name), where).toEqual([]);
  }, 120_000);

  it('runsTheWholeMediumCheck_every64Taps_reTapsCounted', async () => {
    const at: number[] = [];
    const fullCheck = SwarmModel.prototype.fullCheck;
    vi.spyOn(SwarmModel.prototype, 'fullCheck').mockImplementation(function (
      this: SwarmModel, storage: StorageSim, where: string) {
      if (where === 'periodic') at.push(this.event + 1);
      fullCheck.call(this, storage, where);
    });
    const result = await runSwarm({ seed: testSeed(359), taps: 1000, faults: SWARM_FAULTS,
      checks: SWARM_CHECKS, quietTaps: 4 });
    const where = `seed ${testSeed(359)}, 1000 taps`;
    expect(result.violations, where).toEqual([]);
    // Each periodic check comes within 64 taps of the one before (a fare's re-taps may carry
    // it a few taps past the 64th), and the last one within 64 + a fare of the end.
    const gaps = [...at, result.stats.taps].map((t, i) => t - (i === 0 ? 0 : at[i - 1] ?? 0));
    expect(Math.max(...gaps), `${where}: checks after taps ${at.join(',')}`)
      .toBeLessThan(SWARM_FULL_CHECK_EVERY + 8);
    expect(at.length, where).toBeGreaterThanOrEqual(Math.floor(result.stats.taps / 72));
  }, 120_000);
});
