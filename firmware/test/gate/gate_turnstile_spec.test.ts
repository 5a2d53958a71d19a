// The gate board's turnstile spec: parsed exactly, refused with the key named; a real open of
// a missing device fails with the driver's READER_IO.

import { describe, expect, it } from 'vitest';

import {
  gateTurnstileOpen,
  gateTurnstileSpecParse,
} from '../../src/boards/gate_turnstile.js';
import { WallClock } from '../../../host-sim/src/pn532_sim/pty/wall_clock.js';

describe('gateTurnstileSpecParse', () => {
  it('parsesModbusAndGpio', () => {
    expect(gateTurnstileSpecParse('modbus:/dev/ttyUSB0?unit=3&baud=9600&timeoutMs=300'))
      .toEqual({ kind: 'modbus', path: '/dev/ttyUSB0', unitId: 3, baudRate: 9600,
        timeoutMs: 300 });
    expect(gateTurnstileSpecParse('gpio:gpiochip0?entry=17&exit=18&alarm=27&sensor=22&activeLow=1'))
      .toEqual({ kind: 'gpio', chip: 'gpiochip0', sensorActiveLow: true,
        lines: { entryRelay: 17, exitRelay: 18, alarm: 27, sensor: 22 } });
  });

  it('refuses_missingKey_badUnit_sameLineTwice_unknownKind', () => {
    const cases: Array<[string, RegExp]> = [
      ['modbus:/dev/ttyUSB0?unit=1&baud=9600', /timeoutMs/],
      ['modbus:/dev/ttyUSB0?unit=248&baud=9600&timeoutMs=300', /unit/],
      ['modbus:/dev/ttyUSB0?unit=1&baud=9601&timeoutMs=300', /baud/],
      ['gpio:gpiochip0?entry=17&exit=17&alarm=27&sensor=22&activeLow=0', /differ/],
      ['can:/dev/can0?x=1', /expected modbus/],
    ];
    for (const [text, reason] of cases) expect(() => gateTurnstileSpecParse(text)).toThrow(reason);
  });

  it('refuses_unknownOrRepeatedKey_outOfRangeNumbers_namingTheKey', () => {
    const m = 'modbus:/dev/ttyUSB0?unit=1&baud=9600&timeoutMs=300';
    const g = 'gpio:gpiochip0?entry=17&exit=18&alarm=27&sensor=22&activeLow=0';
    const cases: Array<[string, RegExp]> = [
      // A key the driver does not know would be dropped: 8E1 asked, 8N1 on the wire.
      [`${m}&parity=E`, /unknown key 'parity'/],
      [`${g}&debounceUs=500`, /unknown key 'debounceUs'/],
      // Two values for one key: which one the operator meant is not ours to guess.
      [`${m}&unit=2`, /'unit' given twice/],
      ['modbus:/dev/ttyUSB0?unit=0&baud=9600&timeoutMs=300', /unit must be .* 1..247/],
      ['modbus:/dev/ttyUSB0?unit=1&baud=12345&timeoutMs=300', /baud 12345/],
      ['modbus:/dev/ttyUSB0?unit=1&baud=9600&timeoutMs=5', /timeoutMs must be .* 20..10000/],
      ['modbus:/dev/ttyUSB0?unit=1&baud=9600&timeoutMs=1000000', /timeoutMs must be/],
    ];
    for (const [text, reason] of cases) {
      expect(() => gateTurnstileSpecParse(text), text).toThrow(reason);
    }
    // The twins: the same specs without the extra key parse.
    expect(gateTurnstileSpecParse(m).kind).toBe('modbus');
    expect(gateTurnstileSpecParse(g).kind).toBe('gpio');
  });

  it('open_missingSerialDevice_isReaderIo', async () => {
    const spec = gateTurnstileSpecParse('modbus:/dev/shuaka-none?unit=1&baud=9600&timeoutMs=200');
    const opened = await gateTurnstileOpen(spec, new WallClock());
    expect(opened.ok ? 'opened' : opened.error).toBe('READER_IO');
  });
});
