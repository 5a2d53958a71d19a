// HAL error codes and the result type every port method returns (Tock ErrorCode, nfcpy).

/**
 * Operating errors a HAL port can report. Programmer errors are assertions, never a HalStatus.
 * Each port method's TSDoc lists the subset it may return.
 */
export enum HalStatus {
  /** The peer did not answer within the allotted time. */
  TIMEOUT = 'TIMEOUT',
  /** Bytes were damaged in flight (CRC, parity, checksum) and retries did not help. */
  TRANSMISSION = 'TRANSMISSION',
  /** The peer answered something the protocol does not allow. */
  PROTOCOL = 'PROTOCOL',
  /** The card left the field or the RF link broke. */
  CARD_GONE = 'CARD_GONE',
  /** The reader module or its host link failed (Keyple's reader-vs-card split). */
  READER_IO = 'READER_IO',
  /** Another operation is still running on this port. */
  BUSY = 'BUSY',
  /** The operation was cancelled by the caller. */
  CANCELLED = 'CANCELLED',
  /** A buffer or payload exceeds the allowed size. */
  SIZE = 'SIZE',
  /** The device or driver does not support the request. */
  NOT_SUPPORTED = 'NOT_SUPPORTED',
}

/** Success with a value, or a failure with one HalStatus and a human-readable detail. */
export type HalResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: HalStatus; readonly detail: string };

export function halOk<T>(value: T): HalResult<T> {
  return { ok: true, value };
}

export function halErr<T>(error: HalStatus, detail: string): HalResult<T> {
  return { ok: false, error, detail };
}
