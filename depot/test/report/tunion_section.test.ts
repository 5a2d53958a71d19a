// The T-Union section of `shuaka depot report` on a depot filled through the real path:
// firmware journal records (seeded: SHUAKA_SEED=N replays) exported, validated and stored as
// batches of two terminals, TACs made by the simulator's e-purse module (valid, forged, of an
// issuer the depot has no key for). The expected sums are computed here from the entries; the
// report runs as the real `node bin/shuaka.js depot report` process in csv, text and html.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StorageSim } from '../../../host-sim/src/storage_sim.js';
import {
  cardKeyFromIssuerMaster,
  computeTac,
} from '../../../host-sim/src/psam/pboc_epurse_crypto.js';
import { Journal } from '../../../firmware/src/app/journal/journal.js';
import { journalExport } from '../../../firmware/src/app/journal/journal_export.js';
import type { JournalEntry } from '../../../firmware/src/app/journal/journal_records.js';
import { journalScan } from '../../../firmware/src/app/journal/journal_scan.js';
import type { TunionFinalEntry } from '../../../firmware/src/app/journal/journal_tunion.js';
import {
  FIXTURE_VAULT, JOURNAL_FILE, journalOptions, newClock, newPrng,
} from '../../../firmware/test/journal_fixtures.js';
import { tunionEntries } from '../../../firmware/test/journal_tunion_fixtures.js';
import { batchStore } from '../../src/ingest/batch_store.js';
import { batchValidate } from '../../src/ingest/batch_validate.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { panVault } from '../../src/store/pan_vault.js';
import { TUNION_COLUMNS } from '../../src/report/tunion_section.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? Date.now() % 1_000_000);
const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const NOW_MS = 1_796_000_000_000;
const ISSUER = '01011000FFFFFFFF';
const STRANGER = '0000000000000099';
const MASTER = randomBytes(16);
const temp = mkdtempSync(join(tmpdir(), 'shuaka-tunion-report-'));
const DB = join(temp, 'depot.sqlite');
const KEYS = join(temp, 'tac-keys.json');
afterAll(() => rmSync(temp, { recursive: true, force: true }));

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

interface Ride {
  terminal: string; day: string; line: string; city: string; tap: 'boarding' | 'alighting'
    | 'flat'; amount: number; penalty: number; tac: 'valid' | 'forged' | 'stranger';
  final: boolean; replayed: boolean;
}

function makeRides(seed: number): Ride[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  return Array.from({ length: 90 }, () => {
    const tap = pick(['boarding', 'alighting', 'flat'] as const);
    return { terminal: pick(['BUS00001', 'BUS00002']), day: pick(['20261201', '20261202']),
      line: pick(['B12', 'B7']), city: pick(['5840', '1100', '3100']), tap,
      amount: tap === 'boarding' ? 0 : 100 + Math.floor(rand() * 300),
      penalty: rand() < 0.2 ? 600 : 0, tac: pick(['valid', 'valid', 'forged', 'stranger'] as const),
      final: rand() < 0.85, replayed: rand() < 0.1 };
  });
}

/** The signed final of a ride: TAC under MASTER, then broken when the ride says so. */
function entriesOf(r: Ride, n: number, greySeq: number): JournalEntry[] {
  const [grey0, final0] = tunionEntries(n, n, greySeq);
  const card = { ...grey0.card, cityCodeHex: r.city, issuerIdHex: r.tac === 'stranger'
    ? STRANGER : ISSUER };
  const purchase = { ...grey0.purchase, amountMinor: r.amount + r.penalty,
    dateTimeDigits: `${r.day}083000` };
  const ride = { ...grey0.ride, tap: r.tap, lineId: r.line, penaltyMinor: r.penalty };
  const dtk = cardKeyFromIssuerMaster(MASTER, Buffer.from(card.serialDigits, 'hex'));
  const tac = Buffer.from(computeTac(dtk, { amountMinor: purchase.amountMinor,
    transactionType: purchase.transactionType, terminalNumber: Buffer.from(
      purchase.terminalNumberHex, 'hex'), dateTime: Buffer.from(purchase.dateTimeDigits, 'hex'),
  }, purchase.terminalSerial)).toString('hex').toUpperCase();
  const final: TunionFinalEntry = { ...final0, card, purchase, ride, terminalId: r.terminal,
    tacHex: r.tac === 'forged' ? (tac === '00000000' ? '00000001' : '00000000') : tac };
  const grey = { ...grey0, card, purchase, ride };
  if (!r.final) return [grey];
  return r.replayed ? [grey, final, final] : [grey, final];
}

async function exportedLines(entries: readonly JournalEntry[]): Promise<unknown[]> {
  // One segment holds them all (a bigger journal rotates later), so one file is scanned.
  const sim = new StorageSim({ totalBytes: 1 << 24, prng: newPrng(3), tornModes: ['prefix'] });
  const opened = await Journal.open(sim, journalOptions(newClock(), 1 << 23));
  if (!opened.ok) throw new Error(opened.detail);
  for (const entry of entries) {
    const result = await opened.value.journal.append(entry);
    if (!result.ok) throw new Error(result.detail);
  }
  const scan = journalScan(sim.durableBytes(JOURNAL_FILE), JOURNAL_FILE, true);
  expect(scan.state.lastSeq).toBe(entries.length);
  return journalExport(scan, FIXTURE_VAULT).lines.map((l) => JSON.parse(l) as unknown);
}

