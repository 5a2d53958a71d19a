// Card risk management at GPO: the TC / ARQC / AAC decision of a qPBOC card (domain.md 2.5).

/** TTQ (9F66) bits the card reads. See domain.md 2.1. */
export const TTQ1_FULL_FLOW_0X40 = 0x40;
export const TTQ1_QPBOC_0X20 = 0x20;
export const TTQ1_OFFLINE_ONLY_0X08 = 0x08;
export const TTQ1_ODA_FOR_ONLINE_0X01 = 0x01;
export const TTQ2_ONLINE_CRYPTOGRAM_0X80 = 0x80;
export const TTQ4_FDDA_V01_0X80 = 0x80;

/** Card additional processes (9F68) bits. See domain.md 2.3. */
export const CAP1_EC_CHECK_0X80 = 0x80;
/** "EC or CTTA check": without an EC purse the card checks its cumulative offline limits. */
export const CAP1_EC_OR_CTTA_CHECK_0X20 = 0x20;
export const CAP1_NEW_CARD_CHECK_0X10 = 0x10;
export const CAP1_RETURN_AVAILABLE_AMOUNT_0X01 = 0x01;
export const CAP2_NEW_CARD_OFFLINE_ONLY_DECLINE_0X20 = 0x20;
export const CAP2_QPBOC_LOG_0X10 = 0x10;

/** DF61 bit: the card supports UnionPay online ODA. See domain.md 6.2. */
export const DF61_ONLINE_ODA_0X40 = 0x40;

/** Cryptogram types, as coded in CVR byte 1 bits 6-5 (IAD byte 5, mask 0x30). */
export type AcType = 'TC' | 'ARQC' | 'AAC';

/** Why the card decided what it decided (one value per risk branch, for tests and logs). */
export type RiskReason =
  | 'online-requested'
  | 'currency-mismatch'
  | 'new-card'
  | 'no-ec'
  | 'ec-over-single-limit'
  | 'ec-insufficient'
  | 'ec-below-reset-threshold'
  | 'ec-approved'
  | 'offline-limit-exceeded'
  | 'offline-limit-approved'
  | 'requested-by-terminal'
  | 'online-only-card'
  | 'issuer-approved'
  | 'issuer-declined';

/** The card's decision at GPO. */
export interface RiskDecision {
  readonly ac: AcType;
  readonly reason: RiskReason;
}

/** EC purse figures in minor units. */
export interface EcFigures {
  readonly balanceMinor: number;
  readonly singleLimitMinor: number;
  readonly resetThresholdMinor: number;
}

/** What the decision depends on. */
export interface RiskInput {
  /** 9F66, 4 bytes. */
  readonly ttq: Uint8Array;
  /** 9F68, 4 bytes. */
  readonly cardAdditionalProcesses: Uint8Array;
  readonly amountMinor: number;
  /** 5F2A equals the application currency. */
  readonly currencyMatches: boolean;
  /** Last online ATC (9F13) is zero. */
  readonly newCard: boolean;
  /** The EC purse, or null when the application has none. */
  readonly ec: EcFigures | null;
  /** Remaining cumulative offline allowance (CTTAL - CTTA) of a card without EC, or null. */
  readonly allowanceMinor: number | null;
}

/**
 * Decides the cryptogram, in this order (first match wins):
 * 1. TTQ 2.b8 "online cryptogram required" -> ARQC.
 * 2. currency mismatch -> ARQC, or AAC on an offline-only terminal (TTQ 1.b4).
 * 3. new card (9F68 1.b5 and 9F13 = 0) -> ARQC; on an offline-only terminal AAC when 9F68
 *    2.b6 says so, else the EC checks continue.
 * 4. no EC purse or EC check off (9F68 1.b8): with cumulative offline limits and the
 *    EC-or-CTTA check (9F68 1.b6), TC when amount <= CTTAL - CTTA; otherwise ARQC, or AAC
 *    offline-only.
 * 5. amount > 9F78 -> ARQC, or AAC offline-only.
 * 6. amount > 9F79 -> ARQC, or AAC offline-only.
 * 7. online-capable terminal and amount > 9F79 - 9F6D -> ARQC (the card wants a top-up).
 * 8. otherwise TC (offline approval; the debit is staged).
 * See domain.md 2.5 "Card side" [S:BT].
 */
