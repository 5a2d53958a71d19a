// The board's ClockPort: monotonic time from performance.now, wall time from Date.now.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';

/**
 * Real time for a real board. Only composition roots may touch ambient time (style.md 10.2);
 * the application receives this object through its ports and never sees the globals.
 */
export class SystemClock implements ClockPort {
  /** Monotonic milliseconds (performance.now: immune to NTP steps of the wall clock). */
  nowMs(): number {
    return performance.now();
  }

  /** Unix epoch milliseconds (record times, 9A/9F21). */
  wallMs(): number {
    return Date.now();
  }

  /** Resolves after `durationMs` (negative counts as 0). Never rejects. */
  sleepMs(durationMs: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, durationMs)));
  }
}
