// ClockSim's reusable alarms (ClockPort.alarm): an armed alarm wakes in (deadline, arming)
// order among plain sleeps, `clear` takes it out of the heap at once, `set` moves it. Held to
// a naive scheduler (a list sorted on every wake) over random sets, clears and sleeps. And
// the wake loops let the caller's pending jobs run before their first wake. A quiet alarm's
// wake (its callback queued nothing) lets wakeUntil go straight on to the next wake.

import { describe, expect, it } from 'vitest';
import { clockAlarm, type ClockPort } from '../../hal/src/ports/clock_port.js';
import { ClockSim } from '../src/clock_sim.js';
import { Prng } from '../src/prng.js';

describe('ClockSim.alarm', () => {
  it('fires once per arming, in deadline then arming order among sleeps', async () => {
    const clock = new ClockSim(0);
    const woke: string[] = [];
    const a = clock.alarm(() => woke.push(`a@${clock.nowMs()}`));
    const b = clock.alarm(() => woke.push(`b@${clock.nowMs()}`));
    void clock.sleepMs(10).then(() => woke.push(`s@${clock.nowMs()}`));
    a.set(10);
    b.set(5);
    b.set(20); // moved: the 5 ms arming is gone
    expect(await clock.wakeUntil(() => false, 100)).toBe('idle');
    expect(woke).toEqual(['s@10', 'a@10', 'b@20']);
    expect(clock.pending()).toBe(0);
  });

  it('clear takes it out at once: no wake, no time move, pending drops', async () => {
    const clock = new ClockSim(0);
    let fired = 0;
    const alarm = clock.alarm(() => {
      fired += 1;
    });
    alarm.set(50);
    expect(clock.pending()).toBe(1);
    alarm.clear();
    alarm.clear(); // a no-op when nothing is armed
    expect(clock.pending()).toBe(0);
    expect(await clock.wakeNext()).toBe(false);
    expect(clock.nowMs()).toBe(0);
    expect(fired).toBe(0);
  });

  it('may arm itself again from its callback (a periodic tick)', async () => {
    const clock = new ClockSim(0);
    const at: number[] = [];
    const tick = clock.alarm(() => {
      at.push(clock.nowMs());
      if (at.length < 4) tick.set(3);
    });
    tick.set(3);
    expect(await clock.wakeUntil(() => false, 100)).toBe('idle');
    expect(at).toEqual([3, 6, 9, 12]);
  });

  it('wakes as a naive scheduler would, over random sets, clears and sleeps', async () => {
    for (let seed = 1; seed <= 30; seed += 1) {
      const prng = new Prng(seed);
      const clock = new ClockSim(0);
      const log: string[] = [];
      // The reference: every pending arming with its deadline and arming number.
      const armed = new Map<string, { atMs: number; order: number }>();
      let order = 0;
      const expected: string[] = [];
      const alarms = Array.from({ length: 6 }, (_, k) => {
        const name = `a${k}`;
        return {
          name,
          alarm: clock.alarm(() => log.push(`${name}@${clock.nowMs()}`)),
        };
      });
      for (let step = 0; step < 300; step += 1) {
        const pick = alarms[prng.below(alarms.length)];
        if (pick === undefined) throw new Error('no alarm');
        const what = prng.below(4);
        if (what === 0) {
          pick.alarm.clear();
          armed.delete(pick.name);
        } else if (what === 1) {
          const name = `s${step}`;
          const delay = prng.below(40);
          void clock.sleepMs(delay).then(() => log.push(`${name}@${clock.nowMs()}`));
          armed.set(name, { atMs: clock.nowMs() + delay, order });
          order += 1;
        } else {
          const delay = prng.below(40);
          pick.alarm.set(delay);
          armed.set(pick.name, { atMs: clock.nowMs() + delay, order });
          order += 1;
        }
        if (prng.below(5) === 0 && armed.size > 0) {
          // One wake: the reference's earliest (deadline, then arming order).
          const [name, due] = [...armed].sort(
            ([, x], [, y]) => x.atMs - y.atMs || x.order - y.order,
          )[0] as [string, { atMs: number; order: number }];
          armed.delete(name);
          expected.push(`${name}@${due.atMs}`);
          expect(await clock.wakeNext(), `seed ${seed}`).toBe(true);
        }
      }
      for (const [name, due] of [...armed].sort(
        ([, x], [, y]) => x.atMs - y.atMs || x.order - y.order,
      )) {
        expected.push(`${name}@${due.atMs}`);
      }
      expect(await clock.wakeUntil(() => false, 10_000)).toBe('idle');
      expect(log, `seed ${seed}`).toEqual(expected);
      expect(clock.pending()).toBe(0);
    }
  });
});

