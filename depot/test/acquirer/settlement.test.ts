// Settlement against the acquirer simulator over loopback TCP, on SQLite and PostgreSQL: every
// tap authorised or cleared exactly once through dropped links and depot restarts; declines
// become debts and deny entries; recovery, repayment, voids, both fare models, exposure.
//
// The truth: the issuer simulator's own ledger and balances (it recomputes every cryptogram),
// against the taps of a real simulated bus run.

import { afterAll, describe, expect, it } from 'vitest';

import { accountKey, type IssuerAccount } from
  '../../../host-sim/src/acquirer_sim/issuer_accounts.js';
import { IssuerHost } from '../../../host-sim/src/acquirer_sim/issuer_host.js';
import { acquirerSimListen, type AcquirerSimFaults } from
  '../../../host-sim/src/acquirer_sim/acquirer_sim_server.js';
import { AcquirerLink } from '../../src/acquirer/acquirer_link.js';
import { settleOnce, type SettlementRun } from '../../src/acquirer/settlement.js';
import { debtRepay, tapVoid } from '../../src/acquirer/settlement_debts.js';
import { SETTLEMENT_DEFAULTS, type SettlementOptions } from
  '../../src/acquirer/settlement_options.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { DataKeyError } from '../../src/store/pan_vault.js';
import type { DepotDb } from '../../src/store/depot_db.js';
import {
  accountsOf, busTaps, ENGINES, enginesDispose, panToken, storeTaps, unsealPan,
  type BusTaps, type FixtureTap,
} from './settlement_fixture.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 23);
/** Noon in Beijing on the bus run's day (2026-11-22), and noon the day after. */
const SAME_DAY_MS = Date.UTC(2026, 10, 22, 4, 0, 0);
const NEXT_DAY_MS = Date.UTC(2026, 10, 23, 4, 0, 0);

afterAll(() => enginesDispose());

interface World {
  readonly bus: BusTaps;
  readonly accounts: Map<string, IssuerAccount>;
  readonly initial: Map<string, number>;
  readonly host: IssuerHost;
  readonly target: string;
  port: number;
  close(): Promise<void>;
}

async function world(label: string, fresh: (l: string) => Promise<string>,
  faults?: AcquirerSimFaults): Promise<World> {
  const bus = await busTaps(SEED);
  const accounts = accountsOf(bus, SEED);
  const initial = new Map([...accounts].map(([k, a]) => [k, a.balanceMinor]));
  const host = new IssuerHost(accounts, SEED);
  const server = await acquirerSimListen(host, faults === undefined ? { seed: SEED }
    : { seed: SEED, faults });
  const target = await fresh(label);
  return { bus, accounts, initial, host, target, port: server.port, close: () => server.close() };
}

function optionsOf(now: number, change: Partial<SettlementOptions> = {}): SettlementOptions {
  return { ...SETTLEMENT_DEFAULTS, exposureLimitMinor: 100_000, nowMs: () => now, unsealPan,
    ...change };
}

/** One depot "process": open the database, settle once on a fresh link, close both. */
async function depotRun(w: World, options: SettlementOptions): Promise<SettlementRun> {
  const db = await openDepotDb(w.target, options.nowMs());
  const link = new AcquirerLink({ host: '127.0.0.1', port: w.port, answerTimeoutMs: 400,
    connectTimeoutMs: 400, attemptsMax: 2, backoffBaseMs: 5, backoffMaxMs: 40 });
  try {
    return await settleOnce(db, link, options);
  } finally {
    link.close();
    await db.close();
  }
}

