// gate.json parsing and semantics; the gate ledger's torn tail, corruption and round trip.

import { describe, expect, it } from 'vitest';

import { FieldError } from '../../src/app/params/json_fields.js';
import { gateParamsFromBytes } from '../../src/app/gate/gate_params.js';
import { GateTicketBook } from '../../src/app/gate/gate_rules.js';
import {
  GateLedger,
  gateLedgerLine,
  gateRecordFromJson,
  gateLedgerParse,
  type GateRecord,
} from '../../src/app/gate/gate_ledger.js';
import { StorageSim } from '../../../host-sim/src/storage_sim.js';
import { Prng } from '../../../host-sim/src/prng.js';
import { gateJson, gateParams, ticket, TOKEN_A, TOKEN_B } from './gate_fixtures.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function refusal(text: string): string {
  try {
    gateParamsFromBytes(bytes(text));
  } catch (err) {
    if (err instanceof FieldError) return err.message;
    throw err;
  }
  return 'accepted';
}

describe('gate.json', () => {
  it('roundTrips_theFixture', () => {
    const params = gateParams([ticket({}), ticket({ ticketId: 'T2', cardToken: TOKEN_B })]);
    expect(gateParamsFromBytes(bytes(gateJson(params)))).toEqual(params);
  });

  it('refuses_oversoldSlot_overlap_duplicateTicket_badDate_unknownSlot_lowerCaseToken', () => {
    const base = gateParams([]);
    const cases: Array<[string, RegExp]> = [
      [gateJson(gateParams([ticket({ persons: 4 }),
        ticket({ ticketId: 'T2', cardToken: TOKEN_B, persons: 3 })])), /oversold/],
      [gateJson({ ...base, slots: [...base.slots, { ...base.slots[0]!, id: 'x',
        startMinute: 600, endMinute: 800 }] }), /overlap/],
      [gateJson(gateParams([ticket({}), ticket({ cardToken: TOKEN_B })])), /repeated/],
      [gateJson(gateParams([ticket({}), ticket({ ticketId: 'T2' })])), /same card/],
      [gateJson(gateParams([ticket({ date: '2026-02-29' })])), /calendar/],
      [gateJson(gateParams([ticket({ slotId: 'night' })])), /unknown slotId/],
      [gateJson(gateParams([ticket({ cardToken: 'a'.repeat(24) })])), /cardToken/],
      [gateJson(gateParams([ticket({ persons: 0 })])), /persons/],
      // No slot: every tap refused as closed, all day; a set for no gate at all.
      [gateJson({ ...base, slots: [] }), /slots: at least one slot/],
    ];
    for (const [text, reason] of cases) expect(refusal(text)).toMatch(reason);
    expect(refusal(gateJson(gateParams([ticket({ date: '2028-02-29' })])))).toBe('accepted');
  });

  it('endAt24_00_holdsTheDaysLastMinute; 24_00AsStartOrLaterIsRefused', () => {
    const slots = (start: string, end: string): string => JSON.stringify({
      siteId: 'X', dayCapacity: 10, slotEntryGraceMin: 0, walkIns: true,
      slots: [{ id: 'day', start, end, capacity: 10 }], tickets: [],
    });
    const book = new GateTicketBook(gateParamsFromBytes(bytes(slots('00:00', '24:00'))));
    expect(book.slotAt(23 * 60 + 59)?.id).toBe('day');
    expect(book.slotAt(0)?.id).toBe('day');
    expect(refusal(slots('24:00', '24:00'))).toMatch(/start/);
    for (const end of ['24:01', '25:00', '23:60']) expect(refusal(slots('00:00', end))).toMatch(/end/);
  });
});

const RECORDS: GateRecord[] = [
  { kind: 'entry', date: '2026-12-03', minute: 600, cardToken: TOKEN_A, via: 'ticket',
    slotId: 'am', ticketId: 'T1' },
  { kind: 'exit', date: '2026-12-03', minute: 700, cardToken: null },
  { kind: 'tailgate', date: '2026-12-03', minute: 701, cardToken: TOKEN_A, count: 1 },
];