describe('clockAlarm on a clock without alarms (a real timer)', () => {
  it('keeps the last arming only and honours clear', async () => {
    const sim = new ClockSim(0);
    // Only the required methods: clockAlarm must build the alarm on plain sleeps.
    const plain: ClockPort = {
      nowMs: () => sim.nowMs(),
      wallMs: () => sim.wallMs(),
      sleepMs: (ms) => sim.sleepMs(ms),
    };
    const at: number[] = [];
    const alarm = clockAlarm(plain, () => at.push(sim.nowMs()));
    alarm.set(10);
    alarm.set(25); // replaces the 10 ms arming, whose sleep still runs out unheard
    const other = clockAlarm(plain, () => at.push(-1));
    other.set(5);
    other.clear();
    expect(await sim.wakeUntil(() => false, 100)).toBe('idle');
    expect(at).toEqual([25]);
  });
});

describe('ClockSim wake loops and the jobs pending when they are called', () => {
  /** An operation whose first deadline is far, and whose real first step is a job away. */
  function begin(clock: ClockSim, log: string[]): void {
    void clock.sleepMs(500).then(() => log.push(`bound@${clock.nowMs()}`));
    void Promise.resolve().then(async () => {
      await clock.sleepMs(2);
      log.push(`step@${clock.nowMs()}`);
    });
  }

  it('wakeUntil wakes the sleep the pending job makes first, not the later one', async () => {
    const clock = new ClockSim(0);
    const log: string[] = [];
    begin(clock, log);
    expect(await clock.wakeUntil(() => log.length > 0, 100)).toBe('stopped');
    expect(log).toEqual(['step@2']);
  });

  it('wakeNext likewise', async () => {
    const clock = new ClockSim(0);
    const log: string[] = [];
    begin(clock, log);
    expect(await clock.wakeNext()).toBe(true);
    expect(log).toEqual(['step@2']);
    expect(clock.nowMs()).toBe(2);
  });
});

describe('ClockSim.quietAlarm', () => {
  /** Actors that sleep and hop through jobs, and quiet alarms that re-arm one another. */
  function scenario(clock: ClockSim, seed: number): { log: string[] } {
    const prng = new Prng(seed);
    const log: string[] = [];
    const alarms: { set(ms: number): void }[] = [];
    for (let q = 0; q < 3; q += 1) {
      let fired = 0;
      alarms.push(
        clock.quietAlarm(() => {
          log.push(`q${q}@${clock.nowMs()}`);
          fired += 1;
          // Synchronous work only: arming alarms (itself or another one).
          if (fired < 30) alarms[prng.below(3)]?.set(prng.below(4));
          return true;
        }),
      );
    }
    alarms.forEach((a, i) => a.set(i));
    const actor = async (name: number): Promise<void> => {
      for (let i = 0; i < 30; i += 1) {
        for (let h = prng.below(3); h > 0; h -= 1) await Promise.resolve();
        if (prng.below(4) === 0) alarms[prng.below(3)]?.set(prng.below(5));
        await clock.sleepMs(prng.below(6));
        log.push(`a${name}:${i}@${clock.nowMs()}`);
      }
    };
    for (let a = 0; a < 3; a += 1) void actor(a);
    return { log };
  }

  it('wakeUntil_wakesAndJobsInTheSameOrderAsWakeNext', async () => {
    for (let seed = 1; seed <= 20; seed += 1) {
      const a = new ClockSim(0);
      const byNext = scenario(a, seed);
      while (await a.wakeNext());
      const b = new ClockSim(0);
      const byUntil = scenario(b, seed);
      expect(await b.wakeUntil(() => false, 1_000_000)).toBe('idle');
      expect(byUntil.log, `seed ${seed}`).toEqual(byNext.log);
      expect(byUntil.log.length).toBeGreaterThan(90);
      expect(b.nowMs()).toBe(a.nowMs());
    }
  });

  it('afterAQuietWake_wakeUntilGoesStraightOn_notWaitingForJobs', async () => {
    // Breaks the contract on purpose (a job queued, true returned) to see that nothing waits.
    const run = async (quiet: boolean): Promise<string[]> => {
      const clock = new ClockSim(0);
      const log: string[] = [];
      const fire = (): boolean => {
        log.push('a');
        void Promise.resolve().then(() => log.push('job'));
        return true;
      };
      const a = quiet ? clock.quietAlarm(fire) : clock.alarm(fire);
      const b = clock.alarm(() => log.push('b'));
      a.set(1);
      b.set(2);
      expect(await clock.wakeUntil(() => false, 10)).toBe('idle');
      return log;
    };
    expect(await run(false)).toEqual(['a', 'job', 'b']);
    expect(await run(true)).toEqual(['a', 'b', 'job']);
  });
});
