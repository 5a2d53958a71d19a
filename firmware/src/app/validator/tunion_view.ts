// What the rider sees and hears at the end of a T-Union (JT/T 978) tap: one screen, one signal.
//
// Table-driven like tap_view.ts: every kernel reason of the JT/T 978 application has a row, so
// a new reason without one does not compile. A refusal shows the kernel's reason code after
// the wording's code, as qPBOC refusals do.

import type { DeclineReason, TransitScreen } from '../../../../hal/src/ports/display_port.js';
import type { Jtt978ReasonName } from '../../../../assembly/host/jtt978_session.js';
import { JTT978_REASONS } from '../../../../assembly/host/jtt978_session.js';
import {
  TAP_CASE_OUTPUT,
  viewAlreadyPaid,
  viewOutOfService,
  viewTryAgain,
  type TapCase,
  type TapView,
} from './tap_view.js';

/** A refusal's case and wording; 'tryAgain' / 'alreadyPaid' / 'denyList' need no wording. */
type TunionRow =
  | { readonly kind: 'refusal'; readonly tapCase: TapCase; readonly decline: DeclineReason }
  | { readonly kind: 'fixed'; readonly tapCase: 'tryAgain' | 'alreadyPaid' | 'denyList' };

const refusal = (tapCase: TapCase, decline: DeclineReason): TunionRow =>
  ({ kind: 'refusal', tapCase, decline });
const fixed = (tapCase: 'tryAgain' | 'alreadyPaid' | 'denyList'): TunionRow =>
  ({ kind: 'fixed', tapCase });

/** Kernel reason -> screen (assembly/README.md, JT/T 978 reasons). */
export const TUNION_VIEW_BY_REASON: Readonly<Record<Jtt978ReasonName, TunionRow>> = {
  none: refusal('declined', 'CARD_DECLINED'),
  unknown: refusal('declined', 'CARD_DECLINED'),
  // An approval never reaches this table (tunionViewApproved); a contract breach is refused.
  approved: refusal('declined', 'CARD_DECLINED'),
  expired: refusal('expired', 'CARD_EXPIRED'),
  'not-yet-effective': refusal('expired', 'CARD_NOT_EFFECTIVE'),
  'deny-list': fixed('denyList'),
  'duplicate-tap': fixed('alreadyPaid'),
  // The fare rules refused (no stop known, unreadable 001A record): tunionViewRefused.
  'host-refused': refusal('declined', 'CARD_DECLINED'),
  'card-data-invalid': refusal('cardData', 'CARD_DATA_INCONSISTENT'),
  'insufficient-balance': refusal('insufficientBalance', 'INSUFFICIENT_BALANCE'),
  'card-blocked': refusal('declined', 'CARD_BLOCKED'),
  'card-refused': refusal('declined', 'CARD_DECLINED'),
  // The PSAM refused before the DEBIT: nothing was taken.
  'psam-refused': refusal('declined', 'CARD_DECLINED'),
  // The PSAM found MAC2 wrong after the card's DEBIT: the card is not proven authentic. Its
  // grey record stays open for the clearing centre's TAC check (a PSAM that merely failed
  // there approves unverified: jtt978_purchase.ts).
  'mac2-invalid': refusal('authFailed', 'AUTHENTICATION_FAILED'),
  'link-lost': fixed('tryAgain'),
  'not-debited': fixed('tryAgain'),
  'proof-unavailable': fixed('tryAgain'),
  'recovery-refused': fixed('tryAgain'),
  'card-mismatch': fixed('tryAgain'),
  'balance-mismatch': fixed('tryAgain'),
};

const CODE_BY_REASON: ReadonlyMap<string, number> = new Map(
  Object.entries(JTT978_REASONS).map(([code, name]) => [name, Number(code)]),
);

/** An approved T-Union tap: amount, balance after, and the ride (上车 / 下车 and the stop). */
export function tunionViewApproved(
  amountMinor: number,
  balanceMinor: number,
  transit: TransitScreen,
): TapView {
  return {
    screen: { kind: 'approved', amountMinor, balanceMinor, transit },
    ...TAP_CASE_OUTPUT.paid,
  };
}

/** The view of a T-Union tap the kernel did not approve, from its reason. */
export function tunionViewDeclined(reason: Jtt978ReasonName): TapView {
  const row = TUNION_VIEW_BY_REASON[reason];
  if (row.kind === 'fixed') {
    switch (row.tapCase) {
      case 'tryAgain':
        return viewTryAgain();
      case 'alreadyPaid':
        return viewAlreadyPaid();
      case 'denyList':
        return { screen: { kind: 'denyList' }, ...TAP_CASE_OUTPUT.denyList };
      default: {
        const never: never = row;
        throw new Error(`unhandled case ${String(never)}`);
      }
    }
  }
  const code = CODE_BY_REASON.get(reason);
  const screen = code === undefined
    ? { kind: 'declined' as const, reason: row.decline }
    : { kind: 'declined' as const, reason: row.decline, detailCode: code };
  return { screen, ...TAP_CASE_OUTPUT[row.tapCase] };
}

/**
 * The view of a tap the validator itself could not serve. Without a PSAM at all, T-Union cards
 * are not taken here (不支持此卡, code 76 = the kernel's ERR_JTT978_NOT_CONFIGURED). When the
 * validator is only unable for now (its PSAM gone, 76, or out of its validity dates, 79; the
 * bus not knowing its stop, 77) the card is good: the rider is asked for another card
 * (请使用其他卡), not told the card is unsupported. A grey record that could not be made
 * durable puts the validator out of service.
 */
export function tunionViewRefused(
  why: 'no-psam' | 'psam-unavailable' | 'psam-dates' | 'stop-unknown' | 'record-unreadable'
    | 'journal',
): TapView {
  switch (why) {
    case 'no-psam':
      return {
        screen: { kind: 'declined', reason: 'CARD_NOT_SUPPORTED', detailCode: 76 },
        ...TAP_CASE_OUTPUT.notAccepted,
      };
    case 'psam-unavailable':
      return usingAnotherCard(76);
    case 'psam-dates':
      return usingAnotherCard(79);
    case 'stop-unknown':
      return usingAnotherCard(77);
    case 'record-unreadable':
      return {
        screen: { kind: 'declined', reason: 'CARD_DATA_INCONSISTENT', detailCode: 78 },
        ...TAP_CASE_OUTPUT.cardData,
      };
    case 'journal':
      return viewOutOfService();
    default: {
      const never: never = why;
      throw new Error(`unhandled refusal ${String(never)}`);
    }
  }
}

/** The validator cannot take this good card for now: another card, please (请使用其他卡). */
function usingAnotherCard(detailCode: number): TapView {
  return {
    screen: { kind: 'declined', reason: 'USE_OTHER_CARD', detailCode },
    ...TAP_CASE_OUTPUT.notAccepted,
  };
}
