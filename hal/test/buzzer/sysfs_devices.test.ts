// Sysfs PWM buzzer and LED class drivers: the exact attribute writes, in order, in a temp tree.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClockSim } from '../../../host-sim/src/clock_sim.js';
import {
  SYSFS_TREE_SIM_DEFAULT,
  sysfsTreeSimCreate,
} from '../../../host-sim/src/display_sim/sysfs_tree_sim.js';
import { NODE_SYSFS_FILES } from '../../src/buzzer/sysfs_files.js';
import { SysfsLed, SysfsLedBuzzer } from '../../src/buzzer/sysfs_led.js';
import { SysfsPwmBuzzer } from '../../src/buzzer/sysfs_pwm_buzzer.js';
import { halOk, HalStatus, type HalResult } from '../../src/ports/hal_status.js';
import { RecordingSysfsFiles, sysfsRead, sysfsTempRoot } from './sysfs_recorder.js';

const PWM0 = 'class/pwm/pwmchip0/pwm0';
const GREEN = 'class/leds/green:status';

let root = '';
let files: RecordingSysfsFiles;

function errorOf<T>(result: HalResult<T>): HalStatus | null {
  return result.ok ? null : result.error;
}

function mustOpen<T>(result: HalResult<T>): T {
  if (!result.ok) throw new Error(`open failed: ${result.error} ${result.detail}`);
  return result.value;
}