describe('gate ledger', () => {
  const file = (): Uint8Array => {
    const parts = RECORDS.map(gateLedgerLine);
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };

  it('aDateNoCalendarHas_isRefused_leapDaysAreDays', () => {
    const record = RECORDS[0]!;
    for (const date of ['2026-02-30', '2026-02-29', '2026-13-01', '2026-04-31', '2026-00-10']) {
      expect(() => gateRecordFromJson({ ...record, date }, 'f', 'r'), date)
        .toThrow(/expected a calendar date YYYY-MM-DD/);
    }
    for (const date of ['2028-02-29', '2026-12-31', '2026-01-01']) {
      expect(gateRecordFromJson({ ...record, date }, 'f', 'r').date).toBe(date);
    }
  });

  it('parses_whatItWrote', () => {
    expect(gateLedgerParse(file(), 'f')).toEqual({
      ok: true, value: { records: RECORDS, goodBytes: file().length, tornBytes: 0 },
    });
  });

  it('tornLastLine_isCutOff_everyPrefix', () => {
    const whole = file();
    const lastStart = whole.length - gateLedgerLine(RECORDS[2]!).length;
    for (let cut = lastStart + 1; cut < whole.length; cut += 1) {
      const parsed = gateLedgerParse(whole.subarray(0, cut), 'f');
      expect(parsed.ok && parsed.value.records.length, String(cut)).toBe(2);
      expect(parsed.ok && parsed.value.goodBytes).toBe(lastStart);
    }
  });

  it('flippedBitInAnEarlierLine_isCorruption_namingTheLine', () => {
    const bad = file();
    bad[20] = (bad[20] ?? 0) ^ 0x04;
    expect(gateLedgerParse(bad, 'f')).toEqual({
      ok: false, error: 'f line 1: check value mismatch',
    });
  });

  it('flippedBitInTheLastWholeLine_isCorruption_notATornTail_andLoadCutsNothing', async () => {
    const whole = file();
    const lastStart = whole.length - gateLedgerLine(RECORDS[2]!).length;
    // Every byte of the last line but its LF: old code cut the line as a torn tail (a paid
    // visitor's entry gone, the credit open again).
    for (let at = lastStart; at < whole.length - 1; at += 1) {
      const bad = whole.slice();
      bad[at] = (bad[at] ?? 0) ^ 0x01;
      if (bad[at] === 0x0a) continue;
      const parsed = gateLedgerParse(bad, 'f');
      expect(parsed.ok, `byte ${at}`).toBe(false);
      expect(parsed.ok ? '' : parsed.error, `byte ${at}`).toMatch(
        /^f line 3: .*\(a whole line: damage, not a torn write\)$/);
    }
    const storage = new StorageSim({ totalBytes: 1 << 20, prng: new Prng(8), tornModes: ['prefix'] });
    const bad = whole.slice();
    bad[lastStart + 20] = (bad[lastStart + 20] ?? 0) ^ 0x04;
    await storage.append('gate-2026-12-03.log', bad);
    await storage.sync('gate-2026-12-03.log');
    const loaded = await new GateLedger(storage).load('2026-12-03');
    expect(loaded.ok).toBe(false);
    expect(storage.durableFiles().get('gate-2026-12-03.log')).toEqual(bad);
  });

  it('load_truncatesTheTornTailDurably_thenAppendsAfterIt', async () => {
    const storage = new StorageSim({ totalBytes: 1 << 20, prng: new Prng(7), tornModes: ['prefix'] });
    const ledger = new GateLedger(storage);
    for (const r of RECORDS.slice(0, 2)) expect((await ledger.append(r)).ok).toBe(true);
    await storage.append('gate-2026-12-03.log', gateLedgerLine(RECORDS[2]!).subarray(0, 30));
    const loaded = await ledger.load('2026-12-03');
    // The bytes cut are told (the gate logs them: a line's event was not recorded).
    expect(loaded.ok && loaded.value).toEqual({ records: RECORDS.slice(0, 2), tornBytes: 30 });
    expect((await ledger.append(RECORDS[2]!)).ok).toBe(true);
    expect((await ledger.load('2026-12-03')).ok && true).toBe(true);
    const again = await ledger.load('2026-12-03');
    expect(again.ok && again.value).toEqual({ records: RECORDS, tornBytes: 0 });
  });
});

describe('docs/schemas/gate.schema.json', () => {
  it('namesExactlyTheFieldsTheParserReads', async () => {
    const { readFileSync } = await import('node:fs');
    const schema = JSON.parse(readFileSync(new URL('../../../docs/schemas/gate.schema.json',
      import.meta.url), 'utf8')) as {
      required: string[];
      properties: Record<string, { items?: { required: string[] } }>;
    };
    const doc = JSON.parse(gateJson(gateParams([ticket({})]))) as Record<string, unknown>;
    expect([...schema.required].sort()).toEqual(Object.keys(doc).sort());
    const slot = (doc['slots'] as Record<string, unknown>[])[0] ?? {};
    const tk = (doc['tickets'] as Record<string, unknown>[])[0] ?? {};
    expect([...(schema.properties['slots']?.items?.required ?? [])].sort())
      .toEqual(Object.keys(slot).sort());
    expect([...(schema.properties['tickets']?.items?.required ?? [])].sort())
      .toEqual(Object.keys(tk).sort());
    // A document missing a required field is refused by the parser too.
    const { siteId: _omitted, ...missing } = doc;
    expect(refusal(JSON.stringify(missing))).toMatch(/siteId/);
  });
});
