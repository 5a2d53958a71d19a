// Independent truth check: what the cards say they were debited against what the medium holds.
//
// Unlike bus_checks.ts this reads only the durable bytes (what survives any power cut) and
// accepts, for a debit with no clearing record, a still-uncertain pending or torn record of the
// same PAN + ATC: a tap the back office will reconcile. Missing or doubled is always wrong.

import { JOURNAL_FILE_NAME } from '../../../../firmware/src/app/journal/journal.js';
import { journalScanFiles } from '../../../../firmware/src/app/journal/journal_reader.js';
import type { ClearingRecord } from '../../../../firmware/src/app/journal/journal_records.js';
import {
  FARE_RULE_DECLINED_AFTER_COMMIT,
} from '../../../../firmware/src/app/validator/tap_journal.js';
import type { PanVault } from '../../../../firmware/src/app/journal/pan_vault.js';
import type { RiderCard } from '../../../src/sim/bus_riders.js';
import type { StorageSim } from '../../../src/storage_sim.js';

/** Cards a correct validator never debits (except a commit it then declines, flagged). */
const NEVER_DEBITED = new Set(['deny-listed', 'clone', 'revoked-issuer', 'expired']);

export interface LedgerJournalCheck {
  readonly violations: string[];
  /** Ledger entries over all cards. */
  readonly debits: number;
  /** Clearing (final) records in the journal. */
  readonly finals: number;
  /** PAN/ATC of debits that have no final but an uncertain record. */
  readonly uncertainDebits: string[];
  /** PAN/ATC of every uncertain (pending or torn) tap left in the journal. */
  readonly uncertainLeft: string[];
  readonly tornTail: boolean;
}

/** PAN of the application a ledger entry was taken on (co-badged cards hold several). */
export function panOfDebit(card: RiderCard, aidHex: string): string {
  const apps = card.card.profile.applications;
  const app = apps.find((a) => a.aidHex.toUpperCase() === aidHex.toUpperCase());
  return app?.pan ?? '';
}

function finalsOf(
  records: ReturnType<typeof journalScanFiles>['records'],
  violations: string[],
): Map<string, ClearingRecord> {
  const finals = new Map<string, ClearingRecord>();
  for (const record of records) {
    if (record.entry.kind !== 'final') continue;
    const clearing = record.entry.clearing;
    const key = `${clearing.card.panToken}/${clearing.atc}`;
    if (finals.has(key)) violations.push(`clearing record twice for ${key}`);
    finals.set(key, clearing);
  }
  return finals;
}

/** Checks every card's ledger against the durable journal image of `storage`. */
export function checkLedgersAgainstJournal(
  cards: readonly RiderCard[],
  board: { readonly storage: StorageSim; readonly panVault: PanVault },
): LedgerJournalCheck {
  const { storage, panVault } = board;
  const violations: string[] = [];
  const scan = journalScanFiles(storage.durableFiles(), JOURNAL_FILE_NAME, true);
  if (scan.corruption !== null) violations.push(`journal corrupt: ${scan.corruption.reason}`);
  const finals = finalsOf(scan.records, violations);
  const uncertainLeft = scan.state
    .uncertainAll()
    .map((t) => `${t.recovery.card.panToken}/${t.recovery.atc}`);
  const uncertainDebits: string[] = [];
  const debited = new Set<string>();
  let debits = 0;
  for (const rider of cards) {
    for (const entry of rider.card.ledger()) {
      debits += 1;
      const key = `${panVault.token(panOfDebit(rider, entry.aidHex))}/${entry.atc}`;
      if (debited.has(key)) violations.push(`card ${rider.name} debited twice as ${key}`);
      debited.add(key);
      const clearing = finals.get(key);
      const flagged = clearing?.fareRule === FARE_RULE_DECLINED_AFTER_COMMIT;
      if (NEVER_DEBITED.has(rider.name) && !flagged) {
        violations.push(`${rider.name} card ${key} was debited`);
      }
      if (clearing === undefined) {
        if (uncertainLeft.includes(key)) uncertainDebits.push(key);
        else violations.push(`debit ${key} (${rider.name}) is in no journal record`);
        continue;
      }
      if (clearing.amountMinor !== entry.amountMinor) {
        violations.push(`${key}: cleared ${clearing.amountMinor}, debited ${entry.amountMinor}`);
      }
      if (!clearing.iccDataHex.toUpperCase().includes(entry.cryptogramHex.toUpperCase())) {
        violations.push(`${key}: clearing record lacks the card's TC ${entry.cryptogramHex}`);
      }
    }
  }
  for (const [key, clearing] of finals) {
    if (clearing.cryptogramType === 'TC' && !debited.has(key)) {
      violations.push(`clearing record ${key} has no debit on the card`);
    }
  }
  return {
    violations,
    debits,
    finals: finals.size,
    uncertainDebits,
    uncertainLeft,
    tornTail: scan.tornTail !== null,
  };
}
