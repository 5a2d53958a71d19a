// ClockSim's cancelable sleeps: a called-off sleep never resolves, never moves time and costs
// no wake; live sleeps keep their order. And the PN532 driver calls its timeouts off: after a
// start and a poll that were answered, nothing of the driver is left sleeping on the clock.
// The emulator's command steps are quiet alarms: the wire is the same with wakeUntil.

import { describe, expect, it } from 'vitest';
import { ClockSim } from '../src/clock_sim.js';
import {
  PN532_SIM_RIG_DEFAULT_OPTIONS,
  createPn532SimRig,
} from '../src/pn532_sim/pn532_sim_rig.js';
import {
  QPBOC_CAPDU,
  SCRIPTED_IDENTITY_A,
  qpbocScriptedCard,
} from '../src/pn532_sim/pn532_scripted_card.js';
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

describe('ClockSim.wakeNext drains promise jobs without a macrotask', () => {
  /** A sleeper whose wake starts a chain of `depth` promise jobs, each queuing the next. */
  function deepChain(clock: ClockSim, depth: number): { done: () => number } {
    let steps = 0;
    const hop = async (left: number): Promise<void> => {
      steps += 1;
      if (left > 0) await hop(left - 1);
    };
    void clock.sleepMs(5).then(async () => {
      for (let i = 0; i < depth; i += 1) await Promise.resolve().then(() => undefined);
      await hop(depth);
    });
    return { done: () => steps };
  }

  it('returnsOnlyOnceEveryJobTheWakeCausedHasRun', async () => {
    const clock = new ClockSim(0);
    const chain = deepChain(clock, 5_000);
    expect(await clock.wakeNext()).toBe(true);
    expect(chain.done()).toBe(5_001);
  });

  it('fromAMacrotaskToo_andAJobSleepingAgainIsNextWake', async () => {
    const clock = new ClockSim(0);
    const order: string[] = [];
    void clock.sleepMs(1).then(async () => {
      await Promise.resolve();
      order.push('a woke');
      await clock.sleepMs(1);
      order.push('a again');
    });
    void clock.sleepMs(3).then(() => order.push('b woke'));
    // Called from plain code of a macrotask (no promise job under way).
    const first = await new Promise<boolean>((resolve) => {
      setImmediate(() => void clock.wakeNext().then(resolve));
    });
    expect(first).toBe(true);
    expect(order).toEqual(['a woke']);
    while (await clock.wakeNext()) {
      // each wake runs to quiescence
    }
    expect(order).toEqual(['a woke', 'a again', 'b woke']);
    expect(clock.nowMs()).toBe(3);
  });
});

describe('ClockSim.wakeUntil is a wakeNext loop without a promise per wake', () => {
  /**
   * Actors that sleep, queue promise jobs of random depth, sleep zero, call sleeps off, and
   * log what they see with the time. Run once under each stepping, the logs must agree.
   */
  function actors(clock: ClockSim, seed: number): { log: string[]; stopAt: number } {
    const log: string[] = [];
    let state = seed >>> 0;
    const next = (n: number): number => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      return (state >>> 8) % n;
    };
    const actor = async (name: number): Promise<void> => {
      for (let i = 0; i < 40; i += 1) {
        const hops = next(4);
        for (let h = 0; h < hops; h += 1) await Promise.resolve();
        if (next(5) === 0) clock.sleepCancelable(next(30)).cancel();
        await clock.sleepMs(next(3) === 0 ? 0 : next(20));
        log.push(`${name}:${i}@${clock.nowMs()}`);
      }
    };
    for (let a = 0; a < 5; a += 1) void actor(a);
    return { log, stopAt: 120 };
  }

  it('wakesInTheSameOrder_andStopsWhereTheLoopStops', async () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      const a = new ClockSim(0);
      const byLoop = actors(a, seed);
      let wakes = 0;
      while (byLoop.log.length < byLoop.stopAt && (await a.wakeNext())) wakes += 1;
      const b = new ClockSim(0);
      const byUntil = actors(b, seed);
      const end = await b.wakeUntil(() => byUntil.log.length >= byUntil.stopAt, 1_000_000);
      expect(end).toBe('stopped');
      expect(byUntil.log).toEqual(byLoop.log);
      expect(b.nowMs()).toBe(a.nowMs());
      // Then both run dry: 'idle' once nobody sleeps, with the same logs.
      while (await a.wakeNext()) wakes += 1;
      expect(await b.wakeUntil(() => false, 1_000_000)).toBe('idle');
      expect(byUntil.log).toEqual(byLoop.log);
      expect(byLoop.log).toHaveLength(200);
      expect(wakes).toBe(200);
    }
  });

  it('endsWithLimit_afterWakesMaxPlusOneWakes', async () => {
    const clock = new ClockSim(0);
    let woke = 0;
    const forever = async (): Promise<void> => {
      for (;;) {
        await clock.sleepMs(1);
        woke += 1;
      }
    };
    void forever();
    expect(await clock.wakeUntil(() => false, 9)).toBe('limit');
    expect(woke).toBe(10);
    expect(clock.nowMs()).toBe(10);
  });

  it('rejectsWithWhatStopThrows', async () => {
    const clock = new ClockSim(0);
    void clock.sleepMs(1);
    const stop = (): boolean => {
      throw new Error('stop broke');
    };
    await expect(clock.wakeUntil(stop, 10)).rejects.toThrow('stop broke');
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

  it('quietCommandSteps_sameWireAndTimes_withWakeUntilAsWithWakeNext', async () => {
    const session = async (byUntil: boolean): Promise<string[]> => {
      const clock = new ClockSim(0);
      const rig = createPn532SimRig(clock, PN532_SIM_RIG_DEFAULT_OPTIONS);
      const run = async <T>(op: Promise<T>): Promise<T> => {
        let done = false;
        const watched = op.finally(() => {
          done = true;
        });
        if (byUntil) await clock.wakeUntil(() => done, 100_000);
        else while (!done && (await clock.wakeNext()));
        return watched;
      };
      expect((await run(rig.reader.start(SUITE_START))).ok).toBe(true);
      rig.sim.placeCard(qpbocScriptedCard('card', SCRIPTED_IDENTITY_A));
      const polled = await run(rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }));
      expect(polled.ok && polled.value.kind).toBe('one');
      const ppse = Uint8Array.from(Buffer.from(QPBOC_CAPDU.selectPpse, 'hex'));
      const answer = await run(rig.reader.transceive(ppse, { timeoutMs: 500 }));
      expect(answer.ok).toBe(true);
      rig.sim.detach();
      return rig.line
        .transcript()
        .map((r) => `${r.direction} ${r.atMs.toFixed(6)} ${Buffer.from(r.bytes).toString('hex')}`);
    };
    const byNext = await session(false);
    expect(byNext.length).toBeGreaterThan(10);
    expect(await session(true)).toEqual(byNext);
  });
});
