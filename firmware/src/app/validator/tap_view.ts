// What the rider sees and hears for each kernel outcome: one screen and one indicator signal.

import type { DeclineReason, DisplayScreen } from '../../../../hal/src/ports/display_port.js';
import type { IndicatorSignal } from '../../../../hal/src/ports/indicator_port.js';
import type { QpbocReasonName } from '../../../../assembly/host/qpboc_session.js';
import type { TapReport } from './validator_ports.js';

/** Screen, signal and report result of one tap's end. */
export interface TapView {
  readonly screen: DisplayScreen;
  readonly signal: IndicatorSignal;
  readonly result: TapReport['result'];
}

/** Kernel reason -> the decline wording a rider understands (hal display texts). */
const DECLINE_BY_REASON: Partial<Record<QpbocReasonName, DeclineReason>> = {
  expired: 'CARD_EXPIRED',
  'not-yet-effective': 'CARD_NOT_EFFECTIVE',
  'oda-failed': 'AUTHENTICATION_FAILED',
  'oda-data-missing': 'AUTHENTICATION_FAILED',
  'cryptogram-not-arqc': 'AUTHENTICATION_FAILED',
  'card-data-inconsistent': 'AUTHENTICATION_FAILED',
  'oda-not-supported': 'CARD_NOT_SUPPORTED',
  'online-required': 'CARD_NOT_SUPPORTED',
  'full-flow-required': 'CARD_NOT_SUPPORTED',
  'no-accepted-app': 'CARD_NOT_SUPPORTED',
  'amount-over-limit': 'AMOUNT_LIMIT_EXCEEDED',
  'use-another-interface': 'USE_OTHER_CARD',
  'card-declined': 'CARD_DECLINED',
};

export function viewApproved(amountMinor: number, balanceMinor: number | null): TapView {
  return {
    screen: { kind: 'approved', amountMinor, balanceMinor },
    signal: 'approved',
    result: 'approved',
  };
}

export function viewAdmitted(amountMinor: number): TapView {
  return {
    screen: { kind: 'approved', amountMinor, balanceMinor: null },
    signal: 'approved',
    result: 'admitted',
  };
}

export function viewDeclined(reason: QpbocReasonName): TapView {
  if (reason === 'deny-list')
    return { screen: { kind: 'denyList' }, signal: 'denyList', result: 'denyList' };
  if (reason === 'duplicate-tap') return viewAlreadyPaid();
  const decline = DECLINE_BY_REASON[reason] ?? 'CARD_DECLINED';
  const result = reason === 'no-accepted-app' ? 'notAccepted' : 'declined';
  return { screen: { kind: 'declined', reason: decline }, signal: 'declined', result };
}

export function viewAlreadyPaid(): TapView {
  return { screen: { kind: 'alreadyPaid' }, signal: 'alreadyPaid', result: 'alreadyPaid' };
}

export function viewTryAgain(): TapView {
  return { screen: { kind: 'tryAgain' }, signal: 'tryAgain', result: 'tryAgain' };
}

export function viewOutOfService(): TapView {
  return { screen: { kind: 'outOfService' }, signal: 'outOfService', result: 'outOfService' };
}

export function viewMultipleCards(): TapView {
  return { screen: { kind: 'multipleCards' }, signal: 'multipleCards', result: 'multipleCards' };
}
