// PAN masking for screens, logs and error messages (PCI DSS v4.0 req. 3.3.1 and 3.4.1).

/** Longest PAN (ISO/IEC 7812). */
const PAN_DIGITS_MAX = 19;

/** PAN for logs: first 6 and last 4 digits, the rest '*' (PCI DSS 3.4 style). */
export function maskPan(pan: string): string {
  if (pan.length <= 10) return '*'.repeat(pan.length);
  return pan.slice(0, 6) + '*'.repeat(pan.length - 10) + pan.slice(-4);
}

/**
 * Track 2 as text: PAN (maybe run together with digits before it, as in hex), separator D or
 * '=', then expiry, service code and discretionary data.
 */
const TRACK2_LIKE = /([0-9]{12,})[D=][0-9A-F]*/gi;
/** Runs of 12 or more digits: any PAN (ISO/IEC 7812), alone or inside hex. */
const DIGIT_RUN = /[0-9]{12,}/g;

/**
 * `text` with every PAN-like digit run masked (maskPan for 12-19 digits; a longer run, which
 * may hold a PAN at any offset, all '*') and everything after a track 2 separator masked.
 * For error messages and logs: PCI DSS v4.0 req. 3.4.1 (display) and 3.3.1 (no track data).
 */
export function panScrub(text: string): string {
  return text
    .replace(TRACK2_LIKE, (whole, pan: string) =>
      `${digitsMask(pan)}${'*'.repeat(whole.length - pan.length)}`)
    .replace(DIGIT_RUN, digitsMask);
}

/** maskPan for a PAN-length run; a longer run may hold a PAN at any offset: all '*'. */
function digitsMask(run: string): string {
  return run.length <= PAN_DIGITS_MAX ? maskPan(run) : '*'.repeat(run.length);
}
