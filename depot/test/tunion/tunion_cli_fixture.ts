// T-Union export lines and a depot on disk for the process tests of `shuaka depot ingest` and
// `report`: lines written by firmware's journal and exported as `journal export` does, TACs
// computed by the simulator's e-purse module (host-sim/src/psam), not by the depot's checker.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  cardKeyFromIssuerMaster, computeTac,
} from '../../../host-sim/src/psam/pboc_epurse_crypto.js';
import { StorageSim } from '../../../host-sim/src/storage_sim.js';
import { Journal } from '../../../firmware/src/app/journal/journal.js';
import { journalExport } from '../../../firmware/src/app/journal/journal_export.js';
import type { JournalEntry } from '../../../firmware/src/app/journal/journal_records.js';
import { journalScan } from '../../../firmware/src/app/journal/journal_scan.js';
import type { TunionFinalEntry } from '../../../firmware/src/app/journal/journal_tunion.js';
import {
  FIXTURE_VAULT, JOURNAL_FILE, journalOptions, newClock, newPrng,
} from '../../../firmware/test/journal_fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');

/** The fixtures' issuer (firmware/test/journal_tunion_fixtures.ts). */
export const ISSUER = '01011000FFFFFFFF';

/** A TAC master key from `seed`: fixed per test, unrelated to any other key. */
export function seededMaster(seed: string): Buffer {
  return createHash('sha256').update(seed).digest().subarray(0, 16);
}

/** `final` with the TAC its card computes under the issuer master `master`. */
export function signedFinal(final: TunionFinalEntry, master: Uint8Array): TunionFinalEntry {
  const p = final.purchase;
  const dtk = cardKeyFromIssuerMaster(master, Buffer.from(final.card.serialDigits, 'hex'));
  const tac = computeTac(dtk, {
    amountMinor: p.amountMinor, transactionType: p.transactionType,
    terminalNumber: Buffer.from(p.terminalNumberHex, 'hex'),
    dateTime: Buffer.from(p.dateTimeDigits, 'hex'),
  }, p.terminalSerial);
  return { ...final, tacHex: Buffer.from(tac).toString('hex').toUpperCase() };
}

/** `entries` appended to a fresh journal and exported: the JSON lines, in order. */
export async function exportedLines(entries: readonly JournalEntry[]): Promise<string[]> {
  const sim = new StorageSim({ totalBytes: 1 << 22, prng: newPrng(3), tornModes: ['prefix'] });
  const opened = await Journal.open(sim, journalOptions(newClock()));
  if (!opened.ok) throw new Error(opened.detail);
  for (const entry of entries) {
    const result = await opened.value.journal.append(entry);
    if (!result.ok) throw new Error(result.detail);
  }
  const scan = journalScan(sim.durableBytes(JOURNAL_FILE), JOURNAL_FILE, true);
  return [...journalExport(scan, FIXTURE_VAULT).lines];
}

export interface Run { readonly status: number | null; readonly stdout: string;
  readonly stderr: string }

/** `shuaka depot ARGS` as a process. */
export function depot(...args: string[]): Run {
  return spawnSync('node', [BIN, 'depot', ...args], { encoding: 'utf8', cwd: ROOT });
}

/** A depot in `dir` (init, terminal BUS00001 registered); its database path. */
export function depotWithTerminal(dir: string): string {
  const init = depot('init', '--dir', dir);
  if (init.status !== 0) throw new Error(`depot init: ${init.stderr}`);
  const db = join(dir, 'depot.sqlite');
  const add = depot('terminal', 'add', '--db', db, '--id', 'BUS00001', '--dir', dir);
  if (add.status !== 0) throw new Error(`terminal add: ${add.stderr}`);
  return db;
}

/** Writes `lines` to `file` (no .sha256 beside it) and ingests it for BUS00001. */
export function ingestLines(db: string, dir: string, file: string, lines: readonly string[])
  : Run {
  writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  return depot('ingest', '--db', db, '--dir', dir, '--terminal', 'BUS00001', file);
}

/** The T-Union csv report's rows as objects of its header's columns. */
export function tunionCsvRows(csv: string): Record<string, string>[] {
  const [head = '', ...rows] = csv.trim().split(/\r?\n/);
  const names = head.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [names[i] ?? '', v])));
}

/** Sum of a numeric column over the rows. */
export function columnSum(rows: readonly Record<string, string>[], column: string): number {
  return rows.reduce((sum, r) => sum + Number(r[column] ?? 0), 0);
}
