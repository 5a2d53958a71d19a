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

  /**
   * Resolves after `durationMs` (negative counts as 0). Never rejects. The timer does not keep
   * the process alive by itself: drivers arm a deadline per command and leave it pending when
   * the answer comes first, so after shutdown those deadlines must not delay the exit (the open
   * serial port is what keeps a running validator alive).
   */
  sleepMs(durationMs: number): Promise<void> {
    return new Promise((resolve) => {
      setTimeout(resolve, Math.max(0, durationMs)).unref();
    });
  }
}
