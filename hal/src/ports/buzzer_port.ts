// Buzzer and LED primitives: switch one output on or off now; timing lives in the pattern player.

import type { HalResult } from './hal_status.js';

/**
 * A buzzer that can sound a continuous tone. Unlike Tock's `Buzzer::buzz(frequency, duration)`
 * there is no duration here: the pattern player times each step on the injected ClockPort, so
 * a tone never outlives a cancelled pattern and no driver owns a timer.
 */
export interface BuzzerPort {
  /**
   * Starts (or retunes) a continuous tone at `frequencyHz`. An active buzzer with a fixed
   * oscillator ignores the frequency; a PWM buzzer sets period = 1e9 / frequencyHz ns.
   *
   * Errors: READER_IO (the device write failed), NOT_SUPPORTED (frequency outside the
   * device's range).
   */
  toneOn(frequencyHz: number): Promise<HalResult<void>>;
  /** Silences the buzzer. Errors: READER_IO. */
  toneOff(): Promise<HalResult<void>>;
}

/** One status LED (a single colour; an RGB LED is three of these). */
export interface LedPort {
  /** Lights the LED at full brightness, or switches it off. Errors: READER_IO. */
  setLit(lit: boolean): Promise<HalResult<void>>;
}
