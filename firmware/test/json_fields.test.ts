// JsonFields.str refusals: the file and field named, what is expected said in words.

import { describe, expect, it } from 'vitest';

import * as patterns from '../src/app/params/field_patterns.js';
import { FieldError, JsonFields, type FieldPattern } from '../src/app/params/json_fields.js';

/** What an operator must never read in a refusal: pieces of a regular expression. */
const REGEX_PIECES = /\/\^|\$\/|\\x|\\d|\[[^\]]*-[^\]]*\]|\{[0-9]+,[0-9]*\}|\(\?:/;

function refusal(value: unknown, pattern: FieldPattern, lengthMax: number): string {
  const fields = JsonFields.of({ name: value }, 'terminal.json', 'line');
  try {
    fields.str('name', pattern, lengthMax);
  } catch (error) {
    if (error instanceof FieldError) return error.message;
    throw error;
  }
  return '';
}

describe('JsonFields.str', () => {
  it('badValue_namesFileAndField_andSaysTheExpectationInWords', () => {
    expect(refusal('BUS 1', patterns.ID_PATTERN, 32)).toBe(
      `terminal.json: line.name: expected 1 to 32 letters, digits, '.', '-' or '_', ` +
        'got "BUS 1"',
    );
    expect(refusal(7, patterns.DATE_PATTERN, 10))
      .toBe('terminal.json: line.name: expected a date YYYY-MM-DD, got number 7');
  });

  it('tooLong_saysTheLengthBeforeThePattern', () => {
    expect(refusal('x'.repeat(65), patterns.TEXT_PATTERN, 64))
      .toBe('terminal.json: line.name: expected at most 64 characters, got 65');
  });

  it('goodValue_isReturned', () => {
    const fields = JsonFields.of({ day: '2026-12-04' }, 'gate.json', '');
    expect(fields.str('day', patterns.DATE_PATTERN, 10)).toBe('2026-12-04');
  });

  it('sharedPatterns_sayWords_notRegularExpressions', () => {
    for (const [name, pattern] of Object.entries(patterns)) {
      expect(pattern.says, name).not.toMatch(REGEX_PIECES);
      expect(pattern.says.length, name).toBeLessThanOrEqual(80);
    }
  });
});
