// The quiet tail lets an uploader the depot link starved catch up. Swarm seed 24 with --taps
// 20000 failed liveness in its tail: batches of 4 and a link failing half its calls left 1,809
// records unacknowledged, the journal (8 MiB) full and the validator rightly out of service,
// and the tail stopped every fault but the link's, for a few taps. That run takes minutes;
// here the same situation is made in 5,700 taps (10-15 s) with the swarm's own mix hook: the
// depot fault alone, every call failing, batches of 4. The truth is the validator's own tap
// reports (out of service for a full journal before the tail) and the swarm's checks (every
// record the depot got is the journal's, the tail's riders answered in service).

import { describe, expect, it } from 'vitest';
import type { DepotPort } from '../../../firmware/src/app/upload/depot_port.js';
import type { LogPort } from '../../../firmware/src/app/validator/validator_ports.js';
import { swarmReplayCommand, swarmSummary } from '../../src/swarm/swarm_cli.js';
import type { SwarmMix } from '../../src/swarm/swarm_mix.js';
import { SWARM_CHECKS, type SwarmOptions } from '../../src/swarm/swarm_options.js';
import { runSwarm, SWARM_HOOKS_STOCK } from '../../src/swarm/swarm_run.js';
import { SWARM_CATCH_UP_MS_MAX } from '../../src/swarm/swarm_session.js';
import { testSeed } from '../sim/support/sim_ride.js';

const SEED = testSeed(24);
/**
 * Enough taps to fill the 8 MiB journal with nothing acknowledged: a tap writes ~1.6 KB, and
 * seed 24's validator is first refused for a full journal at its 5,477th tap report (a
 * plastic card's repeat, answered from its UID, writes nothing).
 */
const TAPS = 5_700;
const QUIET_TAPS = 4;

/** The depot link fails every call; the smallest batches (the run never gets to send one). */
function starved(drawn: SwarmMix): SwarmMix {
  return { ...drawn, depotFailChance: 1, depotLostAnswerChance: 0, depotOutagePerBoot: 0,
    uploadBatchRecords: 4 };
}

/** Keeps the validator's tap reports (its `tap` log events), in order. */
function tapLog(reports: { result: unknown; reason: unknown }[]): (inner: LogPort) => LogPort {
  return (inner) => ({
    log: (event) => {
      if (event['event'] === 'tap') reports.push({ result: event['result'],
        reason: event['reason'] });
      inner.log(event);
    },
  });
}

function options(taps: number): SwarmOptions {
  return { seed: SEED, taps, faults: ['depot'], checks: SWARM_CHECKS, quietTaps: QUIET_TAPS };
}

describe('the quiet tail and a starved uploader', () => {
  it('drains a journal a failing depot link filled, and the tail\'s riders are served',
    async () => {
      const reports: { result: unknown; reason: unknown }[] = [];
      const result = await runSwarm(options(TAPS), { ...SWARM_HOOKS_STOCK, tuneMix: starved,
        wrapLog: tapLog(reports) });
      const replay = swarmReplayCommand(result.options);
      console.log(swarmSummary(result));
      expect(result.crash?.message ?? null, replay).toBeNull();
      expect(result.violations.map((v) => `[${v.check}] event ${v.event}: ${v.message}`),
        replay).toEqual([]);
      // The journal did fill: riders before the tail were refused for it.
      const firstFull = reports.findIndex((r) => r.result === 'outOfService'
        && r.reason === 'journal-full-or-failed');
      expect(firstFull, replay).toBeGreaterThan(0);
      // The tail's riders were answered in service (its re-taps are in the tail too).
      expect(reports.slice(-QUIET_TAPS).map((r) => r.result), replay)
        .not.toContain('outOfService');
      // No call reached the depot before the tail. Every fare approved before the journal was
      // full has its final record there now, sent in batches of 4.
      const approved = reports.slice(0, firstFull).filter((r) => r.result === 'approved');
      expect(result.uploads.lines, replay).toBeGreaterThanOrEqual(approved.length);
      expect(result.uploads.batches, replay).toBeGreaterThanOrEqual(approved.length / 4);
    }, 60_000);

  it('reports a depot still unreachable in the tail once the wait\'s bound has passed',
    async () => {
      const down = (): Promise<{ ok: false; error: 'network'; httpStatus: null;
        detail: string }> =>
        Promise.resolve({ ok: false, error: 'network', httpStatus: null, detail: 'down' });
      const dead: DepotPort = { postBatch: down, getParams: down, postStatus: down };
      const result = await runSwarm(options(60), { ...SWARM_HOOKS_STOCK,
        wrapDepot: () => dead });
      const replay = swarmReplayCommand(result.options);
      expect(result.crash?.message ?? null, replay).toBeNull();
      const found = result.violations.map((v) => `[${v.check}] ${v.message}`);
      expect(found, replay).toHaveLength(1);
      expect(found[0], replay).toMatch(/^\[liveness\] the uploader did not catch up within /);
      // The wait lasted its bound of board time, cheaply (idle stretches skipped).
      expect(result.stats.simulatedMs, replay).toBeGreaterThan(SWARM_CATCH_UP_MS_MAX);
    }, 60_000);
});
