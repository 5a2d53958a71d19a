// Field 23 (card sequence number, n3) from the tap's 5F34: the PSN byte is BCD (n2), so its
// decimal digits are the field's value; a PSN unknown as BCD sends no field 23, never a guess.
// Truth: the ISO 8583 codec's own decoding of the encoded message.

import { describe, expect, it } from 'vitest';

import { acquirerRequestMessage, type AcquirerRequest } from
  '../../src/acquirer/acquirer_messages.js';
import { iso8583Decode, iso8583Encode } from '../../src/acquirer/iso8583_codec.js';
import { CUPS_SPEC } from '../../src/acquirer/iso8583_spec.js';

const BASE: AcquirerRequest = {
  kind: 'authorisation', pan: '6231000000000000017', psn: 12, amountMinor: 200,
  stan: '000001', terminalId: 'SIM00001', iccData: Uint8Array.of(0x9f, 0x36, 0x02, 0, 1),
  transmissionMs: Date.UTC(2026, 11, 2, 12, 0, 0), tapDate: '261202', tapTime: '081500',
  expiryYymm: null, batch: 1,
};

function field23(request: AcquirerRequest): unknown {
  const bytes = iso8583Encode(acquirerRequestMessage(request), CUPS_SPEC);
  return iso8583Decode(bytes, CUPS_SPEC).fields.get(23);
}

describe('field 23 from the PSN', () => {
  it('psn12_isField23_012_andNull_leavesItOut', () => {
    expect(field23(BASE)).toBe('012');
    expect(field23({ ...BASE, psn: 1 })).toBe('001');
    expect(field23({ ...BASE, psn: null })).toBeUndefined();
  });
});
