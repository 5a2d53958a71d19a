// The transit fare table of fares.json: parsed through the whole parameter-set parser, and
// every contradiction refused naming its field (each rule with a passing and a failing twin).

import { describe, expect, it } from 'vitest';

import { FieldError } from '../src/app/params/json_fields.js';
import { faresOf, transitFaresJson } from './jtt978_fixtures.js';

type Doc = Record<string, unknown>;

function refusal(fares: unknown): FieldError {
  try {
    faresOf(fares);
  } catch (error) {
    if (error instanceof FieldError) return error;
    throw error;
  }
  throw new Error('accepted');
}

/** A copy of the fixture with `edit` applied to its transit section. */
function edited(edit: (transit: Doc, lines: Doc[]) => void): Doc {
  const doc = structuredClone(transitFaresJson());
  const transit = doc['transit'] as Doc;
  edit(transit, transit['lines'] as Doc[]);
  return doc;
}

describe('transit fare table', () => {
  it('parses lines, stops, bands and the record identity', () => {
    const fares = faresOf(transitFaresJson());
    expect(fares.transit?.cityCodeHex).toBe('5840');
    expect(fares.transit?.lines.map((l) => [l.lineId, l.kind, l.lineCode])).toEqual([
      ['B12', 'segment', 12], ['K7', 'segment', 7], ['F1', 'flat', 1],
    ]);
    const k7 = fares.transit?.lines[1];
    expect(k7?.kind === 'segment' && k7.bands[2]).toEqual({ upTo: 30000, fareMinor: 600 });
  });

  it('keeps a set without the section valid (qPBOC-only buses)', () => {
    const doc = transitFaresJson();
    delete doc['transit'];
    expect(faresOf(doc).transit).toBeUndefined();
  });

  const twins: [string, (t: Doc, l: Doc[]) => void, (t: Doc, l: Doc[]) => void, string][] = [
    ['duplicate lineId', (_t, l) => { l[1] = { ...l[1], lineId: 'K8' }; },
      (_t, l) => { l[1] = { ...l[1], lineId: 'B12' }; }, 'transit.lines[1].lineId'],
    ['duplicate lineCode', (_t, l) => { l[2] = { ...l[2], lineCode: 2 }; },
      (_t, l) => { l[2] = { ...l[2], lineCode: 12 }; }, 'transit.lines[2].lineCode'],
    ['two stops at least', (_t, l) => { l[1] = { ...l[1], stops: stopsOf(l[1], 2) }; },
      (_t, l) => { l[1] = { ...l[1], stops: stopsOf(l[1], 1) }; }, 'transit.lines[1].stops'],
    ['stop numbers increase', (_t, l) => { stopAt(l[0], 4)['stop'] = 5; },
      (_t, l) => { stopAt(l[0], 4)['stop'] = 4; }, 'transit.lines[0].stops[4].stop'],
    ['distances increase', (_t, l) => { stopAt(l[1], 1)['distanceM'] = 9499; },
      (_t, l) => { stopAt(l[1], 1)['distanceM'] = 9500; }, 'transit.lines[1].stops[2].distanceM'],
    ['a band at least', () => undefined, (_t, l) => { l[0] = { ...l[0], bands: [] }; },
      'transit.lines[0].bands'],
    ['bands increase', (_t, l) => { bandAt(l[0], 1)['upTo'] = 4; },
      (_t, l) => { bandAt(l[0], 1)['upTo'] = 3; }, 'transit.lines[0].bands[1].upTo'],
    ['longer never cheaper', (_t, l) => { bandAt(l[0], 2)['fareMinor'] = 300; },
      (_t, l) => { bandAt(l[0], 2)['fareMinor'] = 299; }, 'transit.lines[0].bands[2].fareMinor'],
    ['bands cover the longest ride by stops', (_t, l) => { bandAt(l[0], 2)['upTo'] = 9; },
      (_t, l) => { bandAt(l[0], 2)['upTo'] = 8; }, 'transit.lines[0].bands[2].upTo'],
    ['bands cover the longest ride by distance', (_t, l) => { bandAt(l[1], 2)['upTo'] = 21000; },
      (_t, l) => { bandAt(l[1], 2)['upTo'] = 20999; }, 'transit.lines[1].bands[2].upTo'],
    ['marked amount covers every fare', (_t, l) => { l[1] = { ...l[1], markedAmountMinor: 600 }; },
      (_t, l) => { l[1] = { ...l[1], markedAmountMinor: 599 }; },
      'transit.lines[1].markedAmountMinor'],
    ['stop number fits one byte', (_t, l) => { stopAt(l[0], 9)['stop'] = 255; },
      (_t, l) => { stopAt(l[0], 9)['stop'] = 256; }, 'transit.lines[0].stops[9].stop'],
    ['line code fits 2 BCD bytes', (_t, l) => { l[2] = { ...l[2], lineCode: 9999 }; },
      (_t, l) => { l[2] = { ...l[2], lineCode: 10000 }; }, 'transit.lines[2].lineCode'],
    ['a flat line has no stops', () => undefined,
      (_t, l) => { l[2] = { ...l[2], stops: [] }; }, 'transit.lines[2].stops'],
    ['kind is flat or segment', () => undefined,
      (_t, l) => { l[2] = { ...l[2], kind: 'zone' }; }, 'transit.lines[2].kind'],
    ['city code is 2 bytes', (t) => { t['cityCodeHex'] = '1234'; },
      (t) => { t['cityCodeHex'] = '123'; }, 'transit.cityCodeHex'],
  ];

  it.each(twins)('%s: the good twin parses, the bad twin is refused naming the field',
    (_name, good, bad, field) => {
      expect(() => faresOf(edited(good))).not.toThrow();
      const error = refusal(edited(bad));
      expect(error.file).toBe('fares.json');
      expect(error.field).toBe(field);
    });

  it('a transfer discount never exceeds a fare of any line (twins at the edge)', () => {
    const withDiscount = (discountMinor: number, flatMinor: number): Doc => {
      const doc = edited((_t, l) => { l[2] = { ...l[2], fareMinor: flatMinor }; });
      doc['transfer'] = { discountMinor, windowSec: 5400 };
      doc['flatFareMinor'] = 1000;
      return doc;
    };
    expect(() => faresOf(withDiscount(150, 150))).not.toThrow();
    expect(refusal(withDiscount(151, 150)).field).toBe('transfer.discountMinor');
    expect(refusal(withDiscount(151, 150)).reason).toMatch(/transit\.lines\[2\]\.fareMinor/);
    expect(() => faresOf(withDiscount(200, 500))).not.toThrow();
    expect(refusal(withDiscount(201, 500)).reason).toMatch(/bands\[0\]\.fareMinor = 200/);
  });
});

function stopsOf(line: Doc | undefined, count: number): unknown[] {
  return ((line?.['stops'] ?? []) as unknown[]).slice(0, count);
}

function stopAt(line: Doc | undefined, index: number): Doc {
  return ((line?.['stops'] ?? []) as Doc[])[index] ?? {};
}

function bandAt(line: Doc | undefined, index: number): Doc {
  return ((line?.['bands'] ?? []) as Doc[])[index] ?? {};
}
