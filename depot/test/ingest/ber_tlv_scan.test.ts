// The flat BER-TLV scan on hand-coded field 55 bytes (EMV 4.4 Book 3, Annex B).

import { describe, expect, it } from 'vitest';
import { berTlvScan, tlvValue } from '../../src/ingest/ber_tlv_scan.js';

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

describe('berTlvScan', () => {
  it('readsOneTwoAndThreeByteTags_longLengths_andSkipsPadding', () => {
    const value = '11'.repeat(130);
    const data = bytes(`9A0326120200FF9F360200075F2A020156DF810181 82${value}`.replace(' ', ''));
    const spans = berTlvScan(data);
    expect(spans?.map((s) => s.tag.toString(16).toUpperCase())).toEqual(['9A', '9F36', '5F2A',
      'DF8101']);
    expect(Buffer.from(tlvValue(data, spans ?? [], 0x9f36) ?? []).toString('hex')).toBe('0007');
    expect(tlvValue(data, spans ?? [], 0xdf8101)).toHaveLength(130);
  });

  it.each([['truncated value', '9F360300'], ['length without bytes', '9F3681'],
    ['indefinite length', '9F3680'], ['four-byte tag', '9FFFFFFF0100'],
    ['tag cut short', '9F']])('refuses %s', (_name, hex) => {
    expect(berTlvScan(bytes(hex))).toBeNull();
  });
});
