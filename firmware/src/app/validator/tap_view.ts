// What the rider sees and hears for each kernel outcome: one screen and one indicator signal.
//
// Table-driven: every kernel reason names the case a rider can tell apart (paid, admitted,
// 余额不足, expired, deny list, card not taken here, authentication failed, inconsistent card
// data, ...); every case has its own screen wording and its own beep (indicator_patterns.ts).
// A refusal also shows the kernel's reason code after the wording's code ("代码 05-12"), so
// each kernel reason ends on a screen of its own and the operator's hotline can tell causes
// of one wording apart.

import type { DeclineReason, DisplayScreen } from '../../../../hal/src/ports/display_port.js';
import type { IndicatorSignal } from '../../../../hal/src/ports/indicator_port.js';
import { QPBOC_REASONS, type QpbocReasonName } from '../../../../assembly/host/qpboc_session.js';
import type { TapReport } from './validator_ports.js';

/** Screen, signal and report result of one tap's end. */
export interface TapView {
  readonly screen: DisplayScreen;
  readonly signal: IndicatorSignal;
  readonly result: TapReport['result'];
}

/** The outcomes a rider can tell apart; each has its own beep and its own screen wording. */
export type TapCase =
  /** Paid offline from e-cash: money moved at the tap. */
  | 'paid'
  /** Fare accepted, authorised later (ODA transit, full-flow cards): nothing was debited. */
  | 'admitted'
  /** Not enough e-cash and no other way to pay (余额不足). */
  | 'insufficientBalance'
  /** Expired or not yet effective. */
  | 'expired'
  | 'denyList'
  /** A kind of card this lane does not take (请使用其他卡 / 不支持此卡). */
  | 'notAccepted'
  /** Offline data authentication really failed: counterfeit, revoked or expired keys. */
  | 'authFailed'
  /** The card's data contradict themselves. */
  | 'cardData'
  /** The card itself refused (AAC), the amount is over the limit, or no cause is known. */
  | 'declined'
  | 'alreadyPaid'
  /** The tap was interrupted (请重刷). */
  | 'tryAgain'
  /** The validator cannot record the tap (journal): 暂停服务. */
  | 'outOfService';

/** How each case sounds and how the tap report names it. */
export const TAP_CASE_OUTPUT: Readonly<
  Record<TapCase, { readonly signal: IndicatorSignal; readonly result: TapReport['result'] }>
> = {
  paid: { signal: 'approved', result: 'approved' },
  admitted: { signal: 'admitted', result: 'admitted' },
  insufficientBalance: { signal: 'insufficientBalance', result: 'declined' },
  expired: { signal: 'expired', result: 'declined' },
  denyList: { signal: 'denyList', result: 'denyList' },
  notAccepted: { signal: 'notAccepted', result: 'notAccepted' },
  authFailed: { signal: 'authFailed', result: 'declined' },
  cardData: { signal: 'cardDataError', result: 'declined' },
  declined: { signal: 'declined', result: 'declined' },
  alreadyPaid: { signal: 'alreadyPaid', result: 'alreadyPaid' },
  tryAgain: { signal: 'tryAgain', result: 'tryAgain' },
  outOfService: { signal: 'outOfService', result: 'outOfService' },
};

/** A kernel reason's case, and the decline wording when the case is a refusal. */
export interface ReasonView {
  readonly tapCase: TapCase;
  readonly decline: DeclineReason | null;
}

const refusal = (tapCase: TapCase, decline: DeclineReason): ReasonView => ({ tapCase, decline });
const fixed = (tapCase: TapCase): ReasonView => ({ tapCase, decline: null });

/**
 * Kernel reason -> case and wording (assembly/README.md, "Reason codes"). A Record: a new
 * kernel reason without a row does not compile.
 */
