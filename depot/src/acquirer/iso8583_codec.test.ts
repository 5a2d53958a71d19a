// ISO 8583 codec: round trips, two published messages decoded, every malformed form refused.

import { describe, expect, it } from 'vitest';

import { iso8583Decode, iso8583Encode, type Iso8583Message } from './iso8583_codec.js';
import { Iso8583Error, type Iso8583ErrorCode } from './iso8583_error.js';
import { Iso8583FrameReader, iso8583Frame } from './iso8583_frame.js';
import { CUPS_SPEC, iso8583Fields, type Iso8583Spec } from './iso8583_spec.js';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').toUpperCase();

function expectError(run: () => unknown, code: Iso8583ErrorCode, field?: number): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(Iso8583Error);
    const failure = error as Iso8583Error;
    expect(failure.code).toBe(code);
    if (field !== undefined) expect(failure.field).toBe(field);
    expect(failure.message).toContain(code);
    return;
  }
  throw new Error(`expected Iso8583Error ${code}`);
}

/** A deferred authorisation as the depot sends it (odd PAN, field 55, secondary bitmap). */
const AUTH: Iso8583Message = {
  mti: '0100',
  fields: new Map<number, string | Uint8Array>([
    [2, '6212345678901234567'],
    [3, '000000'],
    [4, '000000000200'],
    [11, '000042'],
    [14, '2812'],
    [22, '072'],
    [23, '001'],
    [25, '00'],
    [41, 'SIM00001'],
    [49, '156'],
    [55, hex('9F2608A1B2C3D4E5F607089F2701809F360200A3')],
    [60, '22000001000'],
    [90, '0'.repeat(42)],
  ]),
};

describe('iso8583 codec round trip', () => {
  it('encode_thenDecode_givesTheSameMessageAndWireBytes', () => {
    const bytes = iso8583Encode(AUTH, CUPS_SPEC);
    const back = iso8583Decode(bytes, CUPS_SPEC);
    expect(back.mti).toBe('0100');
    expect([...back.fields.keys()]).toEqual([...AUTH.fields.keys()]);
    for (const [number, value] of AUTH.fields) expect(back.fields.get(number)).toEqual(value);
    expect(toHex(iso8583Encode(back, CUPS_SPEC))).toBe(toHex(bytes));
  });

  it('encode_wireLayout_matchesTheCupsConventionsByteForByte', () => {
    const bytes = iso8583Encode(AUTH, CUPS_SPEC);
    // MTI BCD; bitmap bytes: 1,2,3,4 | 11,14 | 22,23 | 25 | - | 41 | 49,55 | 60; then 90.
    expect(toHex(bytes.subarray(0, 18))).toBe('0100' + 'F024068000808210' + '0000004000000000');
    // Field 2: LL = 19 as BCD, then the PAN left-aligned with a 0 pad nibble.
    expect(toHex(bytes.subarray(18, 29))).toBe('19' + '62123456789012345670');
  });

  it('numericRightAligned_oddLength_padsALeadingNibble', () => {
    const spec: Iso8583Spec = { ...CUPS_SPEC, fields: iso8583Fields([[22, 'x', 'n', 'fixed', 3]]) };
    const bytes = iso8583Encode({ mti: '0200', fields: new Map([[22, '072']]) }, spec);
    expect(toHex(bytes.subarray(10))).toBe('0072');
  });

  it('frameReader_chunksSplitAnywhere_givesWholeMessages', () => {
    const one = iso8583Encode(AUTH, CUPS_SPEC);
    const stream = Buffer.concat([iso8583Frame(one), iso8583Frame(one)]);
    for (const cut of [1, 2, 3, 50, stream.length - 1]) {
      const reader = new Iso8583FrameReader();
      const got = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(got.map(toHex)).toEqual([toHex(one), toHex(one)]);
      expect(reader.pendingBytes()).toBe(0);
    }
  });
});

