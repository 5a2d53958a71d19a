// The swarm's reader path alone: CPU per PN532 command through the production driver, the
// line twin and the emulator, set up as the swarm sets them up (quiet writes arrive whole, no
// transcript) on a ClockSim stepped with `wakeUntil` as the swarm steps it. A swarm tap makes
// about 29 commands (polls, APDUs, presence checks), so this figure times 29 is what the
// reader path costs a tap.

import type { CardIdentity, VirtualCard } from '../host-sim/src/cards/card_model.js';
import { ClockSim } from '../host-sim/src/clock_sim.js';
import {
  createPn532SimRig,
  PN532_SIM_RIG_DEFAULT_OPTIONS,
  PN532_SIM_RIG_QUIET_WHOLE_LINE,
} from '../host-sim/src/pn532_sim/pn532_sim_rig.js';
import {
  hexBytes,
  QPBOC_CAPDU,
  qpbocScriptedCard,
  SCRIPTED_IDENTITY_A,
  toHex,
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

/** Wakes one operation may take: a guard against a livelock, far above a tap's. */
const OPERATION_WAKES_MAX = 100_000;

/**
 * The scripted card's answers to the tap's APDUs, replayed in order from each power-up: the
 * same bytes and sizes, with no table look-up or copy of its own, so the figure is the reader
 * path's (the swarm's card is the card twin, whose cost the swarm bench shows). Checks each
 * C-APDU's length, so a frame damaged on the way would not pass unseen.
 */
function replayCard(identity: CardIdentity): VirtualCard {
  const scripted = qpbocScriptedCard('bench', identity);
  const answers = TAP_CAPDUS.map((capdu) => scripted.answerTo(toHex(capdu)));
  let next = 0;
  return {
    label: 'bench-replay',
    identity: () => identity,
    powerOn: () => {
      next = 0;
    },
    transceive: (capdu) => {
      const at = next % TAP_CAPDUS.length;
      next += 1;
      if (capdu.length !== TAP_CAPDUS[at]?.length) throw new Error('reader path: APDU damaged');
      return answers[at] ?? null;
    },
    lastProcessingMs: () => 1,
  };
}

/** CPU µs per command over `taps` scripted taps (after a warm-up of as many). */
export async function readerPathUsPerCommand(taps: number): Promise<number> {
  const clock = new ClockSim(0);
  const rig = createPn532SimRig(clock, {
    ...PN532_SIM_RIG_DEFAULT_OPTIONS,
    line: PN532_SIM_RIG_QUIET_WHOLE_LINE,
  });
  // As the swarm: outcomes are checked, not wire bytes, so no write is kept.
  rig.line.keepTranscript(false);
  const run = async <T>(promise: Promise<T>): Promise<T> => {
    let settled = false;
    const watched = promise.finally(() => {
      settled = true;
    });
    const end = await clock.wakeUntil(() => settled, OPERATION_WAKES_MAX);
    if (end !== 'stopped') throw new Error(`reader path: ${end} before the operation ended`);
    return watched;
  };
  const rf = { activationAttempts: 2, exchangeRetries: 0, cardAnswerTimeoutMs: 51.2 };
  const started = await run(rig.reader.start({ baudRate: 921600, rf }));
  if (!started.ok) throw new Error(`reader path: start ${started.detail}`);
  rig.sim.placeCard(replayCard(SCRIPTED_IDENTITY_A));
  const tap = async (): Promise<number> => {
    // The emulator keeps a timing record per RF operation for tests: not over 10^4 taps.
    rig.sim.resetTimings();
    const polled = await run(rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }));
    if (!polled.ok || polled.value.kind !== 'one') throw new Error('reader path: no card');
    for (const capdu of TAP_CAPDUS) {
      const answered = await run(rig.reader.transceive(capdu, { timeoutMs: 1000 }));
      if (!answered.ok) throw new Error(`reader path: ${answered.detail}`);
    }
    const released = await run(rig.reader.release());
    if (!released.ok) throw new Error(`reader path: release ${released.detail}`);
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
