// Tap-in / tap-out fares of JT/T 978 cards: what one tap means, what it costs, what it writes.
//
// Pure: the card's 001A record, the fare table, the terminal's line and stop and the time go
// in; the decision and the new 001A record come out. The kernel writes the record in the
// compound purchase (UPDATE CAPP DATA CACHE, then DEBIT; domain.md §7.4), so a tap that costs
// nothing still commits its record with a zero-amount purchase.
//
// Rules (domain.md §7.3, and the city practice it reconstructs):
// - boarding a segment line writes state boarded, the stop, the time and the marked amount.
//   nothing is charged then (an e-purse cannot refund offline, so the fare is taken at the end),
//   but the balance must cover the line's lowest fare (起步价): a card that cannot pay the
//   shortest ride is refused at the door, not let ride to be refused at the exit.
// - alighting on the same line within its maximum ride time charges the band fare of the stops
//   or distance travelled and writes state alighted.
// - an open ride that cannot be closed here (another line, direction or vehicle, older than
//   the maximum ride time, an unknown boarding stop) is a missing tap-out: its marked amount is
//   charged (补票) with this tap, which then boards or pays as usual.
// - a ride boarded within the transfer window after a completed ride on another line is a
//   transfer: its fare is reduced by the discount, once per journey.
// - a flat-fare line takes one tap: it charges the flat fare and writes a completed ride.
// - the same card again at the same place within the duplicate-tap window, or on the same bus
//   within seconds (SAME_BUS_REPEAT_MS), changes nothing.

import assert from 'node:assert';

import type { FareParams } from '../params/params_files.js';
import { STOP_NUMBER_MAX, segmentRideMax } from './fare_table.js';
import type { FareLine, SegmentFareLine, TransitFareTable } from './fare_table.js';
import { record1AVehicle, type Record1A, type RideEnd } from './jtt978_records.js';
import { jtt978DateTimeDigits, jtt978DateTimeParse } from './jtt978_time.js';

/** Where and when the tap happens, and who writes it. */
export interface TransitTapPlace {
  /** terminal.json lineId: looked up in the fare table. */
  readonly lineId: string;
  /** The bus's current stop (from its route position); 0 when unknown. */
  readonly stop: number;
  readonly vehicle: string;
  /** The PSAM terminal number as hex (6 bytes, 12 digits). */
  readonly terminalHex: string;
  /** 16 digits: the tap's transaction serial, written into 001A bytes 7..14. */
  readonly serialDigits: string;
  /** 0 up, 1 down. */
  readonly direction: number;
  readonly nowWallMs: number;
  readonly utcOffsetMinutes: number;
}

/** What the tap is. */
export type TransitTapKind = 'boarding' | 'alighting' | 'flat';

/** Why a tap is not accepted, without charging. */
export type TransitRefusal =
  /** The same card again at the same place within the duplicate-tap window: nothing changes. */
  | 'alreadyTapped'
  /** A segment line, but the bus does not know where it is (stop 0 or not on the line). */
  | 'stopUnknown'
  /** The card's 001A record does not decode: the card needs the service desk. */
  | 'recordUnreadable'
  /** Boarding a segment line with a balance below its lowest fare (plus any 补票 due). */
  | 'balanceBelowFare';

/** The decision of one tap. */
export type TransitDecision =
  | {
    readonly kind: 'charge';
    readonly tap: TransitTapKind;
    /** Debited by this tap: `fareMinor - discountMinor + penaltyMinor`. */
    readonly amountMinor: number;
    readonly fareMinor: number;
    readonly discountMinor: number;
    /** The marked amount of a ride never tapped out (0 when none). */
    readonly penaltyMinor: number;
    /** For alighting: stops or metres travelled (per the line's basis); else 0. */
    readonly travelled: number;
    /** The 001A record this tap writes. */
    readonly record: Record1A;
  }
  | { readonly kind: 'refuse'; readonly reason: TransitRefusal; readonly detail: string };

/** The line of `lineId`, or a flat line at the set's flat fare when the table has none. */
export function transitLineFor(fares: FareParams, lineId: string): FareLine {
  const line = fares.transit?.lines.find((l) => l.lineId === lineId);
  return line ?? { kind: 'flat', lineId, lineCode: 0, fareMinor: fares.flatFareMinor };
}

/**
 * Decides one tap of a JT/T 978 card. `previous` is the card's 001A record as read (null when
 * the card has none yet), or the decoder's refusal reason as a string; `balanceMinor` the
 * balance read at this tap (null: not to be trusted, as on a torn tap's recovery). Returns a
 * charge with the record to write, or a refusal (listed in TransitRefusal).
 */
