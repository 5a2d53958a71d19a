// The T-Union part of `shuaka sim`'s summary: each card's rides (boarding and alighting stop,
// fare), its balance before and after, and the cards' debits against the journal's finals.

import type { TapLine } from './bus_run.js';
import type { TunionCheck } from './bus_checks_tunion.js';

function yuan(minor: number): string {
  return `¥${(minor / 100).toFixed(2)}`;
}

interface CardRides {
  readonly name: string;
  /** The number as the validator showed it at some tap; null while no tap could read it. */
  masked: string | null;
  readonly rides: string[];
  paidMinor: number;
  firstBalanceMinor: number | null;
  lastBalanceMinor: number | null;
  refusals: string[];
}

function rideText(line: TapLine): string | null {
  const report = line.report;
  if (report === null) return null;
  const stop = line.stop ?? 0;
  switch (report.fareRule) {
    case 'tunion-boarding':
      return `on at ${stop}`;
    case 'tunion-alighting':
      return `off at ${stop} ${yuan(report.amountMinor ?? 0)}`;
    case 'tunion-flat':
      return `flat ${yuan(report.amountMinor ?? 0)}`;
    default:
      return null;
  }
}

/** Lines of the T-Union riders (none when no T-Union card tapped). */
export function tunionSummaryLines(taps: readonly TapLine[], check: TunionCheck): string[] {
  // By rider: each T-Union rider carries one card of their own, while masked numbers repeat
  // (the sim's deny-listed cards differ only in their middle digits) and a blocked card's
  // number cannot be read at all.
  const cards = new Map<number, CardRides>();
  for (const line of taps) {
    if (!line.cardName.startsWith('tunion-') || line.report === null) continue;
    const report = line.report;
    const card = cards.get(line.rider) ?? { name: line.cardName, masked: null, rides: [],
      paidMinor: 0, firstBalanceMinor: null, lastBalanceMinor: null, refusals: [] };
    cards.set(line.rider, card);
    card.masked ??= report.panMasked;
    const ride = report.result === 'approved' ? rideText(line) : null;
    if (ride !== null) {
      card.rides.push(ride);
      card.paidMinor += report.amountMinor ?? 0;
      const balance = report.balanceMinor ?? 0;
      card.firstBalanceMinor ??= balance + (report.amountMinor ?? 0);
      card.lastBalanceMinor = balance;
    } else if (report.result !== 'approved') {
      card.refusals.push(report.result === 'tryAgain' ? 'tryAgain' : report.reason);
    }
  }
  if (cards.size === 0) return [];
  const lines = [`  T-Union riders (JT/T 978, tap in / tap out, PSAM): ${cards.size} cards, `
    + `${check.debits} card debits ${yuan(check.debitedMinor)}, ${check.finals} final records `
    + `with TAC, ${check.openGreys} open grey records, ${check.blocked} deny-listed cards `
    + 'blocked'];
  for (const card of cards.values()) {
    const key = card.masked ?? '(unread)';
    const balance = card.firstBalanceMinor === null ? ''
      : `  balance ${yuan(card.firstBalanceMinor)} -> ${yuan(card.lastBalanceMinor ?? 0)}`;
    const refused = card.refusals.length === 0 ? '' : `  refused: ${card.refusals.join(', ')}`;
    lines.push(`    ${key.padEnd(20)} ${card.name.padEnd(24)} ${card.rides.join(', ')}`
      + `${card.rides.length > 0 ? `  paid ${yuan(card.paidMinor)}` : ''}${balance}${refused}`);
  }
  return lines;
}
