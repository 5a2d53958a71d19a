// Checkers of the T-Union riders of a bus run: each card's own debit list against the
// journal's final records (domain.md 7.4: the card counts a debit at the ATC INITIALIZE FOR
// PURCHASE gave, plus one), and what each rider was told.
//
// Truths: the card's debits (amount, ATC, TAC) and balance; the journal as its scanner reads it
// back from the medium. A debit without its final, a final without its debit, two finals for
// one debit, a debit on a blocked or expired card, an approval shown without a final, or a
// genuine card refused, is a violation.

import type { JournalRecord } from '../../../firmware/src/app/journal/journal_records.js';
import type { TunionFinalEntry } from '../../../firmware/src/app/journal/journal_tunion.js';
import type { TunionRiderCard } from './bus_riders.js';
import type { TapLine } from './bus_run.js';

/**
 * T-Union cards a correct validator refuses (blocked, expired, too poor for the fare, or on
 * the deny list).
 */
export const TUNION_REFUSABLE = new Set(['tunion-blocked', 'tunion-expired', 'tunion-low-balance',
  'tunion-deny-listed']);
const TUNION_NEVER_DEBITED = new Set(['tunion-blocked', 'tunion-expired', 'tunion-deny-listed']);
const REFUSALS = new Set(['declined', 'denyList', 'notAccepted', 'outOfService']);

/** What the T-Union checks found. */
export interface TunionCheck {
  readonly violations: string[];
  /** Debits the cards hold, and final records (clearing lines with a TAC) in the journal. */
  readonly debits: number;
  readonly finals: number;
  /** Money the cards' balances lost, fen. */
  readonly debitedMinor: number;
  /** Grey records no final closed (purchases whose DEBIT went unanswered). */
  readonly openGreys: number;
  /** Deny-listed cards the validator blocked (each has its block record). */
  readonly blocked: number;
}

function finalKey(serialDigits: string, atc: number): string {
  return `${serialDigits}/${atc}`;
}

/** Checks the T-Union cards of `cards` against the journal `records` and the riders' taps. */
export function checkTunionRiders(
  cards: readonly TunionRiderCard[],
  records: readonly JournalRecord[],
  taps: readonly TapLine[],
  openGreys: number,
): TunionCheck {
  const violations: string[] = [];
  const finals = new Map<string, TunionFinalEntry>();
  for (const record of records) {
    if (record.entry.kind !== 'tunion_final') continue;
    const key = finalKey(record.entry.card.serialDigits, record.entry.purchase.atc);
    if (finals.has(key)) violations.push(`T-Union final twice for ${key}`);
    finals.set(key, record.entry);
  }
  let debits = 0;
  let debitedMinor = 0;
  const debited = new Set<string>();
  for (const rider of cards) {
    const serial = rider.card.profile.applicationSerial;
    for (const debit of rider.card.debits()) {
      debits += 1;
      debitedMinor += debit.amountMinor;
      const key = finalKey(serial, (debit.atc - 1) & 0xffff);
      debited.add(key);
      if (TUNION_NEVER_DEBITED.has(rider.name)) violations.push(`${rider.name} ${key} debited`);
      const final = finals.get(key);
      if (final === undefined) {
        violations.push(`T-Union debit ${key} (${rider.name}) has no final record`);
      } else if (final.purchase.amountMinor !== debit.amountMinor
        || final.tacHex !== debit.tac.toUpperCase()) {
        violations.push(`T-Union final ${key} differs from the card's debit`);
      }
    }
    const spent = rider.card.debits().reduce((sum, d) => sum + d.amountMinor, 0);
    const loaded = rider.card.loadedMinor();
    if (rider.card.balanceMinor() !== rider.card.profile.balanceMinor + loaded - spent) {
      violations.push(`${rider.name} ${serial}: balance does not match its debits`);
    }
  }
  for (const key of finals.keys()) {
    if (!debited.has(key)) violations.push(`T-Union final ${key} has no debit on the card`);
  }
  violations.push(...checkTunionReports(taps, records));
  const blocks = checkTunionBlocks(cards, records);
  violations.push(...blocks.violations);
  return { violations, debits, finals: finals.size, debitedMinor, openGreys,
    blocked: blocks.blocked };
}

/**
 * Deny-listed cards against the journal's block records: a card that blocked itself has a
 * record that says so or could not know (pending, not confirmed), and a record that says
 * blocked names a card that is. Truth: the card's own state.
 */
function checkTunionBlocks(cards: readonly TunionRiderCard[], records: readonly JournalRecord[])
  : { violations: string[]; blocked: number } {
  const violations: string[] = [];
  const outcomes = new Map<string, string[]>();
  for (const record of records) {
    if (record.entry.kind !== 'tunion_blocked') continue;
    const serial = record.entry.card.serialDigits;
    outcomes.set(serial, [...(outcomes.get(serial) ?? []), record.entry.blockOutcome]);
  }
  let blocked = 0;
  for (const rider of cards) {
    if (rider.name !== 'tunion-deny-listed') continue;
    const serial = rider.card.profile.applicationSerial;
    const said = outcomes.get(serial) ?? [];
    if (rider.card.blocked()) {
      blocked += 1;
      if (!said.some((o) => o !== 'not-sent')) {
        violations.push(`${rider.name} ${serial} blocked without a block record`);
      }
    } else if (said.includes('blocked')) {
      violations.push(`${rider.name} ${serial}: a record says blocked, the card is not`);
    }
  }
  return { violations, blocked };
}

/** An approval ends on a T-Union final; a genuine T-Union card is never refused. */
function checkTunionReports(taps: readonly TapLine[], records: readonly JournalRecord[])
  : string[] {
  const violations: string[] = [];
  const bySeq = new Map(records.map((r) => [r.seq, r]));
  for (const tap of taps) {
    const report = tap.report;
    if (report === null || !tap.cardName.startsWith('tunion-')) continue;
    const where = `tap #${tap.index} (${tap.cardName})`;
    if (report.result === 'approved') {
      const last = bySeq.get(report.journalSeqs[report.journalSeqs.length - 1] ?? 0);
      if (last?.entry.kind !== 'tunion_final') violations.push(`${where} approved without a final`);
    }
    // A validator without a PSAM refuses every T-Union card, by design (sim --psam none).
    const noPsam = report.reason === 'tunion-no-psam';
    if (REFUSALS.has(report.result) && !TUNION_REFUSABLE.has(tap.cardName) && !noPsam) {
      violations.push(`${where}: a genuine T-Union card was refused (${report.reason})`);
    }
  }
  return violations;
}
