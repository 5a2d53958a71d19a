// Turnstile (gate lane) port: unlock for one passage, lock, alarm, read the pass sensor.

import type { HalResult } from './hal_status.js';

/** Which way the lane is unlocked: an entry lane admits, an exit lane lets visitors out. */
export type TurnstileDirection = 'entry' | 'exit';

/**
 * The pass sensor as last read. `passCount` counts completed passages (a tripod arm's full
 * rotation, or a light barrier pair crossed in order) and only grows, modulo 2^16 as a Modbus
 * register does; the application takes differences (`turnstilePassesSince`). `blocked` is true
 * while someone stands in the sensor (the beam is interrupted, the arm is half turned).
 */
export interface TurnstileSensor {
  readonly passCount: number;
  readonly blocked: boolean;
}

/** Modulus of `TurnstileSensor.passCount` (a 16-bit Modbus input register). */
export const TURNSTILE_PASS_COUNT_MODULUS = 0x1_0000;

/** Passages between two readings of a counter that wraps at TURNSTILE_PASS_COUNT_MODULUS. */
export function turnstilePassesSince(before: number, after: number): number {
  return (after - before + TURNSTILE_PASS_COUNT_MODULUS) % TURNSTILE_PASS_COUNT_MODULUS;
}

/**
 * The gate lane's actuator and sensor, one operation at a time (hal/README.md rule 6). Drivers:
 * `hal/src/turnstile/gpio_turnstile.ts` (libgpiod character device) and
 * `hal/src/turnstile/modbus_turnstile.ts` (RS-485 Modbus RTU controller). Errors common to
 * every method: TIMEOUT (the controller did not answer), TRANSMISSION (CRC error on the
 * answer), PROTOCOL (a Modbus exception or an answer of the wrong shape), READER_IO (the
 * device or chip is missing, or its host link failed; `reopen()` may bring it back), BUSY
 * (another operation is pending).
 */
export interface TurnstilePort {
  /** Releases the lock for passages in `direction`. Errors: see the interface. */
  open(direction: TurnstileDirection): Promise<HalResult<void>>;
  /** Locks the lane in both directions. Errors: see the interface. */
  close(): Promise<HalResult<void>>;
  /** Switches the alarm output (tailgating beacon). Errors: see the interface. */
  alarm(on: boolean): Promise<HalResult<void>>;
  /** Reads the pass sensor. Errors: see the interface. */
  readSensor(): Promise<HalResult<TurnstileSensor>>;
  /** Closes and opens the device again after READER_IO. Errors: READER_IO. */
  reopen(): Promise<HalResult<void>>;
  /** Releases the device; the port is unusable afterwards. Never fails. */
  shutdown(): Promise<void>;
}
