// Simulated clock: time moves only when the simulation advances it; sleeps resolve in order.

import { nextTick } from 'node:process';

import type { ClockAlarm, ClockPort, ClockTimer } from '../../hal/src/ports/clock_port.js';

interface Sleeper {
  /** Moved only by `skipFrozen`, for every sleeper alike (and by an alarm's `set`). */
  wakeMs: number;
  /** Registration order, the tie-break of equal deadlines (an alarm's `set` renews it). */
  order: number;
  /**
   * Resolves a sleep's promise, or calls an alarm's callback (synchronously, in the wake).
   * True only from a quiet alarm's callback that queued nothing (see `quietAlarm`).
   */
  readonly resolve: () => boolean | void;
  /** A quiet alarm's (`quietAlarm`): only its callback's true makes a wake quiet. */
  readonly quiet: boolean;
  /** Called off: dropped when it reaches the top of the heap, with no wake and no time move. */
  cancelled: boolean;
  /** Where it sits in the heap, -1 when out of it (an alarm leaves at once when cleared). */
  index: number;
}

/** How `ClockSim.wakeUntil` ended: its stop condition held, nobody sleeps, too many wakes. */
export type ClockWakeEnd = 'stopped' | 'idle' | 'limit';

/** Sleeps pending at once; more is a leak of sleeps in a loop (a bug), so sleepMs throws. */
export const CLOCK_SIM_SLEEPERS_MAX = 1_000_000;

/**
 * A tick-driven twin of the real clock (TigerBeetle's testing/time). No real timers: a sleep
 * resolves only when `advance`, `step` or `wakeNext` moves time past its deadline. Sleepers
 * wake in (deadline, registration) order; they are kept in a binary heap, so a simulation
 * with thousands of pending sleeps (every driver timeout stays pending until it expires)
 * costs log n per wake, not n.
 */
export class ClockSim implements ClockPort {
  private nowMsValue = 0;
  private orderNext = 0;
  private readonly heap: Sleeper[] = [];

  /** `wallEpochMs` is the wall-clock time at simulated time zero. */
  constructor(private readonly wallEpochMs: number) {}

  nowMs(): number {
    return this.nowMsValue;
  }

  wallMs(): number {
    return this.wallEpochMs + this.nowMsValue;
  }

  /** Throws RangeError when CLOCK_SIM_SLEEPERS_MAX sleeps are already pending. */
  sleepMs(durationMs: number): Promise<void> {
    const wakeMs = this.nowMsValue + Math.max(0, durationMs);
    if (this.heap.length >= CLOCK_SIM_SLEEPERS_MAX) {
      throw new RangeError(`${CLOCK_SIM_SLEEPERS_MAX} sleeps pending`);
    }
    return new Promise<void>((resolve) => {
      this.push({ wakeMs, order: this.orderNext, resolve, quiet: false, cancelled: false,
        index: -1 });
      this.orderNext += 1;
    });
  }

  /**
   * A sleep that `cancel` calls off: a driver timeout whose answer came first. A called-off
   * sleeper is dropped as it reaches the heap's top, without a wake, a macrotask boundary or
   * a move of time (it costs a heap push and pop). Throws as `sleepMs`.
   */
  sleepCancelable(durationMs: number): ClockTimer {
    const wakeMs = this.nowMsValue + Math.max(0, durationMs);
    if (this.heap.length >= CLOCK_SIM_SLEEPERS_MAX) {
      throw new RangeError(`${CLOCK_SIM_SLEEPERS_MAX} sleeps pending`);
    }
    let sleeper: Sleeper | undefined;
    const done = new Promise<void>((resolve) => {
      sleeper = { wakeMs, order: this.orderNext, resolve, quiet: false, cancelled: false,
        index: -1 };
      this.push(sleeper);
      this.orderNext += 1;
    });
    return {
      done,
      cancel: () => {
        if (sleeper !== undefined) sleeper.cancelled = true;
      },
    };
  }

  /**
   * A reusable timer (ClockPort.alarm): one sleeper that `set` puts back in the heap with a
   * new deadline and `clear` takes out at once, with no promise and no allocation. `onFire`
   * runs inside the wake, as a promise's resolve would, and the jobs it causes run before the
   * next wake as a woken sleep's would. `set` throws as `sleepMs`.
   */
  alarm(onFire: () => void): ClockAlarm {
    return this.alarmOf(onFire, false);
  }

  /**
   * `alarm` for a callback that tells whether its wake was quiet: it returns true only when
   * it queued no promise job and no `process.nextTick` (all it did was synchronous, such as
   * arming alarms and handing bytes to a line: the PN532 emulator's command steps). After a
   * quiet wake `wakeUntil` goes straight on to the next one: nothing is left to run between
   * them, so the wakes and jobs happen in the same order as after any other wake.
   */
  quietAlarm(onFire: () => boolean): ClockAlarm {
    return this.alarmOf(onFire, true);
  }

