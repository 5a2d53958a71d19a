// Injected clock: the only way application code learns the time or waits.

/**
 * A monotonic millisecond clock plus wall-clock time, injected everywhere.
 * Real boards wire a system clock; the simulator wires ClockSim so runs replay exactly.
 */
export interface ClockPort {
  /** Monotonic milliseconds since an arbitrary origin. Never goes backwards. */
  nowMs(): number;
  /** Wall-clock time as Unix epoch milliseconds (used for record times and card dates). */
  wallMs(): number;
  /** Resolves after `durationMs` of this clock's time. Never rejects. */
  sleepMs(durationMs: number): Promise<void>;
}
