// Simulated clock: time moves only when the simulation advances it; sleeps resolve in order.

import type { ClockPort } from '../../hal/src/ports/clock_port.js';

interface Sleeper {
  readonly wakeMs: number;
  readonly order: number;
  readonly resolve: () => void;
}

/**
 * A tick-driven twin of the real clock (TigerBeetle's testing/time). No real timers: a sleep
 * resolves only when `advance` or `runUntilIdle` moves time past its deadline.
 */
export class ClockSim implements ClockPort {
  private nowMsValue = 0;
  private orderNext = 0;
  private readonly sleepers: Sleeper[] = [];

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
    return new Promise<void>((resolve) => {
      this.sleepers.push({ wakeMs, order: this.orderNext, resolve });
      this.orderNext += 1;
    });
  }

  /** Number of pending sleeps. */
  pending(): number {
    return this.sleepers.length;
  }

  /**
   * Moves time forward by `durationMs`, waking sleepers in deadline order and letting the
   * promise jobs each wake-up schedules run before the next one.
   */
  async advance(durationMs: number): Promise<void> {
    const targetMs = this.nowMsValue + durationMs;
    for (;;) {
      await drainMicrotasks();
      const next = this.earliest();
      if (next === undefined || next.wakeMs > targetMs) break;
      this.sleepers.splice(this.sleepers.indexOf(next), 1);
      this.nowMsValue = Math.max(this.nowMsValue, next.wakeMs);
      next.resolve();
    }
    this.nowMsValue = targetMs;
    await drainMicrotasks();
  }

  /** Jumps straight to the earliest sleeper's deadline and wakes it; false when none waits. */
  async step(): Promise<boolean> {
    await drainMicrotasks();
    const next = this.earliest();
    if (next === undefined) return false;
    await this.advance(next.wakeMs - this.nowMsValue);
    return true;
  }

  private earliest(): Sleeper | undefined {
    let best: Sleeper | undefined;
    for (const s of this.sleepers) {
      if (
        best === undefined ||
        s.wakeMs < best.wakeMs ||
        (s.wakeMs === best.wakeMs && s.order < best.order)
      ) {
        best = s;
      }
    }
    return best;
  }
}

/** Lets every queued promise job run (a macrotask boundary without a timer of our own). */
function drainMicrotasks(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
