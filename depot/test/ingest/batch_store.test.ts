// batchStore's dedupe on both engines (SQLite multi-row VALUES, PostgreSQL COPY to a stage
// and one INSERT per batch) against a model computed by hand from the generated input: a
// seeded stream of batches from three terminals with card+ATC repeats inside one batch,
// across batches and across terminals, whole replays and partly overlapping resends. Truth:
// the model's state and duplicate_of per (terminal, seq), and each receipt's counts.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchStore } from '../../src/ingest/batch_store.js';
import { batchValidate } from '../../src/ingest/batch_validate.js';
import { terminalAdd } from '../../src/ingest/terminal_registry.js';
import type { DepotDb } from '../../src/store/depot_db.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { CARD_KEY_LEVELS } from '../../src/store/card_key_levels.js';
import { panVault } from '../../src/store/pan_vault.js';
import {
  createScratchDatabase, depotEngines, postgresRequired,
} from '../../../test_support/postgres_scratch.js';
import { clearingLine, clearingOf, WALL_MS } from './ingest_fixtures.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 17);
const TERMINALS = ['SIM00001', 'SIM00002', 'SIM00003'];
const temp = mkdtempSync(join(tmpdir(), 'shuaka-store-'));
const dbs = depotEngines(temp);

afterAll(() => {
  dbs.stop();
  rmSync(temp, { recursive: true, force: true });
});

const engines = dbs.list;

/** xorshift32: the stream replays from SHUAKA_SEED. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

interface Tap {
  readonly terminalId: string;
  readonly seq: number;
  readonly card: number;
  readonly atc: number;
}

interface Send {
  readonly terminalId: string;
  readonly taps: readonly Tap[];
}

/**
 * Batches of 1..700 taps (above 500: SQLite's second INSERT of a batch). A tap reuses a
 * card+ATC already used (same batch, earlier batch, other terminal) with probability 0.15;
 * a batch is resent whole (0.15) or its first half alone (0.1). ATCs are drawn in 0..atcSpan-1.
 */
function stream(seed: number, atcSpan = 65_536): Send[] {
  const next = random(seed);
  const used: { card: number; atc: number }[] = [];
  const lastSeq = new Map<string, number>(TERMINALS.map((t) => [t, 0]));
  const sends: Send[] = [];
  for (let b = 0; b < 24; b += 1) {
    const terminalId = TERMINALS[Math.floor(next() * TERMINALS.length)] ?? 'SIM00001';
    const count = b % 5 === 4 ? 520 + Math.floor(next() * 180) : 1 + Math.floor(next() * 60);
    const first = (lastSeq.get(terminalId) ?? 0) + 1;
    const taps: Tap[] = [];
    for (let i = 0; i < count; i += 1) {
      const again = used.length > 0 && next() < 0.15;
      const pick = again ? used[Math.floor(next() * used.length)] : undefined;
      const tap = { terminalId, seq: first + i, card: pick?.card ?? 1_000 + used.length,
        atc: pick?.atc ?? Math.floor(next() * atcSpan) };
      if (pick === undefined) used.push({ card: tap.card, atc: tap.atc });
      taps.push(tap);
    }
    lastSeq.set(terminalId, first + count - 1);
    sends.push({ terminalId, taps });
    const resend = next();
    if (resend < 0.15) sends.push({ terminalId, taps });
    else if (resend < 0.25) sends.push({ terminalId, taps: taps.slice(0, Math.ceil(count / 2)) });
  }
  return sends;
}

interface Expected {
  readonly receipts: { stored: number; duplicates: number }[];
  /** `terminal/seq` to state and the `terminal/seq` of the counted tap it duplicates. */
  readonly rows: Map<string, { state: string; of: string | null }>;
}

/** The README's rules, applied one tap at a time in the order the depot receives them. */
function model(sends: readonly Send[]): Expected {
  const rows = new Map<string, { state: string; of: string | null }>();
  const counted = new Map<string, string>();
  const receipts = sends.map((send) => {
    let stored = 0;
    for (const tap of send.taps) {
      const at = `${tap.terminalId}/${tap.seq}`;
      if (rows.has(at)) continue;
      const card = `${tap.card}/${tap.atc}`;
      const of = counted.get(card) ?? null;
      rows.set(at, { state: of === null ? 'new' : 'duplicate', of });
      if (of === null) {
        counted.set(card, at);
        stored += 1;
      }
    }
    return { stored, duplicates: send.taps.length - stored };
  });
  return { receipts, rows };
}

function body(send: Send): unknown {
  const taps = send.taps;
  return { terminalId: send.terminalId, firstSeq: taps[0]?.seq ?? 1,
    throughSeq: taps[taps.length - 1]?.seq ?? 1,
    records: taps.map((t) => clearingLine(t.seq, clearingOf(t.card, t.atc, t.terminalId))) };
}

