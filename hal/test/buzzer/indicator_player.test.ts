// Indicator patterns on fake sysfs files: every write and its simulated time, cancellation, faults.

import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClockSim } from '../../../host-sim/src/clock_sim.js';
import {
  SYSFS_TREE_SIM_DEFAULT,
  sysfsTreeSimCreate,
  sysfsTreeSimRender,
} from '../../../host-sim/src/display_sim/sysfs_tree_sim.js';
import { INDICATOR_PATTERNS_DEFAULT } from '../../src/buzzer/indicator_patterns.js';
import type { IndicatorPlayer } from '../../src/buzzer/indicator_player.js';
import {
  openSysfsIndicator, openSysfsIndicatorPartly,
} from '../../src/buzzer/sysfs_indicator.js';
import { halOk, HalStatus, type HalResult } from '../../src/ports/hal_status.js';
import type { IndicatorSignal } from '../../src/ports/indicator_port.js';
import { RecordingSysfsFiles, sysfsTempRoot } from './sysfs_recorder.js';

const PWM0 = 'class/pwm/pwmchip0/pwm0';
const GREEN = 'class/leds/green:status/brightness';
const RED = 'class/leds/red:status/brightness';
/** 1e9 / 2700 and 1e9 / 1800, rounded to whole ns, and their halves. */
const TUNE_HIGH = ['duty_cycle=0', 'period=370370', 'duty_cycle=185185'];
const TUNE_LOW = ['duty_cycle=0', 'period=555556', 'duty_cycle=277778'];

let root = '';
let clock: ClockSim;
let files: RecordingSysfsFiles;
let player: IndicatorPlayer;

function errorOf(result: HalResult<void>): HalStatus | null {
  return result.ok ? null : result.error;
}

function at(timeMs: number, ...writes: string[]): string[] {
  return writes.map((w) => `${timeMs} ${w.startsWith('class/') ? w : `${PWM0}/${w}`}`);
}

