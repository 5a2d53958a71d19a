// PSAM faults in the swarm (fault `psam`). The canary `psam-failure-no-debit` (a PSAM failure
// after the card's DEBIT taken for no debit, its grey record dropped) is caught in
// swarm_canary.test.ts; here the same seed and mix on the stock validator hold every invariant
// while CREDIT SAM FOR PURCHASE fails after real debits, each way the slot can fail it. The truth
// is the card twins' own debits (the model) and what the PSAM port answered (counted beside).

import { describe, expect, it } from 'vitest';
import type { PsamPort } from '../../../hal/src/ports/psam_port.js';
import type { Journal } from '../../../firmware/src/app/journal/journal.js';
import type { LogPort } from '../../../firmware/src/app/validator/validator_ports.js';
import { testPki } from '../../src/pki/test_pki.js';
import { Prng } from '../../src/prng.js';
import { riderPool } from '../../src/sim/bus_riders.js';
import { swarmReplayCommand, swarmSummary } from '../../src/swarm/swarm_cli.js';
import { swarmCanary } from '../../src/swarm/swarm_canaries.js';
import { SWARM_PSAM_OUT_MS_MAX } from '../../src/swarm/swarm_events.js';
import { drawSwarmMix, type SwarmMix } from '../../src/swarm/swarm_mix.js';
import { SWARM_CHECKS, SWARM_FAULTS } from '../../src/swarm/swarm_options.js';
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
/** The mix but the PSAM's faults and what is drawn after them (the deny-listed riders). */
function withoutPsam(mix: SwarmMix): Record<string, unknown> {
  return Object.fromEntries(Object.entries(mix).filter(([name]) => !name.startsWith('psam')
    && name !== 'tunionDeniedShare'));
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

  it('a final says mac2Verified exactly when the PSAM answered its grey\'s CREDIT SAM 9000',
    async () => {
      const canary = swarmCanary('psam-failure-no-debit',
        riderPool(SEED, SWARM_CARD_GROUPS, testPki()));
      const options = { seed: SEED, taps: 120, faults: canary.faults, checks: canary.checks,
        quietTaps: 4 };
      // Per grey record: how its CREDIT SAM ended (the PSAM's own answer); the finals written.
      const credit = new Map<number, boolean>();
      const finals: { greySeq: number | null; mac2Verified: boolean | null }[] = [];
      let lastGrey: number | null = null;
      const wrapJournal = (journal: Journal): Journal => new Proxy(journal, {
        get: (target, property) => {
          if (property === 'append') {
            return async (entry: Parameters<Journal['append']>[0]) => {
              const written = await target.append(entry);
              if (written.ok && entry.kind === 'tunion_grey') lastGrey = written.value.seq;
              if (written.ok && entry.kind === 'tunion_final') finals.push(entry);
              return written;
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function'
            ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const wrapPsam = (inner: PsamPort): PsamPort => ({ ...countingCredits(new Map())(inner),
        transmit: async (capdu, transmit) => {
          const answer = await inner.transmit(capdu, transmit);
          const sw = answer.ok ? Buffer.from(answer.value.subarray(-2)).toString('hex') : '';
          if (capdu[1] === 0x72 && lastGrey !== null) credit.set(lastGrey, sw === '9000');
          return answer;
        } });
      const result = await runSwarm(options, { ...SWARM_HOOKS_STOCK,
        tuneMix: canary.hooks.tuneMix, wrapJournal, wrapPsam });
      const replay = swarmReplayCommand(options);
      expect(result.violations, replay).toEqual([]);
      for (const final of finals) {
        // A recovered final (GET TRANSACTION PROOF) follows a CREDIT SAM that did not end 9000.
        expect(final.mac2Verified, `grey ${final.greySeq} ${replay}`)
          .toBe(credit.get(final.greySeq ?? -1) === true);
      }
      const unverified = finals.filter((f) => f.mac2Verified === false).length;
      expect(unverified, replay).toBeGreaterThan(0);
      expect(finals.length - unverified, replay).toBeGreaterThan(10);
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

  it('a PSAM pulled mid-run is back by the next boot (a boot finds it out only if drawn)',
    () => {
      expect(SWARM_PSAM_OUT_MS_MAX).toBeLessThan(SWARM_REBOOT_MS);
    });

  it('a board booted with its PSAM out serves bank cards, then T-Union once the PSAM is back',
    async () => {
      // Per board: did its start find the slot empty (the first power-on failed), and what it
      // logged after. Truth: the slot's own answers, and the validator's tap reasons.
      let found = 0;
      for (let seed = SEED; seed < SEED + 8 && found === 0; seed += 1) {
        const boards: { out: boolean | null; events: string[] }[] = [];
        const hooks = { ...SWARM_HOOKS_STOCK,
          wrapPsam: (inner: PsamPort): PsamPort => {
            const board = { out: null as boolean | null, events: [] as string[] };
            boards.push(board);
            return { ...inner, slotState: () => inner.slotState(),
              transmit: (c, o) => inner.transmit(c, o), powerOff: () => inner.powerOff(),
              powerOn: async (o) => {
                const answer = await inner.powerOn(o);
                board.out ??= !answer.ok;
                return answer;
              } };
          },
          wrapLog: (inner: LogPort): LogPort => ({ log: (event) => {
            const reason = typeof event['reason'] === 'string' ? event['reason'] : '';
            boards.at(-1)?.events.push(event['event'] === 'tap' ? reason : String(event['event']));
            inner.log(event);
          } }),
        };
        const options = { seed, taps: 200, faults: ['psam', 'power-cut'] as const,
          checks: SWARM_CHECKS, quietTaps: 4 };
        const result = await runSwarm({ ...options, faults: [...options.faults] }, hooks);
        const replay = swarmReplayCommand({ ...options, faults: [...options.faults] });
        expect(result.crash?.message ?? null, replay).toBeNull();
        expect(result.violations.map((v) => `[${v.check}] ${v.message}`), replay).toEqual([]);
        const out = boards.filter((b) => b.out === true);
        expect(out.length, replay).toBe(result.stats.psamOutAtBoots);
        for (const board of out) {
          const back = board.events.indexOf('psam-back');
          const before = back < 0 ? board.events : board.events.slice(0, back);
          expect(before.filter((r) => r === 'tunion-no-psam'), replay).toEqual([]);
          // The tap that found it back is served: approved (or refused for its own reason).
          if (back >= 0 && board.events.slice(back).includes('approved')) found += 1;
        }
      }
      expect(found).toBeGreaterThan(0);
    }, 120_000);
});
