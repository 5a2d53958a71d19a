// The gate ledger: one durable line per passage, exit, alarm and refusal, one file per day.
//
// Paid admissions are clearing records in the journal (journal.bin); the ledger adds what the
// journal has no kind for: each person walking through, the exits, tailgating, lane faults.
// A line is `CRC32 (8 hex) SP JSON LF`; every append is synced before the lane opens or the
// screen says anything, as the journal is (README.md there). A power cut can tear only the last
// line, before its LF: at open such a tail is cut off; a bad whole line is corruption.

import type { StoragePort } from '../../../../hal/src/ports/storage_port.js';
import { crc32Ieee } from '../journal/crc32_ieee.js';
import {
  CALENDAR_DATE_PATTERN, CARD_TOKEN_PATTERN, ID_PATTERN, NAME_PATTERN, TEXT_PATTERN,
} from '../params/field_patterns.js';
import { FieldError, JsonFields, type FieldPattern } from '../params/json_fields.js';

/** One ledger record. `date` YYYY-MM-DD and `minute` 0..1439 are local time. */
export type GateRecord =
  /** An admission sold at the gate; `journalSeq` names its final record in the journal. */
  | {
      readonly kind: 'paid';
      readonly date: string;
      readonly minute: number;
      readonly cardToken: string;
      readonly journalSeq: number;
      readonly amountMinor: number;
      readonly fareRule: string;
    }
  /**
   * A sale about to be charged (written before the kernel goes on): the card's journal PAN
   * token and the journal's last seq then. A power cut after the card's final record and
   * before the `paid` line leaves this line unanswered; the start finds the final in the
   * journal (the source of truth) and writes the `paid` line (`gate_sale_reconcile.ts`).
   */
  | {
      readonly kind: 'sale';
      readonly date: string;
      readonly minute: number;
      readonly cardToken: string;
      readonly panToken: string;
      readonly lastSeq: number;
    }
  /** One person walked through an entry lane. */
  | {
      readonly kind: 'entry';
      readonly date: string;
      readonly minute: number;
      readonly cardToken: string;
      readonly via: 'ticket' | 'paid';
      readonly slotId: string;
      readonly ticketId: string | null;
    }
  /** One person left through an exit lane (`cardToken` null: free exit without a tap). */
  | {
      readonly kind: 'exit';
      readonly date: string;
      readonly minute: number;
      readonly cardToken: string | null;
    }
  /** `count` more people passed than were admitted. */
  | {
      readonly kind: 'tailgate';
      readonly date: string;
      readonly minute: number;
      readonly cardToken: string | null;
      readonly count: number;
    }
  | {
      readonly kind: 'refused';
      readonly date: string;
      readonly minute: number;
      readonly cardToken: string | null;
      readonly reason: string;
    }
  /** The lane changed state: a fault, a stuck sensor, an opening nobody used, a recovery. */
  | {
      readonly kind: 'lane';
      readonly date: string;
      readonly minute: number;
      readonly state: 'fault' | 'stuck' | 'no-pass' | 'recovered';
      readonly detail: string;
    };

export type GateRecordKind = GateRecord['kind'];

/** Result of ledger operations. */
export type GateLedgerResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

const KIND_PATTERN: FieldPattern = {
  re: /^(?:paid|sale|entry|exit|tailgate|refused|lane)$/,
  says: 'one of paid, sale, entry, exit, tailgate, refused, lane',
};
const PAN_TOKEN_PATTERN: FieldPattern = {
  re: /^[0-9A-F]{32}$/,
  says: '32 upper-case hex digits (0-9, A-F)',
};
const VIA_PATTERN: FieldPattern = { re: /^(?:ticket|paid)$/, says: 'ticket or paid' };
const LANE_STATE_PATTERN: FieldPattern = {
  re: /^(?:fault|stuck|no-pass|recovered)$/,
  says: 'one of fault, stuck, no-pass, recovered',
};
const LINE_BYTES_MAX = 1024;

/** The ledger file of a local date. */
export function gateLedgerFileName(date: string): string {
  return `gate-${date}.log`;
}

/** The date of a ledger file name, or null for another file. */
export function gateLedgerDateOf(name: string): string | null {
  const m = /^gate-([0-9]{4}-[0-9]{2}-[0-9]{2})\.log$/.exec(name);
  return m === null ? null : (m[1] ?? null);
}

/** One line's bytes for `record`. */
export function gateLedgerLine(record: GateRecord): Uint8Array {
  const json = JSON.stringify(record);
  const body = new TextEncoder().encode(json);
  const crc = crc32Ieee(body).toString(16).toUpperCase().padStart(8, '0');
  return new TextEncoder().encode(`${crc} ${json}\n`);
}

/**
 * Parses a ledger file. A last line without its LF is a torn tail (`tornBytes` > 0,
 * `goodBytes` is where it starts): a power cut stops an append before its end. Any bad line
 * that is whole (LF-terminated), the last one included, is an error naming its line number:
 * one flipped bit in the last entry was cut as a torn tail, and its visitor's paid credit
 * came back (walked through twice on one payment).
 */
export function gateLedgerParse(
  bytes: Uint8Array,
  file: string,
): GateLedgerResult<{ records: GateRecord[]; goodBytes: number; tornBytes: number }> {
  const records: GateRecord[] = [];
  let at = 0;
  for (let line = 1; at < bytes.length; line += 1) {
    const end = bytes.indexOf(0x0a, at);
    const last = end < 0 || end === bytes.length - 1;
    const record = end < 0 ? null : gateLedgerLineParse(bytes.subarray(at, end), file);
    if (record === null) {
      // No LF: the end of the file, an append the power cut stopped.
      return { ok: true, value: { records, goodBytes: at, tornBytes: bytes.length - at } };
    }
    if (typeof record === 'string') {
      const whole = last ? ' (a whole line: damage, not a torn write)' : '';
      return { ok: false, error: `${file} line ${line}: ${record}${whole}` };
    }
    records.push(record);
    at = end + 1;
  }
  return { ok: true, value: { records, goodBytes: at, tornBytes: 0 } };
}

