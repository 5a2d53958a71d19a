// Seeds that once failed, replayed on every submission (each bounded: a few hundred taps).
//
// Seed 11 (300 taps) and seed 23 (70 taps) failed liveness: a line-noise burst outlived the
// tap that started it and ran through a re-tap (a re-tap starts no fault, and the model did not
// excuse the noise still standing), and a frame lost while the rider lifted the card hid its
// removal, so the same card, tapped again 0.3 s later, was rightly taken for a card left on
// the reader (issue 11: processed again only after a removal) while the model expected an
// answer "with no fault active". The model now excuses faults standing at any tap and a line
// fault that ran through the same card's last removal, and a burst ends with its last tap.
//
// Seed 2268 (200 taps) failed liveness at event 25: line noise slowed a presence check of a
// phone to 350 ms, the phone left during it, and a second phone was placed 263 ms later. Both
// show random UIDs, so the validator rightly took the second for the first still there (a
// random ID proves nothing), and never served it; the model excused this for the same card
// only. It now excuses a line fault that ran through the last removal for any card the
// validator cannot tell from the last one (the same card, or two random-UID cards).
//
// Seed 20139 (500 taps) failed no-pan at event 293: two bit flips on the PN532 line that
// cancel in its checksum turned a READ RECORD answer's 5A 08 <PAN> into 1A 08 <PAN>, and the
// pending's torn record kept the PAN in clear under the unknown tag. The tap's records now
// drop any object that holds the card's PAN (validator/tap_records.ts).

import { describe, expect, it } from 'vitest';
import { swarmReplayCommand, swarmSummary } from '../../src/swarm/swarm_cli.js';
import { SWARM_CHECKS, SWARM_FAULTS } from '../../src/swarm/swarm_options.js';
import { runSwarm } from '../../src/swarm/swarm_run.js';

const SEEDS: readonly { readonly seed: number; readonly taps: number }[] = [
  { seed: 11, taps: 300 },
  { seed: 23, taps: 70 },
  { seed: 2268, taps: 200 },
  { seed: 20139, taps: 500 },
];

describe('swarm seeds that failed once', () => {
  for (const { seed, taps } of SEEDS) {
    it(`seed ${seed}, ${taps} taps, holds every invariant`, async () => {
      const result = await runSwarm({
        seed,
        taps,
        faults: SWARM_FAULTS,
        checks: SWARM_CHECKS,
        quietTaps: 4,
      });
      const replay = swarmReplayCommand(result.options);
      console.log(swarmSummary(result));
      expect(result.crash?.message ?? null, `crash; replay: ${replay}`).toBeNull();
      const found = result.violations.map((v) => `[${v.check}] event ${v.event}: ${v.message}`);
      expect(found, `replay: ${replay}`).toEqual([]);
      expect(result.stats.taps, replay).toBeGreaterThanOrEqual(taps);
    }, 120_000);
  }
});