beforeEach(() => {
  root = sysfsTempRoot();
  sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
  clock = new ClockSim(1_700_000_000_000);
  files = new RecordingSysfsFiles(root, clock, false);
  const opened = openSysfsIndicator({
    sysfsRoot: root,
    files,
    clock,
    buzzer: { kind: 'pwm', chip: 0, channel: 0 },
    greenLed: 'green:status',
    redLed: 'red:status',
    patterns: INDICATOR_PATTERNS_DEFAULT,
  });
  if (!opened.ok) throw new Error(`${opened.error} ${opened.detail}`);
  player = opened.value;
  files.writes.splice(0);
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('IndicatorPlayer timing', () => {
  it('signal_returnsBeforeAnyClockTimePasses', async () => {
    let settled = false;
    const started = player.signal('denyList').then((result) => {
      settled = true;
      return result;
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(settled).toBe(true);
    expect(await started).toEqual(halOk(undefined));
    expect(clock.nowMs()).toBe(0);
    expect(clock.pending()).toBe(1);
  });

  it('approved_oneShortHighBeepWithGreen', async () => {
    await player.signal('approved');
    await clock.advance(3_000);
    expect(files.lines()).toEqual([
      ...at(0, ...TUNE_HIGH, 'enable=1', `${GREEN}=255`),
      ...at(150, 'enable=0'),
      ...at(1_000, `${GREEN}=0`),
    ]);
    expect(await player.whenDone()).toEqual(halOk(undefined));
  });

  it('declined_threeLowBeepsWithRed', async () => {
    await player.signal('declined');
    await clock.advance(3_000);
    expect(files.lines()).toEqual([
      ...at(0, ...TUNE_LOW, 'enable=1', `${RED}=255`),
      ...at(100, 'enable=0'),
      ...at(200, 'enable=1'),
      ...at(300, 'enable=0'),
      ...at(400, 'enable=1'),
      ...at(500, 'enable=0'),
      ...at(1_000, `${RED}=0`),
    ]);
  });

  it('denyList_oneLongLowBeepWithRed', async () => {
    await player.signal('denyList');
    await clock.advance(3_000);
    expect(files.lines()).toEqual([
      ...at(0, ...TUNE_LOW, 'enable=1', `${RED}=255`),
      ...at(1_000, 'enable=0'),
      ...at(2_000, `${RED}=0`),
    ]);
  });

  it('everySignal_hasItsBeepCountColourAndEnd', async () => {
    const expected: Record<IndicatorSignal, [number, string | null, number]> = {
      approved: [1, GREEN, 1_000],
      declined: [3, RED, 1_000],
      tryAgain: [2, RED, 1_000],
      multipleCards: [2, RED, 1_000],
      alreadyPaid: [2, GREEN, 1_000],
      denyList: [1, RED, 2_000],
      error: [1, RED, 1_000],
      outOfService: [0, RED, 0],
      off: [0, null, 0],
      admitted: [1, GREEN, 1_000],
      insufficientBalance: [2, RED, 1_000],
      expired: [4, RED, 1_000],
      notAccepted: [1, RED, 1_000],
      authFailed: [5, RED, 1_000],
      cardDataError: [3, RED, 1_000],
    };
    for (const [signal, [beeps, led, endMs]] of Object.entries(expected)) {
      files.writes.splice(0);
      await player.signal('off');
      files.writes.splice(0);
      const startMs = clock.nowMs();
      await player.signal(signal as IndicatorSignal);
      await clock.advance(5_000);
      const log = files.writes.map((w) => ({ ...w, atMs: w.atMs - startMs }));
      expect(log.filter((w) => w.file.endsWith('enable') && w.value === '1').length, signal)
        .toBe(beeps);
      const ledFiles = new Set(log.filter((w) => w.file.includes('leds')).map((w) => w.file));
      expect([...ledFiles], signal).toEqual(led === null ? [] : [led]);
      expect(log.at(-1)?.atMs ?? 0, signal).toBe(endMs);
      expect(await player.whenDone(), signal).toEqual(halOk(undefined));
    }
  });

  it('outOfService_leavesRedOn', async () => {
    await player.signal('outOfService');
    await clock.advance(10_000);
    expect(files.lines()).toEqual(at(0, `${RED}=255`));
    expect(sysfsTreeSimRender(root, SYSFS_TREE_SIM_DEFAULT)).toBe(
      'buzzer off | green:status off | red:status ON',
    );
  });
});

describe('IndicatorPlayer cancellation', () => {
  it('newSignal_interruptsAPlayingPatternAtOnce', async () => {
    await player.signal('declined');
    const declinedDone = player.whenDone();
    await clock.advance(250); // second beep is sounding (200..300 ms)
    expect(sysfsTreeSimRender(root, SYSFS_TREE_SIM_DEFAULT)).toBe(
      'buzzer ON 1800 Hz | green:status off | red:status ON',
    );
    files.writes.splice(0);
    await player.signal('approved');
    expect(errorOf(await declinedDone)).toBe(HalStatus.CANCELLED);
    await clock.advance(3_000);
    // The buzzer is already on: it is retuned, not re-enabled. Nothing of "declined" follows.
    expect(files.lines()).toEqual([
      ...at(250, ...TUNE_HIGH, `${GREEN}=255`, `${RED}=0`),
      ...at(400, 'enable=0'),
      ...at(1_250, `${GREEN}=0`),
    ]);
    expect(await player.whenDone()).toEqual(halOk(undefined));
  });

  it('backToBackSignals_lastOneWins', async () => {
    const first = player.signal('declined');
    const second = player.signal('approved');
    expect(errorOf(await first)).toBe(HalStatus.CANCELLED);
    expect(await second).toEqual(halOk(undefined));
    await clock.advance(3_000);
    expect(files.writes.filter((w) => w.file === RED)).toEqual([]);
    expect(sysfsTreeSimRender(root, SYSFS_TREE_SIM_DEFAULT)).toBe(
      'buzzer off | green:status off | red:status off',
    );
  });
});

describe('IndicatorPlayer faults', () => {
  it('firstStepWriteFails_reportsReaderIoAndLeavesAllOff', async () => {
    files.failWrite(`${PWM0}/period`, HalStatus.READER_IO, 0);
    expect(errorOf(await player.signal('approved'))).toBe(HalStatus.READER_IO);
    expect(errorOf(await player.whenDone())).toBe(HalStatus.READER_IO);
    await clock.advance(3_000);
    expect(sysfsTreeSimRender(root, SYSFS_TREE_SIM_DEFAULT)).toBe(
      'buzzer off | green:status off | red:status off',
    );
    expect(clock.pending()).toBe(0);
  });

  it('laterStepWriteFails_whenDoneIsReaderIoAndOutputsAreSwitchedOff', async () => {
    files.failWrite(GREEN, HalStatus.READER_IO, 1);
    expect(await player.signal('approved')).toEqual(halOk(undefined));
    const done = player.whenDone();
    await clock.advance(3_000);
    expect(errorOf(await done)).toBe(HalStatus.READER_IO);
    // The rest-state write at 1000 ms failed; the fail-safe pass wrote green off again.
    expect(files.lines().slice(-1)).toEqual(at(1_000, `${GREEN}=0`));
    expect(sysfsTreeSimRender(root, SYSFS_TREE_SIM_DEFAULT)).toBe(
      'buzzer off | green:status off | red:status off',
    );
  });

  it('partly_noPwmChip_theLedsStillPlay_andTheBuzzerIsListedMissing', async () => {
    fs.rmSync(`${root}/class/pwm`, { recursive: true, force: true });
    const partly = openSysfsIndicatorPartly({
      sysfsRoot: root, files, clock, buzzer: { kind: 'pwm', chip: 0, channel: 0 },
      greenLed: 'green:status', redLed: 'red:status', patterns: INDICATOR_PATTERNS_DEFAULT,
    });
    expect(partly.missing.map((m) => [m.device, m.error]))
      .toEqual([['buzzer', HalStatus.NOT_SUPPORTED]]);
    expect(partly.opened).toBe(2);
    files.writes.splice(0);
    // Old code: no indicator at all once the buzzer was missing; the green LED stayed dark.
    await partly.player.signal('approved');
    await clock.advance(3_000);
    expect(files.lines()).toEqual([...at(0, `${GREEN}=255`), ...at(1_000, `${GREEN}=0`)]);
    expect(openSysfsIndicator({
      sysfsRoot: root, files, clock, buzzer: { kind: 'pwm', chip: 0, channel: 0 },
      greenLed: 'green:status', redLed: 'red:status', patterns: INDICATOR_PATTERNS_DEFAULT,
    }).ok).toBe(false);
  });

  it('missingDevice_failsAtOpenNotAtTheFirstTap', () => {
    const opened = openSysfsIndicator({
      sysfsRoot: root,
      files,
      clock,
      buzzer: { kind: 'pwm', chip: 3, channel: 0 },
      greenLed: 'green:status',
      redLed: null,
      patterns: INDICATOR_PATTERNS_DEFAULT,
    });
    expect(opened.ok ? null : opened.error).toBe(HalStatus.NOT_SUPPORTED);
  });
});
