// The T-Union (JT/T 978) section of `shuaka depot report`: per business day, route, terminal
// and card city, the counted clearing taps and their amounts, the TAC verdicts (tunion_report.ts
// records them), rides tapped in and never tapped out (the marked amount charged at the next
// tap, domain.md 7.3 bytes 54-57), grey purchases no clearing line completes, duplicates, and
// taps approved without the PSAM's MAC2 check.
//
// The business day is the purchase's date-time (what the card and PSAM signed), the route the
// ride's line id, the city the card's file 0017 city code: all read from the stored line, which
// the ingest validated against the journal rules (tunion_ingest.ts). A line whose JSON no longer
// reads is reported under day and route `?` rather than dropped, so the sums still add up.

import type { DepotDb } from '../store/depot_db.js';
import { GREY_OPEN_FIRST } from '../tunion/tunion_report.js';
import { csvTable } from './settlement_report.js';

export interface TunionSectionRow {
  /** YYYY-MM-DD of the purchase date-time, or `?`. */
  readonly day: string;
  /** The ride's line id, or `?`. */
  readonly routeId: string;
  readonly terminalId: string;
  /** City code of the card's file 0017 (4 hex digits), or `?`. */
  readonly cardCity: string;
  /** Counted clearing taps (duplicates excluded) and their amount (fen). */
  readonly taps: number;
  readonly amountMinor: number;
  readonly boardings: number;
  readonly alightings: number;
  readonly flat: number;
  /** Counted taps whose TAC verified (valid), failed (invalid or malformed), or neither yet. */
  readonly tacValid: number;
  readonly tacValidMinor: number;
  readonly tacFailed: number;
  readonly tacFailedMinor: number;
  readonly tacUnchecked: number;
  /** Taps that charged the marked amount of an earlier ride never tapped out, and its sum. */
  readonly missedTapOut: number;
  readonly markedMinor: number;
  /** Grey lines with no clearing line of the same card and ATC. */
  readonly greyOpen: number;
  readonly duplicates: number;
  /**
   * Counted taps approved without the PSAM's MAC2 check (journal_tunion.ts mac2Verified false:
   * the PSAM silent or failing after DEBIT, or a torn tap's proof): the TAC alone vouches for
   * them. A rise on one terminal is a PSAM wearing out. Lines of older validators say nothing.
   */
  readonly mac2Unverified: number;
}

export const TUNION_COLUMNS = ['day', 'route_id', 'terminal_id', 'card_city', 'taps',
  'amount_minor', 'boardings', 'alightings', 'flat', 'tac_valid', 'tac_valid_minor',
  'tac_failed', 'tac_failed_minor', 'tac_unchecked', 'missed_tap_out', 'marked_minor',
  'grey_open', 'duplicates', 'mac2_unverified'] as const;

type Counts = { -readonly [K in keyof TunionSectionRow]: TunionSectionRow[K] };

/** Day, route, city of a stored line; `?` for what does not read. */
function facets(recordJson: string): { day: string; route: string; city: string; tap: string;
  penalty: number; mac2Unverified: boolean } {
  let line: Record<string, unknown>;
  try {
    line = JSON.parse(recordJson) as Record<string, unknown>;
  } catch {
    return { day: '?', route: '?', city: '?', tap: '?', penalty: 0, mac2Unverified: false };
  }
  const part = (key: string): Record<string, unknown> => {
    const v = line[key];
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  };
  const digits = String(part('purchase')['dateTimeDigits'] ?? '');
  const ride = part('ride');
  const penalty = Number(ride['penaltyMinor'] ?? 0);
  return {
    day: /^\d{14}$/.test(digits) ? `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${
      digits.slice(6, 8)}` : '?',
    route: typeof ride['lineId'] === 'string' ? ride['lineId'] : '?',
    city: String(part('card')['cityCodeHex'] ?? '?').toUpperCase(),
    tap: String(ride['tap'] ?? '?'),
    penalty: Number.isSafeInteger(penalty) && penalty > 0 ? penalty : 0,
    mac2Unverified: line['mac2Verified'] === false,
  };
}