/** Stores every terminal's rides as one batch through batchValidate and batchStore. */
async function fill(rides: readonly Ride[]): Promise<void> {
  const db = await openDepotDb(DB, NOW_MS);
  try {
    const vault = panVault(randomBytes(32));
    for (const terminal of ['BUS00001', 'BUS00002']) {
      await db.run(`INSERT INTO terminals (terminal_id, cert_sha256, route_id, status,
        registered_at_ms) VALUES ($1, $2, 'B12', 'active', $3)`,
      [terminal, terminal.slice(-1).repeat(64), NOW_MS]);
      const entries: JournalEntry[] = [];
      rides.forEach((r, i) => {
        if (r.terminal === terminal) entries.push(...entriesOf(r, i + 1, entries.length + 1));
      });
      const records = await exportedLines(entries);
      const batch = { terminalId: terminal, firstSeq: 1, throughSeq: records.length, records };
      await batchStore(db, batchValidate(batch, terminal), vault, NOW_MS);
    }
  } finally {
    await db.close();
  }
}

/** The sums the section must show, computed from the rides (keyed as the CSV's first 4). */
function expected(rides: readonly Ride[], keys: boolean, day: string | null)
  : Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const r of rides) {
    const iso = `${r.day.slice(0, 4)}-${r.day.slice(4, 6)}-${r.day.slice(6)}`;
    if (day !== null && iso !== day) continue;
    const key = `${iso},${r.line},${r.terminal},${r.city}`;
    const g = groups.get(key) ?? Array<number>(14).fill(0);
    groups.set(key, g);
    const add = (i: number, v: number): void => { g[i] = (g[i] ?? 0) + v; };
    if (!r.final) { add(12, 1); continue; }
    const paid = r.amount + r.penalty;
    add(0, 1); add(1, paid);
    add(r.tap === 'boarding' ? 2 : r.tap === 'alighting' ? 3 : 4, 1);
    if (keys && r.tac === 'valid') { add(5, 1); add(6, paid); }
    else if (keys && r.tac === 'forged') { add(7, 1); add(8, paid); }
    else add(9, 1);
    if (r.penalty > 0) { add(10, 1); add(11, r.penalty); }
    if (r.replayed) add(13, 1);
  }
  return groups;
}

function report(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [BIN, 'depot', 'report', '--db', DB, ...args],
    { encoding: 'utf8', cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function parseCsv(text: string): Map<string, number[]> {
  const [head, ...lines] = text.trimEnd().split(/\r?\n/);
  expect(head).toBe(TUNION_COLUMNS.join(','));
  return new Map(lines.map((line) => {
    const cells = line.split(',');
    return [cells.slice(0, 4).join(','), cells.slice(4).map(Number)];
  }));
}

const rides = makeRides(SEED);
beforeAll(async () => {
  await fill(rides);
  writeFileSync(KEYS, JSON.stringify({ [ISSUER]: MASTER.toString('hex') }));
});

describe(`T-Union section of shuaka depot report (seed ${SEED})`, () => {
  it('csv_beforeAndAfterTacVerification_matchesIndependentSums', () => {
    const before = report('--section', 'tunion');
    expect(before.status, before.stderr).toBe(0);
    expect(parseCsv(before.stdout)).toEqual(expected(rides, false, null));
    const after = report('--section', 'tunion', '--tac-keys', KEYS, '--day', '2026-12-02');
    expect(after.status, after.stderr).toBe(0);
    expect(parseCsv(after.stdout)).toEqual(expected(rides, true, '2026-12-02'));
    const all = report('--section', 'tunion');
    expect(parseCsv(all.stdout)).toEqual(expected(rides, true, null));
  });

  it('text_and_html_carryBothSections', () => {
    const text = report('--format', 'text', '--tac-keys', KEYS);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Settlement\n/);
    const section = text.stdout.slice(text.stdout.indexOf('T-Union (JT/T 978)\n'));
    const lines = section.trimEnd().split('\n');
    expect(lines[1]?.trim().split(/\s+/)).toEqual([...TUNION_COLUMNS]);
    const rows = new Map(lines.slice(2).map((l) => {
      const cells = l.trim().split(/\s+/);
      return [cells.slice(0, 4).join(','), cells.slice(4).map(Number)];
    }));
    expect(rows).toEqual(expected(rides, true, null));
    const html = report('--format', 'html', '--day', '2026-12-01');
    expect(html.status, html.stderr).toBe(0);
    expect(html.stdout).toContain('<h2>T-Union (JT/T 978)</h2>');
    const bodies = html.stdout.match(/<tbody>[\s\S]*?<\/tbody>/g) ?? [];
    expect(bodies).toHaveLength(2);
    expect(bodies[1]?.match(/<tr>/g)).toHaveLength(expected(rides, true, '2026-12-01').size);
  });

  it('refuses_aCsvOfTwoTables_andABadKeyFile', () => {
    expect(report('--section', 'all').status).toBe(2);
    expect(report('--section', 'buses', '--format', 'text').status).toBe(2);
    const bad = join(temp, 'bad-keys.json');
    writeFileSync(bad, JSON.stringify({ [ISSUER]: 'abc' }));
    const r = report('--section', 'tunion', '--tac-keys', bad);
    expect([r.status, r.stderr]).toEqual([1, expect.stringMatching(/32 hex digits/)]);
    expect(report('--section', 'tunion', '--tac-keys', join(temp, 'absent.json')).status)
      .toBe(1);
  });
});
