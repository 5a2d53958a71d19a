// Indicator port: the validator signals a tap outcome with a beep-and-LED pattern, without waiting.

import type { HalResult } from './hal_status.js';

/** The outcome a pattern stands for. Drivers map each one to beeps and LED colours. */
export type IndicatorSignal =
  | 'approved'
  | 'declined'
  | 'tryAgain'
  | 'denyList'
  | 'alreadyPaid'
  | 'multipleCards'
  | 'error'
  | 'outOfService'
  | 'off';

/** Every signal, for exhaustive tests and tables. */
export const INDICATOR_SIGNALS: readonly IndicatorSignal[] = [
  'approved',
  'declined',
  'tryAgain',
  'denyList',
  'alreadyPaid',
  'multipleCards',
  'error',
  'outOfService',
  'off',
];

/**
 * Buzzer and status LEDs seen as one semantic output. Playing is split-phase (Tock TRD-3):
 * `signal` starts a pattern and returns promptly; `whenDone` reports how it ended. The tap loop
 * awaits `signal` and never `whenDone`.
 */
export interface IndicatorPort {
  /**
   * Starts the pattern for `signal`, cancelling any pattern still playing: the old pattern
   * writes nothing after this call, and this pattern's first step overwrites its outputs.
   * Resolves as soon as the first step is on the hardware (a few sysfs writes); the remaining
   * steps play in the background, timed by the injected ClockPort.
   *
   * Errors: READER_IO (a write of the first step failed; the pattern is not playing and its
   * `whenDone` resolves with the same error).
   */
  signal(signal: IndicatorSignal): Promise<HalResult<void>>;
  /**
   * Resolves when the pattern current at the time of the call ends: ok when it played out (or
   * when nothing is playing), CANCELLED when a newer `signal` replaced it, READER_IO when a
   * later step's write failed (the player then tries to switch every output off).
   */
  whenDone(): Promise<HalResult<void>>;
}