async function stored(db: DepotDb): Promise<Map<string, { state: string; of: string | null }>> {
  const rows = await db.query(`SELECT t.terminal_id, t.seq, t.state, o.terminal_id AS of_t,
    o.seq AS of_s FROM taps t LEFT JOIN taps o ON o.id = t.duplicate_of`);
  return new Map(rows.map((r) => [`${String(r['terminal_id'])}/${Number(r['seq'])}`, {
    state: String(r['state']),
    of: r['of_t'] === null ? null : `${String(r['of_t'])}/${Number(r['of_s'])}`,
  }]));
}

describe.each(engines)('batchStore dedupe on $name (seed ' + SEED + ')', (engine) => {
  it('storesEachTapOnce_countsEachCardAndAtcOnce_likeTheHandModel', async () => {
    const db = await openDepotDb(await engine.target(`store_${engine.name}`), WALL_MS);
    try {
      for (const terminalId of TERMINALS)
        await terminalAdd(db, { terminalId, certSha256: terminalId.padStart(64, '0'),
          routeId: 'R12', nowMs: WALL_MS });
      const vault = panVault(Buffer.alloc(32, 3));
      const sends = stream(SEED);
      const expected = model(sends);
      const receipts = [];
      for (const send of sends)
        receipts.push(await batchStore(db, batchValidate(body(send), send.terminalId), vault,
          WALL_MS));
      expect(receipts.map(({ stored: s, duplicates }) => ({ stored: s, duplicates })))
        .toEqual(expected.receipts);
      expect(await stored(db)).toEqual(expected.rows);
      // The stream must hold every kind of repeat, or this test proves less than it says.
      const states = [...expected.rows.values()];
      expect(states.filter((s) => s.state === 'duplicate').length).toBeGreaterThan(50);
      expect(expected.receipts.some((r) => r.stored === 0)).toBe(true);
    } finally {
      await db.close();
    }
  }, 240_000);
});

/** A card hash that puts every card in one key range: only the row compare tells them apart. */
const ONE_CARD_HASH = (): number => 7;
/** Tiny levels: l0 merges into l1 past 16 keys, l1 into l2 past 64 (many merges per run). */
const TINY_CAPS = [16, 64];

async function levelKeys(db: DepotDb): Promise<{ held: number[]; sizes: number[] }> {
  const sizes: number[] = [];
  const held: number[] = [];
  for (const level of CARD_KEY_LEVELS) {
    const rows = await db.query(`SELECT tap_id FROM ${level}`);
    sizes.push(rows.length);
    held.push(...rows.map((r) => Number(r['tap_id'])));
  }
  return { held: held.sort((a, b) => a - b), sizes };
}

describe('batchStore dedupe on SQLite key levels, every card one hash (seed ' + SEED + ')',
  () => {
    it('matchesTheHandModel_acrossMergesAndRestarts_withEveryKeyColliding', async () => {
      const path = join(temp, 'levels_collide.sqlite');
      const open = (): Promise<DepotDb> => openDepotDb(path, WALL_MS,
        { cardHash: ONE_CARD_HASH });
      let db = await open();
      try {
        for (const terminalId of TERMINALS)
          await terminalAdd(db, { terminalId, certSha256: terminalId.padStart(64, '0'),
            routeId: 'R12', nowMs: WALL_MS });
        const vault = panVault(Buffer.alloc(32, 3));
        // 8 ATCs: each key is shared by about a hundred different cards' taps.
        const sends = stream(SEED, 8);
        const expected = model(sends);
        const receipts = [];
        for (const [i, send] of sends.entries()) {
          receipts.push(await batchStore(db, batchValidate(body(send), send.terminalId), vault,
            WALL_MS, { cardKeyLevelCaps: TINY_CAPS }));
          const { sizes } = await levelKeys(db);
          expect(sizes[0]).toBeLessThanOrEqual(16);
          expect(sizes[1]).toBeLessThanOrEqual(64);
          if (i % 5 === 4) {
            await db.close();
            db = await open();
          }
        }
        expect(receipts.map(({ stored: s, duplicates }) => ({ stored: s, duplicates })))
          .toEqual(expected.receipts);
        expect(await stored(db)).toEqual(expected.rows);
        // The levels hold exactly the counted taps, and merges reached l2.
        const counted = await db.query(`SELECT id FROM taps WHERE type = 'clearing'
          AND duplicate_of IS NULL ORDER BY id`);
        const { held, sizes } = await levelKeys(db);
        expect(held).toEqual(counted.map((r) => Number(r['id'])));
        expect(sizes[2]).toBeGreaterThan(64);
      } finally {
        await db.close();
      }
    }, 240_000);
  });

/**
 * Two depot processes on one PostgreSQL (two pools), each storing every send, two sends at a
 * time: the same seqs race (a replay racing its original), and so do card+ATC repeats. Which
 * tap of a card+ATC is counted may differ from the sequential model; what must not: every tap
 * stored once, each card+ATC counted exactly once, every copy pointing at the counted one.
 */
