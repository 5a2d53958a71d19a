// The money loop of `shuaka sim`: after the ride the bus is back at the garage, its uploader
// sends the journal to the depot (SQLite in a temporary directory), the depot sends the ODA
// admissions for authorisation and the e-cash debits as clearing advices to the acquirer
// simulator (ISO 8583 over TCP on loopback), and the money of every card is reconciled
// against the journal and the issuer's ledger (sim_money_summary.ts).
//
// One issuer account is emptied by the scenario (seeded: one card that took an ODA ride), so
// the run shows a decline, its debt and deny-list entry, and the rides left outstanding
// behind it (depot/src/acquirer/README.md, exposure rule).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ACQUIRER_LINK_DEFAULTS, AcquirerLink } from
  '../../../depot/src/acquirer/acquirer_link.js';
import { settleOnce, settlementRunZero, type SettlementRun } from
  '../../../depot/src/acquirer/settlement.js';
import { SETTLEMENT_DEFAULTS } from '../../../depot/src/acquirer/settlement_options.js';
import type { DepotDb } from '../../../depot/src/store/depot_db.js';
import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalExportLine } from '../../../firmware/src/app/journal/journal_export.js';
import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import {
  Uploader, UPLOADER_CONFIG_DEFAULT, type UploaderState,
} from '../../../firmware/src/app/upload/uploader.js';
import { acquirerSimListen } from '../acquirer_sim/acquirer_sim_server.js';
import { accountKey, issuerAccountsOf, type IssuerAccount } from
  '../acquirer_sim/issuer_accounts.js';
import { IssuerHost } from '../acquirer_sim/issuer_host.js';
import { Prng } from '../prng.js';
import type { RiderPool } from './bus_riders.js';
import type { JournalRecord } from '../../../firmware/src/app/journal/journal_records.js';
import { tunionMoneyLines, tunionMoneyOf, type TunionMoney } from './sim_money_tunion.js';
import type { BusBoard } from './sim_board_parts.js';
import { simDepotOpen, type SimDepot, type SimDepotOpener } from './sim_money_depot.js';
import {
  cardMoneyLines, cardMoneyOf, maskPan, type CardMoney, type DepotDebtRow, type DepotTapRow,
  type TappedLine,
} from './sim_money_summary.js';

/** What the loop reads of a finished ride (a BusRun, on either link). */
export interface MoneyRide {
  readonly options: { readonly seed: number; readonly terminalId?: string };
  readonly board: BusBoard;
  readonly pool: RiderPool;
}

/** What the loop did and found. */
export interface MoneyLoop {
  readonly transport: string;
  readonly upload: Readonly<UploaderState>;
  readonly ackThroughSeq: number;
  readonly acquirerPort: number;
  readonly settlement: SettlementRun;
  /** The card whose issuer account the scenario emptied, or null (no ODA ride). */
  readonly emptied: { readonly panMasked: string; readonly kind: string } | null;
  readonly cards: readonly CardMoney[];
  /** The T-Union cards' money (journal, depot with TAC verified, card debits). */
  readonly tunion: TunionMoney;
  readonly violations: readonly string[];
}

/** Contacts after the ride; one normally suffices (500 records a batch). */
const CONTACTS_MAX = 20;
/** Settlement runs: each repeats while it progresses; a second finds nothing left. */
const SETTLE_RUNS_MAX = 4;

/**
 * Runs the loop on `ride` in a temporary directory, removed before it resolves. Rejects when
 * the loop itself cannot run (database, sockets); correctness findings are `violations`.
 */
