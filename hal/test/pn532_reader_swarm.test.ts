// Seeded line faults between Pn532Reader and the emulator: safety and liveness properties.

import { describe, expect, it } from 'vitest';
import { ClockSim } from '../../host-sim/src/clock_sim.js';
import {
  QPBOC_CAPDU,
  SCRIPTED_IDENTITY_A,
  hexBytes,
  qpbocScriptedCard,
  toHex,
} from '../../host-sim/src/pn532_sim/pn532_scripted_card.js';
import {
  PN532_SIM_RIG_DEFAULT_OPTIONS,
  createPn532SimRig,
  type Pn532SimRig,
} from '../../host-sim/src/pn532_sim/pn532_sim_rig.js';
import { Prng } from '../../host-sim/src/prng.js';
import { HalStatus } from '../src/ports/hal_status.js';
import { SUITE_START } from './pn532_reader_suite.js';

const SEEDS = 24;
/** SHUAKA_SEED=<n> replays one seed. */
const ONLY_SEED = process.env['SHUAKA_SEED'];
const CAPDUS = [
  QPBOC_CAPDU.selectPpse,
  QPBOC_CAPDU.gpo,
  QPBOC_CAPDU.readRecord1,
  QPBOC_CAPDU.getData258,
];

interface MutableFaults {
  prng: Prng;
  lossRatio: number;
  corruptRatio: number;
}

function seeds(base: number): number[] {
  if (ONLY_SEED !== undefined) return [Number(ONLY_SEED)];
  return Array.from({ length: SEEDS }, (_, i) => base + i);
}

function faultyRig(seed: number, loss: number, corrupt: number): [Pn532SimRig, MutableFaults] {
  const prng = new Prng(seed);
  const faults: MutableFaults = { prng: prng.fork('line'), lossRatio: loss, corruptRatio: corrupt };
  const line = { ...PN532_SIM_RIG_DEFAULT_OPTIONS.line };
  const rig = createPn532SimRig(new ClockSim(0), {
    ...PN532_SIM_RIG_DEFAULT_OPTIONS,
    line: { ...line, hostToDeviceFaults: faults, deviceToHostFaults: faults },
  });
  return [rig, faults];
}

/** Runs the exchanges; returns the outcome of each ('ok', 'WRONG' or the HAL error). */
async function tap(rig: Pn532SimRig, seed: number): Promise<string[]> {
  const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
  rig.sim.placeCard(card);
  try {
    const started = await rig.run(rig.reader.start(SUITE_START));
    if (!started.ok) return [`start:${started.error}`];
    const polled = await rig.run(rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }));
    if (!polled.ok || polled.value.kind !== 'one') return [`poll:${JSON.stringify(polled)}`];
    const outcomes: string[] = [];
    for (const capdu of CAPDUS) {
      const r = await rig.run(rig.reader.transceive(hexBytes(capdu), { timeoutMs: 1000 }));
      const right = r.ok && toHex(r.value) === toHex(card.answerTo(capdu));
      outcomes.push(r.ok ? (right ? 'ok' : `WRONG seed ${seed}`) : r.error);
    }
    return outcomes;
  } finally {
    rig.sim.removeCard(card);
  }
}

describe('Pn532Reader under seeded line faults', () => {
  it('lostBytes_neverYieldAWrongAnswer_onlyTimeoutOrTransmission', async () => {
    const allowed = new Set<string>(['ok', HalStatus.TIMEOUT, HalStatus.TRANSMISSION]);
    let recovered = 0;
    for (const seed of seeds(1000)) {
      const [rig] = faultyRig(seed, 0.003, 0);
      for (const outcome of await tap(rig, seed)) {
        if (outcome.startsWith('start:') || outcome.startsWith('poll')) continue;
        expect(allowed.has(outcome), `seed ${seed}: ${outcome}`).toBe(true);
        if (outcome === 'ok') recovered += 1;
      }
      rig.sim.detach();
    }
    // Most exchanges survive thanks to NACK resends; the property above is the point.
    expect(recovered).toBeGreaterThan(0);
  });

  it('afterFaultsStop_theReaderServesACleanTap (liveness)', async () => {
    for (const seed of seeds(2000)) {
      const [rig, faults] = faultyRig(seed, 0.003, 0.003);
      await tap(rig, seed);
      faults.lossRatio = 0;
      faults.corruptRatio = 0;
      expect(await tap(rig, seed), `seed ${seed}`).toEqual(['ok', 'ok', 'ok', 'ok']);
      rig.sim.detach();
    }
  });
});
