// The host side of the transaction ABI, byte for byte: TLV and input encoders, outcome decoders.
//
// Expected bytes are written out by hand from the layouts in assembly/README.md
// ("Transaction ABI"), not computed with the code under test.

import { describe, expect, it } from 'vitest';
import { KernelStatus } from '../host/abi.gen.js';
import { decodeJtt978Outcome } from '../host/jtt978_session.js';
import { decodeQpbocOutcome, encodeQpbocInput, tlvEncode } from '../host/qpboc_session.js';
import { fromHex, toHex } from './qpboc_support.js';

describe('tlvEncode', () => {
  it.each([
    [0x9a, 'AB', '9A01AB'],
    [0x9f02, '000000000150', '9F0206000000000150'],
    [0xdf8120, '01', 'DF812001' + '01'],
    [0x84, '', '8400'],
  ])('tlvEncode_tag%s_writesTagLengthValue', (tag, value, expected) => {
    expect(toHex(tlvEncode(tag, fromHex(value)))).toBe(expected);
  });

  it.each([
    [0x7f, '7F'],
    [0x80, '8180'],
    [0xff, '81FF'],
    [0x100, '820100'],
    [0x1234, '821234'],
  ])('tlvEncode_value%sBytes_usesMinimalLength', (length, lengthHex) => {
    const value = new Uint8Array(length).fill(0x5a);
    const encoded = tlvEncode(0xe1, value);
    expect(toHex(encoded.subarray(0, 1 + lengthHex.length / 2))).toBe(`E1${lengthHex}`);
    expect(encoded.length).toBe(1 + lengthHex.length / 2 + length);
    expect(encoded.subarray(encoded.length - length).every((b) => b === 0x5a)).toBe(true);
  });
});

describe('encodeQpbocInput', () => {
  const input = {
    mode: 'ec' as const,
    amountMinor: 123_456_789_012,
    date: '250601',
    time: '235959',
    unpredictableNumber: Uint8Array.of(0xde, 0xad, 0xbe, 0xef),
  };

  it('encodeQpbocInput_withoutCounter_packsBcdFieldsInOrder', () => {
    expect(toHex(encodeQpbocInput({ ...input, transactionType: 0x21 }))).toBe(
      '123456789012' + '250601' + '235959' + 'DEADBEEF' + '21',
    );
  });

  it('encodeQpbocInput_withCounter_appendsItAsEightDigits', () => {
    expect(toHex(encodeQpbocInput({ ...input, amountMinor: 150, sequenceCounter: 4321 }))).toBe(
      '000000000150' + '250601' + '235959' + 'DEADBEEF' + '00' + '00004321',
    );
  });

  it.each([
    [{ date: '25061' }, 'date: 25061'],
    [{ date: '2506a1' }, 'date: 2506a1'],
    [{ time: '23595\u0669' }, 'time: 23595\u0669'],
    [{ time: '2359590' }, 'time: 2359590'],
    [{ amountMinor: 1_000_000_000_000 }, 'amount out of range'],
    [{ amountMinor: 1.5 }, 'amount out of range'],
    [{ sequenceCounter: 100_000_000 }, 'sequence counter out of range'],
  ])('encodeQpbocInput_when%o_throws', (change, message) => {
    expect(() => encodeQpbocInput({ ...input, ...change })).toThrow(message);
  });
});

/** An outcome header (20 bytes) followed by `record`. */
function outcomeBytes(header: string, record: string): Uint8Array {
  expect(header.length).toBe(40);
  return fromHex(header + record);
}

