// T-Union money of `shuaka sim`'s money loop: per card, the journal's final records, what the
// depot stored in `tunion_taps` with each TAC verified by the clearing side's key, and the
// card's own debits. An e-purse debit is final at the tap (domain.md 7.4): there is nothing to
// authorise, so the three columns must agree, and every TAC must verify.

import { tunionVerifyAndReport } from '../../../depot/src/tunion/tunion_report.js';
import type { DepotDb } from '../../../depot/src/store/depot_db.js';
import type { JournalRecord } from '../../../firmware/src/app/journal/journal_records.js';
import { issuerMasterFromRoot } from '../psam/pboc_epurse_crypto.js';
import { TEST_ISSUER_ID, testMasterKey } from '../psam/psam_profile.js';
import type { TunionRiderCard } from './bus_riders.js';

/** One T-Union card's money. */
export interface TunionCardMoney {
  readonly serial: string;
  readonly kind: string;
  readonly journal: { readonly count: number; readonly amountMinor: number };
  readonly depot: { readonly count: number; readonly amountMinor: number; readonly valid: number };
  readonly card: { readonly count: number; readonly amountMinor: number };
  readonly balanceMinor: number;
}

/** The T-Union side of the money loop. */
export interface TunionMoney {
  readonly cards: readonly TunionCardMoney[];
  /** Grey lines at the depot that no clearing line completes. */
  readonly greyOpen: number;
  readonly violations: readonly string[];
}

/** The clearing side's TAC key of the test issuer (the PSAM emulator's TEST hierarchy). */
function tacKeys(issuerIdHex: string): Uint8Array | null {
  const testIssuer = Buffer.from(TEST_ISSUER_ID).toString('hex').toUpperCase();
  if (issuerIdHex.toUpperCase() !== testIssuer) return null;
  return issuerMasterFromRoot(testMasterKey('tac-root'), TEST_ISSUER_ID);
}

type Sums = { count: number; amountMinor: number };

function add(map: Map<string, Sums>, key: string, amountMinor: number): void {
  const sums = map.get(key) ?? { count: 0, amountMinor: 0 };
  sums.count += 1;
  sums.amountMinor += amountMinor;
  map.set(key, sums);
}

/**
 * Verifies the TACs the depot holds, then compares per card the journal's finals (`records`,
 * the journal as scanned before the upload), the depot's counted clearing lines and the
 * card's debits. Rejects only when the database fails.
 */
export async function tunionMoneyOf(
  db: DepotDb,
  records: readonly JournalRecord[],
  cards: readonly TunionRiderCard[],
): Promise<TunionMoney> {
  const report = await tunionVerifyAndReport(db, tacKeys);
  const journal = new Map<string, Sums>();
  for (const record of records) {
    const entry = record.entry;
    if (entry.kind === 'tunion_final') {
      add(journal, entry.card.serialDigits, entry.purchase.amountMinor);
    }
  }
  const rows = await db.query(`SELECT card_serial, amount_minor, tac_state FROM tunion_taps
    WHERE type = 'tunion_clearing' AND duplicate = 0 ORDER BY seq`);
  const depot = new Map<string, Sums & { valid: number }>();
  for (const row of rows) {
    const serial = String(row['card_serial']);
    const sums = depot.get(serial) ?? { count: 0, amountMinor: 0, valid: 0 };
    sums.count += 1;
    sums.amountMinor += Number(row['amount_minor']);
    if (row['tac_state'] === 'valid') sums.valid += 1;
    depot.set(serial, sums);
  }
  const violations: string[] = [];
  const out: TunionCardMoney[] = [];
  for (const rider of cards) {
    const serial = rider.card.profile.applicationSerial;
    const debits = rider.card.debits();
    const spent = debits.reduce((s, d) => s + d.amountMinor, 0);
    const card = { count: debits.length, amountMinor: spent };
    const inJournal = journal.get(serial) ?? { count: 0, amountMinor: 0 };
    const atDepot = depot.get(serial) ?? { count: 0, amountMinor: 0, valid: 0 };
    if (card.count === 0 && inJournal.count === 0 && atDepot.count === 0) continue;
    const agree = inJournal.count === card.count && inJournal.amountMinor === card.amountMinor
      && atDepot.count === card.count && atDepot.amountMinor === card.amountMinor;
    if (!agree) {
      violations.push(`T-Union card ${serial} (${rider.name}): card ${card.count} debits, `
        + `journal ${inJournal.count}, depot ${atDepot.count}`);
    }
    if (atDepot.valid !== atDepot.count) {
      violations.push(`T-Union card ${serial}: ${atDepot.count - atDepot.valid} TACs not valid`);
    }
    out.push({ serial, kind: rider.name, journal: inJournal, depot: atDepot, card,
      balanceMinor: rider.card.balanceMinor() });
  }
  if (report.duplicates > 0) violations.push(`the depot kept ${report.duplicates} duplicates`);
  return { cards: out, greyOpen: report.greyOpen, violations };
}

function yuan(minor: number): string {
  return `¥${(minor / 100).toFixed(2)}`;
}

/** The money lines of the T-Union cards (none when no T-Union card paid). */
export function tunionMoneyLines(money: TunionMoney): string[] {
  if (money.cards.length === 0) return [];
  const lines = ['T-Union money per card (e-purse: debited at the tap, cleared with its TAC):',
    `  ${'card number'.padEnd(20)} ${'kind'.padEnd(24)} ${'journal'.padEnd(10)} `
    + `${'depot'.padEnd(10)} ${'TAC valid'.padEnd(9)} ${'card debits'.padEnd(11)} balance`];
  const total = { count: 0, amountMinor: 0 };
  for (const c of money.cards) {
    const cell = (s: Sums): string => `${s.count} ${yuan(s.amountMinor)}`.padEnd(10);
    lines.push(`  ${c.serial.padEnd(20)} ${c.kind.padEnd(24)} ${cell(c.journal)} ${cell(c.depot)} `
      + `${`${c.depot.valid}/${c.depot.count}`.padEnd(9)} ${cell(c.card).padEnd(11)} `
      + `${yuan(c.balanceMinor)}`);
    total.count += c.card.count;
    total.amountMinor += c.card.amountMinor;
  }
  lines.push(`  total: ${total.count} debits ${yuan(total.amountMinor)}, `
    + `${money.greyOpen} grey lines open at the depot`);
  return lines;
}
