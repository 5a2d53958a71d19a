// Taps for settlement tests: the clearing records of a real simulated bus run, stored in the
// depot's taps table as ingest stores them (PAN tokenised and sealed), plus the issuer behind
// those cards and the engines to run on.

import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalExport } from '../../../firmware/src/app/journal/journal_export.js';
import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import { issuerAccountsOf, type IssuerAccount } from
  '../../../host-sim/src/acquirer_sim/issuer_accounts.js';
import { clearingWithPan, type ClearClearing } from '../../../test_support/clear_clearing.js';
import { BUS_RUN_DEFAULT, runBus } from '../../../host-sim/src/sim/bus_run.js';
import type { CardProfile } from '../../../host-sim/src/cards/card_profile.js';
import {
  createScratchDatabase,
  postgresRequired,
  startPostgresScratch,
  type PostgresScratch,
} from '../../../test_support/postgres_scratch.js';
import type { DepotDb } from '../../src/store/depot_db.js';

/** A stored clearing tap and where it came from. */
export interface FixtureTap {
  readonly seq: number;
  readonly clearing: ClearClearing;
}

/** One bus run's taps and its cards. */
export interface BusTaps {
  readonly taps: readonly FixtureTap[];
  readonly cards: readonly (readonly [string, CardProfile])[];
  /** `shuaka journal export` of the same journal: what the validator uploads. */
  readonly exportLines: readonly string[];
  readonly throughSeq: number;
}

const cache = new Map<number, Promise<BusTaps>>();

/** The clearing records of a bus run of `seed` (cached per seed: a run takes seconds). */
export function busTaps(seed: number): Promise<BusTaps> {
  let found = cache.get(seed);
  if (found === undefined) {
    found = (async (): Promise<BusTaps> => {
      const run = await runBus({ ...BUS_RUN_DEFAULT, seed, riders: 30, tornChance: 0,
        cardGroups: 2 }, () => {});
      const scan = journalScanFiles(run.board.storage.durableFiles(), JOURNAL_FILE_NAME, true);
      run.board.dispose();
      const taps: FixtureTap[] = [];
      for (const record of scan.records) {
        if (record.entry.kind !== 'final') continue;
        taps.push({ seq: record.seq,
          clearing: clearingWithPan(record.entry.clearing, run.board.panVault, record.seq) });
      }
      const exported = journalExport(scan, run.board.panVault);
      return { taps, cards: run.pool.cards.map((c) => [c.name, c.card.profile] as const),
        exportLines: exported.lines, throughSeq: exported.throughSeq };
    })();
    cache.set(seed, found);
  }
  return found;
}

/** Fresh issuer accounts for a run's cards (each test mutates its own). */
export function accountsOf(bus: BusTaps, seed: number): Map<string, IssuerAccount> {
  return issuerAccountsOf(bus.cards, seed);
}

const TOKEN_KEY = Buffer.from('settlement-test-token-key');

/** The PAN token as the depot keys cards (HMAC-SHA256, hex). */
export function panToken(pan: string): string {
  return createHmac('sha256', TOKEN_KEY).update(pan).digest('hex');
}

/** Test sealing: reversible, not secret (the engine only needs `unsealPan`). */
export const sealPan = (pan: string): string => `test:${Buffer.from(pan).toString('base64')}`;
export const unsealPan = (sealed: string): string => {
  if (!sealed.startsWith('test:')) throw new Error('not a test seal');
  return Buffer.from(sealed.slice(5), 'base64').toString();
};

/** Stores `taps` as ingest does (state `new`); returns their ids in order. */
export async function storeTaps(db: DepotDb, taps: readonly FixtureTap[], nowMs: number):
  Promise<number[]> {
  const ids: number[] = [];
  for (const { seq, clearing } of taps) {
    const rows = await db.query(
      `INSERT INTO taps (terminal_id, seq, type, time_wall_ms, route_id, pan_token, pan_sealed,
         psn, atc, amount_minor, currency_code, fare_rule, cryptogram_type, icc_data_hex,
         transaction_date, transaction_time, params_version, record_json, state, received_at_ms)
       VALUES ($1, $2, 'clearing', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
         $16, '{}', 'new', $17) RETURNING id`,
      [clearing.terminalId, seq, nowMs, clearing.lineId, panToken(clearing.card.pan),
        sealPan(clearing.card.pan), clearing.card.psn.toString(16).padStart(2, '0'),
        clearing.atc, clearing.amountMinor, clearing.currencyCode, clearing.fareRule,
        clearing.cryptogramType, clearing.iccDataHex, clearing.transactionDate,
        clearing.transactionTime, clearing.paramsVersion, nowMs]);
    ids.push(Number(rows[0]?.['id']));
  }
  return ids;
}

/** SQLite always; PostgreSQL when installed (or CI=true, where a missing server fails). */
export interface Engine {
  readonly name: 'sqlite' | 'postgres';
  fresh(label: string): Promise<string>;
}

let temp: string | null = null;
let scratch: PostgresScratch | null = null;

export const ENGINES: readonly Engine[] = [
  {
    name: 'sqlite',
    fresh: (label) => {
      temp ??= mkdtempSync(join(tmpdir(), 'shuaka-settle-'));
      return Promise.resolve(join(temp, `${label}.sqlite`));
    },
  },
  ...(postgresRequired() ? [{
    name: 'postgres' as const,
    fresh: async (label: string): Promise<string> => {
      scratch ??= await startPostgresScratch();
      return createScratchDatabase(scratch, label);
    },
  }] : []),
];

/** Stops the scratch server and deletes temp files (afterAll). */
export function enginesDispose(): void {
  scratch?.stop();
  scratch = null;
  if (temp !== null) rmSync(temp, { recursive: true, force: true });
  temp = null;
}
