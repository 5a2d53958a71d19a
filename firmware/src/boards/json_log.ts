// The board's log sink: one JSON object per line, time-stamped, with no full PAN ever written.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { panScrub } from '../app/journal/journal_records.js';
import type { LogEvent, LogPort } from '../app/validator/validator_ports.js';

/**
 * Masks every PAN-like digit run in `text` the way the journal masks PANs (first 6, last 4),
 * longer digit runs (a PAN inside hex) entirely, and whatever follows a track 2 separator.
 */
export function logScrubPans(text: string): string {
  return panScrub(text);
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
