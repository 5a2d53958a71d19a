// The T-Union purchases left grey: one row per grey line no clearing line of the same card and
// ATC completes (tunion_report.ts counts them), with what an operator needs to settle each from
// the card's own transaction log or the clearing centre's data: the card, its ATC, the amount
// and balance before, the PSAM's terminal number and serial, where and when. A grey is written
// before the card's DEBIT (domain.md 7): the card may have paid (its TAC never came back: a
// torn tap the card did not tap again) or not (pulled before the command). Copies of one grey
// (the same card and ATC under other seqs) are listed once, the first stored.
//
// The day is the purchase's date-time, as in the T-Union section; a line whose JSON no longer
// reads is listed under day `?` with what the columns hold.

import type { DepotDb } from '../store/depot_db.js';
import { GREY_OPEN_FIRST } from '../tunion/tunion_report.js';
import { csvTable } from './settlement_report.js';

export interface TunionGreyRow {
  /** YYYY-MM-DD and hh:mm:ss of the purchase, or `?`. */
  readonly day: string;
  readonly time: string;
  readonly terminalId: string;
  readonly routeId: string;
  readonly cardSerial: string;
  readonly issuerId: string;
  readonly atc: number;
  readonly amountMinor: number;
  /** The purse before the DEBIT, as the card told it (fen), or `?`. */
  readonly balanceBeforeMinor: number | '?';
  /** The PSAM's terminal number and its serial of the purchase, or `?`. */
  readonly psamTerminal: string;
  readonly psamSerial: number | '?';
  readonly seq: number;
}

export const TUNION_GREY_COLUMNS = ['day', 'time', 'terminal_id', 'route_id', 'card_serial',
  'issuer_id', 'atc', 'amount_minor', 'balance_before_minor', 'psam_terminal', 'psam_serial',
  'seq'] as const;

/**
 * The open grey rows ordered by day, time, terminal and seq; `day` (YYYY-MM-DD) keeps one day.
 * Rejects with DepotStoreError.
 */
export async function tunionGreyRows(db: DepotDb, day: string | null)
  : Promise<TunionGreyRow[]> {
  // One row per card and ATC (the first stored), as the sections count them.
  const rows = await db.query(`SELECT t.terminal_id, t.seq, t.card_serial, t.issuer_id, t.atc,
      t.amount_minor, t.record_json
    FROM tunion_taps t WHERE t.type = 'tunion_grey' AND ${GREY_OPEN_FIRST('t')}`);
  const greys = rows.map((r) => ({
    ...lineFacts(String(r['record_json'])),
    terminalId: String(r['terminal_id']), cardSerial: String(r['card_serial']),
    issuerId: String(r['issuer_id']), atc: Number(r['atc']),
    amountMinor: Number(r['amount_minor']), seq: Number(r['seq']),
  }));
  const order = (a: TunionGreyRow, b: TunionGreyRow): number => a.day.localeCompare(b.day)
    || a.time.localeCompare(b.time) || a.terminalId.localeCompare(b.terminalId)
    || a.seq - b.seq;
  return greys.filter((g) => day === null || g.day === day).sort(order);
}

/** What the stored line says beyond the columns; `?` for what does not read. */
function lineFacts(recordJson: string): Pick<TunionGreyRow, 'day' | 'time' | 'routeId'
  | 'balanceBeforeMinor' | 'psamTerminal' | 'psamSerial'> {
  let line: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(recordJson) as unknown;
    if (typeof parsed === 'object' && parsed !== null) line = parsed as Record<string, unknown>;
  } catch {
    // Listed with `?`: the columns still name the card, ATC and amount.
  }
  const part = (key: string): Record<string, unknown> => {
    const v = line[key];
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  };
  const purchase = part('purchase');
  const digits = String(purchase['dateTimeDigits'] ?? '');
  const dated = /^\d{14}$/.test(digits);
  const count = (v: unknown): number | '?' => (Number.isSafeInteger(v) ? Number(v) : '?');
  const routeId = part('ride')['lineId'];
  const psamTerminal = purchase['terminalNumberHex'];
  return {
    day: dated ? `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}` : '?',
    time: dated ? `${digits.slice(8, 10)}:${digits.slice(10, 12)}:${digits.slice(12, 14)}`
      : '?',
    routeId: typeof routeId === 'string' ? routeId : '?',
    balanceBeforeMinor: count(purchase['balanceBeforeMinor']),
    psamTerminal: typeof psamTerminal === 'string' ? psamTerminal.toUpperCase() : '?',
    psamSerial: count(purchase['terminalSerial']),
  };
}

/** The cells of a row, in TUNION_GREY_COLUMNS order. */
export function tunionGreyCells(r: TunionGreyRow): (string | number)[] {
  return [r.day, r.time, r.terminalId, r.routeId, r.cardSerial, r.issuerId, r.atc,
    r.amountMinor, r.balanceBeforeMinor, r.psamTerminal, r.psamSerial, r.seq];
}

/** CSV (RFC 4180, CRLF) of the grey rows with a header line; amounts in fen. */
export function tunionGreyCsv(rows: readonly TunionGreyRow[]): string {
  return csvTable(TUNION_GREY_COLUMNS, rows.map(tunionGreyCells));
}
