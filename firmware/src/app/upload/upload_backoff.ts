// Retry pacing of the uploader, and the log hygiene of what a depot says.

/** Exponential backoff bounds. */
export interface UploadBackoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * The wait before retry number `failures` (1 = after the first failure): base × 2^(n-1),
 * capped at `maxMs`, then scaled by a jitter in [0.5, 1) drawn from `random01`, so a fleet
 * coming back from the same outage spreads its retries instead of knocking at once.
 */
export function uploadBackoffMs(
  failures: number,
  backoff: UploadBackoff,
  random01: () => number,
): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const capped = Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent);
  return capped * (0.5 + 0.5 * random01());
}

/**
 * A depot's or transport's message as it may be logged: digit runs as long as a PAN
 * (12-19 digits) are replaced, and the text is cut at 300 characters. The depot promises no
 * PAN in `detail`; the validator does not rely on that promise for its own logs.
 */
export function uploadDetailSafe(detail: string): string {
  return detail.replace(/\d{12,19}/g, '<digits>').slice(0, 300);
}