describe.runIf(postgresRequired())('batchStore on one PostgreSQL shared by two depots (seed '
  + SEED + ')', () => {
  it('storesEachTapOnce_countsEachCardAndAtcOnce_whenBothStoreEverySendAtOnce', async () => {
    const scratch = await dbs.scratch();
    const url = await createScratchDatabase(scratch, 'store_race');
    const depots = [await openDepotDb(url, WALL_MS), await openDepotDb(url, WALL_MS)];
    try {
      for (const terminalId of TERMINALS)
        await terminalAdd(depots[0] as DepotDb, { terminalId,
          certSha256: terminalId.padStart(64, '0'), routeId: 'R12', nowMs: WALL_MS });
      const vault = panVault(Buffer.alloc(32, 3));
      const sends = stream(SEED);
      const cardAt = new Map<string, string>(sends.flatMap((s) => s.taps.map((t) =>
        [`${t.terminalId}/${t.seq}`, `${t.card}/${t.atc}`] as const)));
      let storedSum = 0;
      for (let i = 0; i < sends.length; i += 2) {
        const pair = sends.slice(i, i + 2);
        const receipts = await Promise.all(pair.flatMap((send) => depots.map((db) =>
          batchStore(db, batchValidate(body(send), send.terminalId), vault, WALL_MS)
            .then((r) => ({ r, taps: send.taps.length })))));
        for (const { r, taps } of receipts) {
          expect(r.stored + r.duplicates).toBe(taps);
          storedSum += r.stored;
        }
      }
      const rows = await stored(depots[0] as DepotDb);
      expect([...rows.keys()].sort()).toEqual([...cardAt.keys()].sort());
      const countedCards = new Map<string, string>();
      for (const [at, row] of rows) {
        if (row.state !== 'new') continue;
        expect(countedCards.has(cardAt.get(at) ?? '')).toBe(false);
        countedCards.set(cardAt.get(at) ?? '', at);
      }
      expect(countedCards.size).toBe(new Set(cardAt.values()).size);
      expect(storedSum).toBe(countedCards.size);
      for (const [at, row] of rows) {
        if (row.state === 'new') continue;
        expect(row.state).toBe('duplicate');
        expect(row.of).toBe(countedCards.get(cardAt.get(at) ?? ''));
      }
    } finally {
      await Promise.all(depots.map((db) => db.close()));
    }
  }, 240_000);
});

/**
 * Two terminals send the same 2x300 card+ATCs in opposite orders at the same moment: a third
 * session holds taps until both transactions wait at their INSERT, then lets them go at once.
 * Each takes its first half's keys and waits for the other's, which PostgreSQL breaks as a
 * deadlock; the loser is stored again and finds every key counted.
 */
describe.runIf(postgresRequired())('batchStore on PostgreSQL, opposite orders at once', () => {
  it('retriesTheDeadlockedBatch_countsEachCardAndAtcOnce', async () => {
    const scratch = await dbs.scratch();
    const db = await openDepotDb(await createScratchDatabase(scratch, 'store_deadlock'),
      WALL_MS);
    try {
      const terminals = ['SIM00001', 'SIM00002'];
      for (const terminalId of terminals)
        await terminalAdd(db, { terminalId, certSha256: terminalId.padStart(64, '0'),
          routeId: 'R12', nowMs: WALL_MS });
      const vault = panVault(Buffer.alloc(32, 3));
      const half = (from: number): number[] => Array.from({ length: 300 }, (_, i) => from + i);
      const cards = [half(5_000), half(6_000)];
      const sends = terminals.map((terminalId, t): Send => ({ terminalId,
        taps: [...(cards[t] ?? []), ...(cards[1 - t] ?? [])].map((card, i) =>
          ({ terminalId, seq: i + 1, card, atc: 7 })) }));
      const receipts = await db.transaction(async (gate) => {
        await gate.run('LOCK TABLE taps IN SHARE MODE');
        const stores = sends.map((send) =>
          batchStore(db, batchValidate(body(send), send.terminalId), vault, WALL_MS));
        for (let waiting = 0; waiting < 2;)
          waiting = Number((await gate.query(`SELECT count(*) AS n FROM pg_locks
            WHERE relation = 'taps'::regclass AND NOT granted`))[0]?.['n']);
        return stores;
      }).then((stores) => Promise.all(stores));
      expect(receipts.map((r) => r.stored + r.duplicates)).toEqual([600, 600]);
      expect(receipts.reduce((sum, r) => sum + r.stored, 0)).toBe(600);
      const counted = await db.query(`SELECT count(*) AS n, count(DISTINCT pan_token) AS cards
        FROM taps WHERE state = 'new'`);
      expect(counted[0]).toEqual({ n: 600, cards: 600 });
      const copies = await db.query(`SELECT count(*) AS n FROM taps t JOIN taps o
        ON o.id = t.duplicate_of AND o.pan_token = t.pan_token AND o.atc = t.atc
        WHERE t.state = 'duplicate'`);
      expect(copies[0]).toEqual({ n: 600 });
    } finally {
      await db.close();
    }
  }, 240_000);
});
