// The board's log sink: one JSON object per line, time-stamped, with no full PAN ever written.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { maskPan } from '../app/journal/journal_records.js';
import type { LogEvent, LogPort } from '../app/validator/validator_ports.js';

/**
 * Runs of 12 to 19 digits: the length of any PAN (ISO/IEC 7812). Stand-alone runs only, so a
 * digit run inside a longer one is never half-masked.
 */
const PAN_LIKE = /(?<![0-9])[0-9]{12,19}(?![0-9])/g;

/** Masks every PAN-like digit run in `text` the way the journal masks PANs (first 6, last 4). */
export function logScrubPans(text: string): string {
  return text.replace(PAN_LIKE, (digits) => maskPan(digits));
}

/**
 * Writes `{"ts":"2026-11-22T08:00:00.000Z","event":...}` lines through `write`.
 *
 * The application masks PANs itself (TapReport.panMasked). Logs leave the device (syslog,
 * a support laptop), so this sink masks again whatever still looks like a PAN in any string
 * field, e.g. inside a driver's detail text: PCI DSS 3.4 forbids a full PAN at rest in logs.
 * Numbers are written as they are: the app never carries a PAN as a number, and masking
 * 13-digit numbers would destroy epoch milliseconds.
 */
export class JsonLineLog implements LogPort {
  constructor(
    private readonly clock: ClockPort,
    private readonly write: (line: string) => void,
  ) {}

  /** Writes `event` as one line, `ts` first. Never fails (a lost log line is not an error). */
  log(event: LogEvent): void {
    const line: Record<string, string | number | boolean | null> = {
      ts: new Date(this.clock.wallMs()).toISOString(),
    };
    for (const [key, value] of Object.entries(event)) {
      line[key] = typeof value === 'string' ? logScrubPans(value) : value;
    }
    this.write(JSON.stringify(line));
  }
}
