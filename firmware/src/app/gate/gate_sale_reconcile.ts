// A sale cut by a power loss between the card's final record and the ledger's `paid` line:
// the journal is the source of truth. At start, the day's last `sale` line without a `paid`
// line after it is looked up in the journal: a final record of that card (its journal PAN
// token, any PSN) after the sale's `lastSeq` means the card was debited, and the `paid` line
// is written now (the visitor's credit: the next tap walks through without paying again).
// No such final: the card was not charged (declined, pulled, cut before the commit), and an
// uncertain tap stays with the journal's own reconciliation at the card's next tap.

import type { LastFinal } from '../journal/journal_state.js';
import type { GateRecord } from './gate_ledger.js';

/** PSNs a card may carry (5F34 is one byte; EMV 4.4 Book 3, Annex A). */
const PSN_MAX = 0xff;

/** What the reconciliation needs of the journal. */
export interface GateSaleJournal {
  lastFinalFor(panToken: string, psn: number): LastFinal | null;
}

/**
 * The `paid` record a cut sale of `records` (one day's ledger, in order) still needs, or null
 * when every sale is answered or was not charged.
 */
export function gateSaleUnanswered(
  records: readonly GateRecord[],
  journal: GateSaleJournal,
): GateRecord | null {
  let sale: (GateRecord & { kind: 'sale' }) | null = null;
  for (const record of records) {
    if (record.kind === 'sale') sale = record;
    // The paid line answering a sale is written before any other line of that tap.
    else if (record.kind === 'paid') sale = null;
  }
  if (sale === null) return null;
  let found: LastFinal | null = null;
  for (let psn = 0; psn <= PSN_MAX; psn += 1) {
    const last = journal.lastFinalFor(sale.panToken, psn);
    if (last !== null && last.seq > sale.lastSeq && (found === null || last.seq < found.seq)) {
      found = last;
    }
  }
  if (found === null) return null;
  return {
    kind: 'paid', date: sale.date, minute: sale.minute, cardToken: sale.cardToken,
    journalSeq: found.seq, amountMinor: found.amountMinor, fareRule: found.fareRule,
  };
}
