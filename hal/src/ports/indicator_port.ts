// Indicator port: the validator signals a tap outcome with a beep-and-LED pattern, without waiting.

import type { HalResult } from './hal_status.js';

/** The outcome a pattern stands for. Drivers map each one to beeps and LED colours. */
export type IndicatorSignal =
  | 'approved'
  | 'declined'
  | 'tryAgain'
  | 'denyList'
  | 'alreadyPaid'
  | 'multipleCards'
  | 'error'
  | 'outOfService'
  | 'off'
  /** Fare accepted, authorised later (nothing debited at the tap). */
  | 'admitted'
  /** Not enough e-cash and no other way to pay (余额不足). */
  | 'insufficientBalance'
  /** Expired or not yet effective card. */
  | 'expired'
  /** A kind of card this lane does not accept (请使用其他卡 / 不支持此卡). */
  | 'notAccepted'
  /** Offline data authentication really failed (counterfeit, revoked issuer key). */
  | 'authFailed'
  /** The card's data contradict themselves (卡片数据异常). */
  | 'cardDataError';

/** Every signal, for exhaustive tests and tables. */
export const INDICATOR_SIGNALS: readonly IndicatorSignal[] = [
  'approved',
  'declined',
  'tryAgain',
  'denyList',
  'alreadyPaid',
  'multipleCards',
  'error',
  'outOfService',
  'off',
  'admitted',
  'insufficientBalance',
  'expired',
  'notAccepted',
  'authFailed',
  'cardDataError',
];

/**
 * Buzzer and status LEDs seen as one semantic output. Playing is split-phase (Tock TRD-3):
 * `signal` starts a pattern and returns promptly; `whenDone` reports how it ended. The tap loop
 * awaits `signal` and never `whenDone`.
 */
export interface IndicatorPort {
  /**
   * Starts the pattern for `signal`, cancelling any pattern still playing: the old pattern
   * writes nothing after this call, and this pattern's first step overwrites its outputs.
   * Resolves as soon as the first step is on the hardware (a few sysfs writes); the remaining
   * steps play in the background, timed by the injected ClockPort.
   *
   * Errors: READER_IO (a write of the first step failed; the pattern is not playing, the
   * player tries to switch every output off, and `whenDone` resolves with the same error),
   * CANCELLED (an even newer `signal` call got in before this one's first step was written).
   */
  signal(signal: IndicatorSignal): Promise<HalResult<void>>;
  /**
   * Resolves when the latest pattern (as of this call) ends: ok when it played out,
   * CANCELLED when a newer `signal` replaced it, READER_IO when one of its writes failed (the
   * player then tries to switch every output off). If that pattern has already ended, resolves
   * at once with how it ended; ok if nothing has ever played. Never rejects.
   */
  whenDone(): Promise<HalResult<void>>;
}
