// Strict readers for JSON-shaped data: every failure names the file and the field.

import { panScrub } from '../journal/pan_mask.js';

/**
 * A content error in a named file (a parameter file, a journal record). `field` is a dotted
 * path such as `categories[1].fareMinor`, or '' for the file as a whole.
 */
export class FieldError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${file === '' ? '' : `${file}: `}${field === '' ? '' : `${field}: `}${reason}`);
    this.name = 'FieldError';
  }
}

const HEX_PATTERN = /^(?:[0-9A-Fa-f]{2})*$/;

/**
 * What `JsonFields.str` accepts: the regular expression, and what it accepts in words. A
 * refusal shows `says` ("1 to 32 letters, digits, '.', '-' or '_'"), never the expression:
 * the reader is an operator with a bad parameter file, not the author of the check.
 */
export interface FieldPattern {
  readonly re: RegExp;
  /** Completes "expected ...": short English, no regular expression. */
  readonly says: string;
  /** What the expression cannot say, checked on a value it matched (a calendar date). */
  readonly holds?: (value: string) => boolean;
}

/**
 * JSON.parse's error without the text it quotes. V8 quotes up to ten characters either side
 * of an unexpected token ('Unexpected token 'x', "...90ABCDEF":x011223344"... is not valid
 * JSON'): a trace's PAN, a key file's key, or terminal escapes from a hostile file would go
 * to stderr and the logs. The token itself is kept, control characters written as \uXXXX.
 */
export function jsonSyntaxProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const quoting = message.endsWith(' is not valid JSON');
  const token = /^Unexpected token '.'/su.exec(message)?.[0];
  const kept = !quoting ? message : token ?? 'unexpected text';
  return kept.replace(/[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Reads fields of one JSON object and refuses anything unexpected: wrong types, values out of
 * range, bad hex and (with `finish`) keys nobody read. All methods throw FieldError.
 */
export class JsonFields {
  private readonly seen = new Set<string>();

  private constructor(
    private readonly value: Readonly<Record<string, unknown>>,
    readonly file: string,
    readonly path: string,
  ) {}

  /** Wraps `value`, which must be a plain object. Throws FieldError. */
  static of(value: unknown, file: string, path: string): JsonFields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new FieldError(file, path, `expected an object, got ${describe(value)}`);
    }
    // The cast is safe: a non-null, non-array object is a string-keyed record in JSON.
    return new JsonFields(value as Readonly<Record<string, unknown>>, file, path);
  }

  /** Parses `text` as JSON; a syntax error (a truncated file) becomes a FieldError. */
  static parse(text: string, file: string): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new FieldError(file, '', `not valid JSON (${jsonSyntaxProblem(error)})`);
    }
  }

  /**
   * JsonFields.parse for signed files (parameters): also refuses a key given twice in one
   * object. JSON.parse keeps the last, another reader may keep the first, so one signed file
   * could mean two things (RFC 8259 4: names "SHOULD be unique"). Throws FieldError.
   */
  static parseUnique(text: string, file: string): unknown {
    const value = JsonFields.parse(text, file);
    const twice = jsonKeyTwice(text);
    if (twice !== null) {
      throw new FieldError(file, twice.path, `key ${JSON.stringify(twice.key)} appears twice `
        + 'in one object (JSON readers differ on which one counts)');
    }
    return value;
  }

  /** Dotted path of a child field. */
  at(name: string): string {
    return this.path === '' ? name : `${this.path}.${name}`;
  }

  /** Raw value of a field; absent fields are an error. */
  raw(name: string): unknown {
    this.seen.add(name);
    if (!Object.prototype.hasOwnProperty.call(this.value, name)) {
      throw new FieldError(this.file, this.at(name), 'missing');
    }
    return this.value[name];
  }

  has(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.value, name);
  }

  /** An integer in [min, max]. */
  int(name: string, min: number, max: number): number {
    const value = this.raw(name);
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      this.refuse(name, `expected an integer in ${min}..${max}, got ${describe(value)}`);
    }
    return value;
  }

  /** An integer in [min, max], or null. */
  intOrNull(name: string, min: number, max: number): number | null {
    return this.raw(name) === null ? null : this.int(name, min, max);
  }

  bool(name: string): boolean {
    const value = this.raw(name);
    if (typeof value !== 'boolean') {
      this.refuse(name, `expected true or false, got ${describe(value)}`);
    }
    return value;
  }

  /**
   * A string of at most `lengthMax` characters matching `pattern.re`. The length is checked
   * first, so the expression never runs over an oversized value.
   */
  str(name: string, pattern: FieldPattern, lengthMax: number): string {
    const value = this.raw(name);
    if (typeof value === 'string' && value.length > lengthMax) {
      this.refuse(name, `expected at most ${lengthMax} characters, got ${value.length}`);
    }
    if (typeof value !== 'string' || !pattern.re.test(value)
      || (pattern.holds !== undefined && !pattern.holds(value))) {
      this.refuse(name, `expected ${pattern.says}, got ${describe(value)}`);
    }
    return value;
  }

  /** One of `choices`. */
  choice<T extends string>(name: string, choices: readonly T[]): T {
    const value = this.raw(name);
    const found = choices.find((choice) => choice === value);
    if (found === undefined) {
      this.refuse(name, `expected one of ${choices.join(', ')}, got ${describe(value)}`);
    }
    return found;
  }

  /** Hex of `bytesMin`..`bytesMax` bytes, returned upper case. */
  hex(name: string, bytesMin: number, bytesMax: number): string {
    const value = this.raw(name);
    return checkHex(value, bytesMin, bytesMax, this.file, this.at(name));
  }

  /** Hex as `hex`, or null. */
  hexOrNull(name: string, bytesMin: number, bytesMax: number): string | null {
    return this.raw(name) === null ? null : this.hex(name, bytesMin, bytesMax);
  }

  /** A nested object. */
  obj(name: string): JsonFields {
    return JsonFields.of(this.raw(name), this.file, this.at(name));
  }

  /** An array of at most `lengthMax` items. */
  arr(name: string, lengthMax: number): readonly unknown[] {
    const value = this.raw(name);
    if (!Array.isArray(value)) {
      this.refuse(name, `expected an array, got ${describe(value)}`);
    }
    if (value.length > lengthMax) {
      this.refuse(name, `at most ${lengthMax} items, got ${value.length}`);
    }
    return value;
  }

  /** Throws FieldError for field `name`. */
  refuse(name: string, reason: string): never {
    throw new FieldError(this.file, this.at(name), reason);
  }

  /**
   * Accepts an optional `$comment` (JSON Schema's comment keyword), a string or an array of
   * strings, so a set can carry its own notes; anything else there is refused.
   */
  comment(): void {
    if (!this.has('$comment')) return;
    const value = this.raw('$comment');
    const lines = Array.isArray(value) ? (value as unknown[]) : [value];
    if (!lines.every((line) => typeof line === 'string')) {
      this.refuse('$comment', 'expected a string or an array of strings');
    }
  }

  /** Throws if the object has a key no reader asked for (a typo must not pass silently). */
  finish(): void {
    for (const key of Object.keys(this.value)) {
      if (!this.seen.has(key)) throw new FieldError(this.file, this.at(key), 'unexpected field');
    }
  }
}

/** Checks that `value` is hex of `bytesMin`..`bytesMax` bytes; returns it upper case. */
export function checkHex(
  value: unknown,
  bytesMin: number,
  bytesMax: number,
  file: string,
  field: string,
): string {
  if (typeof value !== 'string' || !HEX_PATTERN.test(value)) {
    const expected = 'hex (an even number of 0-9A-F digits)';
    throw new FieldError(file, field, `expected ${expected}, got ${describe(value)}`);
  }
  const bytes = value.length / 2;
  if (bytes < bytesMin || bytes > bytesMax) {
    throw new FieldError(file, field, `expected ${bytesMin}..${bytesMax} bytes, got ${bytes}`);
  }
  return value.toUpperCase();
}

/** A short, log-safe rendering of a bad value: never a full PAN or track 2 (PCI DSS 3.4.1). */
function describe(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(panScrub(value.length > 40 ? `${value.slice(0, 40)}...` : value));
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  // A card number typed as a number (6234567890123456 is below 2^53) is masked as in a string.
  return `${typeof value} ${panScrub(String(value))}`;
}

/**
 * The first key that appears twice in one object of `text`, which must be valid JSON, with the
 * path of that object ('' for the top); null when every object's keys are unique. Keys are
 * compared decoded ("a" and "\u0061" are one key).
 */
export function jsonKeyTwice(text: string): { key: string; path: string } | null {
  // One entry per open object (its keys and path) or array (null): JSON is valid, so only
  // strings need reading; a string right after { or a comma inside an object is a key.
  const open: ({ keys: Set<string>; path: string; last: string } | null)[] = [];
  let keyNext = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      while (text.charCodeAt(j) !== 0x22) {
        if (text.charCodeAt(j) === 0x5c) {
          escaped = true;
          j += 1;
        }
        j += 1;
      }
      const top = open[open.length - 1];
      if (keyNext && top !== null && top !== undefined) {
        const key = escaped ? JSON.parse(text.slice(i, j + 1)) as string : text.slice(i + 1, j);
        if (top.keys.has(key)) return { key, path: top.path };
        top.keys.add(key);
        top.last = key;
        keyNext = false;
      }
      i = j;
    } else if (c === 0x7b) {
      const parent = open[open.length - 1];
      const path = parent === undefined ? '' : parent === null ? '[]'
        : parent.path === '' ? parent.last : `${parent.path}.${parent.last}`;
      open.push({ keys: new Set(), path, last: '' });
      keyNext = true;
    } else if (c === 0x5b) {
      open.push(null);
    } else if (c === 0x7d || c === 0x5d) {
      open.pop();
    } else if (c === 0x2c) {
      keyNext = open[open.length - 1] !== null;
    }
  }
  return null;
}