  private alarmOf(onFire: () => boolean | void, quiet: boolean): ClockAlarm {
    const sleeper: Sleeper = {
      wakeMs: 0, order: 0, resolve: onFire, quiet, cancelled: false, index: -1,
    };
    return {
      set: (durationMs) => {
        // One in the heap leaves it and comes back: its place is one slot (never too many).
        const queued = sleeper.index >= 0;
        if (!queued && this.heap.length >= CLOCK_SIM_SLEEPERS_MAX) {
          throw new RangeError(`${CLOCK_SIM_SLEEPERS_MAX} sleeps pending`);
        }
        sleeper.wakeMs = this.nowMsValue + Math.max(0, durationMs);
        sleeper.order = this.orderNext;
        this.orderNext += 1;
        if (queued) this.moved(sleeper);
        else this.push(sleeper);
      },
      clear: () => {
        if (sleeper.index >= 0) this.remove(sleeper);
      },
    };
  }

  /** Number of pending sleeps (called-off ones count until they reach the heap's top). */
  pending(): number {
    return this.heap.length;
  }

  /**
   * Moves time forward by `durationMs`, waking sleepers in deadline order and letting the
   * promise jobs each wake-up schedules run before the next one.
   */
  async advance(durationMs: number): Promise<void> {
    const targetMs = this.nowMsValue + durationMs;
    for (;;) {
      await drainMicrotasks();
      this.dropCancelled();
      const next = this.heap[0];
      if (next === undefined || next.wakeMs > targetMs) break;
      this.pop();
      this.nowMsValue = Math.max(this.nowMsValue, next.wakeMs);
      next.resolve();
    }
    this.nowMsValue = targetMs;
    await drainMicrotasks();
  }

  /**
   * Skips `durationMs` with everything that sleeps frozen: time moves on and every pending
   * deadline moves with it, so no sleeper wakes and each still has the same time left. For a
   * simulation whose every actor is idle in a loop with no effect but time (the swarm's
   * validator polling an empty field on a quiet line): the skipped stretch is what those
   * loops would have done, without doing it. A uniform shift keeps the heap's order.
   */
  skipFrozen(durationMs: number): void {
    const d = Math.max(0, durationMs);
    this.nowMsValue += d;
    for (const sleeper of this.heap) sleeper.wakeMs += d;
  }

  /** Jumps straight to the earliest sleeper's deadline and wakes it; false when none waits. */
  async step(): Promise<boolean> {
    await drainMicrotasks();
    this.dropCancelled();
    const next = this.heap[0];
    if (next === undefined) return false;
    await this.advance(next.wakeMs - this.nowMsValue);
    return true;
  }

  /**
   * The cheap step of long simulations: lets the pending promise jobs run, wakes the earliest
   * sleeper only (time jumps to its deadline) and lets the jobs it causes run, with no
   * macrotask boundary where `step` takes four or more. Wakes happen in the same order as with
   * `step`. False, once the pending jobs have run, when nobody sleeps. It waits for the promise
   * jobs only (`afterPromiseJobs`), not for a macrotask: a simulation stepped this way must do
   * no real I/O or timer work between two wakes (the swarm's boards do none). The jobs pending
   * when it is called run first: an operation just begun (its first sleep or write still a
   * job away) must not find the clock already moved to a later deadline.
   */
  async wakeNext(): Promise<boolean> {
    await afterPromiseJobs(true);
    this.dropCancelled();
    if (this.heap.length === 0) return false;
    this.wakeTop();
    return afterPromiseJobs(true);
  }

