// JsonFields.str refusals: the file and field named, what is expected said in words.

import { describe, expect, it } from 'vitest';

import * as patterns from '../src/app/params/field_patterns.js';
import { Prng } from '../../host-sim/src/prng.js';
import {
  FieldError, JsonFields, jsonKeyTwice, jsonSyntaxProblem, type FieldPattern,
} from '../src/app/params/json_fields.js';

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

describe('jsonKeyTwice', () => {
  it('findsAKeyTwiceInOneObject_atAnyDepth_comparedDecoded', () => {
    expect(jsonKeyTwice('{"a":1,"b":2,"a":3}')).toEqual({ key: 'a', path: '' });
    expect(jsonKeyTwice('{"x":{"y":[{"k":1,"k":2}]}}')).toEqual({ key: 'k', path: '[]' });
    expect(jsonKeyTwice('{"x":{"y":1,"z":{},"y":2}}')).toEqual({ key: 'y', path: 'x' });
    expect(jsonKeyTwice('{"a":1,"\\u0061":2}')).toEqual({ key: 'a', path: '' });
  });

  it('sameKeyInOtherObjects_valuesThatLookLikeKeys_andEscapedQuotes_areNotTwice', () => {
    expect(jsonKeyTwice('{"a":{"a":1},"b":[{"a":1},{"a":2}]}')).toBeNull();
    expect(jsonKeyTwice('{"a":"a","b":"a, \\"a\\": 1","c":["a","a"]}')).toBeNull();
    expect(jsonKeyTwice('[1,"x",{"k":"\\\\"},{"k":2}]')).toBeNull();
    // Over random documents, a second reading (by tokens) agrees.
    let seed = 7;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      // The high bits: an LCG's low bits repeat with a short period.
      return Math.floor((seed / 2 ** 32) * n);
    };
    const keys = ['a', 'b', 'c', 'a"q', 'b\\'];
    const doc = (depth: number): string => {
      if (depth === 0 || rand(3) === 0) return JSON.stringify(keys[rand(keys.length)]);
      if (rand(2) === 0) return `[${Array.from({ length: rand(3) }, () => doc(depth - 1))}]`;
      const names = Array.from({ length: rand(4) }, () => keys[rand(keys.length)] ?? 'a');
      return `{${names.map((k) => `${JSON.stringify(k)}:${doc(depth - 1)}`).join(',')}}`;
    };
    const twiceByTokens = (text: string): boolean => {
      let found = false;
      JSON.parse(text);
      // Another reading: a regular expression's tokens, a key being a string before a colon.
      const re = /\{|\}|\[|\]|"(?:[^"\\]|\\.)*"(\s*:)?/g;
      const stack: (Set<string> | null)[] = [];
      for (const m of text.matchAll(re)) {
        const t = m[0];
        if (t === '{') stack.push(new Set());
        else if (t === '[') stack.push(null);
        else if (t === '}' || t === ']') stack.pop();
        else if (m[1] !== undefined) {
          const set = stack[stack.length - 1];
          const key = JSON.parse(t.slice(0, t.length - m[1].length)) as string;
          if (set?.has(key) === true) found = true;
          set?.add(key);
        }
      }
      return found;
    };
    let twice = 0;
    for (let i = 0; i < 500; i += 1) {
      const text = doc(4);
      expect(jsonKeyTwice(text) !== null, text).toBe(twiceByTokens(text));
      if (twiceByTokens(text)) twice += 1;
    }
    // Both answers were asked for.
    expect(twice).toBeGreaterThan(25);
    expect(twice).toBeLessThan(475);
  });
});

describe('JsonFields refusals and card numbers', () => {
  it('aPanGivenAsANumber_isMaskedAsInAString', () => {
    const fields = JsonFields.of({ fare: 6234567890123456, name: '6234567890123456' }, 'f.json',
      '');
    const messages = [() => fields.int('fare', 0, 100_000), () => fields.bool('name')].map((f) => {
      try {
        f();
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    });
    for (const message of messages) {
      expect(message).toMatch(/got (number|string|") ?"?623456\*{6}3456/);
      expect(message).not.toContain('6234567890123456');
    }
  });
});

describe('jsonSyntaxProblem', () => {
  /** JSON.parse's own message for `text` (V8's, the one the CLIs printed before). */
  function v8Message(text: string): string {
    try {
      JSON.parse(text);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error(`${text} parsed`);
  }

  it('keepsNoTextOfTheFile_whereV8QuotesIt_aPanOrAKeyBesideABadToken', () => {
    // Seeded: a PAN (digits) or a key (hex) right beside one stray character, the way a
    // hand-edited trace or key file goes wrong.
    const prng = new Prng(0x15);
    let quotedByV8 = 0;
    for (let i = 0; i < 500; i += 1) {
      const digits = Array.from({ length: 16 }, () => prng.below(10)).join('');
      const hex = Buffer.from(prng.bytes(16)).toString('hex').toUpperCase();
      const secret = i % 2 === 0 ? digits : hex;
      const stray = 'x!@#%&;=<>|~'[prng.below(12)] ?? 'x';
      const text = i % 3 === 0 ? `{"rapdu":${stray}${secret}}` : i % 3 === 1
        ? `${stray}${secret}` : `{"k":"${secret}"${stray}}`;
      const raw = v8Message(text);
      if (raw.includes(secret.slice(0, 8))) quotedByV8 += 1;
      const shown = jsonSyntaxProblem(new SyntaxError(raw));
      expect(shown, text).not.toContain(secret.slice(0, 4));
      expect(shown, text).not.toMatch(/[0-9A-F]{6}/);
    }
    // The independent truth: V8 itself does quote the secret in many of these.
    expect(quotedByV8).toBeGreaterThan(100);
  });

  it('writesControlCharacters_asEscapes_andKeepsPositions', () => {
    const escape = jsonSyntaxProblem(new SyntaxError(v8Message('\u001b[31mred')));
    expect(escape).toBe("Unexpected token '\\u001b'");
    expect(jsonSyntaxProblem(new SyntaxError(v8Message('{"a":1,}'))))
      .toBe(v8Message('{"a":1,}'));
    // Node 24's V8 adds the line and column after the position.
    expect(v8Message('{"a":1,}')).toMatch(/at position 7( \(line 1 column 8\))?$/);
    expect(jsonSyntaxProblem(new SyntaxError(v8Message('')))).toBe('Unexpected end of JSON input');
  });
});
