// Bus fare rules: flat fare, category fare by PAN range, transfer discount, duplicate-tap guard.

import type { FareParams } from '../params/params_files.js';
import { fareCategoryFor } from '../params/params_files.js';

/** The last approved tap of a card, as the journal remembers it (survives restarts). */
export interface PreviousTap {
  readonly timeWallMs: number;
  readonly lineId: string;
  readonly fareRule: string;
}

/** What to do with a card: charge an amount under a rule, or refuse a repeated tap. */
export type FareDecision =
  | { readonly kind: 'charge'; readonly amountMinor: number; readonly rule: string }
  | { readonly kind: 'alreadyPaid'; readonly previousWallMs: number };

/** Rule names written to the journal and the clearing record. */
export const FARE_RULE_FLAT = 'flat';
export const FARE_RULE_TRANSFER_SUFFIX = '-transfer';
/** Rule of a clearing record whose debit the terminal declined after the card committed. */
export const FARE_RULE_DECLINED_AFTER_COMMIT = 'declined-after-commit';

/**
 * Decides the fare of one tap on `lineId` (domain.md 4.5). `pan` is null when the card is not
 * identified yet (before GPO, a phone's random UID): the flat fare applies, and the validator
 * re-quotes once the PAN is known.
 */
export function fareQuote(
  fares: FareParams,
  lineId: string,
  pan: string | null,
  previous: PreviousTap | null,
  nowWallMs: number,
): FareDecision {
  if (previous !== null && previous.lineId === lineId) {
    const sinceMs = nowWallMs - previous.timeWallMs;
    if (sinceMs >= 0 && sinceMs < fares.duplicateTapWindowSec * 1000) {
      return { kind: 'alreadyPaid', previousWallMs: previous.timeWallMs };
    }
  }
  const category = pan === null ? null : fareCategoryFor(fares, pan);
  const base = category === null ? fares.flatFareMinor : category.fareMinor;
  const rule = category === null ? FARE_RULE_FLAT : category.name;
  if (previous !== null && previous.lineId !== lineId && isTransfer(fares, previous, nowWallMs)) {
    const amountMinor = Math.max(0, base - fares.transfer.discountMinor);
    return { kind: 'charge', amountMinor, rule: `${rule}${FARE_RULE_TRANSFER_SUFFIX}` };
  }
  return { kind: 'charge', amountMinor: base, rule };
}

/** A transfer: the previous tap was on another line, recent, and not itself a transfer. */
function isTransfer(fares: FareParams, previous: PreviousTap, nowWallMs: number): boolean {
  const sinceMs = nowWallMs - previous.timeWallMs;
  const inWindow = sinceMs >= 0 && sinceMs < fares.transfer.windowSec * 1000;
  // One discount per journey: a transfer tap does not open a second discounted transfer.
  return inWindow && !previous.fareRule.endsWith(FARE_RULE_TRANSFER_SUFFIX);
}
