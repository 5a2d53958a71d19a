// BuzzerPort on a Linux PWM channel through /sys/class/pwm (period and duty cycle in ns).

import assert from 'node:assert/strict';
import type { BuzzerPort } from '../ports/buzzer_port.js';
import { halErr, halOk, HalStatus, type HalResult } from '../ports/hal_status.js';
import type { SysfsFiles } from './sysfs_files.js';

/*
 * Linux PWM sysfs ABI (Documentation/driver-api/pwm.rst, "Using PWMs with the sysfs interface"):
 *   /sys/class/pwm/pwmchipN/export          write a channel number to create pwmM/
 *   /sys/class/pwm/pwmchipN/pwmM/period     total period, ns
 *   /sys/class/pwm/pwmchipN/pwmM/duty_cycle active time, ns, must stay <= period
 *   /sys/class/pwm/pwmchipN/pwmM/enable     0 or 1
 * Writing export for a channel that is already exported fails with EBUSY, so we export only
 * when pwmM/ is missing. The core rejects a period shorter than the current duty cycle
 * (EINVAL), so a retune writes duty_cycle 0 first, then period, then the new duty cycle.
 */

/** A piezo transducer is driven at 50 % duty: the loudest square wave for its resonance. */
const DUTY_DIVISOR = 2;
const NS_PER_S = 1_000_000_000;
/** Audible range we accept; outside it the request is NOT_SUPPORTED rather than silent. */
export const BUZZER_FREQUENCY_HZ_MIN = 20;
export const BUZZER_FREQUENCY_HZ_MAX = 20_000;

export interface SysfsPwmBuzzerOptions {
  /** `/sys` on a board; a temporary directory in tests and in the simulator. */
  readonly sysfsRoot: string;
  /** N in pwmchipN. */
  readonly chip: number;
  /** M in pwmM: the channel wired to the buzzer. */
  readonly channel: number;
  readonly files: SysfsFiles;
}

/** Checks a frequency against the range every BuzzerPort here accepts. */
export function buzzerFrequencyCheck(frequencyHz: number): HalResult<void> {
  const inRange = frequencyHz >= BUZZER_FREQUENCY_HZ_MIN && frequencyHz <= BUZZER_FREQUENCY_HZ_MAX;
  if (Number.isFinite(frequencyHz) && inRange) return halOk(undefined);
  return halErr(HalStatus.NOT_SUPPORTED, `buzzer frequency ${frequencyHz} Hz out of range`);
}

/** Sysfs write failures during operation are all READER_IO at the BuzzerPort boundary. */
function asReaderIo(result: HalResult<void>): HalResult<void> {
  return result.ok ? result : halErr(HalStatus.READER_IO, result.detail);
}

export class SysfsPwmBuzzer implements BuzzerPort {
  /** null = unknown (after a failed write), so the next call writes unconditionally. */
  private enabled: boolean | null = false;
  private frequencyHz: number | null = null;

  private constructor(
    private readonly channelDir: string,
    private readonly files: SysfsFiles,
  ) {}

  /**
   * Exports the channel if needed and leaves it disabled, so the board boots silent. Call once
   * from the board (Tock TRD-3 rule 11: initialisation is not part of the port).
   *
   * Errors: NOT_SUPPORTED (no such pwmchip, or export did not create the channel directory),
   * READER_IO (a write failed).
   */
  static open(options: SysfsPwmBuzzerOptions): HalResult<SysfsPwmBuzzer> {
    assert.ok(Number.isInteger(options.chip) && options.chip >= 0, 'pwm chip');
    assert.ok(Number.isInteger(options.channel) && options.channel >= 0, 'pwm channel');
    const chipDir = `${options.sysfsRoot}/class/pwm/pwmchip${options.chip}`;
    const channelDir = `${chipDir}/pwm${options.channel}`;
    if (!options.files.exists(chipDir)) {
      return halErr(HalStatus.NOT_SUPPORTED, `no PWM chip at ${chipDir}`);
    }
    if (!options.files.exists(channelDir)) {
      const exported = options.files.write(`${chipDir}/export`, `${options.channel}`);
      if (!exported.ok) return halErr(exported.error, exported.detail);
      if (!options.files.exists(channelDir)) {
        return halErr(HalStatus.NOT_SUPPORTED, `export did not create ${channelDir}`);
      }
    }
    const off = options.files.write(`${channelDir}/enable`, '0');
    if (!off.ok) return halErr(HalStatus.READER_IO, off.detail);
    return halOk(new SysfsPwmBuzzer(channelDir, options.files));
  }

  /** Errors: NOT_SUPPORTED (frequency outside 20..20000 Hz), READER_IO. */
  toneOn(frequencyHz: number): Promise<HalResult<void>> {
    const checked = buzzerFrequencyCheck(frequencyHz);
    if (!checked.ok) return Promise.resolve(checked);
    if (this.frequencyHz !== frequencyHz) {
      const tuned = this.tune(frequencyHz);
      if (!tuned.ok) return Promise.resolve(tuned);
    }
    if (this.enabled !== true) {
      this.enabled = null;
      const on = asReaderIo(this.files.write(`${this.channelDir}/enable`, '1'));
      if (!on.ok) return Promise.resolve(on);
      this.enabled = true;
    }
    return Promise.resolve(halOk(undefined));
  }

  /** Errors: READER_IO. */
  toneOff(): Promise<HalResult<void>> {
    if (this.enabled === false) return Promise.resolve(halOk(undefined));
    this.enabled = null;
    const off = asReaderIo(this.files.write(`${this.channelDir}/enable`, '0'));
    if (off.ok) this.enabled = false;
    return Promise.resolve(off);
  }

  private tune(frequencyHz: number): HalResult<void> {
    this.frequencyHz = null;
    const periodNs = Math.round(NS_PER_S / frequencyHz);
    const dutyNs = Math.floor(periodNs / DUTY_DIVISOR);
    assert.ok(dutyNs > 0 && dutyNs <= periodNs);
    const steps: readonly [string, string][] = [
      ['duty_cycle', '0'],
      ['period', `${periodNs}`],
      ['duty_cycle', `${dutyNs}`],
    ];
    for (const [attribute, value] of steps) {
      const written = asReaderIo(this.files.write(`${this.channelDir}/${attribute}`, value));
      if (!written.ok) return written;
    }
    this.frequencyHz = frequencyHz;
    return halOk(undefined);
  }
}