export function decideQpboc(input: RiskInput): RiskDecision {
  const offlineOnly = ((input.ttq[0] ?? 0) & TTQ1_OFFLINE_ONLY_0X08) !== 0;
  const notOffline = (reason: RiskReason): RiskDecision => ({
    ac: offlineOnly ? 'AAC' : 'ARQC',
    reason,
  });
  const cap1 = input.cardAdditionalProcesses[0] ?? 0;
  const cap2 = input.cardAdditionalProcesses[1] ?? 0;
  if (((input.ttq[1] ?? 0) & TTQ2_ONLINE_CRYPTOGRAM_0X80) !== 0) {
    return { ac: 'ARQC', reason: 'online-requested' };
  }
  if (!input.currencyMatches) return notOffline('currency-mismatch');
  if ((cap1 & CAP1_NEW_CARD_CHECK_0X10) !== 0 && input.newCard) {
    if (!offlineOnly) return { ac: 'ARQC', reason: 'new-card' };
    if ((cap2 & CAP2_NEW_CARD_OFFLINE_ONLY_DECLINE_0X20) !== 0) {
      return { ac: 'AAC', reason: 'new-card' };
    }
  }
  const ec = input.ec;
  if (ec === null || (cap1 & CAP1_EC_CHECK_0X80) === 0) {
    if (input.allowanceMinor === null || (cap1 & CAP1_EC_OR_CTTA_CHECK_0X20) === 0) {
      return notOffline('no-ec');
    }
    return input.amountMinor > input.allowanceMinor
      ? notOffline('offline-limit-exceeded')
      : { ac: 'TC', reason: 'offline-limit-approved' };
  }
  if (input.amountMinor > ec.singleLimitMinor) return notOffline('ec-over-single-limit');
  if (input.amountMinor > ec.balanceMinor) return notOffline('ec-insufficient');
  if (!offlineOnly && input.amountMinor > ec.balanceMinor - ec.resetThresholdMinor) {
    return { ac: 'ARQC', reason: 'ec-below-reset-threshold' };
  }
  return { ac: 'TC', reason: 'ec-approved' };
}

/** The 2-bit code of a cryptogram type (CVR and CID): 00 AAC, 01 TC, 10 ARQC. */
export function acTypeCode(ac: AcType): number {
  switch (ac) {
    case 'AAC':
      return 0;
    case 'TC':
      return 1;
    case 'ARQC':
      return 2;
    default: {
      const never: never = ac;
      throw new Error(`unknown AC type ${String(never)}`);
    }
  }
}

/** CVR byte 1 bits 8-7 = 10: second GENERATE AC not requested. */
export const CVR1_SECOND_AC_NOT_REQUESTED_0X80 = 0x80;

/** CVR byte 1: bits 8-7 = 10 (second GEN AC not requested), bits 6-5 = the GPO cryptogram. */
export function cvrByte1(ac: AcType): number {
  return CVR1_SECOND_AC_NOT_REQUESTED_0X80 | (acTypeCode(ac) << 4);
}

/** CVR byte 1 after a second GENERATE AC: bits 8-7 its cryptogram, bits 6-5 the first one. */
export function cvrByte1Second(first: AcType, second: AcType): number {
  return (acTypeCode(second) << 6) | (acTypeCode(first) << 4);
}

/** Cryptogram information data (9F27): bits 8-7 = the cryptogram type. EMV Book 3, Table 14. */
export function cidOf(ac: AcType): number {
  return acTypeCode(ac) << 6;
}