function emptyRow(day: string, routeId: string, terminalId: string, cardCity: string): Counts {
  return { day, routeId, terminalId, cardCity, taps: 0, amountMinor: 0, boardings: 0,
    alightings: 0, flat: 0, tacValid: 0, tacValidMinor: 0, tacFailed: 0, tacFailedMinor: 0,
    tacUnchecked: 0, missedTapOut: 0, markedMinor: 0, greyOpen: 0, duplicates: 0,
    mac2Unverified: 0 };
}

function addClearing(row: Counts, amount: number, tacState: string,
  f: ReturnType<typeof facets>): void {
  row.taps += 1;
  row.amountMinor += amount;
  if (f.tap === 'boarding') row.boardings += 1;
  else if (f.tap === 'alighting') row.alightings += 1;
  else if (f.tap === 'flat') row.flat += 1;
  if (tacState === 'valid') {
    row.tacValid += 1;
    row.tacValidMinor += amount;
  } else if (tacState === 'invalid' || tacState === 'malformed') {
    row.tacFailed += 1;
    row.tacFailedMinor += amount;
  } else {
    row.tacUnchecked += 1;
  }
  if (f.penalty > 0) {
    row.missedTapOut += 1;
    row.markedMinor += f.penalty;
  }
  if (f.mac2Unverified) row.mac2Unverified += 1;
}

/**
 * The section's rows ordered by day, route, terminal, city; `day` (YYYY-MM-DD) keeps one day.
 * TAC verdicts are as stored: run `tunionVerifyAndReport` first to verify new lines.
 * Rejects with DepotStoreError.
 */
export async function tunionSectionRows(db: DepotDb, day: string | null)
  : Promise<TunionSectionRow[]> {
  const rows = await db.query(`SELECT t.terminal_id, t.type, t.tac_state, t.duplicate,
      t.amount_minor, t.record_json,
      CASE WHEN t.type = 'tunion_grey' AND ${GREY_OPEN_FIRST('t')} THEN 1 ELSE 0 END
        AS grey_open
    FROM tunion_taps t ORDER BY t.id`);
  const groups = new Map<string, Counts>();
  for (const r of rows) {
    const f = facets(String(r['record_json']));
    if (day !== null && f.day !== day) continue;
    const terminal = String(r['terminal_id']);
    const key = JSON.stringify([f.day, f.route, terminal, f.city]);
    const row = groups.get(key) ?? emptyRow(f.day, f.route, terminal, f.city);
    groups.set(key, row);
    if (r['type'] === 'tunion_grey') {
      row.greyOpen += Number(r['grey_open']);
    } else if (Number(r['duplicate']) === 1) {
      row.duplicates += 1;
    } else {
      addClearing(row, Number(r['amount_minor']), String(r['tac_state']), f);
    }
  }
  const order = (a: Counts, b: Counts): number =>
    a.day.localeCompare(b.day) || a.routeId.localeCompare(b.routeId)
    || a.terminalId.localeCompare(b.terminalId) || a.cardCity.localeCompare(b.cardCity);
  return [...groups.values()].sort(order);
}

/** The cells of a row, in TUNION_COLUMNS order. */
export function tunionCells(r: TunionSectionRow): (string | number)[] {
  return [r.day, r.routeId, r.terminalId, r.cardCity, r.taps, r.amountMinor, r.boardings,
    r.alightings, r.flat, r.tacValid, r.tacValidMinor, r.tacFailed, r.tacFailedMinor,
    r.tacUnchecked, r.missedTapOut, r.markedMinor, r.greyOpen, r.duplicates, r.mac2Unverified];
}

/** CSV (RFC 4180, CRLF) of the section with a header line; amounts in fen. */
export function tunionCsv(rows: readonly TunionSectionRow[]): string {
  return csvTable(TUNION_COLUMNS, rows.map(tunionCells));
}
