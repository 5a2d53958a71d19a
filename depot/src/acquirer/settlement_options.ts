// What a settlement run is told: fare model, exposure limit, clock, and how PANs are unsealed.

/**
 * UnionPay transit fare models (domain.md 6.3): `single` sends one authorisation per ODA tap;
 * `aggregated` one per card and tap day, for the day's total, once the day is closed.
 */
export type FareModel = 'single' | 'aggregated';

export interface SettlementOptions {
  readonly fareModel: FareModel;
  /**
   * Per card (PAN token + PSN): the most ODA fare (ARQC taps) the operator lets be outstanding,
   * i.e. sent but not yet approved, plus open debt. A card's first outstanding tap is always
   * sent (the first ride is the operator's risk); a tap that would exceed the limit waits in
   * state `new`, and every ODA tap of a card with an open debt waits until the debt is repaid.
   */
  readonly exposureLimitMinor: number;
  /**
   * Aggregated model: a tap day (9A, local date YYMMDD) is closed, and its total authorised,
   * once the clock passes its end in this UTC offset (China Standard Time: +8 h).
   */
  readonly dayCloseUtcOffsetMs: number;
  /** Open debts are presented again (debt recovery, 0200) at most this often. */
  readonly recoveryIntervalMs: number;
  /** Requests sent at once on the link. */
  readonly window: number;
  /** Batch number written in field 60.2. */
  readonly batch: number;
  readonly nowMs: () => number;
  /** The clear PAN of a tap's `pan_sealed` (the depot's data key); throws if it does not open. */
  readonly unsealPan: (panSealed: string) => string;
}

export const SETTLEMENT_DEFAULTS: Omit<SettlementOptions, 'nowMs' | 'unsealPan'> = {
  fareModel: 'single',
  exposureLimitMinor: 2_000,
  dayCloseUtcOffsetMs: 8 * 3_600_000,
  recoveryIntervalMs: 3_600_000,
  window: 8,
  batch: 1,
};