describe('iso8583 codec against published messages', () => {
  it('decode_ralvescostaSample0800_givesTheDocumentedFields', () => {
    // github.com/ralvescosta/digital-payments README: a binary 0800 key exchange, its
    // breakdown printed beside it (BCD numerics, field 43 ans40, field 63 LLLVAR BCD prefix).
    const spec: Iso8583Spec = {
      name: 'sample-0800', mtiEncoding: 'bcd', lengthPrefixEncoding: 'bcd',
      fields: iso8583Fields([
        [3, 'p', 'n', 'fixed', 6], [11, 's', 'n', 'fixed', 6], [12, 't', 'n', 'fixed', 6],
        [13, 'd', 'n', 'fixed', 4], [43, 'l', 'ans', 'fixed', 40], [63, 'r', 'b', 'lllvar', 999],
      ]),
    };
    const message = iso8583Decode(hex(
      '08002038000000200002810000000001084909052253415630305A30353736333120202020'
      + '5341564E47583130303131303032303030302020202020200011010008B9F3F723CA3CD2F8'), spec);
    expect(message.mti).toBe('0800');
    expect([...message.fields.keys()]).toEqual([3, 11, 12, 13, 43, 63]);
    expect(message.fields.get(3)).toBe('810000');
    expect(message.fields.get(11)).toBe('000001');
    expect(message.fields.get(12)).toBe('084909');
    expect(message.fields.get(13)).toBe('0522');
    expect(message.fields.get(43)).toBe('SAV00Z057631    SAVNGX100110020000      ');
    expect(toHex(message.fields.get(63) as Uint8Array)).toBe('010008B9F3F723CA3CD2F8');
  });

  it('decode_bbvaIso8583LibSample0200_givesItsField55AndAmounts', () => {
    // github.com/Chuckks/Iso8583Lib IsoFileTest.kt: a terminal 0200 (2-byte header counting
    // itself, 5-byte TPDU 6000220000) whose field 55 the test states separately.
    const field55 = '5F2A02048482021C008407A0000000032010950580800080009A032401089C01009F0206'
      + '0000000900009F03060000000000009F090200839F100706010A03A4A8109F1A0204849F1E08365236'
      + '35333530349F26082E078F5CEA112DAA9F2701809F3303E0B0C89F34030103029F3501229F410400'
      + '0000019F530100';
    const frame = hex('01DF6000220000' + '0200303806000881831200000000000009000000001913083501'
      + '0800510001486345556D3371476D5A6F6730303030303030310009303034343531373631048401'
      + '24' + field55 + BBVA_TAIL);
    expect(frame.length).toBe(0x01df);
    const spec: Iso8583Spec = {
      name: 'bbva-1987', mtiEncoding: 'bcd', lengthPrefixEncoding: 'bcd',
      fields: iso8583Fields([
        [3, 'p', 'n', 'fixed', 6], [4, 'a', 'n', 'fixed', 12], [11, 's', 'n', 'fixed', 6],
        [12, 't', 'n', 'fixed', 6], [13, 'd', 'n', 'fixed', 4], [22, 'e', 'n', 'fixed', 3],
        [23, 'q', 'n', 'fixed', 3], [37, 'r', 'an', 'fixed', 12], [41, 'i', 'ans', 'fixed', 8],
        [48, 'x', 'ans', 'lllvar', 999], [49, 'c', 'n', 'fixed', 3],
        [55, 'icc', 'b', 'lllvar', 999],
        [56, 'y', 'b', 'lllvar', 999], [60, 'z', 'b', 'lllvar', 999], [63, 'w', 'b', 'lllvar', 999],
      ]),
    };
    const message = iso8583Decode(frame.subarray(7), spec);
    expect(message.mti).toBe('0200');
    expect(message.fields.get(4)).toBe('000000090000');
    expect(message.fields.get(13)).toBe('0108');
    expect(message.fields.get(22)).toBe('051');
    expect(message.fields.get(41)).toBe('00000001');
    expect(message.fields.get(49)).toBe('484');
    expect(toHex(message.fields.get(55) as Uint8Array)).toBe(field55);
  });
});

