// Settlement report against sums computed independently from the rows the test inserted
// (seeded: SHUAKA_SEED=N replays), on both databases; the CSV is parsed back, not compared
// as text.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DepotDb } from '../../src/store/depot_db.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { settlementHtml } from '../../src/report/settlement_html.js';
import { SETTLEMENT_COLUMNS, settlementCsv, settlementRows } from
  '../../src/report/settlement_report.js';
import type { PostgresScratch } from '../../../test_support/postgres_scratch.js';
import { createScratchDatabase, postgresRequired, startPostgresScratch } from
  '../../../test_support/postgres_scratch.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? Date.now() % 1_000_000);
const temp = mkdtempSync(join(tmpdir(), 'shuaka-report-'));
let scratch: PostgresScratch | null = null;
afterAll(() => {
  scratch?.stop();
  rmSync(temp, { recursive: true, force: true });
});

/** mulberry32: small, seeded, independent of the code under test. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tap {
  /** null: a line without lineId (torn and pending lines): the terminal's registered route. */
  id: number; terminal: string; route: string | null; date: string; type: string; state: string;
  amount: number; debt: number;
  /** A torn line's flag: unresolved when the validator exported it. */
  stillUncertain: boolean;
  /** Its reversal (0400) message: none, pending, approved (00) or refused (25). */
  reversal: 'none' | 'pending' | '00' | '25';
}

function makeTaps(seed: number): Tap[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  return Array.from({ length: 600 }, (_, i) => {
    const type = rand() < 0.9 ? 'clearing' : pick(['torn', 'pending_open']);
    const state = type === 'clearing'
      ? pick(['new', 'sent', 'authorised', 'declined', 'cleared', 'voided', 'duplicate']) : 'new';
    return { id: i + 1, terminal: pick(['SIM00001', 'SIM00002', 'SIM00003']),
      route: type === 'clearing' || rand() < 0.3 ? pick(['R1', 'R12']) : null,
      stillUncertain: rand() < 0.5,
      date: pick(['261130', '261201', '261202']), type, state,
      amount: 100 + Math.floor(rand() * 400),
      debt: state === 'declined' && rand() < 0.7 ? 1 : 0,
      // Mostly the voided taps', and a few others' (which a refusal must not count).
      reversal: rand() < (state === 'voided' ? 0.8 : 0.1)
        ? pick(['pending', '00', '25'] as const) : 'none' };
  });
}

/** The terminals' registered routes (SIM00003 has none). */
const REGISTERED: Readonly<Record<string, string | null>> = {
  SIM00001: 'R1', SIM00002: 'R12', SIM00003: null, SIM00004: 'R9',
};

async function insert(db: DepotDb, taps: readonly Tap[]): Promise<void> {
  await db.transaction(async (tx) => {
    for (const [id, route] of Object.entries(REGISTERED)) {
      await tx.run(`INSERT INTO terminals (terminal_id, cert_sha256, route_id, status,
        registered_at_ms) VALUES ($1, $2, $3, 'active', 0)`, [id, `sha-${id}`, route]);
    }
    for (const t of taps) {
      // A torn line as exported (compact JSON), its flag among the other fields.
      const json = t.type === 'torn'
        ? JSON.stringify({ type: 'torn', seq: t.id, uncertain: true,
          stillUncertain: t.stillUncertain, reason: 'card-gone' })
        : '{}';
      await tx.run(`INSERT INTO taps (id, terminal_id, seq, type, time_wall_ms, route_id,
        amount_minor, currency_code, transaction_date, record_json, state, received_at_ms)
        VALUES ($1, $2, $1, $3, 0, $4, $5, 156, $6, $8, $7, 0)`,
      [t.id, t.terminal, t.type, t.route, t.amount, t.date, t.state, json]);
      if (t.reversal !== 'none')
        await tx.run(`INSERT INTO acquirer_messages (tap_id, aggregate_key, mti, amount_minor,
          response_code, state) VALUES ($1, 'rev:0', '0400', $2, $3, $4)`,
        [t.id, t.amount, t.reversal === 'pending' ? null : t.reversal,
          t.reversal === 'pending' ? 'pending' : 'answered']);
      // Each its own card: a card has one open debt at most (migration 2).
      if (t.debt === 1)
        await tx.run(`INSERT INTO debts (pan_token, psn, amount_minor, tap_id, state,
          opened_at_ms) VALUES ($3, '01', $1, $2, 'open', 0)`, [t.amount, t.id, `tok${t.id}`]);
    }
    // A repaid debt is not outstanding.
    await tx.run(`INSERT INTO debts (pan_token, amount_minor, tap_id, state, opened_at_ms)
      VALUES ('tok', 999, 1, 'repaid', 0)`);
  });
}

