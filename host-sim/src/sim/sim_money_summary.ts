// The money per card at the end of `shuaka sim`: what each card tapped (the validator's
// journal), what the depot made of it (authorised, cleared, declined into a debt, still
// outstanding), and what its issuer account really moved (the acquirer simulator's ledger).
//
// Three independent records of the same money meet here: the journal's export lines (what the
// validator kept), the depot's `taps`/`debts` rows (what the back office stored and settled)
// and the issuer's movements and balances (what the bank charged). A card whose three records
// disagree is a correctness failure, like a double charge on the bus.

import type { IssuerMovement } from '../acquirer_sim/issuer_accounts.js';

/** One clearing export line of the journal (the truth of what was tapped). */
export interface TappedLine {
  readonly seq: number;
  readonly pan: string;
  /** Two hex digits, as the export line and the depot carry it. */
  readonly psn: string;
  readonly atc: number;
  readonly amountMinor: number;
  readonly cryptogramType: 'TC' | 'ARQC';
}

/** One counted or duplicate clearing row of the depot's `taps` table. */
export interface DepotTapRow {
  readonly seq: number;
  readonly panToken: string;
  readonly psn: string;
  readonly amountMinor: number;
  readonly cryptogramType: 'TC' | 'ARQC';
  /** new, sent, authorised, declined, cleared, voided, duplicate (depot README). */
  readonly state: string;
}

/** One debt of the depot. */
export interface DepotDebtRow {
  readonly panToken: string;
  readonly psn: string;
  readonly amountMinor: number;
  readonly state: string;
  /** Deny entries of the debt still in force. */
  readonly denyEntries: number;
}

/** What the issuer simulator holds of one account after the settlement. */
export interface IssuerView {
  readonly movements: readonly IssuerMovement[];
  /** Balance before and after, by `pan/psn` (decimal PSN, issuer_accounts' accountKey). */
  readonly balanceBefore: ReadonlyMap<string, number>;
  readonly balanceAfter: ReadonlyMap<string, number>;
}

/** A count and an amount in fen. */
export interface Money {
  count: number;
  minor: number;
}

/** The money of one card (PAN + PSN). */
export interface CardMoney {
  readonly pan: string;
  readonly psn: string;
  /** The rider's card kind in the population (stock-credit-cda, phone-wallet, ...). */
  readonly kind: string;
  readonly tapped: Money;
  readonly authorised: Money;
  readonly cleared: Money;
  readonly declined: Money;
  readonly outstanding: Money;
  /** Open debt of the card at the depot, and whether it is on the deny list. */
  readonly debtMinor: number;
  readonly denyListed: boolean;
  /** Charged by the issuer (authorisations and clearings, net of reversals). */
  readonly issuerChargedMinor: number;
  /** Charges the issuer applied (one per tap in the single fare model). */
  readonly issuerCharges: number;
  /** Balance before minus after (clearings of e-cash taps move no balance: the purse paid). */
  readonly issuerBalanceDropMinor: number;
}

const zero = (): Money => ({ count: 0, minor: 0 });

function add(money: Money, minor: number): void {
  money.count += 1;
  money.minor += minor;
}

/** The cards of a run's journal truth, the depot and the issuer, with every disagreement. */
export function cardMoneyOf(
  tapped: readonly TappedLine[],
  depot: { taps: readonly DepotTapRow[]; debts: readonly DepotDebtRow[] },
  issuer: IssuerView,
  context: { token: (pan: string) => string; kindOf: (pan: string) => string },
): { cards: CardMoney[]; violations: string[] } {
  const violations: string[] = [];
  const byCard = new Map<string, TappedLine[]>();
  for (const line of tapped) {
    const key = `${line.pan}/${line.psn}`;
    byCard.set(key, [...(byCard.get(key) ?? []), line]);
  }
  const depotByCard = groupDepot(depot, violations);
  const cards: CardMoney[] = [];
  for (const lines of byCard.values()) {
    const first = lines[0];
    if (first === undefined) continue;
    const card = oneCard(first.pan, first.psn, lines, depotByCard.get(
      `${context.token(first.pan)}/${first.psn}`), issuer, context.kindOf(first.pan));
    depotByCard.delete(`${context.token(first.pan)}/${first.psn}`);
    cards.push(card);
    violations.push(...cardViolations(card, lines));
  }
  for (const key of depotByCard.keys()) {
    violations.push(`the depot holds clearing taps of a card the journal never tapped (${
      key.slice(-2)})`);
  }
  violations.push(...issuerOnlyViolations(issuer, cards));
  return { cards, violations };
}

