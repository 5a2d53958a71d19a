// The tap-in / tap-out fare table of fares.json (section `transit`): lines, stops, fare bands.
//
// JT/T 978 cards pay segment fares: the boarding tap writes the interop record 001A with the
// boarding stop and a marked amount, the alighting tap computes the fare from the stops or the
// distance travelled (domain.md §7.3). The table is part of the signed parameter set; its
// parser refuses a malformed table and `fareTableCheck` one whose parts contradict each other.

import { ID_PATTERN } from '../params/field_patterns.js';
import { FieldError, JsonFields } from '../params/json_fields.js';

const FILE_FARES = 'fares.json';
const LINES_MAX = 64;
/** The 001A station field is one byte (domain.md §7.3 byte 30). */
export const STOP_NUMBER_MAX = 255;
const STOPS_MAX = 255;
const BANDS_MAX = 32;
const FARE_MINOR_MAX = 100_000_00;
/** A line longer than 1000 km is a typo. */
const DISTANCE_M_MAX = 1_000_000;
/** 001E max ride time is two bytes of minutes; a day is already generous. */
const RIDE_MIN_MAX = 24 * 60;

/** How a segment line prices a ride: by stops travelled or by metres travelled. */
export type FareBasis = 'stops' | 'distance';

/** A stop of a segment line: its number on the line (1..255) and its distance from the start. */
export interface FareStop {
  readonly stop: number;
  readonly distanceM: number;
}

/** Fare for rides up to `upTo` stops travelled (basis stops) or metres (basis distance). */
export interface FareBand {
  readonly upTo: number;
  readonly fareMinor: number;
}

/** A flat-fare line: one tap, one fare. */
export interface FlatFareLine {
  readonly kind: 'flat';
  readonly lineId: string;
  /** Line number written in the interop records (2 BCD bytes, 0..9999). */
  readonly lineCode: number;
  readonly fareMinor: number;
}

/** A segment line: tap in and tap out, the fare by stops or distance. */
export interface SegmentFareLine {
  readonly kind: 'segment';
  readonly lineId: string;
  readonly lineCode: number;
  readonly basis: FareBasis;
  /** Sorted by stop number and by distance, both strictly increasing. */
  readonly stops: readonly FareStop[];
  /** Sorted by `upTo`, strictly increasing; fares never decrease. */
  readonly bands: readonly FareBand[];
  /** Held against fare evasion: charged when the rider never taps out (逃票追缴). */
  readonly markedAmountMinor: number;
  /** An open ride older than this is a missing tap-out, not an alighting. */
  readonly maxRideMin: number;
}

export type FareLine = FlatFareLine | SegmentFareLine;

/** The `transit` section: who writes the records, and the lines. */
export interface TransitFareTable {
  /** Acquirer city code of the 001A/001E records (2 bytes, e.g. 5840), hex. */
  readonly cityCodeHex: string;
  /** Institution code (8 bytes), hex. */
  readonly institutionHex: string;
  /** Operator code (2 bytes), hex. */
  readonly operatorCodeHex: string;
  readonly lines: readonly FareLine[];
}

/** Parses the `transit` object of fares.json. Throws FieldError naming the field. */
export function transitFareTableParse(fields: JsonFields): TransitFareTable {
  fields.comment();
  const cityCodeHex = fields.hex('cityCodeHex', 2, 2);
  const institutionHex = fields.hex('institutionHex', 8, 8);
  const operatorCodeHex = fields.hex('operatorCodeHex', 2, 2);
  const lines = fields.arr('lines', LINES_MAX).map((value, i) =>
    fareLineParse(JsonFields.of(value, fields.file, `${fields.at('lines')}[${i}]`)));
  fields.finish();
  return { cityCodeHex, institutionHex, operatorCodeHex, lines };
}

function fareLineParse(line: JsonFields): FareLine {
  line.comment();
  const kind = line.choice('kind', ['flat', 'segment'] as const);
  const lineId = line.str('lineId', ID_PATTERN, 32);
  const lineCode = line.int('lineCode', 0, 9999);
  if (kind === 'flat') {
    const fareMinor = line.int('fareMinor', 0, FARE_MINOR_MAX);
    line.finish();
    return { kind, lineId, lineCode, fareMinor };
  }
  const basis = line.choice('basis', ['stops', 'distance'] as const);
  const stops = line.arr('stops', STOPS_MAX).map((value, j) => {
    const stop = JsonFields.of(value, line.file, `${line.at('stops')}[${j}]`);
    const parsed = {
      stop: stop.int('stop', 1, STOP_NUMBER_MAX),
      distanceM: stop.int('distanceM', 0, DISTANCE_M_MAX),
    };
    stop.finish();
    return parsed;
  });
  const bands = line.arr('bands', BANDS_MAX).map((value, j) => {
    const band = JsonFields.of(value, line.file, `${line.at('bands')}[${j}]`);
    const parsed = {
      upTo: band.int('upTo', 0, DISTANCE_M_MAX),
      fareMinor: band.int('fareMinor', 0, FARE_MINOR_MAX),
    };
    band.finish();
    return parsed;
  });
  const markedAmountMinor = line.int('markedAmountMinor', 0, FARE_MINOR_MAX);
  const maxRideMin = line.int('maxRideMin', 1, RIDE_MIN_MAX);
  line.finish();
  return { kind, lineId, lineCode, basis, stops, bands, markedAmountMinor, maxRideMin };
}

