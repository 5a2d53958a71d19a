// Card risk management at GENERATE AC of the full contactless PBOC flow (EMV Book 3, 10.8).

import {
  CAP1_EC_OR_CTTA_CHECK_0X20,
  CAP1_NEW_CARD_CHECK_0X10,
  TTQ1_OFFLINE_ONLY_0X08,
} from './qpboc_risk.js';
import type { AcType, RiskDecision, RiskReason } from './qpboc_risk.js';

/** What the full-flow decision depends on. */
export interface FullFlowRiskContext {
  /** The cryptogram the terminal asked for (GENERATE AC P1). */
  readonly requested: AcType;
  /** FullFlowProfile.offline. */
  readonly offline: 'never' | 'limits';
  /** TTQ of the GPO; 1.b4 marks an offline-only terminal. */
  readonly ttq: Uint8Array;
  readonly amountMinor: number;
  readonly currencyMatches: boolean;
  readonly newCard: boolean;
  /** 9F68. */
  readonly cardAdditionalProcesses: Uint8Array;
  /** Remaining cumulative offline allowance (CTTAL - CTTA), or null without limits. */
  readonly allowanceMinor: number | null;
}

/**
 * First GENERATE AC. The card never returns more than was asked (AAC < ARQC < TC):
 * AAC asked -> AAC; ARQC asked -> ARQC; TC asked -> TC only when the card may approve offline
 * (profile offline 'limits', currency matches, not a new card under the new-card check, the
 * EC-or-CTTA check on and amount <= CTTAL - CTTA), else ARQC, or AAC on an offline-only
 * terminal (it could not go online). See EMV 4.4 Book 3, 10.8 and domain.md 2.5.
 */
export function decideFirstAc(context: FullFlowRiskContext): RiskDecision {
  if (context.requested !== 'TC') return { ac: context.requested, reason: 'requested-by-terminal' };
  const offlineOnly = ((context.ttq[0] ?? 0) & TTQ1_OFFLINE_ONLY_0X08) !== 0;
  const refuse = (reason: RiskReason): RiskDecision => ({
    ac: offlineOnly ? 'AAC' : 'ARQC',
    reason,
  });
  const cap1 = context.cardAdditionalProcesses[0] ?? 0;
  if (context.offline === 'never') return refuse('online-only-card');
  if (!context.currencyMatches) return refuse('currency-mismatch');
  if ((cap1 & CAP1_NEW_CARD_CHECK_0X10) !== 0 && context.newCard) return refuse('new-card');
  if (context.allowanceMinor === null || (cap1 & CAP1_EC_OR_CTTA_CHECK_0X20) === 0) {
    return refuse('no-ec');
  }
  if (context.amountMinor > context.allowanceMinor) return refuse('offline-limit-exceeded');
  return { ac: 'TC', reason: 'offline-limit-approved' };
}

/** Authorisation response codes (8A, two ASCII characters). See EMV 4.4 Book 4, A6. */
export const ARC_APPROVED = ['00', '10', '11'];
/** Y3 / Z3: unable to go online, offline approved / declined by the terminal. */
export const ARC_UNABLE_ONLINE = ['Y3', 'Z3'];

/**
 * Second GENERATE AC after an ARQC. AAC asked -> AAC. TC asked: with an 8A approval code ->
 * TC (issuer approved); with Y3/Z3 (the terminal could not go online) -> the card's own offline
 * decision (TC within the cumulative limits, else AAC); any other code -> AAC; CDOL2 without 8A
 * -> TC. See EMV 4.4 Book 3, 10.11 (Completion).
 */
export function decideSecondAc(context: FullFlowRiskContext, arc: Uint8Array | null): RiskDecision {
  if (context.requested === 'AAC') return { ac: 'AAC', reason: 'requested-by-terminal' };
  if (arc === null) return { ac: 'TC', reason: 'requested-by-terminal' };
  const code = String.fromCharCode(arc[0] ?? 0, arc[1] ?? 0);
  if (ARC_APPROVED.includes(code)) return { ac: 'TC', reason: 'issuer-approved' };
  if (!ARC_UNABLE_ONLINE.includes(code)) return { ac: 'AAC', reason: 'issuer-declined' };
  const offline = decideFirstAc({ ...context, requested: 'TC' });
  return offline.ac === 'TC' ? offline : { ac: 'AAC', reason: offline.reason };
}