export function transitTapDecide(
  fares: FareParams,
  place: TransitTapPlace,
  previous: Record1A | string | null,
  balanceMinor: number | null = null,
): TransitDecision {
  if (typeof previous === 'string') {
    return { kind: 'refuse', reason: 'recordUnreadable', detail: previous };
  }
  assert(Number.isInteger(place.stop) && place.stop >= 0 && place.stop <= STOP_NUMBER_MAX, 'stop');
  assert(/^[0-9]{16}$/.test(place.serialDigits), 'serialDigits');
  const line = transitLineFor(fares, place.lineId);
  const table = fares.transit ?? null;
  const nowDigits = jtt978DateTimeDigits(place.nowWallMs, place.utcOffsetMinutes);
  const here = rideEndHere(table, line, place, nowDigits);
  const open = previous !== null && previous.state === 'boarded' ? previous : null;
  const sinceMs = previous === null ? null : sinceLastTapMs(previous, place);
  if (previous !== null && sinceMs !== null && sinceMs >= 0
    && sinceMs < fares.duplicateTapWindowSec * 1000 && sameEnd(lastEnd(previous), here)) {
    return { kind: 'refuse', reason: 'alreadyTapped', detail: 'tapped here moments ago' };
  }
  if (previous !== null && sinceMs !== null && sinceMs >= 0 && sinceMs < SAME_BUS_REPEAT_MS
    && sameBus(previous, here, place)) {
    return { kind: 'refuse', reason: 'alreadyTapped', detail: 'tapped on this bus moments ago' };
  }
  if (line.kind === 'segment' && stopIndex(line, place.stop) < 0) {
    return { kind: 'refuse', reason: 'stopUnknown', detail: `stop ${place.stop}` };
  }
  if (open !== null && line.kind === 'segment' && closable(table, line, open, place)) {
    return alight(fares, line, open, here, place);
  }
  const penaltyMinor = open === null ? 0 : open.markedAmountMinor;
  const transfer = open === null && previous !== null && isTransfer(fares, previous, place);
  const discountMinor = transfer ? fares.transfer.discountMinor : 0;
  if (line.kind === 'flat') {
    const paidMinor = Math.max(0, line.fareMinor - discountMinor);
    const record = rideRecord(place, here, 'alighted', {
      markedAmountMinor: 0, alighting: here, amountMinor: paidMinor, distance100m: 0, transfer,
    });
    return charge('flat', paidMinor + penaltyMinor, line.fareMinor, line.fareMinor - paidMinor,
      penaltyMinor, 0, record);
  }
  const lowestMinor = Math.max(0, lowestFare(line) - discountMinor);
  if (balanceMinor !== null && balanceMinor < penaltyMinor + lowestMinor) {
    return { kind: 'refuse', reason: 'balanceBelowFare', detail: `balance ${balanceMinor} below `
      + `${penaltyMinor + lowestMinor} (lowest fare ${lowestMinor}, 补票 ${penaltyMinor})` };
  }
  const record = rideRecord(place, here, 'boarded', {
    markedAmountMinor: line.markedAmountMinor, alighting: null, amountMinor: 0,
    distance100m: 0, transfer,
  });
  return charge('boarding', penaltyMinor, 0, 0, penaltyMinor, 0, record);
}

function charge(
  tap: TransitTapKind, amountMinor: number, fareMinor: number, discountMinor: number,
  penaltyMinor: number, travelled: number, record: Record1A,
): TransitDecision {
  return {
    kind: 'charge', tap, amountMinor, fareMinor, discountMinor, penaltyMinor, travelled, record,
  };
}

function rideEndHere(
  table: TransitFareTable | null, line: FareLine, place: TransitTapPlace, nowDigits: string,
): RideEnd {
  return {
    cityCodeHex: table?.cityCodeHex ?? '0000',
    institutionHex: table?.institutionHex ?? '0000000000000000',
    operatorCodeHex: table?.operatorCodeHex ?? '0000',
    lineCode: line.lineCode,
    stop: place.stop,
    vehicle: place.vehicle,
    terminalHex: place.terminalHex.padStart(16, '0'),
    dateTimeDigits: nowDigits,
  };
}

function rideRecord(
  place: TransitTapPlace, boarding: RideEnd, state: 'boarded' | 'alighted',
  rest: Pick<Record1A, 'markedAmountMinor' | 'alighting' | 'amountMinor' | 'distance100m'
    | 'transfer'>,
): Record1A {
  return {
    state, serialDigits: place.serialDigits, locked: false, boarding,
    direction: place.direction, ...rest,
  };
}

/** The place of the record's last tap: its alighting when it has one, else its boarding. */
function lastEnd(record: Record1A): RideEnd {
  return record.alighting ?? record.boarding;
}

function sameEnd(a: RideEnd, b: RideEnd): boolean {
  return a.cityCodeHex === b.cityCodeHex && a.operatorCodeHex === b.operatorCodeHex
    && a.lineCode === b.lineCode && a.stop === b.stop;
}

/**
 * A second tap of the same card on the same bus this soon is the same tap, however far the
 * stop file moved meanwhile: a rider tapping twice as the bus left a stop was charged a
 * one-stop ride and left with a phantom open one (a 5.00 补票 later). Shorter than any ride
 * between two stops; the duplicate-tap window (by stop) still covers the rest.
 */