export const TAP_VIEW_BY_REASON: Readonly<Record<QpbocReasonName, ReasonView>> = {
  none: refusal('declined', 'CARD_DECLINED'),
  unknown: refusal('declined', 'CARD_DECLINED'),
  'offline-approved': fixed('paid'),
  'oda-admitted': fixed('admitted'),
  'full-flow-admitted': fixed('admitted'),
  'card-declined': refusal('declined', 'CARD_DECLINED'),
  // No longer produced (insufficient-ecash and kind-not-accepted tell the cases apart).
  'online-required': refusal('notAccepted', 'CARD_NOT_SUPPORTED'),
  'oda-failed': refusal('authFailed', 'AUTHENTICATION_FAILED'),
  // The card offers nothing to authenticate offline (no AFL, no certificates) and no purse
  // that pays: a genuine card with no way to pay here, not a failed authentication.
  'oda-data-missing': refusal('notAccepted', 'CARD_NOT_SUPPORTED'),
  'oda-not-supported': refusal('notAccepted', 'CARD_NOT_SUPPORTED'),
  expired: refusal('expired', 'CARD_EXPIRED'),
  'not-yet-effective': refusal('expired', 'CARD_NOT_EFFECTIVE'),
  'deny-list': fixed('denyList'),
  'duplicate-tap': fixed('alreadyPaid'),
  // The grey record could not be made durable: the validator cannot take cards.
  'host-refused': fixed('outOfService'),
  // An offline approval where this lane wants an online cryptogram: not a card for this lane.
  'cryptogram-not-arqc': refusal('notAccepted', 'CARD_NOT_SUPPORTED'),
  'card-data-inconsistent': refusal('cardData', 'CARD_DATA_INCONSISTENT'),
  'card-data-invalid': refusal('cardData', 'CARD_DATA_INCONSISTENT'),
  // Not enough e-cash and no other way to pay (an EC lane, or a purse-only card in auto).
  'insufficient-ecash': refusal('insufficientBalance', 'INSUFFICIENT_BALANCE'),
  // A balance beyond the e-cash limit or not BCD: refused and never shown (issue 10, item 3).
  'ecash-balance-invalid': refusal('cardData', 'CARD_DATA_INCONSISTENT'),
  'link-lost': fixed('tryAgain'),
  // The card asks for its contact chip (GPO 6984): the rider must pay another way here.
  'use-another-interface': refusal('notAccepted', 'USE_OTHER_CARD'),
  'no-accepted-app': refusal('notAccepted', 'CARD_NOT_SUPPORTED'),
  'ppse-failed': refusal('notAccepted', 'CARD_NOT_SUPPORTED'),
  'amount-over-limit': refusal('declined', 'AMOUNT_LIMIT_EXCEEDED'),
  'full-flow-required': refusal('notAccepted', 'CARD_NOT_SUPPORTED'),
  // An online-only card or a phone in an EC lane.
  'kind-not-accepted': refusal('notAccepted', 'USE_OTHER_CARD'),
  // Recovery found nothing pending: the tap goes on as a new one, or the rider taps again.
  'atc-mismatch': fixed('tryAgain'),
  'atc-unavailable': fixed('tryAgain'),
  'recovery-refused': fixed('tryAgain'),
  'pan-mismatch': fixed('tryAgain'),
};

/** Reason name -> kernel reason code (the inverse of QPBOC_REASONS); 'unknown' has none. */
const CODE_BY_REASON: ReadonlyMap<QpbocReasonName, number> = new Map(
  Object.entries(QPBOC_REASONS).map(([code, name]) => [name, Number(code)]),
);

export function viewApproved(amountMinor: number, balanceMinor: number | null): TapView {
  return {
    screen: { kind: 'approved', amountMinor, balanceMinor },
    ...TAP_CASE_OUTPUT.paid,
  };
}

/** An admission: the fare is accepted, nothing was debited (the screen never says 扣款). */
export function viewAdmitted(amountMinor: number): TapView {
  return { screen: { kind: 'admitted', amountMinor }, ...TAP_CASE_OUTPUT.admitted };
}

/**
 * The view of a tap the kernel did not approve, from its reason. A success reason here would
 * be a kernel contract breach; it is shown as a plain refusal rather than as a payment.
 */
export function viewDeclined(reason: QpbocReasonName): TapView {
  const row = TAP_VIEW_BY_REASON[reason];
  switch (row.tapCase) {
    case 'denyList':
      return { screen: { kind: 'denyList' }, ...TAP_CASE_OUTPUT.denyList };
    case 'alreadyPaid':
      return viewAlreadyPaid();
    case 'tryAgain':
      return viewTryAgain();
    case 'outOfService':
      return viewOutOfService();
    case 'paid':
    case 'admitted':
      return viewRefusal('declined', 'CARD_DECLINED', reason);
    case 'insufficientBalance':
    case 'expired':
    case 'notAccepted':
    case 'authFailed':
    case 'cardData':
    case 'declined':
      return viewRefusal(row.tapCase, row.decline ?? 'CARD_DECLINED', reason);
    default: {
      const never: never = row.tapCase;
      throw new Error(`unhandled tap case ${String(never)}`);
    }
  }
}

function viewRefusal(tapCase: TapCase, decline: DeclineReason, reason: QpbocReasonName): TapView {
  const code = CODE_BY_REASON.get(reason);
  const screen: DisplayScreen =
    code === undefined
      ? { kind: 'declined', reason: decline }
      : { kind: 'declined', reason: decline, detailCode: code };
  return { screen, ...TAP_CASE_OUTPUT[tapCase] };
}

export function viewAlreadyPaid(): TapView {
  return { screen: { kind: 'alreadyPaid' }, ...TAP_CASE_OUTPUT.alreadyPaid };
}

export function viewTryAgain(): TapView {
  return { screen: { kind: 'tryAgain' }, ...TAP_CASE_OUTPUT.tryAgain };
}

export function viewOutOfService(): TapView {
  return { screen: { kind: 'outOfService' }, ...TAP_CASE_OUTPUT.outOfService };
}

export function viewMultipleCards(): TapView {
  return { screen: { kind: 'multipleCards' }, signal: 'multipleCards', result: 'multipleCards' };
}

/** The report of a poll that found `count` cards (none activated, nothing taken). */
export function multipleCardsReport(startedMs: number, endedMs: number, count: number): TapReport {
  return {
    startedMs,
    endedMs,
    result: 'multipleCards',
    reason: `${count} cards in the field`,
    panMasked: null,
    amountMinor: null,
    balanceMinor: null,
    fareRule: null,
    journalSeqs: [],
    recovered: false,
  };
}
