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
/**
 * Track 1 as text (ISO/IEC 7813): format code B, PAN, '^', the cardholder's name (2-26
 * characters), '^', then expiry, service code and discretionary data up to the end sentinel.
 */
const TRACK1_LIKE = /([0-9]{12,19})\^[^^\n]{0,26}\^[^\s?]*/g;
/** Runs of 12 or more digits: any PAN (ISO/IEC 7812), alone or inside hex. */
const DIGIT_RUN = /[0-9]{12,}/g;
/**
 * A PAN written in groups, as people and back offices write it: 4 digits, then 2 to 4 more
 * groups of 2-6, one space, '-' or '.' between (6228 4800 0000 0000 000; 3782-822463-10005).
 */
const GROUPED_DIGITS = /(?<![0-9])[0-9]{4}(?:[ .-][0-9]{2,6}){2,4}(?![0-9])/g;
/**
 * Fewest digits of a grouped run taken for a PAN: 13, the shortest PAN in use (12-digit PANs
 * exist on paper only), so that three groups of four (counts, amounts) stay readable.
 */
const GROUPED_PAN_DIGITS_MIN = 13;
/** Full-width digits (０-９), which a Chinese input method types: read as digits. */
const FULL_WIDTH_DIGIT = /[\uFF10-\uFF19]/g;

/**
 * `text` with every PAN-like digit run masked (maskPan for 12-19 digits; a longer run, which
 * may hold a PAN at any offset, all '*'), a PAN in groups masked likewise (its separators
 * kept), and everything after a track 2 separator, or after a track 1 PAN's '^' (the name,
 * expiry and discretionary data), masked. Full-width digits count as digits. For error
 * messages and logs: PCI DSS v4.0 req. 3.4.1 (display) and 3.3.1 (no track data).
 */
export function panScrub(text: string): string {
  return text
    .replace(FULL_WIDTH_DIGIT, (digit) => String.fromCharCode(digit.charCodeAt(0) - 0xfee0))
    .replace(TRACK1_LIKE, (whole, pan: string) =>
      `${digitsMask(pan)}${'*'.repeat(whole.length - pan.length)}`)
    .replace(TRACK2_LIKE, (whole, pan: string) =>
      `${digitsMask(pan)}${'*'.repeat(whole.length - pan.length)}`)
    .replace(DIGIT_RUN, digitsMask)
    .replace(GROUPED_DIGITS, groupedMask);
}

/** A PAN in groups, masked as maskPan masks its digits (separators kept); other runs as is. */
function groupedMask(run: string): string {
  const digits = run.replace(/[^0-9]/g, '');
  if (digits.length < GROUPED_PAN_DIGITS_MIN || digits.length > PAN_DIGITS_MAX) return run;
  const masked = maskPan(digits);
  let at = 0;
  return run.replace(/[0-9]/g, () => masked[at++] ?? '*');
}

/** maskPan for a PAN-length run; a longer run may hold a PAN at any offset: all '*'. */
function digitsMask(run: string): string {
  return run.length <= PAN_DIGITS_MAX ? maskPan(run) : '*'.repeat(run.length);
}
