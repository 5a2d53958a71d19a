// LedPort (and an LED-class active buzzer) through /sys/class/leds/<name>/brightness.

import assert from 'node:assert/strict';
import type { BuzzerPort, LedPort } from '../ports/buzzer_port.js';
import { halErr, halOk, HalStatus, type HalResult } from '../ports/hal_status.js';
import { buzzerFrequencyCheck } from './sysfs_pwm_buzzer.js';
import type { SysfsFiles } from './sysfs_files.js';

/*
 * Linux LED class ABI (Documentation/leds/leds-class.rst):
 *   /sys/class/leds/<name>/brightness      0 = off, 1..max_brightness = on
 *   /sys/class/leds/<name>/max_brightness  read-only
 *   /sys/class/leds/<name>/trigger         "none" hands the LED to user space
 * A device-tree `gpio-leds` node makes any GPIO look like this, which is how a board exposes
 * an active (self-oscillating) buzzer or a status LED without native code.
 */

export interface SysfsLedOptions {
  /** `/sys` on a board; a temporary directory in tests and in the simulator. */
  readonly sysfsRoot: string;
  /** The LED's name in /sys/class/leds, e.g. `green:status`. */
  readonly name: string;
  readonly files: SysfsFiles;
}

export class SysfsLed implements LedPort {
  /** null = unknown (after a failed write), so the next call writes unconditionally. */
  private lit: boolean | null = false;

  private constructor(
    private readonly ledDir: string,
    private readonly onValue: string,
    private readonly files: SysfsFiles,
  ) {}

  /**
   * Reads max_brightness, detaches any kernel trigger (a default `heartbeat` or `mmc0` trigger
   * would keep blinking over our pattern) and switches the LED off. Call once from the board.
   *
   * Errors: NOT_SUPPORTED (no such LED), READER_IO (unreadable max_brightness or a failed write).
   */
  static open(options: SysfsLedOptions): HalResult<SysfsLed> {
    assert.ok(options.name !== '' && !options.name.includes('/'), 'LED name');
    const ledDir = `${options.sysfsRoot}/class/leds/${options.name}`;
    if (!options.files.exists(ledDir)) {
      return halErr(HalStatus.NOT_SUPPORTED, `no LED at ${ledDir}`);
    }
    const max = options.files.read(`${ledDir}/max_brightness`);
    if (!max.ok) return halErr(HalStatus.READER_IO, max.detail);
    const maxBrightness = Number.parseInt(max.value.trim(), 10);
    if (!Number.isInteger(maxBrightness) || maxBrightness < 1) {
      return halErr(HalStatus.READER_IO, `${ledDir}/max_brightness: ${JSON.stringify(max.value)}`);
    }
    if (options.files.exists(`${ledDir}/trigger`)) {
      const detached = options.files.write(`${ledDir}/trigger`, 'none');
      if (!detached.ok) return halErr(HalStatus.READER_IO, detached.detail);
    }
    const off = options.files.write(`${ledDir}/brightness`, '0');
    if (!off.ok) return halErr(HalStatus.READER_IO, off.detail);
    return halOk(new SysfsLed(ledDir, `${maxBrightness}`, options.files));
  }

  /** Errors: READER_IO. */
  setLit(lit: boolean): Promise<HalResult<void>> {
    if (this.lit === lit) return Promise.resolve(halOk(undefined));
    this.lit = null;
    const value = lit ? this.onValue : '0';
    const written = this.files.write(`${this.ledDir}/brightness`, value);
    if (!written.ok) return Promise.resolve(halErr(HalStatus.READER_IO, written.detail));
    this.lit = lit;
    return Promise.resolve(halOk(undefined));
  }
}

/**
 * An active buzzer on a GPIO declared as a `gpio-leds` LED. It has its own oscillator, so the
 * requested frequency is checked for range and otherwise ignored.
 */
export class SysfsLedBuzzer implements BuzzerPort {
  constructor(private readonly led: SysfsLed) {}

  /** Errors: NOT_SUPPORTED (frequency outside 20..20000 Hz), READER_IO. */
  toneOn(frequencyHz: number): Promise<HalResult<void>> {
    const checked = buzzerFrequencyCheck(frequencyHz);
    if (!checked.ok) return Promise.resolve(checked);
    return this.led.setLit(true);
  }

  /** Errors: READER_IO. */
  toneOff(): Promise<HalResult<void>> {
    return this.led.setLit(false);
  }
}