/** The longest ride a segment line allows, in its basis unit (stops or metres). */
export function segmentRideMax(line: SegmentFareLine): number {
  const first = line.stops[0];
  const last = line.stops[line.stops.length - 1];
  if (first === undefined || last === undefined) return 0;
  return line.basis === 'stops' ? line.stops.length - 1 : last.distanceM - first.distanceM;
}

/** The highest fare any ride on the line can cost. */
export function fareLineFareMax(line: FareLine): number {
  if (line.kind === 'flat') return line.fareMinor;
  return line.bands.reduce((max, band) => Math.max(max, band.fareMinor), 0);
}

/**
 * Throws FieldError at the first contradiction in the table (fields already parsed):
 * - two lines with the same lineId or lineCode (a record could not name its line);
 * - a segment line with fewer than two stops, stop numbers or distances not strictly
 *   increasing (the stops are in riding order; a fare must not depend on file order);
 * - bands empty, `upTo` not strictly increasing, a fare lower than the band before (a longer
 *   ride never costs less), or a last band that does not cover the longest ride;
 * - a marked amount below the highest fare of its line (the amount held against fare evasion
 *   must cover any ride) ;
 * - `transferDiscountMinor` above any fare of any line (a discount never exceeds the fare).
 */
export function fareTableCheck(table: TransitFareTable, transferDiscountMinor: number): void {
  const ids = new Map<string, number>();
  const codes = new Map<number, number>();
  table.lines.forEach((line, i) => {
    const at = `transit.lines[${i}]`;
    const idBefore = ids.get(line.lineId);
    if (idBefore !== undefined) {
      refuse(`${at}.lineId`, `${line.lineId} is also transit.lines[${idBefore}]`);
    }
    const codeBefore = codes.get(line.lineCode);
    if (codeBefore !== undefined) {
      refuse(`${at}.lineCode`, `${line.lineCode} is also transit.lines[${codeBefore}]`);
    }
    ids.set(line.lineId, i);
    codes.set(line.lineCode, i);
    if (line.kind === 'segment') segmentLineCheck(line, at);
    discountCheck(line, at, transferDiscountMinor);
  });
}

function refuse(field: string, reason: string): never {
  throw new FieldError(FILE_FARES, field, reason);
}

function segmentLineCheck(line: SegmentFareLine, at: string): void {
  if (line.stops.length < 2) refuse(`${at}.stops`, 'a segment line needs at least two stops');
  for (let j = 1; j < line.stops.length; j += 1) {
    const [before, stop] = [line.stops[j - 1], line.stops[j]];
    if (before === undefined || stop === undefined) continue;
    if (stop.stop <= before.stop) {
      refuse(`${at}.stops[${j}].stop`, `${stop.stop} does not follow stop ${before.stop}`);
    }
    if (stop.distanceM <= before.distanceM) {
      refuse(`${at}.stops[${j}].distanceM`,
        `${stop.distanceM} is not beyond stop ${before.stop} at ${before.distanceM} m`);
    }
  }
  if (line.bands.length === 0) refuse(`${at}.bands`, 'a segment line needs at least one band');
  for (let j = 1; j < line.bands.length; j += 1) {
    const [before, band] = [line.bands[j - 1], line.bands[j]];
    if (before === undefined || band === undefined) continue;
    if (band.upTo <= before.upTo) {
      refuse(`${at}.bands[${j}].upTo`, `${band.upTo} is not above ${before.upTo}`);
    }
    if (band.fareMinor < before.fareMinor) {
      refuse(`${at}.bands[${j}].fareMinor`,
        `${band.fareMinor} is below the shorter band's ${before.fareMinor}`);
    }
  }
  const rideMax = segmentRideMax(line);
  const lastBand = line.bands[line.bands.length - 1];
  if (lastBand !== undefined && lastBand.upTo < rideMax) {
    const unit = line.basis === 'stops' ? 'stops' : 'm';
    refuse(`${at}.bands[${line.bands.length - 1}].upTo`,
      `${lastBand.upTo} does not cover the longest ride of ${rideMax} ${unit}`);
  }
  const fareMax = fareLineFareMax(line);
  if (line.markedAmountMinor < fareMax) {
    refuse(`${at}.markedAmountMinor`,
      `${line.markedAmountMinor} is below the line's highest fare ${fareMax}`);
  }
}

function discountCheck(line: FareLine, at: string, discountMinor: number): void {
  const fares: [string, number][] = line.kind === 'flat'
    ? [[`${at}.fareMinor`, line.fareMinor]]
    : line.bands.map(
      (band, j): [string, number] => [`${at}.bands[${j}].fareMinor`, band.fareMinor]);
  for (const [field, fare] of fares) {
    if (discountMinor > fare) {
      refuse('transfer.discountMinor', `${discountMinor} exceeds the fare ${field} = ${fare}`);
    }
  }
}
