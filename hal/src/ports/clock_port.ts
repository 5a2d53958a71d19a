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
  /**
   * Optional: a sleep the caller can call off once it has lost its race (a timeout whose
   * answer came first), so that it costs nothing more: a simulated clock never wakes for it.
   * Callers use `clockTimer`, which falls back to `sleepMs` on clocks without it.
   */
  sleepCancelable?(durationMs: number): ClockTimer;
}

/** A sleep that can be called off (see ClockPort.sleepCancelable). */
export interface ClockTimer {
  /** Resolves after the duration; never resolves once cancelled first. Never rejects. */
  readonly done: Promise<void>;
  /** Calls the sleep off; a no-op once it has resolved. */
  cancel(): void;
}

/**
 * A timer on `clock`: its cancelable sleep when it has one, else a plain sleep whose `cancel`
 * does nothing (the sleep runs out unobserved, as before).
 */
export function clockTimer(clock: ClockPort, durationMs: number): ClockTimer {
  if (clock.sleepCancelable !== undefined) return clock.sleepCancelable(durationMs);
  return { done: clock.sleepMs(durationMs), cancel: () => undefined };
}
