// JT/T 978 record codecs and BCD date-times against domain.md §7.3 offsets written out here
// byte by byte, and node's own Date for the civil calendar.

import { describe, expect, it } from 'vitest';

import {
  RECORD_1E_TYPE,
  record1ADecode,
  record1AEncode,
  record1EDecode,
  record1EEncode,
  type Record1A,
} from '../src/app/fare/jtt978_records.js';
import {
  jtt978DateTimeBcd,
  jtt978DateTimeDigits,
  jtt978DateTimeParse,
} from '../src/app/fare/jtt978_time.js';
import { prngFromSeed } from './jtt978_fixtures.js';

const CST = 480;

function dateDigits(wallMs: number): string {
  const d = new Date(wallMs + CST * 60_000);
  const two = (n: number): string => n.toString().padStart(2, '0');
  return `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}`
    + `${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`;
}

describe('jtt978 date-time', () => {
  it('agrees with Date over 10^4 seeded instants from 1970 to 2200, both ways', () => {
    const seed = Number(process.env['SHUAKA_SEED'] ?? 978);
    const next = prngFromSeed(seed);
    for (let i = 0; i < 10_000; i += 1) {
      const wallMs = Math.floor(next() * 7_258_118_400) * 1000;
      const digits = jtt978DateTimeDigits(wallMs, CST);
      expect(digits, `seed ${seed}`).toBe(dateDigits(wallMs));
      expect(jtt978DateTimeParse(jtt978DateTimeBcd(wallMs, CST), CST), `seed ${seed}`)
        .toBe(wallMs);
    }
  });

  it('refuses impossible dates and non-BCD bytes', () => {
    const parse = (hex: string): number | null =>
      jtt978DateTimeParse(Uint8Array.from(Buffer.from(hex, 'hex')), CST);
    expect(parse('20240229120000')).not.toBeNull();
    expect(parse('20230229120000')).toBeNull();
    expect(parse('20231301120000')).toBeNull();
    expect(parse('20231131120000')).toBeNull();
    expect(parse('20231130240000')).toBeNull();
    expect(parse('20231130236000')).toBeNull();
    expect(parse('2023113012000A')).toBeNull();
    expect(parse('202311301200')).toBeNull();
  });
});

const BOARDING = {
  cityCodeHex: '5840', institutionHex: '0102030405060708', operatorCodeHex: '0001',
  lineCode: 1203, stop: 7, vehicle: 'SU-E1234', terminalHex: '0000112233445566',
  dateTimeDigits: '20261203072501',
};

function boardedRecord(): Record1A {
  return {
    state: 'boarded', serialDigits: '0000000000000042', locked: false, boarding: BOARDING,
    markedAmountMinor: 500, direction: 1, alighting: null, amountMinor: 0, distance100m: 0,
    transfer: true,
  };
}

describe('001A record', () => {
  it('puts every field at its domain.md §7.3 offset', () => {
    const bytes = record1AEncode(boardedRecord());
    const hexAt = (first1: number, last1: number): string =>
      Buffer.from(bytes.subarray(first1 - 1, last1)).toString('hex').toUpperCase();
    expect(bytes.length).toBe(128);
    expect(hexAt(1, 2)).toBe('2702');
    expect(hexAt(3, 3)).toBe('7D');
    expect(hexAt(4, 4)).toBe('01');
    expect(hexAt(5, 5)).toBe('01');
    expect(hexAt(7, 14)).toBe('0000000000000042');
    expect(hexAt(15, 15)).toBe('01');
    expect(hexAt(16, 17)).toBe('5840');
    expect(hexAt(18, 25)).toBe('0102030405060708');
    expect(hexAt(26, 27)).toBe('0001');
    expect(hexAt(28, 29)).toBe('1203');
    expect(hexAt(30, 30)).toBe('07');
    expect(Buffer.from(bytes.subarray(30, 38)).toString('latin1')).toBe('SU-E1234');
    expect(hexAt(39, 46)).toBe('0000112233445566');
    expect(hexAt(47, 53)).toBe('20261203072501');
    expect(hexAt(54, 57)).toBe('000001F4');
    expect(hexAt(58, 58)).toBe('01');
    expect(hexAt(59, 96)).toBe('00'.repeat(38));
    expect(hexAt(97, 102)).toBe('000000000000');
    expect(hexAt(103, 103)).toBe('01');
  });

  it('round-trips a completed ride', () => {
    const alighted: Record1A = {
      ...boardedRecord(), state: 'alighted',
      alighting: { ...BOARDING, stop: 12, dateTimeDigits: '20261203080000' },
      amountMinor: 300, distance100m: 87, transfer: false,
    };
    const bytes = record1AEncode(alighted);
    expect(Buffer.from(bytes.subarray(96, 102)).toString('hex')).toBe('0000012c0057');
    expect(bytes[58 + 14]).toBe(12);
    expect(record1ADecode(bytes)).toEqual({ ok: true, value: alighted });
  });

  it('decodes a blank record as a card that never rode', () => {
    const decoded = record1ADecode(new Uint8Array(128));
    expect(decoded.ok && decoded.value.state).toBe('initial');
  });

  it('refuses a wrong length, ID, state or non-BCD field', () => {
    const good = record1AEncode(boardedRecord());
    const flip = (index: number, value: number): Uint8Array => {
      const bytes = good.slice();
      bytes[index] = value;
      return bytes;
    };
    expect(record1ADecode(good.subarray(0, 127))).toMatchObject({ ok: false });
    expect(record1ADecode(flip(0, 0x28))).toMatchObject({ ok: false, reason: /2702/ });
    expect(record1ADecode(flip(2, 0x7e))).toMatchObject({ ok: false, reason: /2702/ });
    expect(record1ADecode(flip(14, 0x03))).toMatchObject({ ok: false, reason: /state/ });
    expect(record1ADecode(flip(27, 0x1a))).toMatchObject({ ok: false, reason: /line/ });
    expect(record1ADecode(flip(50, 0xff))).toMatchObject({ ok: false, reason: /time/ });
    expect(record1ADecode(flip(8, 0xab))).toMatchObject({ ok: false, reason: /serial/ });
  });
});

describe('001E record', () => {
  it('puts every field at its domain.md §7.3 offset and round-trips', () => {
    const record = {
      type: RECORD_1E_TYPE.EP_OUT, terminalHex: '0000112233445566', industry: 0x02,
      lineCode: 1203, amountMinor: 300, balanceAfterMinor: 4700,
      dateTimeDigits: '20261203080000', cityCodeHex: '5840', institutionHex: '0102030405060708',
      incompleteMaxMinor: 500, maxRideMin: 180,
    };
    const bytes = record1EEncode(record);
    expect(Buffer.from(bytes).toString('hex').toUpperCase()).toBe(
      '04' + '0000112233445566' + '02' + '00001203' + '000000' + '0000012C' + '0000125C'
      + '20261203080000' + '5840' + '0102030405060708' + '000001F4' + '00B4');
    expect(record1EDecode(bytes)).toEqual(record);
    expect(record1EDecode(bytes.subarray(1))).toBeNull();
    const bad = bytes.slice();
    bad[12] = 0x0c;
    expect(record1EDecode(bad)).toBeNull();
  });
});
