// Presence of the last card after its release: the same card stays "present", a different
// card or an empty field means it left, and a phone that draws a new random UID (08 xx xx xx,
// ISO/IEC 14443-3 §6.5.4) at every activation still counts as present until the field empties;
// a look slowed by a lost ACK is looked at again, so a phone swapped for another during it is
// not taken for the first.

import { describe, expect, it } from 'vitest';

import { ClockSim } from '../../host-sim/src/clock_sim.js';
import type { CardIdentity } from '../../host-sim/src/cards/card_model.js';
import {
  ScriptedCard,
  SCRIPTED_IDENTITY_A,
  qpbocScriptedCard,
} from '../../host-sim/src/pn532_sim/pn532_scripted_card.js';
import {
  PN532_SIM_RIG_DEFAULT_OPTIONS,
  createPn532SimRig,
  type Pn532SimRig,
} from '../../host-sim/src/pn532_sim/pn532_sim_rig.js';
import { Prng } from '../../host-sim/src/prng.js';
import { HalStatus } from '../src/ports/hal_status.js';
import { SUITE_START } from './pn532_reader_suite.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 17);
const REMOVAL = { timeoutMs: 1000, intervalMs: 100 };

const ATS = Uint8Array.of(0x05, 0x78, 0x80, 0x70, 0x02);

/** A type A identity like the scripted card's, with another UID. */
function typeA(uid: Uint8Array): CardIdentity {
  return { kind: 'A', uid, atqa: Uint8Array.of(0x00, 0x04), sak: 0x28, ats: ATS };
}

/** A phone that answers every anticollision with a freshly drawn random ID. */
class RandomIdPhone extends ScriptedCard {
  draws = 0;
  constructor(private readonly prng: Prng) {
    super('phone', SCRIPTED_IDENTITY_A, []);
  }
  override identity(): CardIdentity {
    this.draws += 1;
    return typeA(Uint8Array.of(0x08, ...this.prng.bytes(3)));
  }
}

async function startedRig(): Promise<Pn532SimRig> {
  const rig = createPn532SimRig(new ClockSim(0), PN532_SIM_RIG_DEFAULT_OPTIONS);
  const started = await rig.run(rig.reader.start(SUITE_START));
  expect(started.ok).toBe(true);
  return rig;
}

async function tapAndRelease(rig: Pn532SimRig): Promise<void> {
  const polled = await rig.run(rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }));
  expect(polled.ok && polled.value.kind).toBe('one');
  expect((await rig.run(rig.reader.release())).ok).toBe(true);
}

function outcome(r: { ok: boolean; error?: HalStatus }): string {
  return r.ok ? 'removed' : (r.error ?? 'error');
}

describe(`Pn532Reader presence after release (seed ${SEED})`, () => {
  it('phoneWithAFreshRandomIdPerActivation_staysPresent_untilTheFieldIsEmpty', async () => {
    const rig = await startedRig();
    const phone = new RandomIdPhone(new Prng(SEED));
    rig.sim.placeCard(phone);
    await tapAndRelease(rig);
    const drawsBefore = phone.draws;
    const waited = await rig.run(rig.reader.waitForRemoval(REMOVAL));
    // It was looked at again under new random IDs, and still counts as the same phone.
    expect(phone.draws).toBeGreaterThan(drawsBefore + 1);
    expect(outcome(waited)).toBe(HalStatus.TIMEOUT);
    rig.sim.removeCard(phone);
    expect(outcome(await rig.run(rig.reader.waitForRemoval(REMOVAL)))).toBe('removed');
    rig.sim.detach();
  });

  it('phoneLeavingDuringASlowLook_thenAnotherPhone_isSeenRemoved', async () => {
    const rig = await startedRig();
    const first = new RandomIdPhone(new Prng(SEED));
    const second = new RandomIdPhone(new Prng(SEED + 1));
    rig.sim.placeCard(first);
    await tapAndRelease(rig);
    // The look's InRelease is lost: the driver waits for its ACK (100 ms) and sends it again.
    // The first phone leaves during that wait; the next rider's phone comes down just after
    // the look ends, before the next look (100 ms later) would see the field empty.
    rig.sim.injectFault({ kind: 'ignore-command', command: 0x52 });
    const t0 = rig.clock.nowMs();
    void rig.clock.sleepMs(50).then(() => rig.sim.removeCard(first));
    let lookEndedMs = Number.NaN;
    void rig.clock.sleepMs(140).then(() => {
      rig.sim.placeCard(second);
    });
    const waited = await rig.run(rig.reader.waitForRemoval(REMOVAL).then((r) => {
      lookEndedMs = rig.clock.nowMs();
      return r;
    }));
    // The slow look's "present" was looked at again at once, and the empty field seen.
    expect(outcome(waited)).toBe('removed');
    expect(lookEndedMs - t0).toBeLessThan(140);
    expect(rig.sim.pendingFaults()).toEqual([]);
    rig.sim.detach();
  });

  it('fixedUidCard_swappedForAnotherCard_countsAsRemoved', async () => {
    const rig = await startedRig();
    const first = qpbocScriptedCard('first', SCRIPTED_IDENTITY_A);
    rig.sim.placeCard(first);
    await tapAndRelease(rig);
    expect(outcome(await rig.run(rig.reader.waitForRemoval(REMOVAL)))).toBe(HalStatus.TIMEOUT);
    rig.sim.removeCard(first);
    const other = typeA(Uint8Array.of(0x5a, 0x3c, 0x21, 0x9f));
    rig.sim.placeCard(qpbocScriptedCard('second', other));
    expect(outcome(await rig.run(rig.reader.waitForRemoval(REMOVAL)))).toBe('removed');
    rig.sim.detach();
  });
});