/** A line's record, or why it is not one. */
function gateLedgerLineParse(line: Uint8Array, file: string): GateRecord | string {
  if (line.length < 10 || line.length > LINE_BYTES_MAX || line[8] !== 0x20) return 'malformed';
  const crcText = new TextDecoder().decode(line.subarray(0, 8));
  const body = line.subarray(9);
  if (!/^[0-9A-F]{8}$/.test(crcText) || parseInt(crcText, 16) !== crc32Ieee(body)) {
    return 'check value mismatch';
  }
  try {
    const fields = JsonFields.of(JsonFields.parse(new TextDecoder().decode(body), file), file, '');
    const record = gateRecordRead(fields);
    fields.finish();
    return record;
  } catch (err) {
    if (err instanceof FieldError) return err.message;
    throw err;
  }
}

/**
 * A record from its parsed JSON (a ledger line's body, or a depot upload's element): the
 * ledger's own field checks. Throws FieldError naming `file` and `at`.
 */
export function gateRecordFromJson(value: unknown, file: string, at: string): GateRecord {
  const fields = JsonFields.of(value, file, at);
  const record = gateRecordRead(fields);
  fields.finish();
  return record;
}

function tokenOrNull(fields: JsonFields): string | null {
  if (fields.raw('cardToken') === null) return null;
  return fields.str('cardToken', CARD_TOKEN_PATTERN, 24);
}

function gateRecordRead(fields: JsonFields): GateRecord {
  const kind = fields.str('kind', KIND_PATTERN, 8);
  const date = fields.str('date', CALENDAR_DATE_PATTERN, 10);
  const minute = fields.int('minute', 0, 1439);
  switch (kind) {
    case 'paid':
      return {
        kind, date, minute, cardToken: fields.str('cardToken', CARD_TOKEN_PATTERN, 24),
        journalSeq: fields.int('journalSeq', 1, 0xffff_ffff),
        amountMinor: fields.int('amountMinor', 0, 999_999_999_999),
        fareRule: fields.str('fareRule', NAME_PATTERN, 32),
      };
    case 'sale':
      return {
        kind, date, minute, cardToken: fields.str('cardToken', CARD_TOKEN_PATTERN, 24),
        panToken: fields.str('panToken', PAN_TOKEN_PATTERN, 32),
        lastSeq: fields.int('lastSeq', 0, 0xffff_ffff),
      };
    case 'entry':
      return {
        kind, date, minute, cardToken: fields.str('cardToken', CARD_TOKEN_PATTERN, 24),
        via: fields.str('via', VIA_PATTERN, 6) === 'ticket' ? 'ticket' : 'paid',
        slotId: fields.str('slotId', ID_PATTERN, 32),
        ticketId: fields.raw('ticketId') === null ? null : fields.str('ticketId', ID_PATTERN, 32),
      };
    case 'exit':
      return { kind, date, minute, cardToken: tokenOrNull(fields) };
    case 'tailgate':
      return {
        kind, date, minute, cardToken: tokenOrNull(fields), count: fields.int('count', 1, 99),
      };
    case 'refused':
      return {
        kind, date, minute, cardToken: tokenOrNull(fields),
        reason: fields.str('reason', TEXT_PATTERN, 64),
      };
    default:
      return {
        kind: 'lane', date, minute,
        state: laneStateOf(fields.str('state', LANE_STATE_PATTERN, 9)),
        detail: fields.str('detail', TEXT_PATTERN, 200),
      };
  }
}

function laneStateOf(text: string): 'fault' | 'stuck' | 'no-pass' | 'recovered' {
  if (text === 'fault' || text === 'stuck' || text === 'no-pass') return text;
  return 'recovered';
}

/** Appends and syncs ledger lines on a StoragePort (the journal directory). */
export class GateLedger {
  constructor(private readonly storage: StoragePort) {}

  /**
   * Reads the records of `date`, cutting a torn tail off the file first (`tornBytes`: how
   * many bytes were cut, for the log). Errors: a storage failure or a corrupt line (the gate
   * then stays out of service).
   */
  async load(date: string): Promise<GateLedgerResult<{ records: GateRecord[];
    tornBytes: number }>> {
    const name = gateLedgerFileName(date);
    const read = await this.storage.read(name);
    if (!read.ok) return { ok: false, error: `${name}: ${read.detail}` };
    const parsed = gateLedgerParse(read.value, name);
    if (!parsed.ok) return parsed;
    if (parsed.value.tornBytes > 0) {
      const cut = await this.storage.truncate(name, parsed.value.goodBytes);
      const synced = cut.ok ? await this.storage.sync(name) : cut;
      if (!synced.ok) return { ok: false, error: `${name}: ${synced.detail}` };
    }
    const { records, tornBytes } = parsed.value;
    return { ok: true, value: { records, tornBytes } };
  }

  /** Appends one record durably. Errors: the storage's detail (READER_IO, SIZE). */
  async append(record: GateRecord): Promise<GateLedgerResult<void>> {
    const name = gateLedgerFileName(record.date);
    const written = await this.storage.append(name, gateLedgerLine(record));
    const synced = written.ok ? await this.storage.sync(name) : written;
    return synced.ok ? { ok: true, value: undefined } : { ok: false, error: synced.detail };
  }
}
