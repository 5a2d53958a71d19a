// A batch refusal names the field and never echoes card data: every run of 8+ digits or hex
// from the line is blanked, while a range the message states stays readable.

import { describe, expect, it } from 'vitest';

import { BatchError, redact } from '../../src/ingest/batch_error.js';

describe('redact', () => {
  it('blanksCardDataFromTheLine_keepsTheBoundsOfAStatedRange', () => {
    expect(redact('got "6231000000000017"')).toBe('got "[redacted]"');
    expect(redact('9F2608A1B2C3D4E5F60718 is not TLV')).toBe('[redacted] is not TLV');
    expect(redact('expected an integer in 0..4294967295, got -1'))
      .toBe('expected an integer in 0..4294967295, got -1');
    expect(redact('expected an integer in 1000000000..4294967295, got 6231000000000017'))
      .toBe('expected an integer in 1000000000..4294967295, got [redacted]');
    // A line's PAN written like a range is still blanked (no bound of ours is 12+ digits).
    expect(redact('got "6231000000000017..1"')).toBe('got "[redacted]..1"');
    expect(redact('got "A1B2C3D4..1"')).toBe('got "[redacted]..1"');
    expect(redact('card 1234567 ok')).toBe('card 1234567 ok');
  });

  it('appliesToTheMessageOfEveryBatchError', () => {
    const error = new BatchError('bad-batch', 'records[0].pan', 'got 6231000000000017');
    expect(error.message).toBe('records[0].pan: got [redacted]');
    expect(error.reason).toBe('got [redacted]');
  });
});
