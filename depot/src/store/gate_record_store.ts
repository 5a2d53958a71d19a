// Scenic-area gate records in the depot: POST /v1/gate-records' checks and rows, and the
// counts per day and hour read back from them (the same GateDay arithmetic as the device's).
//
// A row is named by (terminal, day, line number): a resent line is a duplicate and changes
// nothing, a different line under a stored name is refused (400), so an upload cut anywhere is
// sent again without double counting. Paid admissions are also clearing records of the
// journal (POST /v1/batches): they settle as bus taps; the `paid` row names the journal seq.

import { gateRecordFromJson, type GateRecord } from '../../../firmware/src/app/gate/gate_ledger.js';
import { GateDay, HOURS_PER_DAY } from '../../../firmware/src/app/gate/gate_state.js';
import { BatchError } from '../ingest/batch_error.js';
import { CALENDAR_DATE_PATTERN } from '../../../firmware/src/app/params/field_patterns.js';
import { FieldError, JsonFields } from '../../../firmware/src/app/params/json_fields.js';
import { TERMINAL_ID_PATTERN } from '../ingest/terminal_registry.js';
import type { DepotDb } from './depot_db.js';

/** Migration of the gate records (the next free number in depot_migrations.ts). */
export const GATE_RECORDS_MIGRATION_STATEMENTS: readonly string[] = [
  `CREATE TABLE gate_records (
    terminal_id TEXT NOT NULL,
    day TEXT NOT NULL,
    line_no BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN
      ('paid', 'sale', 'entry', 'exit', 'tailgate', 'refused', 'lane')),
    minute BIGINT NOT NULL,
    card_token TEXT,
    journal_seq BIGINT,
    record_json TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (terminal_id, day, line_no))`,
  'CREATE INDEX gate_records_day ON gate_records (day, terminal_id)',
];

/** Records one request may carry (the device sends GATE_UPLOAD_RECORDS_MAX). */
export const GATE_RECORDS_PER_REQUEST_MAX = 1000;

/** A checked POST /v1/gate-records body. */
export interface GateRecordsUpload {
  readonly terminalId: string;
  readonly day: string;
  readonly firstLine: number;
  readonly records: readonly GateRecord[];
}

/**
 * Checks a body of the certificate's terminal: each record by the ledger's own rules and of
 * `day`. Throws FieldError (400) or BatchError terminal-mismatch (403).
 */
export function gateRecordsValidate(body: unknown, certTerminalId: string): GateRecordsUpload {
  const file = 'gate-records';
  const fields = JsonFields.of(body, file, '');
  const terminalId = fields.str('terminalId', TERMINAL_ID_PATTERN, 64);
  if (terminalId !== certTerminalId) {
    throw new BatchError('terminal-mismatch', 'terminalId', 'not the certificate\'s terminal');
  }
  const day = fields.str('day', CALENDAR_DATE_PATTERN, 10);
  const firstLine = fields.int('firstLine', 0, 1_000_000_000);
  const records = fields.arr('records', GATE_RECORDS_PER_REQUEST_MAX).map((value, i) => {
    const record = gateRecordFromJson(value, file, `records[${i}]`);
    if (record.date !== day) throw new FieldError(file, `records[${i}]`, `not of ${day}`);
    return record;
  });
  fields.finish();
  if (records.length === 0) throw new FieldError(file, 'records', 'empty');
  return { terminalId, day, firstLine, records };
}

/**
 * Stores the lines in one transaction; resolves with the line stored through (firstLine plus
 * the count). Rejects with FieldError when a stored line differs, DepotStoreError when the
 * database fails (nothing stored).
 */
export async function gateRecordsStore(
  db: DepotDb,
  upload: GateRecordsUpload,
  nowMs: number,
): Promise<{ storedThroughLine: number; stored: number; duplicates: number }> {
  return db.transaction(async (tx) => {
    let stored = 0;
    for (let i = 0; i < upload.records.length; i += 1) {
      const record = upload.records[i] as GateRecord;
      const json = JSON.stringify(record);
      const line = upload.firstLine + i;
      const changed = await tx.run(`INSERT INTO gate_records (terminal_id, day, line_no, kind,
        minute, card_token, journal_seq, record_json, received_at_ms)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (terminal_id, day, line_no) DO NOTHING`,
      [upload.terminalId, upload.day, line, record.kind, record.minute,
        'cardToken' in record ? record.cardToken : null,
        record.kind === 'paid' ? record.journalSeq : null, json, nowMs]);
      if (changed === 1) {
        stored += 1;
        continue;
      }
      const rows = await tx.query(`SELECT record_json FROM gate_records
        WHERE terminal_id = $1 AND day = $2 AND line_no = $3`,
      [upload.terminalId, upload.day, line]);
      if (rows[0]?.['record_json'] !== json) {
        throw new FieldError('gate-records', `records[${i}]`,
          `line ${line} of ${upload.day} differs from the one stored`);
      }
    }
    const storedThroughLine = upload.firstLine + upload.records.length;
    return { storedThroughLine, stored, duplicates: upload.records.length - stored };
  });
}

/** One hour of one day (and terminal) with anything in it. */
export interface GateCountDbRow {
  readonly day: string;
  readonly terminalId: string;
  readonly hour: number;
  readonly ticketEntries: number;
  readonly paidEntries: number;
  readonly exits: number;
  readonly tailgates: number;
  readonly refusals: number;
}

/**
 * The counts per day, terminal and hour from the stored records (`terminalId` null: every
 * gate; `day` null: every day), oldest first. A gap in a terminal's lines of a day (a line
 * not yet uploaded) is said, not hidden. Rejects with DepotStoreError, or Error on a gap.
 */
export async function gateCountRowsFromDb(
  db: DepotDb,
  day: string | null,
  terminalId: string | null,
): Promise<GateCountDbRow[]> {
  const where: string[] = [];
  const params: string[] = [];
  if (day !== null) where.push(`day = $${params.push(day)}`);
  if (terminalId !== null) where.push(`terminal_id = $${params.push(terminalId)}`);
  const rows = await db.query(`SELECT terminal_id, day, line_no, record_json FROM gate_records
    ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
    ORDER BY day, terminal_id, line_no`, params);
  const out: GateCountDbRow[] = [];
  let current: { day: string; terminalId: string; counts: GateDay; next: number } | null = null;
  const flush = (): void => {
    if (current === null) return;
    for (let hour = 0; hour < HOURS_PER_DAY; hour += 1) {
      const h = current.counts.hours[hour];
      if (h === undefined) continue;
      if (h.ticketEntries + h.paidEntries + h.exits + h.tailgates + h.refusals === 0) continue;
      out.push({ day: current.day, terminalId: current.terminalId, hour, ...h });
    }
  };
  for (const row of rows) {
    const rowDay = String(row['day']);
    const rowTerminal = String(row['terminal_id']);
    if (current === null || current.day !== rowDay || current.terminalId !== rowTerminal) {
      flush();
      current = { day: rowDay, terminalId: rowTerminal, counts: new GateDay(rowDay), next: 0 };
    }
    const line = Number(row['line_no']);
    if (line !== current.next) {
      throw new Error(`gate ${rowTerminal} ${rowDay}: line ${current.next} not uploaded yet`);
    }
    current.next += 1;
    current.counts.apply(gateRecordFromJson(JSON.parse(String(row['record_json'])),
      'gate_records', `${rowTerminal}/${rowDay}/${line}`));
  }
  flush();
  return out;
}
