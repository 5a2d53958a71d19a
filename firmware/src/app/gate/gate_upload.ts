// The gate ledger's way to the depot: each day's lines, in order, from a durable cursor.
//
// A line is named by (terminal, day, line number from 0): the depot stores each name once
// (a resent line is a duplicate, a different line under a stored name is refused), so a pass
// cut anywhere (power, network) is simply sent again. The cursor `gate-upload.json` (day and
// the next line to send) moves only after the depot answered, and is replaced atomically.
// A torn last line (a tap under way, a power cut) is not sent until it is whole.

import type { StoragePort } from '../../../../hal/src/ports/storage_port.js';
import { CALENDAR_DATE_PATTERN } from '../params/field_patterns.js';
import { FieldError, JsonFields } from '../params/json_fields.js';
import {
  gateLedgerDateOf,
  gateLedgerFileName,
  gateLedgerParse,
  type GateRecord,
} from './gate_ledger.js';

export const GATE_UPLOAD_CURSOR_FILE = 'gate-upload.json';
/** Records per request (a morning rush of a busy lane is a few of these). */
export const GATE_UPLOAD_RECORDS_MAX = 500;

/** The body of POST /v1/gate-records (depot README). */
export interface GateRecordsBody {
  readonly terminalId: string;
  readonly day: string;
  /** Line number (from 0 in the day's file) of `records[0]`. */
  readonly firstLine: number;
  readonly records: readonly GateRecord[];
}

/** What the depot answered: every line before `storedThroughLine` of `day` is stored. */
export type GateRecordsSend = (body: GateRecordsBody) => Promise<
  { ok: true; storedThroughLine: number } | { ok: false; detail: string }>;

/** Where sending stands. */
export interface GateUploadCursor {
  readonly day: string;
  readonly line: number;
}

/** How a pass ended. */
export interface GateUploadPass {
  readonly sent: number;
  /** Why the pass stopped early (the depot, storage, a corrupt line), or null when done. */
  readonly error: string | null;
}

/** Sends the ledger files of a StoragePort (the journal directory) to the depot. */
export class GateUpload {
  constructor(
    private readonly storage: StoragePort,
    private readonly terminalId: string,
    private readonly send: GateRecordsSend,
    private readonly recordsMax: number = GATE_UPLOAD_RECORDS_MAX,
  ) {}

  /** Sends every whole line after the cursor, day by day, oldest first. */
  async pass(): Promise<GateUploadPass> {
    const listed = await this.storage.list();
    if (!listed.ok) return { sent: 0, error: `ledger list: ${listed.detail}` };
    const cursor = await this.cursor();
    if (typeof cursor === 'string') return { sent: 0, error: cursor };
    const days = listed.value.map(gateLedgerDateOf)
      .filter((d): d is string => d !== null && (cursor === null || d >= cursor.day)).sort();
    let sent = 0;
    for (const day of days) {
      const from = cursor !== null && cursor.day === day ? cursor.line : 0;
      const done = await this.sendDay(day, from);
      sent += done.sent;
      if (done.error !== null) return { sent, error: done.error };
    }
    return { sent, error: null };
  }

  /** The cursor on storage, null before the first acknowledged line, or why it is bad. */
  async cursor(): Promise<GateUploadCursor | null | string> {
    const read = await this.storage.read(GATE_UPLOAD_CURSOR_FILE);
    if (!read.ok) return `${GATE_UPLOAD_CURSOR_FILE}: ${read.detail}`;
    if (read.value.length === 0) return null;
    try {
      const text = new TextDecoder().decode(read.value);
      const fields = JsonFields.of(JsonFields.parse(text, GATE_UPLOAD_CURSOR_FILE),
        GATE_UPLOAD_CURSOR_FILE, '');
      const cursor = {
        day: fields.str('day', CALENDAR_DATE_PATTERN, 10),
        line: fields.int('line', 0, 1_000_000_000),
      };
      fields.finish();
      return cursor;
    } catch (error) {
      if (error instanceof FieldError) return error.message;
      throw error;
    }
  }

  private async sendDay(day: string, from: number): Promise<GateUploadPass> {
    const name = gateLedgerFileName(day);
    const read = await this.storage.read(name);
    if (!read.ok) return { sent: 0, error: `${name}: ${read.detail}` };
    const parsed = gateLedgerParse(read.value, name);
    if (!parsed.ok) return { sent: 0, error: parsed.error };
    const records = parsed.value.records;
    let line = from;
    while (line < records.length) {
      const chunk = records.slice(line, line + this.recordsMax);
      const answer = await this.send({ terminalId: this.terminalId, day, firstLine: line,
        records: chunk });
      if (!answer.ok) return { sent: line - from, error: `depot: ${answer.detail}` };
      if (answer.storedThroughLine !== line + chunk.length) {
        return { sent: line - from, error: `depot stored through line `
          + `${answer.storedThroughLine}, sent ${line}..${line + chunk.length - 1}` };
      }
      line += chunk.length;
      const moved = await this.storage.replace(GATE_UPLOAD_CURSOR_FILE,
        new TextEncoder().encode(`${JSON.stringify({ day, line })}\n`));
      if (!moved.ok) return { sent: line - from, error: `cursor: ${moved.detail}` };
    }
    return { sent: line - from, error: null };
  }
}
