// Lane passage rules on the emulated controller: passage, no-pass close, tailgating, stuck
// sensor, a controller that does not answer.

import { describe, expect, it } from 'vitest';

import { HalStatus } from '../../../hal/src/ports/hal_status.js';
import { GATE_LANE_CONFIG_DEFAULT, GateLane } from '../../src/app/gate/gate_lane.js';
import { laneRig, runOn, visitor } from './gate_fixtures.js';

function lane(rig: ReturnType<typeof laneRig>, passedAt: number[]): GateLane {
  return new GateLane(rig.port, rig.clock, GATE_LANE_CONFIG_DEFAULT, async () => {
    passedAt.push(rig.clock.nowMs());
  });
}

/** The controller falls silent once it has unlocked (the lock cannot reach it). */
function silentOnceOpen(rig: ReturnType<typeof laneRig>): void {
  const open = rig.port.open.bind(rig.port);
  rig.port.open = async (direction) => {
    const opened = await open(direction);
    rig.port.faults.silent = true;
    return opened;
  };
}

describe('GateLane', () => {
  it('partyOfThree_passesOneByOne_eachCounted_laneLockedAfter', async () => {
    const rig = laneRig();
    const passedAt: number[] = [];
    for (const at of [500, 2500, 4500]) visitor(rig.clock, rig.controller, at, 800);
    const outcome = await runOn(rig.clock, lane(rig, passedAt).admit(3, 'entry'));
    expect(outcome).toEqual({ passed: 3, tailgaters: 0, stopped: null });
    expect(passedAt).toHaveLength(3);
    expect(rig.port.opens).toBe(3);
    expect(rig.controller.coils).toEqual([false, false, false]);
    expect(rig.controller.passCount).toBe(3);
  });

  it('nobodyPasses_closesAfterNoPassTime_restOfPartyUnused', async () => {
    const rig = laneRig();
    const passedAt: number[] = [];
    visitor(rig.clock, rig.controller, 500, 800);
    const outcome = await runOn(rig.clock, lane(rig, passedAt).admit(2, 'entry'));
    expect(outcome.passed).toBe(1);
    expect(outcome.stopped).toEqual({ kind: 'no-pass' });
    expect(rig.controller.coils[0]).toBe(false);
    const closedAfterMs = rig.clock.nowMs() - (passedAt[0] ?? 0);
    expect(closedAfterMs).toBeGreaterThanOrEqual(GATE_LANE_CONFIG_DEFAULT.noPassCloseMs);
    expect(closedAfterMs).toBeLessThan(GATE_LANE_CONFIG_DEFAULT.noPassCloseMs + 500);
  });

  it('onePersonPasses_twinOfTailgating_noAlarm', async () => {
    const rig = laneRig();
    visitor(rig.clock, rig.controller, 500, 800);
    const outcome = await runOn(rig.clock, lane(rig, []).admit(1, 'entry'));
    expect(outcome.tailgaters).toBe(0);
  });

  it('tailgating_twoThroughOneOpening_countsTheExtraPerson', async () => {
    const rig = laneRig();
    // The second person is in the sensor right behind the first: one opening, two passages.
    visitor(rig.clock, rig.controller, 500, 800);
    visitor(rig.clock, rig.controller, 700, 800);
    const outcome = await runOn(rig.clock, lane(rig, []).admit(1, 'entry'));
    expect(outcome).toEqual({ passed: 1, tailgaters: 1, stopped: null });
  });

  it('jumpOverWhileLocked_isFoundByTheIdleCheck', async () => {
    const rig = laneRig();
    const l = lane(rig, []);
    expect(await runOn(rig.clock, l.idleCheck())).toEqual({ tailgaters: 0, latePassed: 0, stop: null });
    rig.controller.walk('entry', true);
    expect(await runOn(rig.clock, l.idleCheck())).toEqual({ tailgaters: 1, latePassed: 0, stop: null });
    expect(await runOn(rig.clock, l.idleCheck())).toEqual({ tailgaters: 0, latePassed: 0, stop: null });
  });

  it('sensorStuck_whileOpen_stopsStuck_laneLocked', async () => {
    const rig = laneRig();
    rig.controller.blocked = true;
    const outcome = await runOn(rig.clock, lane(rig, []).admit(1, 'entry'));
    expect(outcome.stopped).toEqual({ kind: 'stuck' });
    expect(outcome.passed).toBe(0);
    expect(rig.controller.coils[0]).toBe(false);
    expect(rig.clock.nowMs()).toBeGreaterThanOrEqual(GATE_LANE_CONFIG_DEFAULT.sensorStuckMs);
  });

  it('sensorBlockedBriefly_twinOfStuck_isNotStuck', async () => {
    const rig = laneRig();
    const l = lane(rig, []);
    rig.controller.blocked = true;
    expect((await runOn(rig.clock, l.idleCheck())).stop).toBeNull();
    await rig.clock.advance(GATE_LANE_CONFIG_DEFAULT.sensorStuckMs - 1000);
    expect((await runOn(rig.clock, l.idleCheck())).stop).toBeNull();
    await rig.clock.advance(2000);
    expect((await runOn(rig.clock, l.idleCheck())).stop).toEqual({ kind: 'stuck' });
  });

  it('controllerNotAnswering_stopsWithTimeoutFault_nobodyCounted', async () => {
    const rig = laneRig();
    rig.port.faults.silent = true;
    const outcome = await runOn(rig.clock, lane(rig, []).admit(2, 'entry'));
    expect(outcome.passed).toBe(0);
    expect(outcome.stopped).toMatchObject({ kind: 'fault', error: HalStatus.TIMEOUT });
  });

  it('unlockAnswerLost_visitorWalksThrough_countedAsTheAdmission_noTailgating', async () => {
    // The controller unlocked the lane but its answer was lost: the visitor in front passes.
    const rig = laneRig();
    const passedAt: number[] = [];
    rig.port.faults.openAnswersLost = 1;
    visitor(rig.clock, rig.controller, 200, 800);
    const l = lane(rig, passedAt);
    const outcome = await runOn(rig.clock, l.admit(1, 'entry'));
    expect(outcome).toEqual({ passed: 1, tailgaters: 0, stopped: null });
    expect(passedAt).toHaveLength(1);
    expect(rig.controller.coils[0]).toBe(false);
    expect(rig.controller.forcedPassages).toBe(0);
    // The passage was this admission's: the idle check finds nobody who jumped over.
    expect(await runOn(rig.clock, l.idleCheck())).toEqual({ tailgaters: 0, latePassed: 0, stop: null });
  });

  it('controllerSilentWhileOpen_visitorWalks_countedAsTheAdmissionWhenItAnswers', async () => {
    // Unlocked, then the controller goes silent (the lock cannot reach it): the visitor in
    // front walks through. Taken as a new base, that passage was lost and the paid place
    // given again.
    const rig = laneRig();
    const l = lane(rig, []);
    silentOnceOpen(rig);
    const outcome = await runOn(rig.clock, l.admit(2, 'entry'));
    expect(outcome).toMatchObject({ passed: 0, stopped: { kind: 'fault' } });
    expect(rig.controller.walk('entry', false)).not.toBe('locked');
    expect((await runOn(rig.clock, l.idleCheck())).stop).toMatchObject({ kind: 'fault' });
    rig.port.faults.silent = false;
    expect(await runOn(rig.clock, l.idleCheck())).toEqual(
      { tailgaters: 0, latePassed: 1, stop: null });
    // Counted once: the next check finds nobody new.
    expect(await runOn(rig.clock, l.idleCheck())).toEqual(
      { tailgaters: 0, latePassed: 0, stop: null });
  });

  it('twin: silent while open, nobody walks, or more than the places walk', async () => {
    for (const [walkers, late, extra] of [[0, 0, 0], [3, 2, 1]] as const) {
      const rig = laneRig();
      const l = lane(rig, []);
      silentOnceOpen(rig);
      await runOn(rig.clock, l.admit(2, 'entry'));
      for (let i = 0; i < walkers; i += 1) rig.controller.walk('entry', false);
      rig.port.faults.silent = false;
      expect(await runOn(rig.clock, l.idleCheck())).toEqual(
        { tailgaters: extra, latePassed: late, stop: null });
    }
  });

  it('lockLostAfterTheFirstOfTwo_theSecondWalks_countedAsTheParty', async () => {
    // The first passed, the lock after it timed out (the arm stayed released), the second
    // walked: a tailgater, and the party's place kept to be given again.
    const rig = laneRig();
    const l = lane(rig, []);
    const close = rig.port.close.bind(rig.port);
    rig.port.close = async () => {
      rig.port.faults.silent = true;
      return close();
    };
    visitor(rig.clock, rig.controller, 200, 300);
    const outcome = await runOn(rig.clock, l.admit(2, 'entry'));
    expect(outcome).toMatchObject({ passed: 1, tailgaters: 0, stopped: { kind: 'fault' } });
    expect(rig.controller.walk('entry', false)).toBe('passed');
    rig.port.close = close;
    rig.port.faults.silent = false;
    expect(await runOn(rig.clock, l.idleCheck())).toEqual(
      { tailgaters: 0, latePassed: 1, stop: null });
  });

  it('unlockAnswerLost_nobodyPasses_locksAfterNoPassTime_placeUnused', async () => {
    const rig = laneRig();
    rig.port.faults.openAnswersLost = 1;
    const outcome = await runOn(rig.clock, lane(rig, []).admit(1, 'entry'));
    expect(outcome).toEqual({ passed: 0, tailgaters: 0, stopped: { kind: 'no-pass' } });
    expect(rig.controller.coils[0]).toBe(false);
    expect(rig.clock.nowMs()).toBeGreaterThanOrEqual(GATE_LANE_CONFIG_DEFAULT.noPassCloseMs);
  });
});