const BBVA_TAIL = '0069000A50583652363533353034010B42425641525432395F3130020E52544D5632353239'
  + '31313233323915133839333430373632303030303935333935313816013220023530000230330205455A'
  + '373230303130313030303132453930313030303030363030303030303530303133383030303034184805'
  + 'B90D0FE4118C8EB6E45A57FD296ECEFBAF16B452393435363636443443393943523731334E2020202020'
  + '20202020202020435A3430303135392020202020202020202020202020202020202020202020202020202020'
  + '2020202020202051363036303030333035514B3438F8A7779C3F418690AD0E3C073780C2CFD1C3558922'
  + '7E969DB889BA75549509FE07756777EA0309014634434341344330515230325320';

describe('iso8583 codec refuses malformed messages', () => {
  const good = iso8583Encode(AUTH, CUPS_SPEC);

  it('truncatedAtEveryLength_isTruncated', () => {
    for (let length = 0; length < good.length; length += 1) {
      expectError(() => iso8583Decode(good.subarray(0, length), CUPS_SPEC), 'truncated');
    }
  });

  it('extraByte_isTrailingBytes', () => {
    expectError(() => iso8583Decode(Buffer.concat([good, hex('00')]), CUPS_SPEC),
      'trailing-bytes');
  });

  it('llvarLengthOffByOne_isBadLengthOrTruncatedNeverAWrongValue', () => {
    const longer = good.slice();
    longer[18] = 0x20; // field 2 says 20 digits, its maximum is 19
    expectError(() => iso8583Decode(longer, CUPS_SPEC), 'bad-length', 2);
    const shorter = good.slice();
    shorter[18] = 0x18; // 18 digits: field 3 then starts inside the PAN's last byte
    expect(() => iso8583Decode(shorter, CUPS_SPEC)).toThrow(Iso8583Error);
  });

  it('bitmapNamingAnUndefinedField_isUnknownField', () => {
    const bad = good.slice();
    bad[2] = (bad[2] ?? 0) | 0x08; // bit 5: amount, settlement is not in the CUPS profile
    expectError(() => iso8583Decode(bad, CUPS_SPEC), 'unknown-field', 5);
  });

  it('emptyOrTertiaryBitmap_isBadBitmap', () => {
    expectError(() => iso8583Decode(hex('0800' + '0000000000000000'), CUPS_SPEC), 'bad-bitmap');
    const tertiary = good.slice();
    tertiary[10] = (tertiary[10] ?? 0) | 0x80; // bit 65
    expectError(() => iso8583Decode(tertiary, CUPS_SPEC), 'bad-bitmap', 65);
  });

  it('nonDecimalBcdOrMti_isBadValueOrBadMti', () => {
    const letter = good.slice();
    letter[29] = 0x0a; // field 3's first byte
    expectError(() => iso8583Decode(letter, CUPS_SPEC), 'bad-value', 3);
    expectError(() => iso8583Decode(hex('0A00' + toHex(good.subarray(2))), CUPS_SPEC), 'bad-mti');
  });

  it('encode_wrongLengthsAndTypes_areRefused', () => {
    const withField = (number: number, value: string | Uint8Array): Iso8583Message =>
      ({ mti: '0100', fields: new Map([...AUTH.fields, [number, value]]) });
    expectError(() => iso8583Encode(withField(4, '200'), CUPS_SPEC), 'bad-value', 4);
    expectError(() => iso8583Encode(withField(2, '1'.repeat(20)), CUPS_SPEC), 'bad-length', 2);
    expectError(() => iso8583Encode(withField(55, 'text'), CUPS_SPEC), 'bad-value', 55);
    expectError(() => iso8583Encode(withField(5, '0'.repeat(12)), CUPS_SPEC), 'unknown-field');
    const twoMacs = new Map([...AUTH.fields, [64, hex('00'.repeat(8))],
      [128, hex('11'.repeat(8))]]);
    const both = { mti: '0100', fields: twoMacs };
    expectError(() => iso8583Encode(both, CUPS_SPEC), 'bad-bitmap', 128);
    expectError(() => iso8583Encode({ mti: '01', fields: AUTH.fields }, CUPS_SPEC), 'bad-mti');
    expectError(() => new Iso8583FrameReader().push(hex('0000')), 'bad-length');
  });
});
