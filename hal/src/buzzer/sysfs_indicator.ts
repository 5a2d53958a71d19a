// Builds a board's IndicatorPort from sysfs devices: the one-call component a board runs at boot.

import type { BuzzerPort, LedPort } from '../ports/buzzer_port.js';
import type { ClockPort } from '../ports/clock_port.js';
import { halErr, halOk, type HalResult, type HalStatus } from '../ports/hal_status.js';
import type { IndicatorSignal } from '../ports/indicator_port.js';
import { IndicatorPlayer } from './indicator_player.js';
import { INDICATOR_PATTERNS_DEFAULT, type IndicatorPattern } from './indicator_patterns.js';
import { SysfsLed, SysfsLedBuzzer } from './sysfs_led.js';
import type { SysfsFiles } from './sysfs_files.js';
import { SysfsPwmBuzzer } from './sysfs_pwm_buzzer.js';

/** How the buzzer is wired: a PWM channel (passive piezo) or a gpio-leds line (active). */
export type SysfsBuzzerWiring =
  | { readonly kind: 'pwm'; readonly chip: number; readonly channel: number }
  | { readonly kind: 'led'; readonly name: string }
  | { readonly kind: 'none' };

export interface SysfsIndicatorOptions {
  /** `/sys` on a board; the simulator's temporary tree otherwise. */
  readonly sysfsRoot: string;
  readonly files: SysfsFiles;
  readonly clock: ClockPort;
  readonly buzzer: SysfsBuzzerWiring;
  /** LED class names, or null when the board lacks that colour. */
  readonly greenLed: string | null;
  readonly redLed: string | null;
  readonly patterns: Readonly<Record<IndicatorSignal, IndicatorPattern>>;
}

/**
 * How a bus validator board is wired: the buzzer on pwmchip0/pwm0, the status LEDs
 * green:status and red:status, the default patterns. The simulator builds the same tree.
 */
export const SYSFS_INDICATOR_BUS_VALIDATOR = {
  buzzer: { kind: 'pwm', chip: 0, channel: 0 },
  greenLed: 'green:status',
  redLed: 'red:status',
  patterns: INDICATOR_PATTERNS_DEFAULT,
} as const satisfies Pick<SysfsIndicatorOptions, 'buzzer' | 'greenLed' | 'redLed' | 'patterns'>;

/** A configured device that did not open (its absence is what a board logs). */
export interface SysfsIndicatorMissing {
  /** `buzzer`, or the LED's class name. */
  readonly device: string;
  readonly error: HalStatus;
  readonly detail: string;
}

/**
 * Opens every device (export, detach triggers, all off) and returns the player. Failing here,
 * at boot, is the point (Tock TRD-3 rule 11): a missing buzzer is found before the first rider.
 *
 * Errors: NOT_SUPPORTED (a configured PWM chip or LED does not exist), READER_IO.
 */
export function openSysfsIndicator(options: SysfsIndicatorOptions): HalResult<IndicatorPlayer> {
  const opened = openSysfsIndicatorPartly(options);
  const first = opened.missing[0];
  if (first !== undefined) return halErr(first.error, first.detail);
  return halOk(opened.player);
}

/**
 * Opens the devices that are there and plays on them; lists the configured ones that did not
 * open. A board without a PWM buzzer still lights its status LEDs (the first missing device
 * made the board run with none at all). The player of no device at all plays nothing.
 */
export function openSysfsIndicatorPartly(
  options: SysfsIndicatorOptions,
): { player: IndicatorPlayer; missing: SysfsIndicatorMissing[]; opened: number } {
  const { sysfsRoot, files } = options;
  const missing: SysfsIndicatorMissing[] = [];
  const take = <T>(device: string, result: HalResult<T>): T | null => {
    if (result.ok) return result.value;
    missing.push({ device, error: result.error, detail: result.detail });
    return null;
  };
  let buzzer: BuzzerPort | null = null;
  const wiring = options.buzzer;
  if (wiring.kind === 'pwm') {
    buzzer = take('buzzer', SysfsPwmBuzzer.open({ sysfsRoot, chip: wiring.chip,
      channel: wiring.channel, files }));
  } else if (wiring.kind === 'led') {
    const led = take('buzzer', SysfsLed.open({ sysfsRoot, name: wiring.name, files }));
    buzzer = led === null ? null : new SysfsLedBuzzer(led);
  }
  const ledOf = (name: string | null): LedPort | null =>
    name === null ? null : take(name, SysfsLed.open({ sysfsRoot, name, files }));
  const outputs = { buzzer, green: ledOf(options.greenLed), red: ledOf(options.redLed) };
  const opened = [outputs.buzzer, outputs.green, outputs.red].filter((o) => o !== null).length;
  const player = new IndicatorPlayer({ outputs, clock: options.clock,
    patterns: options.patterns });
  return { player, missing, opened };
}
