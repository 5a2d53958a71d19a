// Checkers of a bus run: the cards' own ledgers against the validator's journal.
//
// The card ledger is the truth of what was debited; the journal is what will reach clearing.
// They must match one to one (PAN + ATC): no double charge, no unrecorded debit, no record of
// a debit that did not happen, and no debit at all on deny-listed or counterfeit cards (the
// kernel finds a clone's bad SDAD before the commit, assembly/src/qpboc/qpboc_oda.ts).

import { journalScan } from '../../../firmware/src/app/journal/journal_scan.js';
import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import type { ClearingRecord } from '../../../firmware/src/app/journal/journal_records.js';
import type { BusRun } from './bus_run.js';

/** Cards that must never be debited by a correct validator. */
const NEVER_DEBITED = new Set(['deny-listed', 'clone', 'revoked-issuer', 'expired']);

/** Findings of the checkers; empty `violations` = the run is correct. */
export interface BusCheck {
  readonly violations: string[];
  readonly debits: number;
  readonly finals: number;
  readonly uncertain: number;
  readonly journalRecords: number;
}

export function checkBusRun(run: BusRun): BusCheck {
  const violations: string[] = [];
  const bytes = run.board.storage.durableBytes(JOURNAL_FILE_NAME);
  const scan = journalScan(bytes, JOURNAL_FILE_NAME, true);
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
  }
  if (run.board.kernel.faultCount() !== 0)
    violations.push(`kernel trapped ${run.board.kernel.faultCount()} times`);
  return {
    violations,
    debits,
    finals: finals.size,
    uncertain: run.board.journal.uncertainAll().length,
    journalRecords: scan.records.length,
  };
}
