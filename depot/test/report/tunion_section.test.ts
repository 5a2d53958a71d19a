// The T-Union section of `shuaka depot report` on a depot filled through the real path:
// firmware journal records (seeded: SHUAKA_SEED=N replays) exported, validated and stored as
// batches of two terminals, TACs made by the simulator's e-purse module (valid, forged, of an
// issuer the depot has no key for), and deny-listed cards met (block records). The expected
// sums and the list of blocked cards are computed here from the entries; the report runs as
// the real `node bin/shuaka.js depot report` process in csv, text and html.

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
import type {
  TunionBlockedEntry, TunionBlockOutcome, TunionFinalEntry,
} from '../../../firmware/src/app/journal/journal_tunion.js';
import {
  FIXTURE_VAULT, JOURNAL_FILE, journalOptions, newClock, newPrng,
} from '../../../firmware/test/journal_fixtures.js';
import {
  tunionBlockedEntry, tunionEntries,
} from '../../../firmware/test/journal_tunion_fixtures.js';
import { batchStore } from '../../src/ingest/batch_store.js';
import { batchValidate } from '../../src/ingest/batch_validate.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { panVault } from '../../src/store/pan_vault.js';
import { TUNION_COLUMNS } from '../../src/report/tunion_section.js';
import { TUNION_BLOCK_COLUMNS } from '../../src/report/tunion_blocks_section.js';
import { SETTLEMENT_COLUMNS } from '../../src/report/settlement_report.js';

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
  /** The final's mac2Verified: true, false, or absent (a validator before the field). */
  mac2: 'yes' | 'no' | 'absent';
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
      final: rand() < 0.85, replayed: rand() < 0.1, mac2: pick(['yes', 'no', 'absent'] as const) };
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
    tacHex: r.tac === 'forged' ? (tac === '00000000' ? '00000001' : '00000000') : tac,
    mac2Verified: r.mac2 === 'absent' ? null : r.mac2 === 'yes' };
  const grey = { ...grey0, card, purchase, ride };
  if (!r.final) return [grey];
  return r.replayed ? [grey, final, final] : [grey, final];
}

/** A deny-listed card met: where, when, and how its block ended. */
interface Block {
  terminal: string; day: string; time: string; line: string; card: number;
  outcome: TunionBlockOutcome; sw: string;
}

function makeBlocks(seed: number): Block[] {
  const rand = prng(seed ^ 0x5eed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  return Array.from({ length: 12 }, (_, i) => {
    const [outcome, sw] = pick([['blocked', '9000'], ['blocked', '9000'],
      ['not-confirmed', ''], ['not-confirmed', '6988'], ['not-sent', '']] as const);
    const two = (n: number): string => String(n).padStart(2, '0');
    return { terminal: pick(['BUS00001', 'BUS00002']), day: pick(['20261201', '20261202']),
      time: `${two(6 + Math.floor(rand() * 14))}${two(i)}${two(Math.floor(rand() * 60))}`,
      line: pick(['B12', 'B7']), card: 500 + Math.floor(rand() * 6), outcome, sw };
  });
}

function blockEntryOf(b: Block): TunionBlockedEntry {
  return { ...tunionBlockedEntry(b.card, b.outcome, b.sw), terminalId: b.terminal,
    lineId: b.line, dateTimeDigits: `${b.day}${b.time}`, paramsVersion: 7 };
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

/**
 * Stores every terminal's rides, then its blocks, as one batch through batchValidate and
 * batchStore; each block learns the seq its record got.
 */
async function fill(rides: readonly Ride[], blocks: readonly Block[]): Promise<Map<Block,
  number>> {
  const seqs = new Map<Block, number>();
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
      for (const b of blocks.filter((x) => x.terminal === terminal)) {
        seqs.set(b, entries.push(blockEntryOf(b)));
      }
      const records = await exportedLines(entries);
      const batch = { terminalId: terminal, firstSeq: 1, throughSeq: records.length, records };
      await batchStore(db, batchValidate(batch, terminal), vault, NOW_MS);
    }
  } finally {
    await db.close();
  }
  return seqs;
}

