// The terminal's objects of field 55: configuration checks, 9F41 encoding, no tag twice.

import { describe, expect, it } from 'vitest';
import {
  iccDataWithTerminal,
  ifdSerialOf,
  TERMINAL_DATA_BUS_VALIDATOR,
  terminalDataProblem,
  terminalDataTlv,
  TerminalDataTlvMemo,
  transactionSequenceCounter,
} from '../src/app/validator/tap_icc_data.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').toUpperCase();
const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));

describe('terminal data', () => {
  it('busValidatorDefaults_areValid_andEncodeAsEmvTlv', () => {
    expect(terminalDataProblem(TERMINAL_DATA_BUS_VALIDATOR)).toBeNull();
    // 9F33 03 0008C8 | 9F35 01 25 | 9F1E 08 "SIM00001" | 9F09 02 0030
    expect(hex(terminalDataTlv(TERMINAL_DATA_BUS_VALIDATOR, 'SIM00001'))).toBe(
      '9F33030008C89F3501259F1E0853494D30303030319F09020030',
    );
  });

  it('refusesEachMalformedField_namingIt', () => {
    const bad = [
      { capabilitiesHex: '0008' },
      { capabilitiesHex: '0008CZ' },
      { typeHex: '47' },
      { typeHex: '2' },
      { ifdSerial: 'SN-00001' },
      { ifdSerial: '123456789' },
      { appVersionHex: '030' },
    ];
    for (const change of bad) {
      const problem = terminalDataProblem({ ...TERMINAL_DATA_BUS_VALIDATOR, ...change });
      expect(problem, JSON.stringify(change)).toMatch(/^9F(33|35|1E|09) /);
    }
    expect(() =>
      terminalDataTlv({ ...TERMINAL_DATA_BUS_VALIDATOR, typeHex: '99' }, 'SIM00001'),
    ).toThrow(RangeError);
  });

  it('ifdSerial_fromTheTerminalId_keepsItsLast8LettersAndDigits', () => {
    expect(ifdSerialOf(TERMINAL_DATA_BUS_VALIDATOR, 'SIM00001')).toBe('SIM00001');
    expect(ifdSerialOf(TERMINAL_DATA_BUS_VALIDATOR, 'bus-L101.0042')).toBe('L1010042');
    expect(ifdSerialOf(TERMINAL_DATA_BUS_VALIDATOR, 'T7')).toBe('000000T7');
    const configured = { ...TERMINAL_DATA_BUS_VALIDATOR, ifdSerial: 'AB12CD34' };
    expect(ifdSerialOf(configured, 'SIM00001')).toBe('AB12CD34');
  });

  it('transactionSequenceCounter_isN8Bcd_moduloTenToTheEighth', () => {
    expect(hex(transactionSequenceCounter(1))).toBe('00000001');
    expect(hex(transactionSequenceCounter(12_345_678))).toBe('12345678');
    expect(hex(transactionSequenceCounter(100_000_007))).toBe('00000007');
    expect(() => transactionSequenceCounter(0)).toThrow(RangeError);
    expect(() => transactionSequenceCounter(1.5)).toThrow(RangeError);
  });

  it('iccData_addsOnlyWhatTheKernelLeftOut', () => {
    const kernel = bytes('9F2608112233445566778895050000000000' + '9F330300E0C8');
    const terminal = terminalDataTlv(TERMINAL_DATA_BUS_VALIDATOR, 'SIM00001');
    const out = iccDataWithTerminal(kernel, terminal, transactionSequenceCounter(42));
    expect(hex(out ?? new Uint8Array(0))).toBe(
      hex(kernel) + '9F3501259F1E0853494D3030303031' + '9F090200309F34033F00009F410400000042',
    );
    expect(iccDataWithTerminal(bytes('9F2608AA'), terminal, bytes('00000001'))).toBeNull();
  });

  it('terminalDataTlvMemo_equalsTerminalDataTlv_asEachInputChanges', () => {
    const memo = new TerminalDataTlvMemo();
    const base = TERMINAL_DATA_BUS_VALIDATOR;
    const steps: [typeof base, string][] = [
      [base, 'SIM00001'],
      [base, 'SIM00001'],
      [{ ...base }, 'SIM00001'],
      [base, 'bus-L101.0042'],
      [base, 'SIM00001'],
      [{ ...base, capabilitiesHex: '0008E8' }, 'SIM00001'],
      [{ ...base, typeHex: '22' }, 'SIM00001'],
      [{ ...base, ifdSerial: 'AB12CD34' }, 'SIM00001'],
      [{ ...base, ifdSerial: 'AB12CD34' }, 'T7'],
      [{ ...base, appVersionHex: '0020' }, 'T7'],
      [base, 'T7'],
    ];
    for (const [data, terminalId] of steps) {
      expect(hex(memo.of(data, terminalId)), `${JSON.stringify(data)} ${terminalId}`).toBe(
        hex(terminalDataTlv(data, terminalId)),
      );
    }
    // An invalid configuration still throws, and leaves the last good encoding in place.
    expect(() => memo.of({ ...base, typeHex: '99' }, 'T7')).toThrow(RangeError);
    expect(hex(memo.of(base, 'T7'))).toBe(hex(terminalDataTlv(base, 'T7')));
  });

  it('transactionSequenceCounter_equalsTheDecimalDigitsReadAsHex', () => {
    const values = [1, 9, 10, 42, 99, 100, 101, 999, 1000, 12_345_678, 99_999_999, 100_000_000];
    values.push(100_000_007, 2 ** 31 - 1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER);
    for (let k = 1; k <= 2000; k += 1) values.push((k * 7_919 * 104_729) % 1e12);
    for (const seq of values) {
      const digits = (seq % 100_000_000).toString().padStart(8, '0');
      expect(hex(transactionSequenceCounter(seq)), String(seq)).toBe(digits);
    }
  });
});