interface DepotCard {
  readonly taps: DepotTapRow[];
  readonly debts: DepotDebtRow[];
}

function groupDepot(
  depot: { taps: readonly DepotTapRow[]; debts: readonly DepotDebtRow[] },
  violations: string[],
): Map<string, DepotCard> {
  const out = new Map<string, DepotCard>();
  const of = (key: string): DepotCard => {
    const found = out.get(key) ?? { taps: [], debts: [] };
    out.set(key, found);
    return found;
  };
  for (const tap of depot.taps) {
    if (tap.state === 'duplicate') {
      violations.push(`depot seq ${tap.seq}: stored as a duplicate on a one-bus line`);
      continue;
    }
    of(`${tap.panToken}/${tap.psn}`).taps.push(tap);
  }
  for (const debt of depot.debts) of(`${debt.panToken}/${debt.psn}`).debts.push(debt);
  return out;
}

function oneCard(
  pan: string,
  psn: string,
  lines: readonly TappedLine[],
  depot: DepotCard | undefined,
  issuer: IssuerView,
  kind: string,
): CardMoney {
  const money = { tapped: zero(), authorised: zero(), cleared: zero(), declined: zero(),
    outstanding: zero() };
  for (const line of lines) add(money.tapped, line.amountMinor);
  for (const tap of depot?.taps ?? []) {
    switch (tap.state) {
      case 'authorised': add(money.authorised, tap.amountMinor); break;
      case 'cleared': add(money.cleared, tap.amountMinor); break;
      case 'declined': add(money.declined, tap.amountMinor); break;
      default: add(money.outstanding, tap.amountMinor);
    }
  }
  const open = (depot?.debts ?? []).filter((d) => d.state === 'open');
  const account = issuerAccountKey(pan, psn, issuer);
  const moves = issuer.movements.filter((m) => `${m.pan}/${m.psn}` === account
    && m.kind !== 'top-up');
  const charged = moves.reduce((sum, m) => sum - m.amountMinor, 0);
  return {
    pan, psn, kind, ...money,
    debtMinor: open.reduce((sum, d) => sum + d.amountMinor, 0),
    denyListed: open.some((d) => d.denyEntries > 0),
    issuerChargedMinor: charged,
    issuerCharges: moves.filter((m) => m.amountMinor < 0).length,
    issuerBalanceDropMinor: (issuer.balanceBefore.get(account) ?? 0)
      - (issuer.balanceAfter.get(account) ?? 0),
  };
}

/** The issuer's account of a card: PAN + PSN, or the PAN's only account (a card without 5F34). */
function issuerAccountKey(pan: string, psn: string, issuer: IssuerView): string {
  const exact = `${pan}/${Number.parseInt(psn, 16)}`;
  if (issuer.balanceBefore.has(exact)) return exact;
  const same = [...issuer.balanceBefore.keys()].filter((key) => key.startsWith(`${pan}/`));
  return same.length === 1 ? (same[0] ?? exact) : exact;
}

function cardViolations(card: CardMoney, lines: readonly TappedLine[]): string[] {
  const who = `card ${maskPan(card.pan)} (${card.kind})`;
  const out: string[] = [];
  const atDepot = card.authorised.count + card.cleared.count + card.declined.count
    + card.outstanding.count;
  const atDepotMinor = card.authorised.minor + card.cleared.minor + card.declined.minor
    + card.outstanding.minor;
  if (atDepot !== card.tapped.count || atDepotMinor !== card.tapped.minor) {
    out.push(`${who}: tapped ${card.tapped.count} (${yuan(card.tapped.minor)}), the depot `
      + `counts ${atDepot} (${yuan(atDepotMinor)})`);
  }
  const settled = card.authorised.minor + card.cleared.minor;
  if (card.issuerCharges !== card.authorised.count + card.cleared.count) {
    out.push(`${who}: the issuer applied ${card.issuerCharges} charges for `
      + `${card.authorised.count + card.cleared.count} settled taps`);
  }
  if (card.issuerChargedMinor !== settled) {
    out.push(`${who}: the issuer charged ${yuan(card.issuerChargedMinor)}, the depot settled `
      + `${yuan(settled)}`);
  }
  if (card.issuerBalanceDropMinor !== card.authorised.minor) {
    out.push(`${who}: the account fell by ${yuan(card.issuerBalanceDropMinor)}, authorised `
      + `${yuan(card.authorised.minor)}`);
  }
  if (card.debtMinor !== card.declined.minor) {
    out.push(`${who}: debt ${yuan(card.debtMinor)} for ${yuan(card.declined.minor)} declined`);
  }
  if (card.declined.count > 0 && !card.denyListed) out.push(`${who}: a debt off the deny list`);
  if (card.outstanding.count > 0 && card.debtMinor === 0) {
    out.push(`${who}: ${card.outstanding.count} taps left unsettled without a debt`);
  }
  const tcs = lines.filter((l) => l.cryptogramType === 'TC');
  if (card.cleared.count !== tcs.length) {
    out.push(`${who}: ${tcs.length} e-cash taps, ${card.cleared.count} cleared`);
  }
  return out;
}

