// A fake /sys tree in a directory: PWM and LED class files the real sysfs drivers write to.

import * as fs from 'node:fs';
import * as path from 'node:path';

/*
 * Plain files stand in for sysfs attributes. They do not react like the kernel does (writing
 * `export` creates nothing), so a channel the simulator uses is created already exported. The
 * drivers open attributes without O_CREAT, so a path they get wrong fails here as on a board.
 */

export interface SysfsTreeSimOptions {
  /** PWM channels to create, each already exported (pwmchipN/pwmM/ present). */
  readonly pwm: readonly { readonly chip: number; readonly channel: number }[];
  /** LED class devices, e.g. `green:status`, with their max_brightness. */
  readonly leds: readonly { readonly name: string; readonly maxBrightness: number }[];
}

/** The simulated validator: a passive piezo on pwmchip0/pwm0 and a green and a red LED. */
export const SYSFS_TREE_SIM_DEFAULT: SysfsTreeSimOptions = {
  pwm: [{ chip: 0, channel: 0 }],
  leds: [
    { name: 'green:status', maxBrightness: 255 },
    { name: 'red:status', maxBrightness: 255 },
  ],
};

function attribute(file: string, value: string): void {
  fs.writeFileSync(file, value);
}

/** Creates the tree under `root` (the directory that plays `/sys`). */
export function sysfsTreeSimCreate(root: string, options: SysfsTreeSimOptions): void {
  for (const { chip, channel } of options.pwm) {
    const chipDir = path.join(root, 'class', 'pwm', `pwmchip${chip}`);
    const channelDir = path.join(chipDir, `pwm${channel}`);
    fs.mkdirSync(channelDir, { recursive: true });
    attribute(path.join(chipDir, 'export'), '');
    attribute(path.join(chipDir, 'unexport'), '');
    attribute(path.join(chipDir, 'npwm'), `${channel + 1}\n`);
    attribute(path.join(channelDir, 'period'), '0\n');
    attribute(path.join(channelDir, 'duty_cycle'), '0\n');
    attribute(path.join(channelDir, 'enable'), '0\n');
  }
  for (const { name, maxBrightness } of options.leds) {
    const ledDir = path.join(root, 'class', 'leds', name);
    fs.mkdirSync(ledDir, { recursive: true });
    attribute(path.join(ledDir, 'brightness'), '0\n');
    attribute(path.join(ledDir, 'max_brightness'), `${maxBrightness}\n`);
    attribute(path.join(ledDir, 'trigger'), '[none] timer heartbeat\n');
  }
}

/** What the fake tree's files say the buzzer and LEDs are doing now. */
export interface IndicatorFilesSim {
  readonly tones: readonly { readonly chip: number; readonly channel: number;
    readonly enabled: boolean; readonly frequencyHz: number }[];
  readonly leds: Readonly<Record<string, boolean>>;
}

function readNumber(file: string): number {
  return Number.parseInt(fs.readFileSync(file, 'latin1').trim(), 10);
}

/** Reads the current state back from the files, for assertions and the tap printout. */
export function sysfsTreeSimRead(root: string, options: SysfsTreeSimOptions): IndicatorFilesSim {
  const tones = options.pwm.map(({ chip, channel }) => {
    const dir = path.join(root, 'class', 'pwm', `pwmchip${chip}`, `pwm${channel}`);
    const periodNs = readNumber(path.join(dir, 'period'));
    const enabled = readNumber(path.join(dir, 'enable')) === 1;
    const frequencyHz = periodNs > 0 ? Math.round(1e9 / periodNs) : 0;
    return { chip, channel, enabled, frequencyHz };
  });
  const leds: Record<string, boolean> = {};
  for (const { name } of options.leds) {
    leds[name] = readNumber(path.join(root, 'class', 'leds', name, 'brightness')) > 0;
  }
  return { tones, leds };
}

/** One printable line, e.g. `buzzer ON 2700 Hz | green:status ON | red:status off`. */
export function sysfsTreeSimRender(root: string, options: SysfsTreeSimOptions): string {
  const state = sysfsTreeSimRead(root, options);
  const parts = state.tones.map((t) =>
    t.enabled ? `buzzer ON ${t.frequencyHz} Hz` : 'buzzer off',
  );
  for (const [name, lit] of Object.entries(state.leds)) parts.push(`${name} ${lit ? 'ON' : 'off'}`);
  return parts.join(' | ');
}
