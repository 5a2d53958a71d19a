// parseCommandApdu against the four short-APDU cases of ISO/IEC 7816-3 12.1 / 7816-4 5.1,
// written out by hand (header, Lc, data, Le), and the malformed lengths that must be refused.

import { describe, expect, it } from 'vitest';
import { parseCommandApdu } from '../../src/cards/card_apdu.js';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));

describe('parseCommandApdu', () => {
  it('parsesTheFourShortCases', () => {
    const header = { cla: 0x00, ins: 0xb2, p1: 0x01, p2: 0x0c };
    expect(parseCommandApdu(hex('00B2010C'))).toEqual({ ...header, data: hex(''), le: null });
    expect(parseCommandApdu(hex('00B2010C00'))).toEqual({ ...header, data: hex(''), le: 0 });
    expect(parseCommandApdu(hex('00B2010C1D'))).toEqual({ ...header, data: hex(''), le: 0x1d });
    const select = { cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x00 };
    expect(parseCommandApdu(hex('00A4040002A0B1'))).toEqual({
      ...select,
      data: hex('A0B1'),
      le: null,
    });
    expect(parseCommandApdu(hex('00A4040002A0B100'))).toEqual({
      ...select,
      data: hex('A0B1'),
      le: 0,
    });
  });

  it('givesCommandsTheirOwnData_notAViewOfTheFrame', () => {
    const frame = hex('80A8000002830000');
    const parsed = parseCommandApdu(frame);
    frame[5] = 0xff;
    expect(parsed?.data).toEqual(hex('8300'));
  });

  it('refusesMalformedLengths', () => {
    for (const bad of ['', '00', '00B201', '00A4040000A0', '00A4040002A0', '00A4040002A0B10000']) {
      expect(parseCommandApdu(hex(bad)), bad).toBeNull();
    }
  });
});
