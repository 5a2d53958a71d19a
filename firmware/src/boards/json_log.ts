// The board's log sink: one JSON object per line, time-stamped, with no full PAN ever written.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { panScrub } from '../app/journal/journal_records.js';
import { logEventScrubbed } from '../app/validator/log_scrub.js';
import type { LogEvent, LogPort } from '../app/validator/validator_ports.js';

/**
 * Masks every PAN-like digit run in `text` the way the journal masks PANs (first 6, last 4),
 * longer digit runs (a PAN inside hex) entirely, and whatever follows a track 2 separator.
 */
export function logScrubPans(text: string): string {
  return panScrub(text);
}

/** Severity of a log line, with syslog's names (RFC 5424, 6.2.1): what a fleet alerts on. */
export type LogLevel = 'error' | 'warning' | 'info';

/**
 * Events that are not routine. error: the validator cannot serve (out of service, the reader
 * gone, the journal failing, a record it cannot open); warning: served, but degraded or
 * retrying (a display, an indicator, the depot, a parameter set). Every other event is info.
 */
const LOG_LEVELS: Readonly<Record<string, Exclude<LogLevel, 'info'>>> = {
  'out-of-service': 'error',
  'gate-out-of-service': 'error',
  'reader-lost': 'error',
  'journal-error': 'error',
  'journal-ack-failed': 'error',
  'journal-expire-failed': 'error',
  'recovery-unsealable': 'error',
  'recovery-record-refused': 'error',
  'clock-behind': 'error',
  'upload-journal-unreadable': 'error',
  'reader-error': 'warning',
  'display-error': 'warning',
  'gate-exit-error': 'warning',
  // The day before's ledger unreadable at a day's load: its unwalked paid admissions are lost.
  'gate-credits-not-carried': 'warning',
  // A power cut in the middle of a ledger line: that line's event was not recorded.
  'gate-ledger-torn-tail': 'warning',
  'display-lost': 'warning',
  'stop-source-unreadable': 'warning',
  'indicator-missing': 'warning',
  'indicator-error': 'warning',
  'params-fallback': 'warning',
  'params-refused': 'warning',
  'params-install-failed': 'warning',
  'params-fetch-failed': 'warning',
  'upload-failed': 'warning',
  'upload-retry': 'warning',
  'card-left-on-reader': 'warning',
  // T-Union cards are refused until the PSAM answers again (bank cards are served).
  'psam-down': 'warning',
  // The PSAM lost or failing in a tap (its MAC2 unchecked): an alert, as psam-down is.
  'psam-error': 'warning',
  // The PSAM refused a card's purchase with a status word (a key it lacks for that issuer).
  'psam-refused': 'warning',
  // A tap left open that the validator stopped watching for: the back office settles it.
  'open-taps-expired': 'warning',
};

/** The level of a line carrying `event`. */
export function logLevelOf(event: string): LogLevel {
  return LOG_LEVELS[event] ?? 'info';
}

/**
 * Writes `{"ts":"2026-11-22T08:00:00.000Z","level":"info","event":...}` lines through `write`.
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

  /** Writes `event` as one line, `ts` and `level` first. Never fails (a lost line is no error). */
  log(event: LogEvent): void {
    const line: Record<string, string | number | boolean | null> = {
      ts: new Date(this.clock.wallMs()).toISOString(),
      level: logLevelOf(String(event['event'] ?? '')),
    };
    this.write(JSON.stringify({ ...line, ...logEventScrubbed(event) }));
  }
}

/**
 * The board's log: JSON lines through `write`, counting the `reader-error` events, so the
 * board's loop can tell a turn that failed on the reader from one where no card came.
 */
export class BoardLog extends JsonLineLog {
  private readerErrorCount = 0;

  override log(event: LogEvent): void {
    if (event['event'] === 'reader-error') this.readerErrorCount += 1;
    super.log(event);
  }

  /** How many `reader-error` events were logged so far. */
  readerErrors(): number {
    return this.readerErrorCount;
  }
}
