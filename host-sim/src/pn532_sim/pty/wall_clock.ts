// Real-time ClockPort for pty mode (socat + libnfc run in real time, so the emulator must too).

import type { ClockPort } from '../../../../hal/src/ports/clock_port.js';

/**
 * Monotonic time from performance.now(), wall time from Date.now(), sleeps on setTimeout.
 * Only the pty folder uses it: everything deterministic runs on ClockSim.
 */
export class WallClock implements ClockPort {
  nowMs(): number {
    return performance.now();
  }

  wallMs(): number {
    return Date.now();
  }

  sleepMs(durationMs: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, durationMs)));
  }
}