beforeEach(() => {
  root = sysfsTempRoot();
  files = new RecordingSysfsFiles(root, new ClockSim(0), false);
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('NODE_SYSFS_FILES', () => {
  it('writeToAMissingAttribute_isNotSupportedAndCreatesNothing', () => {
    const file = path.join(root, 'brightness');
    expect(errorOf(NODE_SYSFS_FILES.write(file, '1'))).toBe(HalStatus.NOT_SUPPORTED);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('write_replacesTheWholeValue', () => {
    const file = path.join(root, 'period');
    fs.writeFileSync(file, '1000000\n');
    expect(NODE_SYSFS_FILES.write(file, '5')).toEqual(halOk(undefined));
    expect(fs.readFileSync(file, 'latin1')).toBe('5');
  });
});

describe('SysfsPwmBuzzer', () => {
  const options = () => ({ sysfsRoot: root, chip: 0, channel: 0, files });

  it('open_whenAlreadyExported_onlyDisables', () => {
    sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
    mustOpen(SysfsPwmBuzzer.open(options()));
    expect(files.lines()).toEqual([`0 ${PWM0}/enable=0`]);
  });

  it('open_whenNotExported_writesExportFirst', () => {
    sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
    fs.rmSync(path.join(root, PWM0), { recursive: true });
    const kernelFiles = new RecordingSysfsFiles(root, new ClockSim(0), true);
    mustOpen(SysfsPwmBuzzer.open({ ...options(), files: kernelFiles }));
    expect(kernelFiles.lines()).toEqual([
      '0 class/pwm/pwmchip0/export=0',
      `0 ${PWM0}/enable=0`,
    ]);
  });

  it('open_whenExportCreatesNoChannel_isNotSupported', () => {
    sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
    fs.rmSync(path.join(root, PWM0), { recursive: true });
    expect(errorOf(SysfsPwmBuzzer.open(options()))).toBe(HalStatus.NOT_SUPPORTED);
  });

  it('open_whenNoChip_isNotSupportedAndWritesNothing', () => {
    expect(errorOf(SysfsPwmBuzzer.open(options()))).toBe(HalStatus.NOT_SUPPORTED);
    expect(files.writes).toEqual([]);
  });

  it('toneOn_setsPeriodAndHalfDutyInNanosecondsThenEnables', async () => {
    sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
    const buzzer = mustOpen(SysfsPwmBuzzer.open(options()));
    files.writes.splice(0);
    expect(await buzzer.toneOn(2_700)).toEqual(halOk(undefined));
    // 1e9 ns / 2700 Hz = 370370.37 ns -> 370370; half of it is the duty cycle.
    expect(files.lines()).toEqual([
      `0 ${PWM0}/duty_cycle=0`,
      `0 ${PWM0}/period=370370`,
      `0 ${PWM0}/duty_cycle=185185`,
      `0 ${PWM0}/enable=1`,
    ]);
    expect(sysfsRead(root, `${PWM0}/period`)).toBe('370370');
    expect(sysfsRead(root, `${PWM0}/enable`)).toBe('1');
  });

  it('toneOn_sameFrequencyTwice_writesNothingMore', async () => {
    sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
    const buzzer = mustOpen(SysfsPwmBuzzer.open(options()));
    await buzzer.toneOn(2_700);
    files.writes.splice(0);
    await buzzer.toneOn(2_700);
    expect(files.writes).toEqual([]);
  });

  it('retuneWhileOn_dropsDutyBeforePeriodAndStaysEnabled', async () => {
    sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
    const buzzer = mustOpen(SysfsPwmBuzzer.open(options()));
    await buzzer.toneOn(1_800);
    files.writes.splice(0);
    await buzzer.toneOn(4_000);
    expect(files.lines()).toEqual([
      `0 ${PWM0}/duty_cycle=0`,
      `0 ${PWM0}/period=250000`,
      `0 ${PWM0}/duty_cycle=125000`,
    ]);
  });

  it('toneOff_disablesOnceOnly', async () => {
    sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
    const buzzer = mustOpen(SysfsPwmBuzzer.open(options()));
    await buzzer.toneOn(2_700);
    files.writes.splice(0);
    await buzzer.toneOff();
    await buzzer.toneOff();
    expect(files.lines()).toEqual([`0 ${PWM0}/enable=0`]);
  });

  it('toneOn_outsideAudibleRange_isNotSupportedAndWritesNothing', async () => {
    sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
    const buzzer = mustOpen(SysfsPwmBuzzer.open(options()));
    files.writes.splice(0);
    for (const frequencyHz of [0, 19, 20_001, Number.NaN]) {
      expect(errorOf(await buzzer.toneOn(frequencyHz))).toBe(HalStatus.NOT_SUPPORTED);
    }
    expect(files.writes).toEqual([]);
  });

  it('toneOn_whenEnableAttributeVanished_isReaderIo', async () => {
    sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
    const buzzer = mustOpen(SysfsPwmBuzzer.open(options()));
    fs.rmSync(path.join(root, PWM0, 'enable'));
    expect(errorOf(await buzzer.toneOn(2_700))).toBe(HalStatus.READER_IO);
  });
});

describe('SysfsLed', () => {
  const options = () => ({ sysfsRoot: root, name: 'green:status', files });

  it('open_detachesTriggerAndSwitchesOff', () => {
    sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
    mustOpen(SysfsLed.open(options()));
    expect(files.lines()).toEqual([`0 ${GREEN}/trigger=none`, `0 ${GREEN}/brightness=0`]);
  });

  it('setLit_writesMaxBrightnessThenZero', async () => {
    sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
    const led = mustOpen(SysfsLed.open(options()));
    files.writes.splice(0);
    await led.setLit(true);
    expect(sysfsRead(root, `${GREEN}/brightness`)).toBe('255');
    await led.setLit(true);
    await led.setLit(false);
    expect(files.lines()).toEqual([`0 ${GREEN}/brightness=255`, `0 ${GREEN}/brightness=0`]);
  });

  it('open_whenNoSuchLed_isNotSupported', () => {
    expect(errorOf(SysfsLed.open(options()))).toBe(HalStatus.NOT_SUPPORTED);
  });

  it('open_whenMaxBrightnessIsGarbage_isReaderIo', () => {
    sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
    fs.writeFileSync(path.join(root, GREEN, 'max_brightness'), 'x\n');
    expect(errorOf(SysfsLed.open(options()))).toBe(HalStatus.READER_IO);
  });

  it('ledBuzzer_lightsTheGpioLineForAnyAudibleFrequency', async () => {
    sysfsTreeSimCreate(root, {
      pwm: [],
      leds: [{ name: 'beeper', maxBrightness: 1 }],
    });
    const buzzer = new SysfsLedBuzzer(mustOpen(SysfsLed.open({ ...options(), name: 'beeper' })));
    files.writes.splice(0);
    await buzzer.toneOn(2_700);
    await buzzer.toneOff();
    expect(errorOf(await buzzer.toneOn(5))).toBe(HalStatus.NOT_SUPPORTED);
    expect(files.lines()).toEqual([
      '0 class/leds/beeper/brightness=1',
      '0 class/leds/beeper/brightness=0',
    ]);
  });
});
