// The board's indicator at boot (bootIndicator) on a real temporary sysfs tree: the devices
// that are there play, each missing one is logged by name; with none, signals are logged.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { ClockSim } from '../../host-sim/src/clock_sim.js';
import {
  SYSFS_TREE_SIM_DEFAULT, sysfsTreeSimCreate,
} from '../../host-sim/src/display_sim/sysfs_tree_sim.js';
import type { LogEvent } from '../src/app/validator/validator_ports.js';
import { bootIndicator } from '../src/boards/bus_validator_parts.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function tree(leds: readonly string[], pwm: boolean): string {
  const root = mkdtempSync(join(tmpdir(), 'shuaka-boot-indicator-'));
  roots.push(root);
  sysfsTreeSimCreate(root, {
    ...SYSFS_TREE_SIM_DEFAULT,
    pwm: pwm ? SYSFS_TREE_SIM_DEFAULT.pwm : [],
    leds: SYSFS_TREE_SIM_DEFAULT.leds.filter((led) => leds.includes(led.name)),
  });
  return root;
}

const brightness = (root: string, led: string): string =>
  readFileSync(join(root, 'class', 'leds', led, 'brightness'), 'latin1').trim();

describe('bootIndicator', () => {
  it('noPwmChip_theStatusLedsStillLight_andTheBuzzerIsLoggedMissing', async () => {
    const root = tree(['green:status', 'red:status'], false);
    const events: LogEvent[] = [];
    const clock = new ClockSim(1_700_000_000_000);
    const indicator = bootIndicator(root, clock, { log: (event) => events.push(event) });
    expect(events.map((e) => [e['event'], e['device']])).toEqual([
      ['indicator-missing', 'buzzer']]);
    await indicator.signal('approved');
    // Old code: the whole indicator was dropped, the green LED never lit.
    expect(brightness(root, 'green:status')).toBe('255');
    expect(events.filter((e) => e['event'] === 'signal')).toEqual([]);
  });

  it('nothingThere_eachDeviceLogged_andSignalsAreLoggedInstead', async () => {
    const root = tree([], false);
    const events: LogEvent[] = [];
    const indicator = bootIndicator(root, new ClockSim(0), { log: (e) => events.push(e) });
    expect(events.map((e) => e['device'])).toEqual(['buzzer', 'green:status', 'red:status']);
    await indicator.signal('declined');
    expect(events.at(-1)).toEqual({ event: 'signal', signal: 'declined' });
  });
});
