// The start-up handshake (SAMConfiguration, GetFirmwareVersion, SetParameters, RF set-up, baud
// switch) against the emulator over a seeded noisy line: it must come up, and say so honestly.

import { describe, expect, it } from 'vitest';
import { ClockSim } from '../../host-sim/src/clock_sim.js';
import {
  PN532_SIM_RIG_DEFAULT_OPTIONS,
  createPn532SimRig,
  type Pn532SimRig,
} from '../../host-sim/src/pn532_sim/pn532_sim_rig.js';
import {
  QPBOC_CAPDU,
  SCRIPTED_IDENTITY_A,
  hexBytes,
  qpbocScriptedCard,
  toHex,
} from '../../host-sim/src/pn532_sim/pn532_scripted_card.js';
import { Prng } from '../../host-sim/src/prng.js';
import {
  PN532_READER_DEFAULT_OPTIONS,
  type Pn532ReaderOptions,
} from '../src/pn532/pn532_reader.js';
import { HalStatus } from '../src/ports/hal_status.js';
import { SUITE_START } from './pn532_reader_suite.js';

/** SHUAKA_SEED=<n> replays one seed. */
const ONLY_SEED = process.env['SHUAKA_SEED'];
const SEEDS = 40;

function seeds(base: number): number[] {
  if (ONLY_SEED !== undefined) return [Number(ONLY_SEED)];
  return Array.from({ length: SEEDS }, (_, i) => base + i);
}

/** A rig whose line loses and corrupts `ratio` of the bytes in both directions. */
function noisyRig(seed: number, ratio: number, reader: Pn532ReaderOptions): Pn532SimRig {
  const prng = new Prng(seed);
  const faults = { prng: prng.fork('line'), lossRatio: ratio / 2, corruptRatio: ratio / 2 };
  const line = { ...PN532_SIM_RIG_DEFAULT_OPTIONS.line };
  return createPn532SimRig(new ClockSim(0), {
    ...PN532_SIM_RIG_DEFAULT_OPTIONS,
    line: { ...line, hostToDeviceFaults: faults, deviceToHostFaults: faults },
    reader,
  });
}

/** Start-up outcomes over the seeds: the failures, as 'seed N: STATUS detail'. */
async function startFailures(base: number, reader: Pn532ReaderOptions): Promise<string[]> {
  const failures: string[] = [];
  for (const seed of seeds(base)) {
    const rig = noisyRig(seed, 0.01, reader);
    const started = await rig.run(rig.reader.start(SUITE_START));
    if (!started.ok) failures.push(`seed ${seed}: ${started.error} ${started.detail}`);
    rig.sim.detach();
  }
  return failures;
}

describe('Pn532Reader start-up under line noise', () => {
  it('start_atOnePercentLineNoise_comesUpForEverySeed', async () => {
    expect(
      await startFailures(5000, PN532_READER_DEFAULT_OPTIONS),
      'SHUAKA_SEED=N replays',
    ).toEqual([]);
  });

  it('start_withoutResyncOrResend_failsForSomeSeeds (control: the noise is real)', async () => {
    if (ONLY_SEED !== undefined) return;
    const once = { ...PN532_READER_DEFAULT_OPTIONS, startAttempts: 1, commandRetries: 0 };
    expect((await startFailures(5000, once)).length).toBeGreaterThan(0);
  });

  it('start_afterANoisyStart_aCleanLineServesACard', async () => {
    for (const seed of seeds(6000).slice(0, 10)) {
      const prng = new Prng(seed);
      const faults = { prng: prng.fork('line'), lossRatio: 0.005, corruptRatio: 0.005 };
      const line = { ...PN532_SIM_RIG_DEFAULT_OPTIONS.line };
      const rig = createPn532SimRig(new ClockSim(0), {
        ...PN532_SIM_RIG_DEFAULT_OPTIONS,
        line: { ...line, hostToDeviceFaults: faults, deviceToHostFaults: faults },
      });
      const started = await rig.run(rig.reader.start(SUITE_START));
      expect(started.ok, `seed ${seed}`).toBe(true);
      // No stray answer of a failed try is left to pass for a later command's answer.
      faults.lossRatio = 0;
      faults.corruptRatio = 0;
      const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
      rig.sim.placeCard(card);
      const polled = await rig.run(
        rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }),
      );
      expect(polled.ok && polled.value.kind, `seed ${seed}`).toBe('one');
      const r = await rig.run(
        rig.reader.transceive(hexBytes(QPBOC_CAPDU.selectPpse), { timeoutMs: 1000 }),
      );
      expect(r.ok && toHex(r.value), `seed ${seed}`).toBe(
        toHex(card.answerTo(QPBOC_CAPDU.selectPpse)),
      );
      rig.sim.detach();
    }
  });

  it('start_onADeadLine_givesUpWithReaderIoWithinItsBound', async () => {
    const rig = noisyRig(7000, 2, PN532_READER_DEFAULT_OPTIONS);
    const t0 = rig.clock.nowMs();
    const started = await rig.run(rig.reader.start(SUITE_START));
    expect(started.ok).toBe(false);
    if (!started.ok) expect(started.error).toBe(HalStatus.READER_IO);
    expect(rig.reader.diagnostics().startRetries).toBe(
      PN532_READER_DEFAULT_OPTIONS.startAttempts - 1,
    );
    // Each try: SAMConfiguration at 115200 then at the working rate, each sent twice with
    // an ACK wait; plus the resync pauses. Bounded, not endless.
    const o = PN532_READER_DEFAULT_OPTIONS;
    const perTry = 2 * (o.commandRetries + 1) * (o.ackTimeoutMs + 5) + o.startResyncMs;
    expect(rig.clock.nowMs() - t0).toBeLessThan(o.startAttempts * perTry + 100);
    rig.sim.detach();
  });
});