function expected(taps: readonly Tap[], day: string | null): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const t of taps) {
    const iso = `20${t.date.slice(0, 2)}-${t.date.slice(2, 4)}-${t.date.slice(4)}`;
    if (day !== null && iso !== day) continue;
    const key = `${iso},${t.route ?? REGISTERED[t.terminal] ?? ''},${t.terminal},156`;
    const g = groups.get(key) ?? Array<number>(15).fill(0);
    // A voided tap is no fare any more: neither counted nor authorised, declined or owed.
    const counted = t.type === 'clearing' && t.state !== 'duplicate' && t.state !== 'voided';
    const add = (i: number, v: number): void => { g[i] = (g[i] ?? 0) + v; };
    if (counted) {
      add(0, 1); add(1, t.amount);
      if (t.state === 'authorised' || t.state === 'cleared') { add(2, 1); add(3, t.amount); }
      if (t.state === 'declined') { add(4, 1); add(5, t.amount); }
      if (t.state === 'new' || t.state === 'sent') { add(6, 1); add(7, t.amount); }
      add(8, t.debt * t.amount);
    }
    if (t.state === 'duplicate') add(9, 1);
    // Uncertain: open pendings, and torn taps still unresolved at their export (a torn tap
    // its re-tap had settled was counted, and put under an empty route).
    if (t.type === 'pending_open' || (t.type === 'torn' && t.stillUncertain)) add(10, 1);
    if (t.type === 'clearing' && t.state === 'voided') { add(11, 1); add(12, t.amount); }
    // Voided, and the acquirer refused to give the fare back: a refund to make by hand.
    if (t.type === 'clearing' && t.state === 'voided' && t.reversal === '25') {
      add(13, 1); add(14, t.amount);
    }
    groups.set(key, g);
  }
  // A group with nothing in it (torn lines settled before their export only) is no row.
  return new Map([...groups].filter(([, g]) => g.some((v) => v !== 0)));
}

function parseCsv(text: string): Map<string, number[]> {
  const [head, ...lines] = text.trimEnd().split('\r\n');
  expect(head).toBe(SETTLEMENT_COLUMNS.join(','));
  return new Map(lines.map((line) => {
    const cells = line.split(',');
    return [cells.slice(0, 4).join(','), cells.slice(4).map(Number)];
  }));
}

const engines = [
  { name: 'sqlite', target: () => Promise.resolve(join(temp, 'report.sqlite')) },
  ...(postgresRequired() ? [{ name: 'postgres', target: async () => {
    scratch ??= await startPostgresScratch();
    return createScratchDatabase(scratch, 'report');
  } }] : []),
];

describe.each(engines)('settlement report on $name', (engine) => {
  it(`csv_matchesIndependentSums_perDayRouteTerminal (seed ${SEED})`, async () => {
    const db = await openDepotDb(await engine.target(), 0);
    try {
      // And a terminal whose only line is a torn tap settled before its export: nothing to
      // count, so no row (it made an empty one beside the route's own).
      const taps = [...makeTaps(SEED), { id: 601, terminal: 'SIM00004', route: null,
        stillUncertain: false, date: '261130', type: 'torn', state: 'new', amount: 200, debt: 0,
        reversal: 'none' as const }];
      await insert(db, taps);
      const all = parseCsv(settlementCsv(await settlementRows(db, null)));
      expect(all).toEqual(expected(taps, null));
      // Every counted tap is authorised, declined or outstanding: the three add up to it.
      for (const cells of all.values()) {
        const [counted, amount, authorised, authorisedMinor, declined, declinedMinor,
          outstanding, outstandingMinor] = cells;
        expect(counted).toBe((authorised ?? 0) + (declined ?? 0) + (outstanding ?? 0));
        expect(amount).toBe((authorisedMinor ?? 0) + (declinedMinor ?? 0)
          + (outstandingMinor ?? 0));
      }
      const oneDay = await settlementRows(db, '2026-12-01');
      expect(parseCsv(settlementCsv(oneDay))).toEqual(expected(taps, '2026-12-01'));
      const html = settlementHtml(oneDay, 'Settlement <2026-12-01>');
      expect(html).toContain('<svg');
      expect(html).toContain('Settlement &lt;2026-12-01&gt;');
      expect(html.match(/<rect /g)).toHaveLength(3);
    } finally {
      await db.close();
    }
  });
});
