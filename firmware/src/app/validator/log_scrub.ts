// A log event as a log may write it: no full PAN in any string field (PCI DSS 3.4). The
// board's JSON-line log and the simulator's --log both write events through this.

import { panScrub } from '../journal/journal_records.js';
import type { LogEvent } from './validator_ports.js';

/** `event` with every string field through panScrub; numbers and flags as they are. */
export function logEventScrubbed(event: LogEvent): LogEvent {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(event)) {
    out[key] = typeof value === 'string' ? panScrub(value) : value;
  }
  return out;
}
