// --port as a libnfc connection string (libnfc's pn532_uart driver:port:speed form).

import { describe, expect, it } from 'vitest';

import { portSpecParse } from '../src/cli/libnfc_connstring.js';

describe('portSpecParse', () => {
  it.each([
    ['/dev/ttyUSB0', { path: '/dev/ttyUSB0', baudRate: null }],
    ['./tty', { path: './tty', baudRate: null }],
    ['ttyS1', { path: 'ttyS1', baudRate: null }],
    ['pn532_uart:/dev/ttyUSB0', { path: '/dev/ttyUSB0', baudRate: null }],
    ['pn532_uart:/dev/ttyAMA0:115200', { path: '/dev/ttyAMA0', baudRate: 115200 }],
  ])('portSpecParse_%s', (text, expected) => {
    expect(portSpecParse(text)).toEqual(expected);
  });

  it.each(['pn532_i2c:/dev/i2c-1', 'acr122_usb:', 'pn532_uart:', 'pn532_uart::115200'])(
    'portSpecParse_refuses_%s',
    (text) => {
      const spec = portSpecParse(text);
      expect('error' in spec && spec.error).toContain(text);
    },
  );
});
