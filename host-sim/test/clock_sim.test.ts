// ClockSim's cancelable sleeps: a called-off sleep never resolves, never moves time and costs
// no wake; live sleeps keep their order. And the PN532 driver calls its timeouts off: after a
// start and a poll that were answered, nothing of the driver is left sleeping on the clock.

import { describe, expect, it } from 'vitest';
import { ClockSim } from '../src/clock_sim.js';
import {
  PN532_SIM_RIG_DEFAULT_OPTIONS,
  createPn532SimRig,
} from '../src/pn532_sim/pn532_sim_rig.js';
import { SUITE_START } from '../../hal/test/pn532_reader_suite.js';

describe('ClockSim cancelable sleeps', () => {
  it('calledOff_neverResolves_movesNoTime_andWakesNobody', async () => {
    const clock = new ClockSim(0);
    const woke: string[] = [];
    const timer = clock.sleepCancelable(50);
    void timer.done.then(() => woke.push('cancelled'));
    void clock.sleepMs(80).then(() => woke.push('live 80'));
    timer.cancel();
    expect(await clock.wakeNext()).toBe(true);
    // The live sleeper woke at its own deadline; the called-off one was skipped.
    expect(clock.nowMs()).toBe(80);
    expect(woke).toEqual(['live 80']);
    expect(await clock.wakeNext()).toBe(false);
    expect(clock.pending()).toBe(0);
  });

  it('keepsDeadlineAndRegistrationOrder_withPlainSleeps', async () => {
    const clock = new ClockSim(0);
    const woke: string[] = [];
    void clock.sleepCancelable(10).done.then(() => woke.push('a 10'));
    void clock.sleepMs(10).then(() => woke.push('b 10'));
    const c = clock.sleepCancelable(5);
    void c.done.then(() => woke.push('c 5'));
    void clock.sleepMs(20).then(() => woke.push('d 20'));
    while (await clock.wakeNext()) {
      // each wake lets its jobs run
    }
    expect(woke).toEqual(['c 5', 'a 10', 'b 10', 'd 20']);
    // Cancel after it resolved: nothing happens.
    c.cancel();
    expect(clock.nowMs()).toBe(20);
  });

  it('onlyCalledOffSleepers_isNothingToWake_andAdvanceSkipsThem', async () => {
    const clock = new ClockSim(0);
    const timers = [clock.sleepCancelable(5), clock.sleepCancelable(7)];
    for (const t of timers) t.cancel();
    expect(await clock.wakeNext()).toBe(false);
    expect(clock.nowMs()).toBe(0);
    const late = clock.sleepCancelable(30);
    let resolved = false;
    void late.done.then(() => {
      resolved = true;
    });
    await clock.advance(30);
    expect(resolved).toBe(true);
  });
});

describe('Pn532Reader on ClockSim', () => {
  it('answeredCommands_leaveNoDriverTimeoutSleeping', async () => {
    const clock = new ClockSim(0);
    const rig = createPn532SimRig(clock, PN532_SIM_RIG_DEFAULT_OPTIONS);
    expect((await rig.run(rig.reader.start(SUITE_START))).ok).toBe(true);
    const polled = await rig.run(
      rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }),
    );
    expect(polled.ok && polled.value.kind).toBe('none');
    // Every ACK, response and link-stall timeout was called off once its answer came: no
    // sleeper is left to wake (before, each stayed until its deadline, a wake apiece).
    const before = clock.nowMs();
    expect(await clock.wakeNext()).toBe(false);
    expect(clock.nowMs()).toBe(before);
    rig.sim.detach();
  });
});