describe('decodeQpbocOutcome', () => {
  it('decodeQpbocOutcome_approvedWithBalance_readsEveryHeaderField', () => {
    // path 1, reason 01, record kind 1 (clearing), flags 1F (balance, ODA performed and
    // passed, commit sent, recovery), AC type 1 (TC), link cause 2, record length 0003,
    // detail FFFFFF85 (-123), balance 000000012345, ODA method 2 (sda), path 1 (qPBOC EC).
    const out = outcomeBytes(
      '0001011F0102' + '0003' + 'FFFFFF85' + '000000012345' + '0201',
      'AABBCC',
    );
    const outcome = decodeQpbocOutcome(KernelStatus.STATUS_APPROVED_OFFLINE, out, [], []);
    expect(outcome).toEqual({
      status: KernelStatus.STATUS_APPROVED_OFFLINE,
      statusName: 'STATUS_APPROVED_OFFLINE',
      transcript: [],
      decisions: [],
      kind: 'approved',
      reasonCode: 1,
      reason: 'offline-approved',
      detail: -123,
      acType: 'TC',
      balanceMinor: 12_345,
      offlineAllowanceMinor: null,
      odaMethod: 'sda',
      path: 'qpboc-ec',
      odaPerformed: true,
      odaPassed: true,
      commitSent: true,
      recovery: true,
      linkLostCause: 'card-gone',
      recordKind: 'clearing',
      clearingRecord: fromHex('AABBCC'),
      tornRecord: null,
    });
  });

  it('decodeQpbocOutcome_tornWithAllowance_keepsTheRecordAsTorn', () => {
    // Flags 20: 9F5D is an offline allowance; record kind 2 (torn).
    const out = outcomeBytes(
      '001E0220FF00' + '0002' + '00000000' + '999999999999' + '0003',
      '0102',
    );
    const outcome = decodeQpbocOutcome(KernelStatus.STATUS_TORN, out, [], []);
    expect(outcome.kind).toBe('torn');
    expect(outcome.reason).toBe('link-lost');
    expect(outcome.acType).toBeNull();
    expect(outcome.balanceMinor).toBeNull();
    expect(outcome.offlineAllowanceMinor).toBe(999_999_999_999);
    expect(outcome.path).toBe('full-flow');
    expect(outcome.tornRecord).toEqual(fromHex('0102'));
    expect(outcome.clearingRecord).toBeNull();
  });

  it('decodeQpbocOutcome_balanceNotBcd_readsItAsItsHexText', () => {
    // A nibble above 9 is no balance; it has always been Number() of the hex text.
    const header = '000101010100' + '0000' + '00000000';
    const tail = '0000';
    const decode = (balance: string): number | null =>
      decodeQpbocOutcome(
        KernelStatus.STATUS_APPROVED_OFFLINE,
        outcomeBytes(header + balance + tail, ''),
        [],
        [],
      ).balanceMinor;
    expect(decode('0000000012AB')).toBeNaN();
    expect(decode('0000000001E5')).toBe(100_000);
  });

  it('decodeQpbocOutcome_negativeStatus_isTerminatedWithoutHeader', () => {
    const outcome = decodeQpbocOutcome(-201, new Uint8Array(0), [], []);
    expect(outcome.kind).toBe('terminated');
    expect(outcome.detail).toBe(-201);
    expect(outcome.recordKind).toBe('none');
    const fault = decodeQpbocOutcome(KernelStatus.ERR_KERNEL_FAULT, new Uint8Array(30), [], []);
    expect(fault.kind).toBe('fault');
  });
});

describe('decodeJtt978Outcome', () => {
  it('decodeJtt978Outcome_declined_readsHeaderWithoutRecord', () => {
    // reason 19 (host refused), record kind 0, flags 41 (balance, blocked), length 0,
    // detail 00006985, balance 000186A0 (100000) in the first 4 bytes of 12..17, path 4.
    const out = outcomeBytes(
      '00130041' + '0000' + '0000' + '00006985' + '000186A00000' + '0004',
      '',
    );
    expect(decodeJtt978Outcome(KernelStatus.STATUS_DECLINED, out)).toEqual({
      status: KernelStatus.STATUS_DECLINED,
      statusName: 'STATUS_DECLINED',
      kind: 'declined',
      reasonCode: 19,
      reason: 'host-refused',
      detail: 0x6985,
      balanceMinor: 100_000,
      debitSent: false,
      recovery: false,
      blocked: true,
      recordKind: 'none',
      recordBytes: null,
      record: null,
    });
  });
});
