// Gate counts per day and hour from gate ledger files (a scenic-area gate's journal directory):
// entries by ticket and paid, exits, tailgaters, refusals. Read-only; a corrupt line is an error.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
  gateLedgerDateOf,
  gateLedgerParse,
} from '../../../firmware/src/app/gate/gate_ledger.js';
import { GateDay, HOURS_PER_DAY } from '../../../firmware/src/app/gate/gate_state.js';
import type { GateCountDbRow } from '../store/gate_record_store.js';

/** One hour of one day with anything in it (the database's row without its terminal). */
export type GateCountRow = Omit<GateCountDbRow, 'terminalId'>;

export const GATE_COUNT_COLUMNS = ['day', 'hour', 'ticket_entries', 'paid_entries', 'exits',
  'tailgates', 'refusals'] as const;

/**
 * The rows of every `gate-YYYY-MM-DD.log` in `dir` (only `day` when given), oldest first. A
 * torn last line (a power cut) is left out; any other bad line throws an Error naming the file
 * and line, and so does an unreadable directory.
 */
export function gateCountRows(dir: string, day: string | null): GateCountRow[] {
  const ledger = readdirSync(dir).filter((n) => gateLedgerDateOf(n) !== null);
  // A directory with no day file at all is not a gate's ledger (a wrong path), whereas a
  // --day the ledger has no file for is a day without traffic: an empty report.
  if (ledger.length === 0) throw new Error(`no gate ledger file (gate-YYYY-MM-DD.log) in ${dir}`);
  const names = ledger.filter((n) => day === null || gateLedgerDateOf(n) === day).sort();
  const rows: GateCountRow[] = [];
  for (const name of names) {
    const date = gateLedgerDateOf(name) ?? '';
    const parsed = gateLedgerParse(readFileSync(join(dir, name)), name);
    if (!parsed.ok) throw new Error(parsed.error);
    const counts = new GateDay(date);
    for (const record of parsed.value.records) {
      if (record.date !== date) throw new Error(`${name}: a record of ${record.date}`);
      counts.apply(record);
    }
    for (let hour = 0; hour < HOURS_PER_DAY; hour += 1) {
      const h = counts.hours[hour];
      if (h === undefined) continue;
      const any = h.ticketEntries + h.paidEntries + h.exits + h.tailgates + h.refusals;
      if (any > 0) rows.push({ day: date, hour, ...h });
    }
  }
  return rows;
}

/** CSV (RFC 4180 line ends) with a header line. */
export function gateCountCsv(rows: readonly GateCountRow[]): string {
  const lines = [GATE_COUNT_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push([r.day, r.hour, r.ticketEntries, r.paidEntries, r.exits, r.tailgates, r.refusals]
      .join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** The depot's counts (gate_record_store.ts) as CSV: terminal_id after day. */
export function gateCountDbCsv(rows: readonly GateCountDbRow[]): string {
  const [first, ...rest] = GATE_COUNT_COLUMNS;
  const lines = [[first, 'terminal_id', ...rest].join(',')];
  for (const r of rows) {
    lines.push([r.day, r.terminalId, r.hour, r.ticketEntries, r.paidEntries, r.exits,
      r.tailgates, r.refusals].join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
