// docs/schemas/fares.schema.json checked by a real JSON Schema implementation (python3
// jsonschema, Draft 2020-12; .ci/setup installs python3-jsonschema): the schema is itself valid,
// every fares.json the project ships or tests with conforms, including the tap-in / tap-out
// `transit` table firmware/src/app/fare reads; and each failing twin (one field of the transit
// table broken) is refused by the schema and by the firmware's own parser, naming that field.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { REPO_ROOT } from '../../assembly/test/support/codec_vectors.js';
import { FieldError } from '../src/app/params/json_fields.js';
import { paramsContentParse } from '../src/app/params/params_files.js';
import { DEFAULT_FARES } from '../src/app/params/params_store.js';
import { paramsStarterFiles } from '../src/cli/params_init.js';
import { TEST_DENY_KEY } from './deny_key_fixture.js';
import { transitFaresJson } from './jtt978_fixtures.js';

type Doc = Record<string, unknown>;

const SCHEMA = JSON.parse(
  readFileSync(join(REPO_ROOT, 'docs', 'schemas', 'fares.schema.json'), 'utf8'),
) as unknown;

/** Python: check the schema, then print for each document the paths of its errors. */
const VALIDATE = `
import json, sys
from jsonschema import Draft202012Validator
job = json.load(sys.stdin)
Draft202012Validator.check_schema(job["schema"])
v = Draft202012Validator(job["schema"])
print(json.dumps([sorted(".".join(str(p) for p in e.absolute_path) for e in v.iter_errors(d))
  for d in job["docs"]]))
`;

/** The error paths python3 jsonschema finds in each of `docs`. */
function schemaErrors(docs: readonly unknown[]): string[][] {
  const run = spawnSync('python3', ['-c', VALIDATE], {
    input: JSON.stringify({ schema: SCHEMA, docs }),
    encoding: 'utf8',
  });
  if (run.error !== undefined || run.status !== 0) {
    throw new Error(`python3 jsonschema failed (install python3-jsonschema): ${
      run.error?.message ?? run.stderr}`);
  }
  return JSON.parse(run.stdout) as string[][];
}

function starterFares(): Doc {
  const bytes = paramsStarterFiles('BUS00001', 'LINE1', TEST_DENY_KEY).get('fares.json');
  return JSON.parse(new TextDecoder().decode(bytes)) as Doc;
}

/** Parses `fares` in a starter set; the FieldError's field, or null when accepted. */
function parserRefusal(fares: Doc): string | null {
  const files = paramsStarterFiles('BUS00001', 'LINE1', TEST_DENY_KEY);
  files.set('fares.json', new TextEncoder().encode(JSON.stringify(fares)));
  try {
    paramsContentParse(files);
  } catch (error) {
    if (error instanceof FieldError) return error.field;
    throw error;
  }
  return null;
}

const FIXTURES: readonly (readonly [string, Doc])[] = [
  ['params init starter', starterFares()],
  ['DEFAULT_FARES', JSON.parse(JSON.stringify(DEFAULT_FARES)) as Doc],
  ['T-Union city (transitFaresJson)', transitFaresJson()],
];

/** transitFaresJson with one edit of its `transit` object. */
function twin(edit: (transit: Doc, lines: Doc[]) => void): Doc {
  const doc = transitFaresJson();
  const transit = doc['transit'] as Doc;
  edit(transit, transit['lines'] as Doc[]);
  return doc;
}

/** [what is broken, the document, the path both the schema and the parser name]. */
const TWINS: readonly (readonly [string, Doc, string])[] = [
  ['city code of 5 digits', twin((t) => { t['cityCodeHex'] = '58400'; }), 'transit.cityCodeHex'],
  ['institution not hex', twin((t) => { t['institutionHex'] = 'XY02030405060708'; }),
    'transit.institutionHex'],
  ['no operator code', twin((t) => { delete t['operatorCodeHex']; }), 'transit'],
  ['a surplus field', twin((t) => { t['zone'] = 3; }), 'transit'],
  ['line kind ring', twin((_, l) => { (l[0] as Doc)['kind'] = 'ring'; }), 'transit.lines.0'],
  ['segment line without marked amount',
    twin((_, l) => { delete (l[0] as Doc)['markedAmountMinor']; }), 'transit.lines.0'],
  ['stop number 0', twin((_, l) => { ((l[1] as Doc)['stops'] as Doc[])[0] = { stop: 0,
    distanceM: 0 }; }), 'transit.lines.1'],
  ['basis zones', twin((_, l) => { (l[1] as Doc)['basis'] = 'zones'; }), 'transit.lines.1'],
  ['max ride 0 minutes', twin((_, l) => { (l[0] as Doc)['maxRideMin'] = 0; }),
    'transit.lines.0'],
  ['flat line with bands', twin((_, l) => { (l[2] as Doc)['bands'] = []; }), 'transit.lines.2'],
  ['line code 10000', twin((_, l) => { (l[2] as Doc)['lineCode'] = 10_000; }),
    'transit.lines.2'],
  ['65 lines', twin((t, l) => { t['lines'] = Array.from({ length: 65 }, (_, i) => ({
    ...(l[2] as Doc), lineId: `F${i}`, lineCode: i })); }), 'transit.lines'],
];

describe('docs/schemas/fares.schema.json (python3 jsonschema, Draft 2020-12)', () => {
  it('everyFixtureFaresFile_conformsToTheSchema_andParses', () => {
    expect(schemaErrors(FIXTURES.map(([, doc]) => doc))).toEqual(FIXTURES.map(() => []));
    for (const [name, doc] of FIXTURES) expect(parserRefusal(doc), name).toBeNull();
    expect('transit' in (FIXTURES[2]?.[1] ?? {})).toBe(true);
  });

  it('failingTwins_areRefusedByTheSchemaAndTheParser_atTheSameField', () => {
    const errors = schemaErrors(TWINS.map(([, doc]) => doc));
    TWINS.forEach(([what, doc, path], i) => {
      const found = errors[i] ?? [];
      expect(found.length, what).toBeGreaterThan(0);
      expect(found.every((p) => p.startsWith(path)), `${what}: ${found.join(' ')}`).toBe(true);
      const refused = parserRefusal(doc);
      expect(refused, what).not.toBeNull();
      const parserPath = (refused ?? '').replace(/\[(\d+)\]/g, '.$1');
      expect(parserPath.startsWith(path), `${what}: parser named ${refused}`).toBe(true);
    });
  });
});