/** The blocked-cards table the report must show, from the blocks themselves. */
function expectedBlocks(blocks: readonly Block[], seqs: ReadonlyMap<Block, number>,
  day: string | null): string[][] {
  const iso = (d: string): string => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}`;
  return blocks.filter((b) => day === null || iso(b.day) === day)
    .map((b) => ({ b, e: blockEntryOf(b), seq: seqs.get(b) ?? 0 }))
    .sort((x, y) => `${x.b.day}${x.b.time}`.localeCompare(`${y.b.day}${y.b.time}`)
      || x.b.terminal.localeCompare(y.b.terminal) || x.seq - y.seq)
    .map(({ b, e, seq }) => [iso(b.day), `${b.time.slice(0, 2)}:${b.time.slice(2, 4)}:${
      b.time.slice(4)}`, b.terminal, b.line, e.card.serialDigits, e.card.issuerIdHex,
    e.card.cityCodeHex, b.outcome, b.sw === '' ? '-' : b.sw, '7', e.terminalNumberHex,
    String(seq)]);
}

/** The sums the section must show, computed from the rides (keyed as the CSV's first 4). */
function expected(rides: readonly Ride[], keys: boolean, day: string | null)
  : Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const r of rides) {
    const iso = `${r.day.slice(0, 4)}-${r.day.slice(4, 6)}-${r.day.slice(6)}`;
    if (day !== null && iso !== day) continue;
    const key = `${iso},${r.line},${r.terminal},${r.city}`;
    const g = groups.get(key) ?? Array<number>(15).fill(0);
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
    if (r.mac2 === 'no') add(14, 1);
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
const blocks = makeBlocks(SEED);
let blockSeqs: ReadonlyMap<Block, number> = new Map();
beforeAll(async () => {
  blockSeqs = await fill(rides, blocks);
  writeFileSync(KEYS, JSON.stringify({ [ISSUER]: MASTER.toString('hex') }));
});

/** The rows of a CSV whose header must be `columns`, as cells. */
function csvRows(text: string, columns: readonly string[]): string[][] {
  const [head, ...lines] = text.trimEnd().split(/\r?\n/);
  expect(head).toBe(columns.join(','));
  return lines.map((line) => line.split(','));
}

/** Distinct cards whose block the card confirmed. */
function cardsBlocked(list: readonly Block[]): number {
  return new Set(list.filter((b) => b.outcome === 'blocked').map((b) => b.card)).size;
}

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

  it('csv_tunionBlocked_listsEveryCardMet_inThePeriod', () => {
    const all = report('--section', 'tunion-blocked');
    expect(all.status, all.stderr).toBe(0);
    const expectedAll = expectedBlocks(blocks, blockSeqs, null);
    expect(expectedAll).toHaveLength(blocks.length);
    expect(csvRows(all.stdout, TUNION_BLOCK_COLUMNS)).toEqual(expectedAll);
    const day = report('--section', 'tunion-blocked', '--day', '2026-12-01');
    expect(csvRows(day.stdout, TUNION_BLOCK_COLUMNS))
      .toEqual(expectedBlocks(blocks, blockSeqs, '2026-12-01'));
  });

  it('text_and_html_carryBothSections', () => {
    const text = report('--format', 'text', '--tac-keys', KEYS);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^Settlement\n/);
    const from = text.stdout.indexOf('T-Union (JT/T 978)\n');
    const section = text.stdout.slice(from, text.stdout.indexOf('\n\n', from));
    const lines = section.trimEnd().split('\n');
    expect(lines[1]?.trim().split(/\s+/)).toEqual([...TUNION_COLUMNS]);
    const rows = new Map(lines.slice(2).map((l) => {
      const cells = l.trim().split(/\s+/);
      return [cells.slice(0, 4).join(','), cells.slice(4).map(Number)];
    }));
    expect(rows).toEqual(expected(rides, true, null));
    const blocksFrom = text.stdout.indexOf('T-Union cards on the deny list');
    const listed = text.stdout.slice(blocksFrom, text.stdout.indexOf('\n\n', blocksFrom))
      .trimEnd().split('\n');
    // The purchases left grey come last (tunion_report_process.test.ts checks their rows).
    expect(text.stdout.slice(text.stdout.indexOf('\n\n', blocksFrom)))
      .toMatch(/^\n\nT-Union purchases left grey \(\d+\)\n/);
    expect(listed[0]).toBe(`T-Union cards on the deny list (${cardsBlocked(blocks)} blocked)`);
    expect(listed[1]?.trim().split(/\s+/)).toEqual([...TUNION_BLOCK_COLUMNS]);
    expect(listed.slice(2).map((l) => l.trim().split(/\s+/)))
      .toEqual(expectedBlocks(blocks, blockSeqs, null));
    const html = report('--format', 'html', '--day', '2026-12-01');
    expect(html.status, html.stderr).toBe(0);
    expect(html.stdout).toContain('<h2>T-Union (JT/T 978)</h2>');
    const greysAt = html.stdout.indexOf('<h2>T-Union purchases left grey</h2>');
    expect(greysAt).toBeGreaterThan(0);
    const bodies = html.stdout.slice(0, greysAt).match(/<tbody>[\s\S]*?<\/tbody>/g) ?? [];
    const dayBlocks = blocks.filter((b) => b.day === '20261201');
    // A day without blocks says so instead of a table (seeds where all 12 fall on the other).
    expect(bodies).toHaveLength(dayBlocks.length === 0 ? 2 : 3);
    expect(bodies[1]?.match(/<tr>/g)).toHaveLength(expected(rides, true, '2026-12-01').size);
    expect(bodies[2]?.match(/<tr>/g) ?? []).toHaveLength(dayBlocks.length);
    expect(html.stdout).toContain(`<p>${cardsBlocked(dayBlocks)} cards blocked.`);
    // A page of the T-Union sections alone has no settlement table to read as "none".
    const blockedPage = report('--section', 'tunion-blocked', '--format', 'html');
    expect(blockedPage.status, blockedPage.stderr).toBe(0);
    expect(blockedPage.stdout).toContain('<h1>T-Union cards on the deny list</h1>');
    expect(blockedPage.stdout).not.toContain('Settlement');
    for (const column of SETTLEMENT_COLUMNS.filter((c) => !TUNION_BLOCK_COLUMNS.includes(
      c as (typeof TUNION_BLOCK_COLUMNS)[number]))) {
      expect(blockedPage.stdout).not.toContain(`<th>${column}</th>`);
    }
    expect(blockedPage.stdout.match(/<tbody>/g) ?? []).toHaveLength(blocks.length === 0 ? 0 : 1);
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
