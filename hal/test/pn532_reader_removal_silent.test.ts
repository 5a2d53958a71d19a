// A chip that goes silent while the validator waits for the last card to leave. The port keeps
// TIMEOUT for "the card is still there at the deadline", which the validator reads as a card
// left on the reader and does not count against the reader; a presence check the chip never
// answers must therefore be a reader failure (READER_IO), or a PN532 that hangs during a
// removal wait would never be declared lost and no rider would be answered again.
//
// Before the fix, waitForRemoval returned the command's TIMEOUT ("InListPassiveTarget: no
// response"), indistinguishable from a card left on the reader.

import { describe, expect, it } from 'vitest';
import { ClockSim } from '../../host-sim/src/clock_sim.js';
import {
  PN532_SIM_RIG_DEFAULT_OPTIONS,
  createPn532SimRig,
  type Pn532SimRig,
} from '../../host-sim/src/pn532_sim/pn532_sim_rig.js';
import {
  SCRIPTED_IDENTITY_A,
  qpbocScriptedCard,
} from '../../host-sim/src/pn532_sim/pn532_scripted_card.js';
import { PN532_CMD_4A_IN_LIST_PASSIVE_TARGET } from '../src/pn532/pn532_commands.js';
import { PN532_READER_DEFAULT_OPTIONS } from '../src/pn532/pn532_reader.js';
import { HalStatus } from '../src/ports/hal_status.js';
import { SUITE_START } from './pn532_reader_suite.js';

const REMOVAL = { timeoutMs: 5000, intervalMs: 100 };

async function tappedRig(): Promise<Pn532SimRig> {
  const rig = createPn532SimRig(new ClockSim(0), PN532_SIM_RIG_DEFAULT_OPTIONS);
  rig.sim.placeCard(qpbocScriptedCard('card', SCRIPTED_IDENTITY_A));
  expect((await rig.run(rig.reader.start(SUITE_START))).ok).toBe(true);
  const polled = await rig.run(rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }));
  expect(polled.ok && polled.value.kind).toBe('one');
  expect((await rig.run(rig.reader.release())).ok).toBe(true);
  return rig;
}

describe('Pn532Reader removal wait on a chip that stops answering', () => {
  it('presenceCheckNeverAnswered_isReaderIo_notTheCardLeftOnTheReader', async () => {
    const rig = await tappedRig();
    // The presence check (InListPassiveTarget, never resent: it activates cards) is
    // acknowledged and then never answered, as by a hung chip.
    rig.sim.injectFault({ kind: 'no-response', command: PN532_CMD_4A_IN_LIST_PASSIVE_TARGET });
    const startedMs = rig.clock.nowMs();
    const waited = await rig.run(rig.reader.waitForRemoval(REMOVAL));
    expect(waited.ok).toBe(false);
    if (waited.ok) return;
    expect(waited.error).toBe(HalStatus.READER_IO);
    expect(waited.detail).toMatch(/InListPassiveTarget/);
    // It ended on the chip's silence (one command timeout), well before the removal deadline.
    const elapsedMs = rig.clock.nowMs() - startedMs;
    expect(elapsedMs).toBeGreaterThanOrEqual(PN532_READER_DEFAULT_OPTIONS.commandTimeoutMs);
    expect(elapsedMs).toBeLessThan(REMOVAL.timeoutMs);
    // The chip answers again: the card, still in the field, is "still there" at the deadline.
    const again = await rig.run(rig.reader.waitForRemoval(REMOVAL));
    expect(again.ok ? 'removed' : again.error).toBe(HalStatus.TIMEOUT);
    rig.sim.detach();
  });

  it('oneLostAnswer_failsThatWaitOnly_theNextSeesTheRemoval', async () => {
    const rig = await tappedRig();
    rig.sim.injectFault({ kind: 'no-response', command: PN532_CMD_4A_IN_LIST_PASSIVE_TARGET });
    const card = rig.sim.cardsInField()[0];
    if (card === undefined) throw new Error('no card in the field');
    rig.sim.removeCard(card);
    const lost = await rig.run(rig.reader.waitForRemoval(REMOVAL));
    expect(lost.ok ? 'removed' : lost.error).toBe(HalStatus.READER_IO);
    const waited = await rig.run(rig.reader.waitForRemoval(REMOVAL));
    expect(waited.ok ? 'removed' : waited.error).toBe('removed');
    rig.sim.detach();
  });
});
