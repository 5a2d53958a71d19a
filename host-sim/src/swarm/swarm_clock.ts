// The swarm's simulated clock: ClockSim's semantics, at a fraction of its cost per step.
//
// ClockSim (clock_sim.ts) waits for the promise jobs to settle four times per step and finds
// the earliest sleeper by a linear scan. A swarm tap takes several hundred steps (UART wire
// times, poll timeouts, card processing), so the swarm keeps the sleepers in a binary heap
// ordered by (wake time, registration order) and settles the jobs once per step: wake the
// earliest sleeper, then let every job it caused run before the next one. The order of wakes
// is the same as ClockSim's, so a seed means the same run on either clock.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';

interface Sleeper {
  readonly wakeMs: number;
  readonly order: number;
  readonly resolve: () => void;
}

/** Sleepers pending at once (a guard against a leak of sleeps in a loop). */
export const SWARM_CLOCK_SLEEPERS_MAX = 100_000;

export class SwarmClock implements ClockPort {
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

  sleepMs(durationMs: number): Promise<void> {
    const wakeMs = this.nowMsValue + Math.max(0, durationMs);
    if (this.heap.length >= SWARM_CLOCK_SLEEPERS_MAX) throw new Error('too many sleepers');
    return new Promise<void>((resolve) => {
      this.push({ wakeMs, order: this.orderNext, resolve });
      this.orderNext += 1;
    });
  }

  pending(): number {
    return this.heap.length;
  }

  /**
   * Wakes the earliest sleeper (time jumps to its deadline) and lets the jobs it causes run.
   * False, after letting pending jobs run, when nobody sleeps.
   */
  async step(): Promise<boolean> {
    if (this.heap.length === 0) {
      await settle();
      if (this.heap.length === 0) return false;
    }
    const next = this.pop();
    this.nowMsValue = Math.max(this.nowMsValue, next.wakeMs);
    next.resolve();
    await settle();
    return true;
  }

  private push(s: Sleeper): void {
    const heap = this.heap;
    heap.push(s);
    let i = heap.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      const parent = heap[up] as Sleeper;
      if (!before(s, parent)) break;
      heap[i] = parent;
      i = up;
    }
    heap[i] = s;
  }

  private pop(): Sleeper {
    const heap = this.heap;
    const top = heap[0] as Sleeper;
    const last = heap.pop() as Sleeper;
    if (heap.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child =
        right < heap.length && before(heap[right] as Sleeper, heap[left] as Sleeper) ? right : left;
      if (!before(heap[child] as Sleeper, last)) break;
      heap[i] = heap[child] as Sleeper;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

function before(a: Sleeper, b: Sleeper): boolean {
  return a.wakeMs < b.wakeMs || (a.wakeMs === b.wakeMs && a.order < b.order);
}

/** Lets every queued promise job run (one macrotask boundary, no timer of our own). */
function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
