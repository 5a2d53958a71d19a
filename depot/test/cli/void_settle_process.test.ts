// Voids against settlement, from outside: a simulated bus run's journal exported and ingested
// with the real CLI, `shuaka depot settle` and `shuaka acquirer-sim` as processes, and the
// truth read back with SQL on the depot file and from the acquirer's own request count.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openDepotDb } from '../../src/store/open_depot_db.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 7);
let dir = '';
let depotDir = '';
let pristine = '';

function shuaka(...args: string[]): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, ['bin/shuaka.js', ...args], { encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

function ok(run: { code: number | null; err: string }): void {
  expect(run.code, run.err).toBe(0);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-void-'));
  depotDir = join(dir, 'depot');
  pristine = join(dir, 'pristine.sqlite');
  ok(shuaka('sim', '--seed', String(SEED), '--riders', '40', '--journal', join(dir, 'j'),
    '--quiet', '--no-depot', '--link', 'memory'));
  ok(shuaka('journal', 'export', '--journal', join(dir, 'j'), '--out', join(dir, 'x.jsonl')));
  ok(shuaka('depot', 'init', '--dir', depotDir));
  ok(shuaka('depot', 'terminal', 'add', '--db', pristine, '--id', 'SIM00001', '--dir', depotDir,
    '--out', join(dir, 'term')));
  ok(shuaka('depot', 'ingest', '--db', pristine, '--dir', depotDir, '--terminal', 'SIM00001',
    join(dir, 'x.jsonl')));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A running `shuaka acquirer-sim`; `stop` resolves with the requests it answered. */
async function acquirerSim(seed: number): Promise<{ at: string; stop: () => Promise<number> }> {
  const sim = spawn(process.execPath, ['bin/shuaka.js', 'acquirer-sim', '--port', '0',
    '--seed', String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: sim.stdout })[Symbol.asyncIterator]();
  const { port } = JSON.parse(String((await lines.next()).value)) as { port: number };
  return {
    at: `127.0.0.1:${port}`,
    stop: async () => {
      sim.kill('SIGTERM');
      const stopped = JSON.parse(String((await lines.next()).value)) as { requests: number };
      return stopped.requests;
    },
  };
}

async function sql(dbPath: string, query: string):
  Promise<readonly Record<string, unknown>[]> {
  const db = await openDepotDb(dbPath, Date.now());
  try {
    return await db.query(query);
  } finally {
    await db.close();
  }
}

function copyOf(name: string): string {
  const path = join(dir, name);
  spawnSync('cp', [pristine, path]);
  return path;
}

describe(`depot tap void against settle, as processes (seed ${SEED})`, () => {
  // A tap voided while its authorisation or advice was out (sent, unanswered) is answered
  // with a decline later: the rider owes nothing for it. The depot used to open a debt for
  // the voided fare (the whole day's total in the aggregated model) and deny-list the card.
  it('voidedWhileUnanswered_thenDeclined_opensNoDebtForTheVoidedFare', async () => {
    const db = copyOf('declined.sqlite');
    const settle = (at: string): ReturnType<typeof shuaka> => shuaka('depot', 'settle', '--db',
      db, '--dir', depotDir, '--acquirer', at, '--fare-model', 'aggregated');
    expect(settle('127.0.0.1:1').code).toBe(13);
    const sent = await sql(db, "SELECT COUNT(*) AS n FROM taps WHERE state = 'sent'");
    // One ARQC tap of a card with two taps that day (a partial void of a day aggregate), one
    // ARQC tap alone on its card, one TC.
    const [pair] = await sql(db, `SELECT MAX(id) AS id FROM taps WHERE cryptogram_type = 'ARQC'
      GROUP BY pan_token, psn HAVING COUNT(*) = 2 ORDER BY MIN(id) LIMIT 1`);
    const [alone] = await sql(db, `SELECT MIN(id) AS id FROM taps WHERE cryptogram_type = 'ARQC'
      GROUP BY pan_token, psn HAVING COUNT(*) = 1 ORDER BY MIN(id) LIMIT 1`);
    const [tc] = await sql(db, "SELECT MIN(id) AS id FROM taps WHERE cryptogram_type = 'TC'");
    const voided = [pair, alone, tc].map((row) => Number(row?.['id']));
    for (const id of voided) {
      const run = shuaka('depot', 'tap', 'void', '--db', db, '--id', String(id));
      ok(run);
      expect(JSON.parse(run.out)).toEqual({ event: 'void', id, outcome: 'reversal-queued' });
    }
    // Another seed's issuer knows none of these cards: every original is declined (14).
    const sim = await acquirerSim(SEED + 1);
    let requests = 0;
    try {
      ok(settle(sim.at));
    } finally {
      requests = await sim.stop();
    }
    const originals = await sql(db, "SELECT COUNT(*) AS n FROM acquirer_messages WHERE mti IN "
      + "('0100', '0220')");
    // No reversal went out for an original the acquirer never approved.
    expect(requests).toBe(Number(originals[0]?.['n']));
    expect(Number(sent[0]?.['n'])).toBeGreaterThan(0);
    // Independent truth: what each card owes is its declined taps, voided taps excluded.
    const owed = await sql(db, `SELECT pan_token, psn, SUM(amount_minor) AS owed FROM taps
      WHERE state = 'declined' GROUP BY pan_token, psn ORDER BY pan_token, psn`);
    const debts = await sql(db, `SELECT pan_token, psn, amount_minor AS owed FROM debts
      WHERE state = 'open' ORDER BY pan_token, psn`);
    expect(debts.map((d) => ({ ...d, owed: Number(d['owed']) })))
      .toEqual(owed.map((o) => ({ ...o, owed: Number(o['owed']) })));
    const denied = await sql(db, `SELECT DISTINCT pan_token, psn FROM deny_entries
      WHERE removed_at_ms IS NULL ORDER BY pan_token, psn`);
    expect(denied).toEqual(owed.map((o) => ({ pan_token: o['pan_token'], psn: o['psn'] })));
    const listed = shuaka('depot', 'debt', 'list', '--db', db);
    ok(listed);
    const total = listed.out.trim().split('\n').filter((l) => l !== '')
      .reduce((sum, line) => sum + Number((JSON.parse(line) as { amountMinor: number })
        .amountMinor), 0);
    expect(total).toBe(owed.reduce((sum, o) => sum + Number(o['owed']), 0));
  }, 120_000);

  // A reversal the acquirer refuses (here `25`: a restarted acquirer no longer knows the
  // original) leaves the rider charged. The run's line used to count it as one more answer,
  // like a reversal done, exit 0: nothing told the operator to refund by hand.
  it('reversalRefused_isCountedApartFromReversed_inTheSettleLine', async () => {
    const db = copyOf('refused.sqlite');
    const settle = (at: string): Record<string, unknown> => {
      const run = shuaka('depot', 'settle', '--db', db, '--dir', depotDir, '--acquirer', at);
      ok(run);
      return JSON.parse(run.out) as Record<string, unknown>;
    };
    const first = await acquirerSim(SEED);
    const [a, b] = (await sql(db, `SELECT id FROM taps WHERE type = 'clearing'
      AND duplicate_of IS NULL ORDER BY id LIMIT 2`)).map((row) => String(row['id']));
    try {
      expect(settle(first.at)).toMatchObject({ declined: 0, reversed: 0, reversalsRefused: 0 });
      ok(shuaka('depot', 'tap', 'void', '--db', db, '--id', a ?? ''));
      expect(settle(first.at)).toMatchObject({ answered: 1, reversed: 1, reversalsRefused: 0 });
      ok(shuaka('depot', 'tap', 'void', '--db', db, '--id', b ?? ''));
    } finally {
      await first.stop();
    }
    const second = await acquirerSim(SEED);
    try {
      expect(settle(second.at)).toMatchObject({ answered: 1, reversed: 0, reversalsRefused: 1 });
    } finally {
      await second.stop();
    }
    const rows = await sql(db, `SELECT response_code FROM acquirer_messages WHERE mti = '0400'
      ORDER BY id`);
    expect(rows.map((r) => r['response_code'])).toEqual(['00', '25']);
    // The report shows both voided, and the one still charged as a refund to make by hand.
    const report = shuaka('depot', 'report', '--db', db, '--format', 'csv');
    ok(report);
    const [head, ...lines] = report.out.trim().split(/\r?\n/).map((line) => line.split(','));
    const sum = (column: string): number => lines.reduce(
      (total, line) => total + Number(line[head?.indexOf(column) ?? -1]), 0);
    const amountOfB = await sql(db, `SELECT amount_minor FROM taps WHERE id = ${Number(b)}`);
    expect([sum('voided_taps'), sum('reversal_refused_taps'), sum('reversal_refused_minor')])
      .toEqual([2, 1, Number(amountOfB[0]?.['amount_minor'])]);
  }, 120_000);

  // A declined tap voided after its card's debt was repaid (at a counter, or by a recovery):
  // nothing is left to take off, the rider paid a fare now voided and is owed a refund. The
  // void used to answer `debt-reduced` all the same.
  it('declinedTapVoidedAfterRepayment_saysTheDebtWasRepaid_notReduced', async () => {
    const db = copyOf('repaid.sqlite');
    const sim = await acquirerSim(SEED + 1);
    try {
      ok(shuaka('depot', 'settle', '--db', db, '--dir', depotDir, '--acquirer', sim.at));
    } finally {
      await sim.stop();
    }
    const [repaid, owing] = await sql(db, `SELECT MIN(t.id) AS id, t.pan_token, t.psn
      FROM taps t JOIN debts d ON d.pan_token = t.pan_token AND d.psn = t.psn
      WHERE t.state = 'declined' AND d.state = 'open' GROUP BY t.pan_token, t.psn
      ORDER BY MIN(t.id) LIMIT 2`);
    ok(shuaka('depot', 'debt', 'repay', '--db', db, '--pan-token', String(repaid?.['pan_token']),
      '--psn', String(repaid?.['psn'])));
    const afterRepay = shuaka('depot', 'tap', 'void', '--db', db, '--id', String(repaid?.['id']));
    ok(afterRepay);
    expect(JSON.parse(afterRepay.out)).toMatchObject({ outcome: 'voided-debt-repaid' });
    const stillOwed = shuaka('depot', 'tap', 'void', '--db', db, '--id', String(owing?.['id']));
    ok(stillOwed);
    expect(JSON.parse(stillOwed.out)).toMatchObject({ outcome: 'debt-reduced' });
    const states = await sql(db, `SELECT state FROM taps WHERE id IN (${String(repaid?.['id'])},
      ${String(owing?.['id'])}) ORDER BY id`);
    expect(states.map((r) => r['state'])).toEqual(['voided', 'voided']);
  }, 120_000);
});
