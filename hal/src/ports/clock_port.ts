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
  /**
   * Optional: one reusable timer that calls `onFire` (see ClockAlarm), for a driver that arms
   * and calls off a timeout around every serial operation: arming it again allocates nothing
   * and no promise. Callers use `clockAlarm`, which falls back to `clockTimer` without it.
   */
  alarm?(onFire: () => void): ClockAlarm;
}

/** A sleep that can be called off (see ClockPort.sleepCancelable). */
export interface ClockTimer {
  /** Resolves after the duration; never resolves once cancelled first. Never rejects. */
  readonly done: Promise<void>;
  /** Calls the sleep off; a no-op once it has resolved. */
  cancel(): void;
}

/**
 * A reusable one-shot timer (see ClockPort.alarm). `onFire` runs once per arming that was not
 * called off, on the clock's own turn (a simulated clock calls it from its wake, a real one
 * from a timer or a promise job): it must not throw, and it may arm the alarm again.
 */
export interface ClockAlarm {
  /** Arms it `durationMs` from now (below 0 counts as 0), replacing an earlier arming. */
  set(durationMs: number): void;
  /** Calls the current arming off; a no-op when none is pending. */
  clear(): void;
}

/**
 * An alarm on `clock`: its own when it has one, else one built on `clockTimer` (each arming a
 * sleep of its own, called off or ignored when a newer arming or `clear` came first).
 */
export function clockAlarm(clock: ClockPort, onFire: () => void): ClockAlarm {
  if (clock.alarm !== undefined) return clock.alarm(onFire);
  let armings = 0;
  let timer: ClockTimer | undefined;
  const clear = (): void => {
    armings += 1;
    timer?.cancel();
    timer = undefined;
  };
  return {
    set: (durationMs) => {
      clear();
      const arming = armings;
      timer = clockTimer(clock, durationMs);
      void timer.done.then(() => {
        if (arming !== armings) return;
        timer = undefined;
        onFire();
      });
    },
    clear,
  };
}

/**
 * A timer on `clock`: its cancelable sleep when it has one, else a plain sleep whose `cancel`
 * does nothing (the sleep runs out unobserved, as before).
 */
export function clockTimer(clock: ClockPort, durationMs: number): ClockTimer {
  if (clock.sleepCancelable !== undefined) return clock.sleepCancelable(durationMs);
  return { done: clock.sleepMs(durationMs), cancel: () => undefined };
}