async function withDb<T>(w: World, work: (db: DepotDb) => Promise<T>): Promise<T> {
  const db = await openDepotDb(w.target, SAME_DAY_MS);
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

const accountOf = (w: World, tap: FixtureTap): IssuerAccount | undefined =>
  w.accounts.get(accountKey(tap.clearing.card.pan, tap.clearing.card.psn))
  ?? [...w.accounts.values()].find((a) => a.pan === tap.clearing.card.pan);

async function tapStates(db: DepotDb): Promise<Map<number, string>> {
  const rows = await db.query('SELECT id, state FROM taps ORDER BY id');
  return new Map(rows.map((r) => [Number(r['id']), String(r['state'])]));
}

/** Every account's balance is its initial one minus the ODA fares approved on it. */
function expectBalancesMatch(w: World, ids: readonly number[], states: Map<number, string>):
  void {
  const charged = new Map<string, number>();
  w.bus.taps.forEach((tap, i) => {
    if (states.get(ids[i] ?? 0) !== 'authorised') return;
    const account = accountOf(w, tap);
    if (account === undefined) throw new Error('tap without account');
    const key = accountKey(account.pan, account.psn);
    charged.set(key, (charged.get(key) ?? 0) + tap.clearing.amountMinor);
  });
  for (const [key, account] of w.accounts) {
    expect(account.balanceMinor, key).toBe((w.initial.get(key) ?? 0) - (charged.get(key) ?? 0));
  }
}

describe.each(ENGINES)('settlement on $name (seed ' + SEED + ')', (engine) => {
  it('singleFare_everyTapAuthorisedOrClearedOnce_throughDropsAndRestarts', async () => {
    const w = await world('drops', engine.fresh, { dropBeforeRatio: 0.2, dropAfterRatio: 0.2 });
    try {
      const ids = await withDb(w, (db) => storeTaps(db, w.bus.taps, SAME_DAY_MS));
      let runs = 0;
      for (; runs < 40; runs += 1) {
        // A minute between runs: a retry keeps its first field 7, or it is a new message.
        const run = await depotRun(w, optionsOf(SAME_DAY_MS + runs * 60_000));
        if (run.unanswered === 0 && run.waiting === 0 && run.planned === 0 && runs > 0) break;
      }
      expect(runs).toBeLessThan(40);
      const states = await withDb(w, tapStates);
      const arqc = w.bus.taps.filter((t) => t.clearing.cryptogramType === 'ARQC').length;
      expect(arqc).toBeGreaterThan(0);
      w.bus.taps.forEach((tap, i) => {
        const want = tap.clearing.cryptogramType === 'ARQC' ? 'authorised' : 'cleared';
        expect(states.get(ids[i] ?? 0), `tap ${i}`).toBe(want);
      });
      const charges = w.host.movements().filter((m) => m.kind !== 'top-up');
      expect(charges.length).toBe(w.bus.taps.length);
      expect(new Set(charges.map((m) => `${m.terminalId}/${m.stan}`)).size).toBe(charges.length);
      expectBalancesMatch(w, ids, states);
      const pending = await withDb(w, (db) =>
        db.query("SELECT COUNT(*) AS n FROM acquirer_messages WHERE state = 'pending'"));
      expect(Number(pending[0]?.['n'])).toBe(0);
    } finally {
      await w.close();
    }
  }, 240_000);

  it('stanWrapsAfter10e6Rows_newTapIsDecidedAfresh_notGivenAnOldTapsAnswer', async () => {
    const w = await world('wrap', engine.fresh);
    try {
      const half = Math.ceil(w.bus.taps.length / 2);
      const first = w.bus.taps.slice(0, half);
      const second = w.bus.taps.slice(half);
      await withDb(w, (db) => storeTaps(db, first, SAME_DAY_MS));
      await depotRun(w, optionsOf(SAME_DAY_MS));
      // 10^6 message rows later (a fleet's day or two): the next rows' STANs start again at
      // 000000, the same STANs the first rows of this terminal had.
      await withDb(w, async (db) => {
        await db.run(`INSERT INTO acquirer_messages (id, mti, state)
          VALUES (999999, '0800', 'answered')`);
        if (db.dialect === 'postgres') {
          await db.query("SELECT setval(pg_get_serial_sequence('acquirer_messages', 'id'), "
            + '999999)');
        }
      });
      const ids = await withDb(w, (db) => storeTaps(db, second, NEXT_DAY_MS));
      await depotRun(w, optionsOf(NEXT_DAY_MS));
      const rows = await withDb(w, (db) => db.query(
        "SELECT id, stan, rrn FROM acquirer_messages WHERE mti <> '0800' ORDER BY id"));
      const wrapped = rows.filter((r) => Number(r['id']) > 999_999);
      expect(wrapped.length).toBe(second.length);
      const firstStans = new Set(rows.filter((r) => Number(r['id']) < 999_999)
        .map((r) => String(r['stan'])));
      expect(wrapped.filter((r) => firstStans.has(String(r['stan']))).length).toBeGreaterThan(0);
      // Each tap its own answer (RRN) and its own charge at the issuer.
      expect(new Set(rows.map((r) => String(r['rrn']))).size).toBe(rows.length);
      const charges = w.host.movements().filter((m) => m.kind !== 'top-up');
      expect(charges.length).toBe(w.bus.taps.length);
      const states = await withDb(w, tapStates);
      second.forEach((tap, i) => {
        const want = tap.clearing.cryptogramType === 'ARQC' ? 'authorised' : 'cleared';
        expect(states.get(ids[i] ?? 0), `tap ${half + i}`).toBe(want);
      });
    } finally {
      await w.close();
    }
  }, 240_000);

  it.each([
    ['no field 39', 'rc_none', (a: Map<number, unknown>) => { a.delete(39); }],
    ['field 39 not two digits', 'rc_xx', (a: Map<number, unknown>) => { a.set(39, 'XX'); }],
    ['30 format error', 'rc_30', (a: Map<number, unknown>) => { a.set(39, '30'); }],
    ['another amount', 'amount', (a: Map<number, unknown>) => { a.set(4, '000000000001'); }],
    ['another terminal', 'tid', (a: Map<number, unknown>) => { a.set(41, 'OTHER001'); }],
  ])('answer with %s_leftPending_notDeclined_settledOnceLater', async (_what, label, tamper) => {
    // Taken as declines they opened debts and deny entries for riders the acquirer approved,
    // and the debts' recovery charged them again.
    const w = await world(`tamper_${label}`, engine.fresh);
    try {
      const ids = await withDb(w, (db) => storeTaps(db, w.bus.taps, SAME_DAY_MS));
      const answer = w.host.answer.bind(w.host);
      w.host.answer = (request) => {
        const real = answer(request);
        const fields = new Map(real.fields);
        tamper(fields as Map<number, unknown>);
        return { ...real, fields } as typeof real;
      };
      const first = await depotRun(w, optionsOf(SAME_DAY_MS));
      expect(first, JSON.stringify(first)).toMatchObject({ declined: 0, approved: 0 });
      expect(first.unanswered).toBe(w.bus.taps.length);
      // Named for the operator: the same answer comes back at every retry.
      expect(first.problem).toMatch(/^the answer to message row \d+ \(tap \d+\) .*: no decision /);
      w.host.answer = answer;
      await depotRun(w, optionsOf(SAME_DAY_MS + 60_000));
      const debts = await withDb(w, (db) => db.query('SELECT COUNT(*) AS n FROM debts'));
      expect(Number(debts[0]?.['n'])).toBe(0);
      const charges = w.host.movements().filter((m) => m.kind !== 'top-up');
      expect(charges.length).toBe(w.bus.taps.length);
      expectBalancesMatch(w, ids, await withDb(w, tapStates));
    } finally {
      await w.close();
    }
  }, 240_000);

  it('rowsThatMakeNoMessage_leftPendingAndNamed_theOthersSettled', async () => {
    // A PAN that does not open (another depot's key) or a stored amount the message refuses
    // crashed every settle at that row, with a stack trace: nothing after it was ever sent.
    const w = await world('unread', engine.fresh);
    try {
      const ids = await withDb(w, (db) => storeTaps(db, w.bus.taps, SAME_DAY_MS));
      const [badPan = 0, badAmount = 0] = ids;
      await withDb(w, async (db) => {
        await db.run("UPDATE taps SET pan_sealed = 'test:other-key' WHERE id = $1", [badPan]);
        await db.run('UPDATE taps SET amount_minor = -5 WHERE id = $1', [badAmount]);
      });
      const unseal = (sealed: string): string => {
        if (sealed === 'test:other-key') throw new DataKeyError('sealed PAN does not open');
        return unsealPan(sealed);
      };
      const run = await depotRun(w, optionsOf(SAME_DAY_MS, { unsealPan: unseal }));
      expect(run).toMatchObject({ unreadable: 2, keyFailed: true, unanswered: 0 });
      expect(run.problem).toMatch(/^a sealed PAN does not open: message row \d+ \(tap /);
      const charges = w.host.movements().filter((m) => m.kind !== 'top-up');
      expect(charges.length).toBe(w.bus.taps.length - 2);
      const states = await withDb(w, tapStates);
      expect([states.get(badPan), states.get(badAmount)]).toEqual(['sent', 'sent']);
    } finally {
      await w.close();
    }
  }, 240_000);

  it('tcAlreadyCleared_94_isCountedAsDuplicate_notDeclined_andOpensNoDebt', async () => {
    const w = await world('dup_a', engine.fresh);
    try {
      const tcs = w.bus.taps.filter((t) => t.clearing.cryptogramType === 'TC');
      expect(tcs.length).toBeGreaterThan(0);
      await withDb(w, (db) => storeTaps(db, tcs, SAME_DAY_MS));
      expect(await depotRun(w, optionsOf(SAME_DAY_MS))).toMatchObject({ approved: tcs.length });
      // A second depot database holding the same debits (restored from a backup, say): the
      // acquirer has cleared each TC already and answers 94.
      const again: World = { ...w, target: await engine.fresh('dup_b') };
      await withDb(again, (db) => storeTaps(db, tcs, SAME_DAY_MS));
      const run = await depotRun(again, optionsOf(SAME_DAY_MS + 60_000));
      expect(run).toMatchObject({ answered: tcs.length, approved: 0, declined: 0,
        duplicates: tcs.length });
      const debts = await withDb(again, (db) => db.query('SELECT COUNT(*) AS n FROM debts'));
      expect(Number(debts[0]?.['n'])).toBe(0);
      const states = await withDb(again, tapStates);
      expect(new Set(states.values())).toEqual(new Set(['duplicate']));
    } finally {
      await w.close();
    }
  }, 240_000);

  it('decline_opensDebtAndDenyEntry_laterTapsWait_recoveryAfterTopUpClosesIt', async () => {
    const w = await world('decline', engine.fresh);
    try {
      const oda = w.bus.taps.filter((t) => t.clearing.cryptogramType === 'ARQC');
      const card = oda.find((t) => oda.filter((o) => o.clearing.card.pan
        === t.clearing.card.pan).length >= 2);
      if (card === undefined) throw new Error(`seed ${SEED}: no card with two ODA taps`);
      const account = accountOf(w, card);
      if (account === undefined) throw new Error('no account');
      account.balanceMinor = 0;
      const ids = await withDb(w, (db) => storeTaps(db, w.bus.taps, SAME_DAY_MS));
      // Exposure 0: only a card's first outstanding ODA tap goes (the first-ride rule).
      const first = await depotRun(w, optionsOf(SAME_DAY_MS, { exposureLimitMinor: 0 }));
      expect(first.declined).toBe(1);
      expect(first.waiting).toBeGreaterThanOrEqual(1);
      const token = panToken(card.clearing.card.pan);
      const open = await withDb(w, (db) => db.query(
        "SELECT d.amount_minor, e.reason FROM debts d JOIN deny_entries e ON e.debt_id = d.id "
        + "WHERE d.pan_token = $1 AND d.state = 'open' AND e.removed_at_ms IS NULL", [token]));
      expect(open).toEqual([{ amount_minor: card.clearing.amountMinor,
        reason: 'issuer declined 51' }]);
      // Still no money, interval 0: the debt is presented once in the run, refused, counted
      // (every pass of the run used to present it again: 16 refusals).
      const refused = await depotRun(w, optionsOf(SAME_DAY_MS + 1, { recoveryIntervalMs: 0 }));
      expect(refused).toMatchObject({ recoveriesQueued: 1, recoveriesDeclined: 1, recovered: 0 });
      w.host.topUp(account.pan, account.psn, 10_000);
      const later = await depotRun(w, optionsOf(SAME_DAY_MS + 2, { recoveryIntervalMs: 0 }));
      expect(later.recoveriesQueued).toBe(1);
      expect(later.recovered).toBe(1);
      const debts = await withDb(w, (db) => db.query(
        'SELECT state FROM debts WHERE pan_token = $1', [token]));
      expect(debts).toEqual([{ state: 'repaid' }]);
      const states = await withDb(w, tapStates);
      const cardTaps = w.bus.taps.map((t, i) => [t, ids[i] ?? 0] as const)
        .filter(([t]) => t.clearing.card.pan === card.clearing.card.pan
          && t.clearing.cryptogramType === 'ARQC');
      expect(cardTaps.map(([, id]) => states.get(id)))
        .toEqual(['declined', ...cardTaps.slice(1).map(() => 'authorised')]);
      const paid = w.host.movements().filter((m) => m.pan === account.pan && m.amountMinor < 0);
      const owed = cardTaps.reduce((sum, [t]) => sum + t.clearing.amountMinor, 0);
      expect(paid.reduce((sum, m) => sum - m.amountMinor, 0)).toBe(owed);
    } finally {
      await w.close();
    }
  }, 240_000);

  it('blockedCard_twoTapsDeclinedInOneWindow_oneDebtOfBoth_repaymentClosesIt', async () => {
    const w = await world('two_declines', engine.fresh);
    try {
      const oda = w.bus.taps.filter((t) => t.clearing.cryptogramType === 'ARQC');
      const pan = oda.find((t) => oda.filter((o) => o.clearing.card.pan
        === t.clearing.card.pan).length >= 2)?.clearing.card.pan;
      const taps = oda.filter((t) => t.clearing.card.pan === pan).slice(0, 2);
      const account = taps[0] === undefined ? undefined : accountOf(w, taps[0]);
      if (pan === undefined || account === undefined) throw new Error('no card with two taps');
      account.status = 'blocked';
      await withDb(w, (db) => storeTaps(db, taps, SAME_DAY_MS));
      // Both authorisations go in one window: their answers are applied concurrently.
      expect((await depotRun(w, optionsOf(SAME_DAY_MS))).declined).toBe(2);
      const token = panToken(pan);
      await withDb(w, async (db) => {
        const open = await db.query(`SELECT d.amount_minor, COUNT(e.debt_id) AS entries
          FROM debts d JOIN deny_entries e ON e.debt_id = d.id AND e.removed_at_ms IS NULL
          WHERE d.pan_token = $1 AND d.state = 'open' GROUP BY d.id, d.amount_minor`, [token]);
        const owed = taps.reduce((sum, t) => sum + t.clearing.amountMinor, 0);
        expect(open).toEqual([{ amount_minor: owed, entries: 1 }]);
        expect(await debtRepay(db, token, null, SAME_DAY_MS + 5)).toBe(1);
        expect(await db.query("SELECT COUNT(*) AS n FROM deny_entries WHERE pan_token = $1 "
          + 'AND removed_at_ms IS NULL', [token])).toEqual([{ n: 0 }]);
      });
    } finally {
      await w.close();
    }
  }, 240_000);

  it('blockedCard_debtRepaidAtACounter_removesItsDenyEntry', async () => {
    const w = await world('repay', engine.fresh);
    try {
      const tap = w.bus.taps.find((t) => t.clearing.cryptogramType === 'ARQC');
      const account = tap === undefined ? undefined : accountOf(w, tap);
      if (tap === undefined || account === undefined) throw new Error('no ODA tap');
      account.status = 'blocked';
      await withDb(w, (db) => storeTaps(db, [tap], SAME_DAY_MS));
      expect((await depotRun(w, optionsOf(SAME_DAY_MS))).declined).toBe(1);
      const token = panToken(tap.clearing.card.pan);
      await withDb(w, async (db) => {
        expect(await debtRepay(db, token, null, SAME_DAY_MS + 5)).toBe(1);
        expect(await debtRepay(db, token, null, SAME_DAY_MS + 6)).toBe(0);
        const entries = await db.query(
          'SELECT reason, removed_at_ms FROM deny_entries WHERE pan_token = $1', [token]);
        expect(entries).toEqual([{ reason: 'issuer declined 62', removed_at_ms: SAME_DAY_MS + 5 }]);
      });
    } finally {
      await w.close();
    }
  }, 240_000);
});

describe.each(ENGINES)('settlement fare models and voids on $name (seed ' + SEED + ')', (e) => {
  it('aggregatedFare_oneAuthorisationPerCardDay_onlyOnceTheDayIsClosed', async () => {
    const w = await world('aggregated', e.fresh);
    try {
      const ids = await withDb(w, (db) => storeTaps(db, w.bus.taps, SAME_DAY_MS));
      const oda = w.bus.taps.filter((t) => t.clearing.cryptogramType === 'ARQC');
      const cards = new Set(oda.map((t) => t.clearing.card.pan));
      const sameDay = await depotRun(w, optionsOf(SAME_DAY_MS, { fareModel: 'aggregated' }));
      expect(sameDay.waiting).toBe(oda.length);
      expect(sameDay.approved).toBe(w.bus.taps.length - oda.length);
      const nextDay = await depotRun(w, optionsOf(NEXT_DAY_MS, { fareModel: 'aggregated' }));
      expect(nextDay.approved).toBe(cards.size);
      expect(oda.length).toBeGreaterThan(cards.size);
      const auths = w.host.movements().filter((m) => m.kind === 'authorisation');
      expect(auths.length).toBe(cards.size);
      for (const pan of cards) {
        const total = oda.filter((t) => t.clearing.card.pan === pan)
          .reduce((sum, t) => sum + t.clearing.amountMinor, 0);
        expect(auths.find((m) => m.pan === pan)?.amountMinor).toBe(-total);
      }
      expectBalancesMatch(w, ids, await withDb(w, tapStates));
    } finally {
      await w.close();
    }
  }, 240_000);

  it('voidedTap_approvedIsReversedOnce_unsentIsNeverSent', async () => {
    const w = await world('void', e.fresh);
    try {
      const oda = w.bus.taps.filter((t) => t.clearing.cryptogramType === 'ARQC');
      const [sent, unsent] = [oda[0], oda[1]];
      if (sent === undefined || unsent === undefined) throw new Error('two ODA taps needed');
      const [sentId, unsentId] = await withDb(w, (db) => storeTaps(db, [sent, unsent],
        SAME_DAY_MS));
      await withDb(w, async (db) => expect(await tapVoid(db, unsentId ?? 0, SAME_DAY_MS))
        .toBe('voided-unsent'));
      expect((await depotRun(w, optionsOf(SAME_DAY_MS))).approved).toBe(1);
      const account = accountOf(w, sent);
      const key = account === undefined ? '' : accountKey(account.pan, account.psn);
      expect(account?.balanceMinor).toBe((w.initial.get(key) ?? 0) - sent.clearing.amountMinor);
      await withDb(w, async (db) => {
        expect(await tapVoid(db, sentId ?? 0, SAME_DAY_MS)).toBe('reversal-queued');
        expect(await tapVoid(db, sentId ?? 0, SAME_DAY_MS)).toBe('already-voided');
        expect(await tapVoid(db, 999_999, SAME_DAY_MS)).toBe('not-found');
      });
      await depotRun(w, optionsOf(SAME_DAY_MS));
      await depotRun(w, optionsOf(SAME_DAY_MS));
      expect(account?.balanceMinor).toBe(w.initial.get(key));
      const kinds = w.host.movements().map((m) => m.kind);
      expect(kinds).toEqual(['authorisation', 'reversal']);
      const codes = await withDb(w, (db) => db.query(
        'SELECT mti, response_code FROM acquirer_messages ORDER BY id'));
      expect(codes).toEqual([{ mti: '0100', response_code: '00' },
        { mti: '0400', response_code: '00' }]);
    } finally {
      await w.close();
    }
  }, 240_000);
});

// Two settles on one database from one process: PostgreSQL's connections interleave at every
// await; SQLite's synchronous driver holds one writer per thread (the claim is the same SQL).
describe.each(ENGINES.filter((e) => e.name === 'postgres'))('two settles at once on $name',
  (engine) => {
    it('twoSettlesAtOnce_eachTapChargedOnce_theSecondResendsTheFirstsFieldSeven', async () => {
      // A --loop settle and a manual one overlapping: each stamped field 7 with its own clock,
      // and the acquirer (duplicates keyed on MTI, terminal, STAN, field 7) charged twice.
      const w = await world('twice', engine.fresh);
      try {
        const ids = await withDb(w, (db) => storeTaps(db, w.bus.taps, SAME_DAY_MS));
        await Promise.all([depotRun(w, optionsOf(SAME_DAY_MS)),
          depotRun(w, optionsOf(SAME_DAY_MS + 5_000))]);
        await depotRun(w, optionsOf(SAME_DAY_MS + 60_000));
        const charges = w.host.movements().filter((m) => m.kind !== 'top-up');
        expect(charges.length).toBe(w.bus.taps.length);
        expectBalancesMatch(w, ids, await withDb(w, tapStates));
      } finally {
        await w.close();
      }
    }, 240_000);
  });
