// Checkers of a bus run: the cards' own ledgers against the validator's journal.
//
// The card ledger is the truth of what was debited; the journal is what will reach clearing.
// They must match one to one (PAN + ATC): no double charge, no unrecorded debit, no record of
// a debit that did not happen, and no debit at all on deny-listed or counterfeit cards (the
// kernel finds a clone's bad SDAD before the commit, assembly/src/qpboc/qpboc_oda.ts).
// An admission (ODA, full flow) moves no money on the card: its clearing record carries an
// ARQC to be authorised, and the card's ledger must show no debit for it. In auto mode no
// genuine card with a way to pay may be refused (issue 10, "Done when").

import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import type {
  ClearingRecord,
  JournalRecord,
} from '../../../firmware/src/app/journal/journal_records.js';
import type { BusRun, TapLine } from './bus_run.js';
import { checkTunionRiders, type TunionCheck } from './bus_checks_tunion.js';

/** Cards that must never be debited by a correct validator. */
const NEVER_DEBITED = new Set(['deny-listed', 'clone', 'revoked-issuer', 'expired']);

/**
 * Cards a correct auto-mode validator may refuse: deny-listed, expired, revoked, counterfeit,
 * and the two with no way to pay (a purse short of the fare on a card that supports no other
 * path; a card without any offline data authentication).
 */
export const REFUSABLE_IN_AUTO = new Set([...NEVER_DEBITED, 'ec-insufficient', 'no-fdda']);

/** Results that refuse the rider (a repeat, a tear or a busy validator are not refusals). */
const REFUSALS = new Set(['declined', 'denyList', 'notAccepted', 'outOfService']);

/** Findings of the checkers; empty `violations` = the run is correct. */
export interface BusCheck {
  readonly violations: string[];
  readonly debits: number;
  readonly finals: number;
  /** Clearing records with a TC (money moved at the tap) and with an ARQC (admissions). */
  readonly paidOffline: number;
  readonly toBeAuthorised: number;
  readonly uncertain: number;
  readonly journalRecords: number;
  /** The T-Union riders' cards against their final records. */
  readonly tunion: TunionCheck;
}

export function checkBusRun(run: BusRun): BusCheck {
  const violations: string[] = [];
  const scan = journalScanFiles(run.board.storage.durableFiles(), JOURNAL_FILE_NAME, true);
  if (scan.corruption !== null) violations.push(`journal corrupt: ${scan.corruption.reason}`);
  if (scan.tornTail !== null) violations.push('journal has a torn tail after a clean run');
  const finals = new Map<string, ClearingRecord>();
  for (const record of scan.records) {
    if (record.entry.kind !== 'final') continue;
    const clearing = record.entry.clearing;
    const key = `${clearing.card.panToken}/${clearing.atc}`;
    if (finals.has(key)) violations.push(`clearing record twice for ${key}`);
    finals.set(key, clearing);
  }
  let debits = 0;
  const debited = new Set<string>();
  for (const rider of run.pool.cards) {
    const apps = rider.card.profile.applications;
    for (const entry of rider.card.ledger()) {
      debits += 1;
      // A co-badged card holds several applications, each with its own PAN.
      const pan = apps.find((a) => a.aidHex === entry.aidHex)?.pan ?? apps[0]?.pan ?? '';
      const key = `${run.board.panVault.token(pan)}/${entry.atc}`;
      debited.add(key);
      if (NEVER_DEBITED.has(rider.name)) {
        violations.push(`${rider.name} card ${key} was debited`);
      }
      if (!finals.has(key)) violations.push(`debit ${key} (${rider.name}) has no clearing record`);
    }
  }
  for (const [key, clearing] of finals) {
    if (clearing.cryptogramType === 'TC' && !debited.has(key)) {
      violations.push(`clearing record ${key} has no debit on the card`);
    }
    if (clearing.cryptogramType === 'ARQC' && debited.has(key)) {
      violations.push(`admission ${key} (to be authorised) was debited on the card`);
    }
  }
  violations.push(...checkBusReports(run.taps, scan.records, run.options.mode === 'auto'));
  const tunionCards = [...run.pool.tunion, ...run.pool.tunionDenied];
  const tunion = checkTunionRiders(tunionCards, scan.records, run.taps,
    run.board.journal.tunionOpenGreys().length);
  violations.push(...tunion.violations);
  if (run.board.kernel.faultCount() !== 0)
    violations.push(`kernel trapped ${run.board.kernel.faultCount()} times`);
  const clearing = [...finals.values()];
  return {
    violations,
    debits,
    finals: finals.size,
    paidOffline: clearing.filter((c) => c.cryptogramType === 'TC').length,
    toBeAuthorised: clearing.filter((c) => c.cryptogramType === 'ARQC').length,
    uncertain: run.board.journal.uncertainAll().length,
    journalRecords: scan.records.length,
    tunion,
  };
}

/**
 * What each rider was told against the journal: an approval ends on a TC clearing record, an
 * admission on an ARQC one (to be authorised); in auto mode a genuine card is never refused.
 */
export function checkBusReports(
  taps: readonly TapLine[],
  records: readonly JournalRecord[],
  auto: boolean,
): string[] {
  const violations: string[] = [];
  const bySeq = new Map(records.map((r) => [r.seq, r]));
  for (const tap of taps) {
    const report = tap.report;
    if (report === null) continue;
    // T-Union riders have their own ledger and records (bus_checks_tunion.ts).
    if (tap.cardName.startsWith('tunion-')) continue;
    const where = `tap #${tap.index} (${tap.cardName})`;
    if (report.result === 'approved' || report.result === 'admitted') {
      const last = bySeq.get(report.journalSeqs[report.journalSeqs.length - 1] ?? 0);
      const expected = report.result === 'approved' ? 'TC' : 'ARQC';
      if (last?.entry.kind !== 'final' || last.entry.clearing.cryptogramType !== expected) {
        violations.push(`${where} ${report.result} without its ${expected} clearing record`);
      }
    }
    const short = tap.purseShort === true && report.reason === 'insufficient-ecash';
    if (auto && REFUSALS.has(report.result) && !REFUSABLE_IN_AUTO.has(tap.cardName) && !short) {
      violations.push(`${where}: a genuine card was refused (${report.reason})`);
    }
  }
  return violations;
}