  /**
   * `wakeNext` in a loop, without a promise or an async resumption per wake: once the pending
   * jobs have run, `stop()` is asked before each wake (it ends the loop with 'stopped'); after
   * `wakesMax` wakes the loop ends with 'limit'; when nobody sleeps once the pending jobs have
   * run, with 'idle'. Wakes, and the jobs between them, happen exactly as with
   * `while (!stop()) await wakeNext()`: the loop goes on from a `process.nextTick` queued from
   * a promise job, i.e. once every job the last wake caused has run (see `afterPromiseJobs`).
   * The same rule as `wakeNext`: no real I/O or timer work between two wakes. Rejects with
   * what `stop` throws.
   */
  wakeUntil(stop: () => boolean, wakesMax: number): Promise<ClockWakeEnd> {
    return new Promise<ClockWakeEnd>((resolve, reject) => {
      let wakes = 0;
      // Queued from a promise job, so that it runs once every job has (see afterPromiseJobs).
      // nextTick imported, not `process.nextTick`: the global `process` is a getter, and this
      // runs after every wake that is not quiet.
      const queueTurn = (): void => {
        nextTick(turn);
      };
      // Runs only once every pending job has run (the caller's first, then each wake's).
      // After a quiet wake nothing is pending: the next turn follows at once (see quietAlarm).
      const turn = (): void => {
        try {
          for (;;) {
            if (stop()) return resolve('stopped');
            if (wakes > wakesMax) return resolve('limit');
            this.dropCancelled();
            if (this.heap.length === 0) return resolve('idle');
            wakes += 1;
            if (!this.wakeTop()) break;
          }
          void PROMISE_JOB_DONE.then(queueTurn);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      };
      void PROMISE_JOB_DONE.then(queueTurn);
    });
  }

  /**
   * Wakes the earliest sleeper (the heap must hold a live one on top); time jumps to it.
   * True when the wake was quiet (a quiet alarm's callback that queued nothing).
   */
  private wakeTop(): boolean {
    const next = this.pop();
    this.nowMsValue = Math.max(this.nowMsValue, next.wakeMs);
    return next.resolve() === true && next.quiet;
  }

  /** Pops called-off sleepers off the top, so that the top (if any) is a live one. */
  private dropCancelled(): void {
    while (this.heap.length > 0 && (this.heap[0] as Sleeper).cancelled) this.pop();
  }

  private push(s: Sleeper): void {
    this.heap.push(s);
    this.siftUp(s, this.heap.length - 1);
  }

  /** Removes and returns the earliest sleeper; the heap must not be empty. */
  private pop(): Sleeper {
    const top = this.heap[0] as Sleeper;
    this.remove(top);
    return top;
  }

  /**
   * Puts `s` (in the heap) where its new deadline and order belong, from its slot: what a
   * removal and a push give, in one sift. Sleepers wake in (deadline, registration) order,
   * a strict order, so the heap's shape never shows in which one wakes next.
   */
  private moved(s: Sleeper): void {
    const at = s.index;
    if (at > 0 && before(s, this.heap[(at - 1) >> 1] as Sleeper)) this.siftUp(s, at);
    else this.siftDown(s, at);
  }

  /** Takes `s` out of the heap (it must be in it): the last entry fills its place. */
  private remove(s: Sleeper): void {
    const heap = this.heap;
    const at = s.index;
    const last = heap.pop() as Sleeper;
    s.index = -1;
    if (last === s) return;
    if (at > 0 && before(last, heap[(at - 1) >> 1] as Sleeper)) this.siftUp(last, at);
    else this.siftDown(last, at);
  }

  /** Puts `s` at slot `i` or above, moving later parents down. */
  private siftUp(s: Sleeper, from: number): void {
    const heap = this.heap;
    let i = from;
    while (i > 0) {
      const up = (i - 1) >> 1;
      const parent = heap[up] as Sleeper;
      if (!before(s, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = up;
    }
    heap[i] = s;
    s.index = i;
  }

  /** Puts `s` at slot `i` or below, moving earlier children up. */
  private siftDown(s: Sleeper, from: number): void {
    const heap = this.heap;
    let i = from;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && before(heap[right] as Sleeper, heap[left] as Sleeper) ? right : left;
      const earlier = heap[child] as Sleeper;
      if (!before(earlier, s)) break;
      heap[i] = earlier;
      earlier.index = i;
      i = child;
    }
    heap[i] = s;
    s.index = i;
  }
}

function before(a: Sleeper, b: Sleeper): boolean {
  return a.wakeMs < b.wakeMs || (a.wakeMs === b.wakeMs && a.order < b.order);
}

/** A settled promise: a reaction to it is a promise job queued at once. */
const PROMISE_JOB_DONE: Promise<void> = Promise.resolve();

/**
 * Resolves to `value` once every queued promise job, and every job those queue in turn, has
 * run, without leaving for the event loop (a macrotask costs ~2 µs of CPU, and the swarm
 * takes ~180 wakes a tap). Node runs `process.nextTick` callbacks only once V8's microtask
 * queue is empty (processTicksAndRejections: ticks, then runMicrotasks until none is left,
 * then the ticks queued meanwhile), so a tick queued from inside a promise job fires exactly
 * when the queue has drained. The tick is queued from a job of its own (a reaction):
 * from plain synchronous code of a macrotask, Node would run the tick before the jobs.
 */
function afterPromiseJobs<T>(value: T): Promise<T> {
  return new Promise<T>((resolve) => {
    void PROMISE_JOB_DONE.then(() => nextTick(resolve, value));
  });
}

/** Lets every queued promise job run (a macrotask boundary without a timer of our own). */
function drainMicrotasks(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
