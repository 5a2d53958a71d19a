// GPIO turnstile: libgpiod command lines, gpiomon event parsing, real tools on a missing chip.

import { describe, expect, it } from 'vitest';

import { HalStatus } from '../src/ports/hal_status.js';
import {
  gpiogetArgs,
  gpiomonArgs,
  gpiomonEventParse,
  gpiosetArgs,
} from '../src/turnstile/gpio_commands.js';
import { GpioTurnstile } from '../src/turnstile/gpio_turnstile.js';
import { WallClock } from '../../host-sim/src/pn532_sim/pty/wall_clock.js';
import { externalToolsReady } from '../../host-sim/src/pn532_sim/pty/external_tools.js';

const LINES = { entryRelay: 17, exitRelay: 18, alarm: 27, sensor: 22 };

describe('libgpiod command lines', () => {
  it('gpioset_holdsAllThreeOutputs_inSignalMode', () => {
    expect(gpiosetArgs('gpiochip0', LINES, { entry: true, exit: false, alarm: true }))
      .toEqual(['--mode=signal', 'gpiochip0', '17=1', '18=0', '27=1']);
  });

  it('gpiomon_andGpioget_watchTheSensor_withActiveLowWhenAsked', () => {
    expect(gpiomonArgs('/dev/gpiochip1', 22, false)).toEqual(['-b', '/dev/gpiochip1', '22']);
    expect(gpiomonArgs('1', 5, true)).toEqual(['-b', '-l', '1', '5']);
    expect(gpiogetArgs('gpiochip0', 22, true)).toEqual(['-l', 'gpiochip0', '22']);
  });
});

describe('gpiomon event lines (libgpiod 1.6 default format)', () => {
  it('parsesRisingAndFalling_withPaddedFields', () => {
    expect(gpiomonEventParse('event:  RISING EDGE offset: 22 timestamp: [    1605.000000123]'))
      .toEqual({ edge: 'rising', offset: 22, timestampNs: 1_605_000_000_123n });
    expect(gpiomonEventParse('event: FALLING EDGE offset: 3 timestamp: [1700000000.500000000]'))
      .toEqual({ edge: 'falling', offset: 3, timestampNs: 1_700_000_000_500_000_000n });
  });

  it('refusesOtherLines', () => {
    for (const line of [
      '', 'event: SIDEWAYS EDGE offset: 1 timestamp: [1.000000000]',
      'event:  RISING EDGE offset: x timestamp: [1.000000000]',
      'event:  RISING EDGE offset: 1 timestamp: [1.0001]',
      '1 22 1605 123',
    ]) {
      expect(gpiomonEventParse(line), line).toBeNull();
    }
  });
});

describe('GpioTurnstile on a machine without the chip', () => {
  it('open_missingChip_givesReaderIo_withTheToolsOwnWords', async () => {
    if (!externalToolsReady(['gpioget', 'gpioset', 'gpiomon'], 'gpio turnstile')) return;
    const opened = await GpioTurnstile.open({
      chip: 'gpiochip97', lines: LINES, sensorActiveLow: false, settleMs: 100,
      clock: new WallClock(),
    });
    expect(opened.ok).toBe(false);
    if (opened.ok) return;
    expect(opened.error).toBe(HalStatus.READER_IO);
    expect(opened.detail).toMatch(/No such file or directory/);
  });
});

describe('GpioTurnstile over stand-in tools printing the gpiomon format', () => {
  it('countsOnePassagePerActiveToInactiveEdge_andRespawnsTheHolder', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shuaka-gpio-'));
    const write = (name: string, body: string): void =>
      fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    write('gpioget', 'echo 0');
    // The holder records its arguments and stays until signalled, as gpioset --mode=signal.
    write('gpioset', `echo "$@" >> ${dir}/set.log; exec sleep 30`);
    write('gpiomon', [
      "printf 'event:  RISING EDGE offset: 22 timestamp: [    1605.000000001]\\n'",
      "printf 'event: FALLING EDGE offset: 22 timestamp: [    1606.000000001]\\n'",
      "printf 'event:  RISING EDGE offset: 9 timestamp: [    1606.100000001]\\n'",
      "printf 'event:  RISING EDGE offset: 22 timestamp: [    1607.000000001]\\n'",
      'exec sleep 30',
    ].join('\n'));
    const savedPath = process.env['PATH'];
    process.env['PATH'] = `${dir}:${savedPath ?? ''}`;
    try {
      const opened = await GpioTurnstile.open({
        chip: 'gpiochip0', lines: LINES, sensorActiveLow: false, settleMs: 150,
        clock: new WallClock(),
      });
      if (!opened.ok) throw new Error(opened.detail);
      const gate = opened.value;
      expect(await gate.readSensor()).toEqual({ ok: true, value: { passCount: 1, blocked: true } });
      expect((await gate.open('entry')).ok).toBe(true);
      expect((await gate.close()).ok).toBe(true);
      await gate.shutdown();
      expect(fs.readFileSync(path.join(dir, 'set.log'), 'utf8').trim().split('\n')).toEqual([
        '--mode=signal gpiochip0 17=0 18=0 27=0',
        '--mode=signal gpiochip0 17=1 18=0 27=0',
        '--mode=signal gpiochip0 17=0 18=0 27=0',
      ]);
    } finally {
      process.env['PATH'] = savedPath;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
