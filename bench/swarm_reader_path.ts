// The swarm's reader path alone: CPU per PN532 command through the production driver, the
// line twin and the emulator, on a ClockSim stepped with `wakeNext` as the swarm steps it. A
// swarm tap makes about 29 commands (polls, APDUs, presence checks), so this figure times 29
// is what the reader path costs a tap.

import { ClockSim } from '../host-sim/src/clock_sim.js';
import {
  createPn532SimRig,
  PN532_SIM_RIG_DEFAULT_OPTIONS,
} from '../host-sim/src/pn532_sim/pn532_sim_rig.js';
import {
  hexBytes,
  QPBOC_CAPDU,
  qpbocScriptedCard,
  SCRIPTED_IDENTITY_A,
} from '../host-sim/src/pn532_sim/pn532_scripted_card.js';

/** APDUs of one scripted tap (pn532.md §6's sizes); a poll before and a release after. */
const TAP_CAPDUS = [
  QPBOC_CAPDU.selectPpse,
  QPBOC_CAPDU.selectAid,
  QPBOC_CAPDU.gpo,
  QPBOC_CAPDU.readRecord1,
  QPBOC_CAPDU.readRecord2,
  QPBOC_CAPDU.readRecord3,
  QPBOC_CAPDU.readRecord4,
].map(hexBytes);

/** CPU µs per command over `taps` scripted taps (after a warm-up of as many). */
export async function readerPathUsPerCommand(taps: number): Promise<number> {
  const clock = new ClockSim(0);
  const rig = createPn532SimRig(clock, PN532_SIM_RIG_DEFAULT_OPTIONS);
  const run = async <T>(promise: Promise<T>): Promise<T> => {
    let settled = false;
    const watched = promise.finally(() => {
      settled = true;
    });
    while (!settled) {
      if (!(await clock.wakeNext()) && !settled) throw new Error('reader path: deadlock');
    }
    return watched;
  };
  const rf = { activationAttempts: 2, exchangeRetries: 0, cardAnswerTimeoutMs: 51.2 };
  const started = await run(rig.reader.start({ baudRate: 921600, rf }));
  if (!started.ok) throw new Error(`reader path: start ${started.detail}`);
  rig.sim.placeCard(qpbocScriptedCard('bench', SCRIPTED_IDENTITY_A));
  const tap = async (): Promise<number> => {
    const polled = await run(rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }));
    if (!polled.ok || polled.value.kind !== 'one') throw new Error('reader path: no card');
    for (const capdu of TAP_CAPDUS) {
      const answered = await run(rig.reader.transceive(capdu, { timeoutMs: 1000 }));
      if (!answered.ok) throw new Error(`reader path: ${answered.detail}`);
    }
    await run(rig.reader.release());
    return TAP_CAPDUS.length + 2;
  };
  for (let i = 0; i < taps; i += 1) await tap();
  const cpu = process.cpuUsage();
  let commands = 0;
  for (let i = 0; i < taps; i += 1) commands += await tap();
  const used = process.cpuUsage(cpu);
  rig.sim.detach();
  return (used.user + used.system) / commands;
}