export async function runMoneyLoop(
  ride: MoneyRide,
  openDepot: SimDepotOpener | null,
): Promise<MoneyLoop> {
  const dir = mkdtempSync(join(tmpdir(), 'shuaka-sim-depot-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  // An interrupted run leaves no database behind either: Ctrl-C during the loop removes it
  // and ends as the signal would (128 + signal number).
  const interrupted = (signal: NodeJS.Signals): void => {
    removeDir();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', removeDir);
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const clock = ride.board.clock;
    const terminalId = ride.options.terminalId ?? 'SIM00001';
    const depot = await simDepotOpen(dir, terminalId, ride.options.seed, () => clock.wallMs(),
      openDepot);
    try {
      return await loopOn(ride, depot);
    } finally {
      await depot.close();
    }
  } finally {
    process.off('exit', removeDir);
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    removeDir();
  }
}

async function loopOn(ride: MoneyRide, depot: SimDepot): Promise<MoneyLoop> {
  const tapped = tappedLines(ride);
  const records = tappedRecords(ride);
  const violations: string[] = [];
  const uploader = garageUploader(ride, depot);
  const upload = await drain(uploader, violations);
  const ackThroughSeq = ride.board.journal.summary().ackThroughSeq;
  const accounts = issuerAccountsOf(ride.pool.cards.map((c) => [c.name, c.card.profile]),
    ride.options.seed);
  const emptied = emptyOneAccount(ride, tapped, accounts);
  const balanceBefore = balances(accounts);
  const host = new IssuerHost(accounts, ride.options.seed);
  const server = await acquirerSimListen(host, { seed: ride.options.seed });
  const link = new AcquirerLink({ ...ACQUIRER_LINK_DEFAULTS, host: '127.0.0.1',
    port: server.port });
  let settlement: SettlementRun;
  try {
    settlement = await settle(depot, link, () => ride.board.clock.wallMs());
  } finally {
    link.close();
    await server.close();
  }
  if (settlement.unanswered > 0) {
    violations.push(`the acquirer left ${settlement.unanswered} requests unanswered`);
  }
  const kindOf = kindByPan(ride.pool);
  const tunion = await tunionMoneyOf(depot.db, records, ride.pool.tunion);
  const money = cardMoneyOf(tapped, await depotRows(depot.db),
    { movements: host.movements(), balanceBefore, balanceAfter: balances(accounts) },
    { token: (pan) => depot.vault.token(pan), kindOf });
  return {
    transport: depot.transport, upload, ackThroughSeq, acquirerPort: server.port, settlement,
    emptied: emptied === null ? null : { panMasked: maskPan(emptied), kind: kindOf(emptied) },
    cards: money.cards, tunion,
    violations: [...violations, ...money.violations, ...tunion.violations],
  };
}

/** The journal's records as scanned from the medium (T-Union finals are read from them). */
function tappedRecords(ride: MoneyRide): JournalRecord[] {
  return journalScanFiles(ride.board.storage.durableFiles(), JOURNAL_FILE_NAME, true).records;
}

/** The journal's clearing export lines before the upload: the truth of what was tapped. */
function tappedLines(ride: MoneyRide): TappedLine[] {
  const scan = journalScanFiles(ride.board.storage.durableFiles(), JOURNAL_FILE_NAME, true);
  const openSeqs = new Set(scan.state.uncertainAll().map((tap) => tap.seq));
  const context = { ackThroughSeq: 0, openSeqs, vault: ride.board.panVault };
  const out: TappedLine[] = [];
  for (const record of scan.records) {
    const line = journalExportLine(record, context);
    if (line === null || !line.clearing) continue;
    const parsed = JSON.parse(line.text) as Record<string, unknown>;
    // T-Union clearing lines carry a card number and a TAC, no PAN (sim_money_tunion.ts).
    if (parsed['type'] !== 'clearing') continue;
    out.push({
      seq: Number(parsed['seq']), pan: String(parsed['pan']), psn: String(parsed['psn']),
      atc: Number(parsed['atc']), amountMinor: Number(parsed['amountMinor']),
      cryptogramType: parsed['cryptogramType'] === 'TC' ? 'TC' : 'ARQC',
    });
  }
  return out;
}

function garageUploader(ride: MoneyRide, depot: SimDepot): Uploader {
  const prng = new Prng(ride.options.seed).fork('garage-upload');
  const board = ride.board;
  return new Uploader(
    {
      depot: depot.port, storage: board.storage, journalFileName: JOURNAL_FILE_NAME,
      journal: board.journal, panVault: board.panVault, clock: board.clock,
      random01: () => prng.below(1 << 30) / (1 << 30),
      log: { log: (event) => board.logs.push(event) },
      // The ride is over: no tap runs while the bus is parked.
      tapInProgress: () => false, params: null,
    },
    { ...UPLOADER_CONFIG_DEFAULT, terminalId: ride.options.terminalId ?? 'SIM00001' },
  );
}

/** Contacts until one sends nothing new; the ack each earned is written to the journal. */
async function drain(uploader: Uploader, violations: string[]): Promise<UploaderState> {
  for (let contact = 0; contact < CONTACTS_MAX; contact += 1) {
    const before = uploader.state().batchesSent;
    const result = await uploader.contact();
    await uploader.betweenTaps();
    if (!result.ok) {
      violations.push(`upload to the depot failed: ${result.error}: ${result.detail}`);
      break;
    }
    if (uploader.state().batchesSent === before) break;
  }
  return { ...uploader.state() };
}

/**
 * The scenario's decline: the issuer account of one card that took an ODA ride (drawn from
 * the seed among those that took two or more, when any did) holds nothing, so its deferred
 * authorisation is declined 51 (insufficient funds).
 * Returns its PAN, or null when no card took an ODA ride.
 */
function emptyOneAccount(
  ride: MoneyRide,
  tapped: readonly TappedLine[],
  accounts: Map<string, IssuerAccount>,
): string | null {
  const rides = new Map<string, number>();
  for (const t of tapped) {
    if (t.cryptogramType === 'ARQC') rides.set(t.pan, (rides.get(t.pan) ?? 0) + 1);
  }
  // A card that rode twice shows the whole path: a decline, its debt, a ride left waiting.
  const twice = [...rides].filter(([, n]) => n >= 2).map(([pan]) => pan);
  const pans = twice.length > 0 ? twice : [...rides.keys()];
  if (pans.length === 0) return null;
  const pan = pans[new Prng(ride.options.seed).fork('issuer-decline').below(pans.length)] ?? '';
  const line = tapped.find((t) => t.pan === pan);
  const account = accounts.get(accountKey(pan, Number.parseInt(line?.psn ?? '0', 16)))
    ?? [...accounts.values()].find((a) => a.pan === pan);
  if (account === undefined) return null;
  account.balanceMinor = 0;
  return pan;
}

function balances(accounts: ReadonlyMap<string, IssuerAccount>): Map<string, number> {
  return new Map([...accounts].map(([key, account]) => [key, account.balanceMinor]));
}

/** Counts each settlement run adds to the totals. */
const SETTLE_SUMMED = ['recoveriesQueued', 'planned', 'answered', 'approved', 'declined',
  'duplicates', 'recovered', 'recoveriesDeclined', 'reversed',
  'reversalsRefused'] as const satisfies readonly (keyof SettlementRun)[];

/** Settlement runs until one has nothing to plan or send; totals summed. */
async function settle(depot: SimDepot, link: AcquirerLink, nowMs: () => number):
  Promise<SettlementRun> {
  const options = { ...SETTLEMENT_DEFAULTS, nowMs, unsealPan: depot.vault.unseal };
  const total = settlementRunZero();
  for (let run = 0; run < SETTLE_RUNS_MAX; run += 1) {
    const once = await settleOnce(depot.db, link, options);
    for (const key of SETTLE_SUMMED) total[key] += once[key];
    // The last run's state: what is still waiting, unanswered or unread, and why.
    Object.assign(total, { waiting: once.waiting, unanswered: once.unanswered,
      unreadable: once.unreadable, keyFailed: once.keyFailed, problem: once.problem });
    if (once.planned === 0 && once.answered === 0) break;
  }
  return total;
}

async function depotRows(db: DepotDb):
  Promise<{ taps: DepotTapRow[]; debts: DepotDebtRow[] }> {
  const taps = await db.query(
    `SELECT seq, pan_token, psn, amount_minor, cryptogram_type, state FROM taps
     WHERE type = 'clearing' ORDER BY seq`);
  const debts = await db.query(
    `SELECT d.pan_token, d.psn, d.amount_minor, d.state,
       (SELECT COUNT(*) FROM deny_entries e WHERE e.debt_id = d.id
        AND e.removed_at_ms IS NULL) AS deny_entries
     FROM debts d ORDER BY d.id`);
  return {
    taps: taps.map((row) => ({
      seq: Number(row['seq']), panToken: String(row['pan_token']), psn: String(row['psn']),
      amountMinor: Number(row['amount_minor']),
      cryptogramType: row['cryptogram_type'] === 'TC' ? 'TC' : 'ARQC',
      state: String(row['state']),
    })),
    debts: debts.map((row) => ({
      panToken: String(row['pan_token']), psn: String(row['psn']),
      amountMinor: Number(row['amount_minor']), state: String(row['state']),
      denyEntries: Number(row['deny_entries']),
    })),
  };
}

/** The population kind of every PAN of the pool (co-badged cards have several). */
function kindByPan(pool: RiderPool): (pan: string) => string {
  const kinds = new Map<string, string>();
  for (const rider of pool.cards) {
    for (const app of rider.card.profile.applications) kinds.set(app.pan, rider.name);
  }
  return (pan) => kinds.get(pan) ?? 'unknown';
}

/** The lines `shuaka sim` prints after the ride's checks: the loop, then the money per card. */
export function moneyLoopLines(loop: MoneyLoop): string[] {
  const u = loop.upload;
  const s = loop.settlement;
  const batches = `${u.batchesSent} batch${u.batchesSent === 1 ? '' : 'es'}`;
  const lines = [
    'money loop: back at the garage the validator uploads its journal, the depot settles '
      + 'with the acquirer',
    `  depot: SQLite in a temporary directory, reached at ${loop.transport}`,
    `  upload: ${u.recordsSent} records in ${batches}, ${u.recordsStored} stored, `
      + `${u.duplicates} duplicates; journal acknowledged through seq ${loop.ackThroughSeq}`,
    `  acquirer simulator on 127.0.0.1:${loop.acquirerPort} (ISO 8583 over TCP): `
      + `${s.answered} requests answered, ${s.approved} approved, ${s.declined} declined`
      + (s.waiting > 0 ? `; ${s.waiting} rides wait behind a debt` : ''),
  ];
  if (loop.emptied !== null) {
    lines.push(`  scenario: the issuer account of ${loop.emptied.panMasked} `
      + `(${loop.emptied.kind}) is empty, its authorisation is declined 51`);
  }
  return [...lines, ...cardMoneyLines(loop.cards), ...tunionMoneyLines(loop.tunion)];
}