/** Issuer movements on accounts no tapped card explains (a charge the validator never took). */
function issuerOnlyViolations(issuer: IssuerView, cards: readonly CardMoney[]): string[] {
  const known = new Set(cards.map((c) => issuerAccountKey(c.pan, c.psn, issuer)));
  const stray = issuer.movements.filter((m) => !known.has(`${m.pan}/${m.psn}`));
  return stray.length === 0 ? []
    : [`the issuer moved money on ${stray.length} accounts no tap explains`];
}

/** 625807******3393: the form every log and screen of the project uses. */
export function maskPan(pan: string): string {
  return `${pan.slice(0, 6)}${'*'.repeat(Math.max(0, pan.length - 10))}${pan.slice(-4)}`;
}

function yuan(minor: number): string {
  return `¥${(minor / 100).toFixed(2)}`;
}

function cell(money: Money): string {
  return money.count === 0 ? '-' : `${money.count} ${yuan(money.minor)}`;
}

/** The table of money per card and its totals, reconciled (what `shuaka sim` ends with). */
export function cardMoneyLines(cards: readonly CardMoney[]): string[] {
  const total = { tapped: zero(), authorised: zero(), cleared: zero(), declined: zero(),
    outstanding: zero() };
  let debt = 0;
  const row = (name: string, kind: string, m: typeof total, settled: number, debtText: string) =>
    `  ${name.padEnd(19)} ${kind.padEnd(27)} ${cell(m.tapped).padEnd(10)} `
    + `${cell(m.authorised).padEnd(10)} ${cell(m.cleared).padEnd(10)} `
    + `${(settled === 0 ? '-' : yuan(settled)).padEnd(8)} ${debtText.padEnd(18)} `
    + `${cell(m.outstanding)}`;
  const lines = ['money per card (tapped → authorised or cleared → settled; declined → debt):',
    `  ${'card'.padEnd(19)} ${'kind'.padEnd(27)} ${'tapped'.padEnd(10)} `
      + `${'authorised'.padEnd(10)} ${'cleared'.padEnd(10)} ${'settled'.padEnd(8)} `
      + `${'declined, debt'.padEnd(18)} outstanding`];
  for (const card of [...cards].sort((a, b) => a.kind.localeCompare(b.kind)
    || a.pan.localeCompare(b.pan))) {
    for (const k of Object.keys(total) as (keyof typeof total)[]) {
      total[k].count += card[k].count;
      total[k].minor += card[k].minor;
    }
    debt += card.debtMinor;
    const debtText = card.declined.count === 0 ? '-'
      : `${cell(card.declined)}${card.denyListed ? ', deny' : ''}`;
    lines.push(row(maskPan(card.pan), card.kind, card, card.authorised.minor
      + card.cleared.minor, debtText));
  }
  const settled = total.authorised.minor + total.cleared.minor;
  lines.push(row(`total (${cards.length} cards)`, '', total, settled,
    total.declined.count === 0 ? '-' : cell(total.declined)));
  lines.push(`  reconciled: tapped ${yuan(total.tapped.minor)} = settled ${yuan(settled)} `
    + `+ declined ${yuan(total.declined.minor)} (open debt ${yuan(debt)}) `
    + `+ outstanding ${yuan(total.outstanding.minor)}`);
  return lines;
}