export const SAME_BUS_REPEAT_MS = 10_000;

/** The record's last tap was on this bus: line, operator, city, direction, known vehicle. */
function sameBus(record: Record1A, here: RideEnd, place: TransitTapPlace): boolean {
  const last = lastEnd(record);
  return last.vehicle !== '' && last.vehicle === record1AVehicle(here.vehicle)
    && record.direction === place.direction && last.cityCodeHex === here.cityCodeHex
    && last.operatorCodeHex === here.operatorCodeHex && last.lineCode === here.lineCode;
}

/** Ms since the record's last tap; null when its time does not decode. */
function sinceLastTapMs(record: Record1A, place: TransitTapPlace): number | null {
  const at = jtt978DateTimeParse(
    Uint8Array.from(Buffer.from(lastEnd(record).dateTimeDigits, 'hex')), place.utcOffsetMinutes);
  return at === null ? null : place.nowWallMs - at;
}

function stopIndex(line: SegmentFareLine, stop: number): number {
  return line.stops.findIndex((s) => s.stop === stop);
}

/**
 * An open ride closes here when it was boarded on this line of this operator and city, in this
 * direction and on this vehicle (when both taps know it: a boarding on the return trip or on
 * another bus of the line is a new ride, the forgotten one a missing tap-out), at a stop the
 * table knows, no longer ago than the maximum ride time (a boarding time in the future, a
 * clock set wrong somewhere, does not prevent closing: the fare is by stops).
 */
function closable(
  table: TransitFareTable | null, line: SegmentFareLine, open: Record1A, place: TransitTapPlace,
): boolean {
  const b = open.boarding;
  if (table === null || b.cityCodeHex !== table.cityCodeHex
    || b.operatorCodeHex !== table.operatorCodeHex || b.lineCode !== line.lineCode) return false;
  if (open.direction !== place.direction) return false;
  const vehicle = record1AVehicle(place.vehicle);
  if (b.vehicle !== '' && vehicle !== '' && b.vehicle !== vehicle) return false;
  if (stopIndex(line, b.stop) < 0) return false;
  const sinceMs = sinceLastTapMs(open, place);
  return sinceMs === null ? false : sinceMs <= line.maxRideMin * 60_000;
}

function alight(
  fares: FareParams, line: SegmentFareLine, open: Record1A, here: RideEnd, place: TransitTapPlace,
): TransitDecision {
  const from = line.stops[stopIndex(line, open.boarding.stop)];
  const to = line.stops[stopIndex(line, here.stop)];
  if (from === undefined || to === undefined) throw new Error('alight: stops checked before');
  const travelled = line.basis === 'stops'
    ? Math.abs(stopIndex(line, here.stop) - stopIndex(line, open.boarding.stop))
    : Math.abs(to.distanceM - from.distanceM);
  const fareMinor = bandFare(line, travelled);
  const discountMinor = open.transfer ? Math.min(fareMinor, fares.transfer.discountMinor) : 0;
  const distance100m = Math.min(0xffff, Math.round(Math.abs(to.distanceM - from.distanceM) / 100));
  const record: Record1A = {
    ...open, state: 'alighted', serialDigits: place.serialDigits, alighting: here,
    amountMinor: fareMinor - discountMinor, distance100m,
  };
  return charge('alighting', fareMinor - discountMinor, fareMinor, discountMinor, 0, travelled,
    record);
}

/** The fare of the shortest ride of a segment line (起步价): its cheapest band. */
function lowestFare(line: SegmentFareLine): number {
  return line.bands.reduce((low, band) => Math.min(low, band.fareMinor), Number.POSITIVE_INFINITY);
}

/** The fare of the first band covering `travelled`; the table check makes the last cover all. */
export function bandFare(line: SegmentFareLine, travelled: number): number {
  const band = line.bands.find((b) => travelled <= b.upTo) ?? line.bands[line.bands.length - 1];
  if (band === undefined || travelled > segmentRideMax(line)) {
    throw new Error(`bandFare: ${travelled} beyond line ${line.lineId}`);
  }
  return band.fareMinor;
}

/**
 * A transfer: the previous ride was completed on another line (or another operator), its last
 * tap within the transfer window, and it was not itself a transfer (one discount per journey).
 */
function isTransfer(fares: FareParams, previous: Record1A, place: TransitTapPlace): boolean {
  if (previous.state !== 'alighted' || previous.transfer) return false;
  const line = transitLineFor(fares, place.lineId);
  const last = lastEnd(previous);
  if (last.lineCode === line.lineCode
    && last.operatorCodeHex === (fares.transit?.operatorCodeHex ?? '0000')) return false;
  const sinceMs = sinceLastTapMs(previous, place);
  return sinceMs !== null && sinceMs >= 0 && sinceMs < fares.transfer.windowSec * 1000;
}
