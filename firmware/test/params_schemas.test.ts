// docs/schemas (JSON Schemas for vendors' tools) against the firmware's own strict parsers:
// the starter set conforms to both, and every refusal the schema's bounds, required fields
// and closed objects imply is also a refusal of the parser (naming the same field).

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT } from '../../assembly/test/support/codec_vectors.js';
import { FieldError } from '../src/app/params/json_fields.js';
import { paramsContentParse } from '../src/app/params/params_files.js';
import { paramsStarterFiles } from '../src/cli/params_init.js';
import { TEST_DENY_KEY } from './deny_key_fixture.js';

interface Schema {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly pattern?: string;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly items?: Schema;
  readonly anyOf?: readonly Schema[];
}

const FILES = ['terminal', 'fares', 'aids', 'capk_revocation'];

function schemaOf(name: string): Schema {
  return JSON.parse(
    readFileSync(join(REPO_ROOT, 'docs', 'schemas', `${name}.schema.json`), 'utf8'),
  ) as Schema;
}

/** A small validator for the keywords these schemas use: the problems found, by path. */
function violations(schema: Schema, value: unknown, path: string): string[] {
  if (schema.anyOf !== undefined) {
    return schema.anyOf.some((s) => violations(s, value, path).length === 0) ? [] : [path];
  }
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  const ofType: Record<string, boolean> = {
    object: isObject, array: Array.isArray(value), string: typeof value === 'string',
    boolean: typeof value === 'boolean', integer: Number.isSafeInteger(value),
  };
  if (schema.type !== undefined && ofType[schema.type] !== true) return [path];
  if (typeof value === 'number' && ((schema.minimum ?? -Infinity) > value
    || (schema.maximum ?? Infinity) < value)) return [path];
  if (typeof value === 'string' && ((schema.maxLength ?? Infinity) < value.length
    || (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)))) return [path];
  if (Array.isArray(value)) {
    if (value.length < (schema.minItems ?? 0) || value.length > (schema.maxItems ?? Infinity)) {
      return [path];
    }
    return value.flatMap((item, i) => violations(schema.items ?? {}, item, `${path}[${i}]`));
  }
  if (!isObject) return [];
  const record = value as Record<string, unknown>;
  const at = (key: string): string => (path === '' ? key : `${path}.${key}`);
  const found = (schema.required ?? []).filter((k) => !(k in record)).map(at);
  for (const [key, item] of Object.entries(record)) {
    const sub = schema.properties?.[key];
    if (sub === undefined) {
      if (schema.additionalProperties === false) found.push(at(key));
    } else found.push(...violations(sub, item, at(key)));
  }
  return found;
}

function valueAt(doc: unknown, path: readonly string[]): unknown {
  let node = doc;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Mutations of `value` the schema forbids: [path, mutated document]. */
function forbidden(schema: Schema, doc: unknown, path: string[]): [string, unknown][] {
  const out: [string, unknown][] = [];
  const set = (p: readonly string[], v: unknown, drop = false): unknown => {
    const copy = structuredClone(doc) as Record<string, unknown>;
    let node: Record<string, unknown> = copy;
    for (const key of p.slice(0, -1)) node = node[key] as Record<string, unknown>;
    const last = p[p.length - 1] ?? '';
    if (drop) delete node[last];
    else node[last] = v;
    return copy;
  };
  const name = (p: readonly string[]): string => p.join('.');
  if (schema.type === 'integer' && schema.maximum !== undefined) {
    out.push([name(path), set(path, schema.maximum + 1)]);
    out.push([name(path), set(path, (schema.minimum ?? 0) - 1)]);
  }
  if (schema.type === 'object' && schema.properties !== undefined) {
    out.push([name([...path, 'surplus']), set([...path, 'surplus'], 1)]);
    for (const key of schema.required ?? []) {
      out.push([name([...path, key]), set([...path, key], undefined, true)]);
    }
    for (const [key, sub] of Object.entries(schema.properties)) {
      // An optional section the document leaves out (fares.json `transit`) has nothing to mutate.
      if (key !== '$comment' && valueAt(doc, [...path, key]) !== undefined) {
        out.push(...forbidden(sub, doc, [...path, key]));
      }
    }
  }
  return out;
}

function parseWith(name: string, doc: unknown): void {
  const files = paramsStarterFiles('BUS00001', 'LINE1', TEST_DENY_KEY);
  files.set(`${name}.json`, new TextEncoder().encode(JSON.stringify(doc)));
  paramsContentParse(files);
}

describe('docs/schemas against the parameter parsers', () => {
  it.each(FILES)('starter_%s_conformsToItsSchema', (name) => {
    const bytes = paramsStarterFiles('BUS00001', 'LINE1', TEST_DENY_KEY).get(`${name}.json`);
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    expect(violations(schemaOf(name), doc, '')).toEqual([]);
    expect(() => parseWith(name, doc)).not.toThrow();
  });

  it.each(FILES)('schemaRefusals_%s_areParserRefusalsOfTheSameField', (name) => {
    const bytes = paramsStarterFiles('BUS00001', 'LINE1', TEST_DENY_KEY).get(`${name}.json`);
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    const cases = forbidden(schemaOf(name), doc, []);
    expect(cases.length).toBeGreaterThanOrEqual(2);
    for (const [field, mutated] of cases) {
      expect(violations(schemaOf(name), mutated, ''), field).toContain(field);
      let error: unknown = null;
      try {
        parseWith(name, mutated);
      } catch (e) {
        error = e;
      }
      expect(error, field).toBeInstanceOf(FieldError);
      expect((error as FieldError).file).toBe(`${name}.json`);
      expect((error as FieldError).field, field).toBe(field);
    }
  });
});
