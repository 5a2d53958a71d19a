// The T-Union cards met on the deny list, one row per block (tunion_blocks.ts: a final line,
// or a pending line no final names), for the clearing centre and the issuers (who confirm each
// block), customer service (why a rider's card stopped working) and the operator (cards
// blocked in the period).
//
// The day is the terminal's local date of the tap (the line's date-time, as the T-Union
// section's day is the purchase's), so a late upload lands on the day the card was met. A card
// whose block the card did not confirm (pulled during the command, refused it, the command
// never sent) is listed with that outcome: it is blocked at its next tap on a validator, or
// the issuer blocks it. A pending line no final names (the power went after the command was
// sent) is listed as not-confirmed: the card may have blocked itself.

import type { DepotDb } from '../store/depot_db.js';
import { TUNION_BLOCK_EVENTS } from '../tunion/tunion_blocks.js';
import { csvTable } from './settlement_report.js';

export interface TunionBlockRow {
  /** YYYY-MM-DD and hh:mm:ss of the tap, terminal local time. */
  readonly day: string;
  readonly time: string;
  readonly terminalId: string;
  readonly routeId: string;
  /** The card number (file 0015 application serial) and its issuer and city. */
  readonly cardSerial: string;
  readonly issuerId: string;
  readonly cardCity: string;
  /** blocked, not-confirmed, not-sent (firmware journal_tunion.ts TunionBlockFinalOutcome). */
  readonly outcome: string;
  /** The card's status word to APPLICATION BLOCK, `-` when none (not sent, no answer). */
  readonly cardSw: string;
  /** The parameter set whose deny list named the card. */
  readonly paramsVersion: number;
  /** The PSAM's terminal number (file 0016). */
  readonly psamTerminal: string;
  readonly seq: number;
}

export const TUNION_BLOCK_COLUMNS = ['day', 'time', 'terminal_id', 'route_id', 'card_serial',
  'issuer_id', 'card_city', 'outcome', 'card_sw', 'params_version', 'psam_terminal',
  'seq'] as const;

/**
 * The block rows ordered by day, time, terminal and seq; `day` (YYYY-MM-DD) keeps one day.
 * Rejects with DepotStoreError.
 */
export async function tunionBlockRows(db: DepotDb, day: string | null)
  : Promise<TunionBlockRow[]> {
  // A day is a range of the digits: the index on date_time_digits serves it.
  const range = day === null ? [] : [`${day.replaceAll('-', '')}000000`,
    `${day.replaceAll('-', '')}235959`];
  const filter = day === null ? '' : 'WHERE date_time_digits >= $1 AND date_time_digits <= $2';
  const rows = await db.query(`SELECT terminal_id, seq, date_time_digits, card_serial,
      issuer_id, card_city, line_id, outcome, block_sw, params_version, terminal_number
    FROM ${TUNION_BLOCK_EVENTS} ${filter}
    ORDER BY date_time_digits, terminal_id, seq`, range);
  return rows.map((r) => {
    const dt = String(r['date_time_digits']);
    return {
      day: `${dt.slice(0, 4)}-${dt.slice(4, 6)}-${dt.slice(6, 8)}`,
      time: `${dt.slice(8, 10)}:${dt.slice(10, 12)}:${dt.slice(12, 14)}`,
      terminalId: String(r['terminal_id']), routeId: String(r['line_id']),
      cardSerial: String(r['card_serial']), issuerId: String(r['issuer_id']),
      cardCity: String(r['card_city']), outcome: String(r['outcome']),
      cardSw: String(r['block_sw']) || '-', paramsVersion: Number(r['params_version']),
      psamTerminal: String(r['terminal_number']), seq: Number(r['seq']),
    };
  });
}

/** The cells of a row, in TUNION_BLOCK_COLUMNS order. */
export function tunionBlockCells(r: TunionBlockRow): (string | number)[] {
  return [r.day, r.time, r.terminalId, r.routeId, r.cardSerial, r.issuerId, r.cardCity,
    r.outcome, r.cardSw, r.paramsVersion, r.psamTerminal, r.seq];
}

/** CSV (RFC 4180, CRLF) of the block rows with a header line. */
export function tunionBlockCsv(rows: readonly TunionBlockRow[]): string {
  return csvTable(TUNION_BLOCK_COLUMNS, rows.map(tunionBlockCells));
}

/** Cards whose block the card confirmed, counted once each (a card may be met twice). */
export function tunionCardsBlocked(rows: readonly TunionBlockRow[]): number {
  return new Set(rows.filter((r) => r.outcome === 'blocked').map((r) => r.cardSerial)).size;
}
