// The simulator board's outputs wired as a board would: DWIN emulator plus a fake sysfs tree.

import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ClockSim } from '../../../host-sim/src/clock_sim.js';
import { DwinDisplaySim } from '../../../host-sim/src/display_sim/dwin_display_sim.js';
import {
  SYSFS_TREE_SIM_DEFAULT,
  sysfsTreeSimCreate,
  sysfsTreeSimRender,
} from '../../../host-sim/src/display_sim/sysfs_tree_sim.js';
import { INDICATOR_PATTERNS_DEFAULT } from '../../src/buzzer/indicator_patterns.js';
import { NODE_SYSFS_FILES } from '../../src/buzzer/sysfs_files.js';
import { openSysfsIndicator } from '../../src/buzzer/sysfs_indicator.js';
import { DWIN_LAYOUT_DEFAULT, DwinDisplay } from '../../src/display/dwin_display.js';
import { halOk } from '../../src/ports/hal_status.js';
import { sysfsTempRoot } from '../buzzer/sysfs_recorder.js';

let root = '';

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** What a simulator board composition does: the same drivers as a real board, fake endpoints. */
function simBoardOutputs(clock: ClockSim) {
  root = sysfsTempRoot();
  sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
  const screen = new DwinDisplaySim();
  const display = new DwinDisplay(screen, { layout: DWIN_LAYOUT_DEFAULT, crc: false });
  const indicator = openSysfsIndicator({
    sysfsRoot: root,
    files: NODE_SYSFS_FILES,
    clock,
    buzzer: { kind: 'pwm', chip: 0, channel: 0 },
    greenLed: 'green:status',
    redLed: 'red:status',
    patterns: INDICATOR_PATTERNS_DEFAULT,
  });
  if (!indicator.ok) throw new Error(indicator.detail);
  return { screen, display, indicator: indicator.value };
}

describe('validator outputs on the simulator board', () => {
  it('approvedTap_printsScreenAndIndicatorsThenQuietens', async () => {
    const clock = new ClockSim(0);
    const board = simBoardOutputs(clock);
    const tap = { kind: 'approved', amountMinor: 200, balanceMinor: 4_850 } as const;
    expect(await board.display.show(tap)).toEqual(halOk(undefined));
    expect(await board.indicator.signal('approved')).toEqual(halOk(undefined));
    expect(board.screen.render()).toBe(
      ['[DWIN page 3 approved]', '  title   交易成功', '  amount  扣款 2.00元',
        '  balance 余额 48.50元'].join('\n'),
    );
    expect(sysfsTreeSimRender(root, SYSFS_TREE_SIM_DEFAULT)).toBe(
      'buzzer ON 2700 Hz | green:status ON | red:status off',
    );
    await clock.advance(200);
    expect(sysfsTreeSimRender(root, SYSFS_TREE_SIM_DEFAULT)).toBe(
      'buzzer off | green:status ON | red:status off',
    );
    await clock.advance(800);
    expect(sysfsTreeSimRender(root, SYSFS_TREE_SIM_DEFAULT)).toBe(
      'buzzer off | green:status off | red:status off',
    );
  });
});
