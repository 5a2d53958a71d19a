// Builds a board's IndicatorPort from sysfs devices: the one-call component a board runs at boot.

import type { BuzzerPort, LedPort } from '../ports/buzzer_port.js';
import type { ClockPort } from '../ports/clock_port.js';
import { halErr, halOk, type HalResult } from '../ports/hal_status.js';
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

/**
 * Opens every device (export, detach triggers, all off) and returns the player. Failing here,
 * at boot, is the point (Tock TRD-3 rule 11): a missing buzzer is found before the first rider.
 *
 * Errors: NOT_SUPPORTED (a configured PWM chip or LED does not exist), READER_IO.
 */
export function openSysfsIndicator(options: SysfsIndicatorOptions): HalResult<IndicatorPlayer> {
  const { sysfsRoot, files } = options;
  let buzzer: BuzzerPort | null = null;
  switch (options.buzzer.kind) {
    case 'pwm': {
      const { chip, channel } = options.buzzer;
      const opened = SysfsPwmBuzzer.open({ sysfsRoot, chip, channel, files });
      if (!opened.ok) return halErr(opened.error, opened.detail);
      buzzer = opened.value;
      break;
    }
    case 'led': {
      const opened = SysfsLed.open({ sysfsRoot, name: options.buzzer.name, files });
      if (!opened.ok) return halErr(opened.error, opened.detail);
      buzzer = new SysfsLedBuzzer(opened.value);
      break;
    }
    case 'none':
      break;
    default: {
      const unreachable: never = options.buzzer;
      return unreachable;
    }
  }
  const leds: (LedPort | null)[] = [];
  for (const name of [options.greenLed, options.redLed]) {
    if (name === null) {
      leds.push(null);
      continue;
    }
    const opened = SysfsLed.open({ sysfsRoot, name, files });
    if (!opened.ok) return halErr(opened.error, opened.detail);
    leds.push(opened.value);
  }
  const outputs = { buzzer, green: leds[0] ?? null, red: leds[1] ?? null };
  return halOk(new IndicatorPlayer({ outputs, clock: options.clock, patterns: options.patterns }));
}
