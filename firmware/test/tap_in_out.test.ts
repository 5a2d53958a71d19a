// Tap-in / tap-out fares of JT/T 978 cards: every rule with its twin, amounts worked out by
// hand from the fixture's table (tests/jtt978_fixtures.ts), and a seeded walk of 10^4 rides
// checked against a second, deliberately naive fare model written here.

import { describe, expect, it } from 'vitest';

import { record1ADecode, record1AEncode } from '../src/app/fare/jtt978_records.js';
import type { Record1A } from '../src/app/fare/jtt978_records.js';
import { transitTapDecide } from '../src/app/fare/tap_in_out.js';
import type { TransitDecision, TransitTapPlace } from '../src/app/fare/tap_in_out.js';
import { faresOf, prngFromSeed, transitFaresJson } from './jtt978_fixtures.js';

const FARES = faresOf(transitFaresJson());
const T0 = Date.UTC(2026, 11, 3, 0, 30, 0);
const MIN = 60_000;

function at(lineId: string, stop: number, minutes: number, serial = 1): TransitTapPlace {
  return {
    lineId, stop, vehicle: 'SU-E1234', terminalHex: '112233445566',
    serialDigits: serial.toString().padStart(16, '0'), direction: 0,
    nowWallMs: T0 + minutes * MIN, utcOffsetMinutes: 480,
  };
}

function charged(decision: TransitDecision): Extract<TransitDecision, { kind: 'charge' }> {
  if (decision.kind !== 'charge') throw new Error(`refused: ${decision.reason}`);
  // What the card stores is what the next tap reads: go through the bytes every time.
  const decoded = record1ADecode(record1AEncode(decision.record));
  expect(decoded).toEqual({ ok: true, value: decision.record });
  return decision;
}

/** Taps in order, each reading the record the one before wrote; returns every decision. */
function ride(...places: TransitTapPlace[]): TransitDecision[] {
  let record: Record1A | null = null;
  return places.map((place) => {
    const decision = transitTapDecide(FARES, place, record);
    if (decision.kind === 'charge') record = charged(decision).record;
    return decision;
  });
}

function amounts(decisions: readonly TransitDecision[]): (number | string)[] {
  return decisions.map((d) => (d.kind === 'charge' ? d.amountMinor : d.reason));
}

describe('boarding and alighting', () => {
  it('boarding a segment line charges nothing and writes the boarding', () => {
    const d = charged(transitTapDecide(FARES, at('B12', 3, 0), null));
    expect([d.tap, d.amountMinor, d.record.state, d.record.boarding.stop]).toEqual(
      ['boarding', 0, 'boarded', 3]);
    expect(d.record.markedAmountMinor).toBe(400);
    expect(d.record.boarding.lineCode).toBe(12);
    expect(d.record.boarding.dateTimeDigits).toBe('20261203083000');
    expect(d.record.boarding.terminalHex).toBe('0000112233445566');
    expect(d.record.alighting).toBeNull();
  });

  it('boarding needs the balance to cover the line\'s lowest fare (起步价)', () => {
    // B12's bands start at 2.00: a card holding 1.99 could not pay the shortest ride.
    expect(transitTapDecide(FARES, at('B12', 3, 0), null, 199)).toMatchObject(
      { kind: 'refuse', reason: 'balanceBelowFare' });
    expect(charged(transitTapDecide(FARES, at('B12', 3, 0), null, 200)).tap).toBe('boarding');
    // A balance not to be trusted (a torn tap's recovery) is not checked.
    expect(charged(transitTapDecide(FARES, at('B12', 3, 0), null, null)).tap).toBe('boarding');
  });

  it('twin: a 补票 due counts; a transfer lowers the need; alighting is the card\'s to refuse',
    () => {
      const [boarded] = ride(at('B12', 3, 0));
      const open = charged(boarded as TransitDecision).record;
      // K7 boarding with B12's ride still open: 4.00 补票 + K7's 2.00.
      expect(transitTapDecide(FARES, at('K7', 1, 200), open, 599)).toMatchObject(
        { kind: 'refuse', reason: 'balanceBelowFare' });
      expect(charged(transitTapDecide(FARES, at('K7', 1, 200), open, 600)).penaltyMinor)
        .toBe(400);
      // Alighting: the fare is the card's DEBIT to refuse (9401), as before.
      expect(charged(transitTapDecide(FARES, at('B12', 8, 30), open, 0)).tap).toBe('alighting');
      // A transfer within the window: 2.00 - 1.00 is what boarding K7 needs.
      const [, alighted] = ride(at('B12', 3, 0), at('B12', 8, 30));
      const done = charged(alighted as TransitDecision).record;
      expect(transitTapDecide(FARES, at('K7', 1, 40), done, 99)).toMatchObject(
        { kind: 'refuse', reason: 'balanceBelowFare' });
      expect(charged(transitTapDecide(FARES, at('K7', 1, 40), done, 100)).discountMinor)
        .toBe(0);
    });

  it('twin: a flat line charges its fare at the one tap and writes a completed ride', () => {
    const d = charged(transitTapDecide(FARES, at('F1', 0, 0), null));
    expect([d.tap, d.amountMinor, d.record.state, d.record.amountMinor]).toEqual(
      ['flat', 150, 'alighted', 150]);
  });

  it.each([
    [3, 8, 300, 5], [3, 6, 200, 3], [3, 7, 300, 4], [3, 9, 300, 6], [3, 10, 400, 7],
    [8, 3, 300, 5], [1, 10, 400, 9], [5, 5, 200, 0],
  ])('by stops: %i -> %i costs %i (%i stops)', (from, to, fare, stops) => {
    const [, out] = ride(at('B12', from, 0), at('B12', to, 30));
    const d = charged(out as TransitDecision);
    expect([d.tap, d.amountMinor, d.fareMinor, d.travelled]).toEqual(
      ['alighting', fare, fare, stops]);
    expect(d.record.state).toBe('alighted');
    expect(d.record.amountMinor).toBe(fare);
    expect(d.record.boarding.stop).toBe(from);
    expect(d.record.alighting?.stop).toBe(to);
    expect(d.record.distance100m).toBe(Math.abs(to - from) * 8);
  });

  it.each([
    [1, 2, 200, 4000], [1, 3, 300, 9500], [2, 5, 600, 17000], [3, 2, 300, 5500],
    [2, 3, 300, 5500],
  ])('by distance: %i -> %i costs %i (%i m)', (from, to, fare, metres) => {
    const [, out] = ride(at('K7', from, 0), at('K7', to, 30));
    const d = charged(out as TransitDecision);
    expect([d.amountMinor, d.travelled, d.record.distance100m]).toEqual(
      [fare, metres, metres / 100]);
  });

  it('the alighting record keeps the boarding end and the new serial', () => {
    const [, out] = ride(at('B12', 2, 0, 7), at('B12', 4, 20, 8));
    const d = charged(out as TransitDecision);
    expect(d.record.serialDigits).toBe('0000000000000008');
    expect(d.record.boarding.dateTimeDigits).toBe('20261203083000');
    expect(d.record.alighting?.dateTimeDigits).toBe('20261203085000');
  });
});

describe('missing tap-out', () => {
  it('boarding another line charges the open ride\'s marked amount with the new boarding', () => {
    const decisions = ride(at('B12', 3, 0), at('K7', 1, 30));
    expect(amounts(decisions)).toEqual([0, 400]);
    const d = charged(decisions[1] as TransitDecision);
    expect([d.tap, d.penaltyMinor, d.record.state, d.record.markedAmountMinor]).toEqual(
      ['boarding', 400, 'boarded', 800]);
  });

  it('a flat line adds its fare to the penalty, and no transfer discount applies', () => {
    expect(amounts(ride(at('B12', 3, 0), at('F1', 0, 10)))).toEqual([0, 550]);
  });

  it('the same line after the maximum ride time: penalty and a new boarding', () => {
    const late = ride(at('B12', 3, 0), at('B12', 8, 121));
    expect(amounts(late)).toEqual([0, 400]);
    expect((late[1] as { tap: string }).tap).toBe('boarding');
  });

  it('twin: the same line at the maximum ride time alights normally', () => {
    expect(amounts(ride(at('B12', 3, 0), at('B12', 8, 120)))).toEqual([0, 300]);
  });

  it('an open ride of another city or operator is not closed here', () => {
    const first = charged(transitTapDecide(FARES, at('B12', 3, 0), null)).record;
    const elsewhere: Record1A = { ...first, boarding: { ...first.boarding, cityCodeHex: '1000',
      markedAmountMinor: 0 } as Record1A['boarding'], markedAmountMinor: 650 };
    const d = charged(transitTapDecide(FARES, at('B12', 8, 10), elsewhere));
    expect([d.tap, d.amountMinor]).toEqual(['boarding', 650]);
  });

  it('an open ride boarded at a stop the table lacks is charged its marked amount', () => {
    const first = charged(transitTapDecide(FARES, at('B12', 3, 0), null)).record;
    const unknown: Record1A = { ...first, boarding: { ...first.boarding, stop: 42 } };
    expect(amounts([transitTapDecide(FARES, at('B12', 8, 10), unknown)])).toEqual([400]);
  });
});

describe('transfers', () => {
  it('a ride boarded within the window on another line is discounted at alighting', () => {
    const decisions = ride(at('B12', 3, 0), at('B12', 8, 30), at('K7', 1, 60), at('K7', 3, 80));
    expect(amounts(decisions)).toEqual([0, 300, 0, 200]);
    const out = charged(decisions[3] as TransitDecision);
    expect([out.fareMinor, out.discountMinor, out.record.transfer]).toEqual([300, 100, true]);
  });

  it('twin: boarded after the window, no discount', () => {
    const decisions = ride(at('B12', 3, 0), at('B12', 8, 30), at('K7', 1, 120), at('K7', 3, 130));
    expect(amounts(decisions)).toEqual([0, 300, 0, 300]);
  });

  it('twin: the same line again is not a transfer', () => {
    expect(amounts(ride(at('B12', 3, 0), at('B12', 8, 30), at('B12', 8, 40), at('B12', 3, 50))))
      .toEqual([0, 300, 0, 300]);
  });

  it('one discount per journey: a transfer ride does not open another', () => {
    const decisions = ride(at('B12', 3, 0), at('B12', 8, 30), at('K7', 1, 40), at('K7', 2, 50),
      at('F1', 0, 60));
    expect(amounts(decisions)).toEqual([0, 300, 0, 100, 150]);
  });

  it('a flat line within the window takes its discount at once', () => {
    expect(amounts(ride(at('B12', 3, 0), at('B12', 8, 30), at('F1', 0, 45)))).toEqual(
      [0, 300, 50]);
  });
});

describe('refusals and guards', () => {
  it('the same card again at the same stop within the window changes nothing', () => {
    expect(amounts(ride(at('B12', 3, 0), at('B12', 3, 0.5)))).toEqual([0, 'alreadyTapped']);
    expect(amounts(ride(at('F1', 0, 0), at('F1', 0, 0.9)))).toEqual([150, 'alreadyTapped']);
  });

  it('the same card again on the same bus within seconds, the stop moved on: nothing', () => {
    // Tapped twice as the stop file advanced (3 -> 4, 6 s apart): it was a one-stop alighting
    // (2.00), and the real tap-out at 8 a phantom boarding, a 5.00 补票 at the next ride.
    expect(amounts(ride(at('B12', 3, 0), at('B12', 4, 0.1), at('B12', 8, 20)))).toEqual(
      [0, 'alreadyTapped', 300]);
    expect(amounts(ride(at('B12', 3, 0), at('B12', 8, 20), at('B12', 9, 20.1)))).toEqual(
      [0, 300, 'alreadyTapped']);
    // Twins: after the 10 s a short ride is a ride; another bus of the line is no repeat; a
    // vehicle unknown to the taps falls back on the stop.
    expect(amounts(ride(at('B12', 3, 0), at('B12', 4, 0.2)))).toEqual([0, 200]);
    expect(amounts(ride(at('B12', 3, 0), { ...at('B12', 4, 0.1), vehicle: 'SU-E9999' })))
      .toEqual([0, 400]);
    const unknown = (stop: number, minutes: number): TransitTapPlace =>
      ({ ...at('B12', stop, minutes), vehicle: '' });
    expect(amounts(ride(unknown(3, 0), unknown(4, 0.1)))).toEqual([0, 200]);
  });

  it('a boarding on the return trip or on another bus is a new ride, the open one a 补票', () => {
    // The ride boarded at 3 (direction 0, SU-E1234) was never tapped out.
    const back = { ...at('B12', 5, 30), direction: 1 };
    const bus = { ...at('B12', 5, 30), vehicle: 'OTHERBUS' };
    for (const second of [back, bus]) {
      const [first, boarded, alighted] = ride(at('B12', 3, 0), second,
        { ...second, stop: 10, nowWallMs: second.nowWallMs + 20 * MIN, serialDigits: '0000000000000009' });
      expect([first, boarded, alighted].map((d) => d?.kind === 'charge' ? [d.tap, d.amountMinor]
        : d?.reason)).toEqual([['boarding', 0], ['boarding', 400], ['alighting', 300]]);
    }
    // Twin: the same bus and direction closes it (vehicle unknown to the tap: closes too).
    expect(amounts(ride(at('B12', 3, 0), at('B12', 5, 30)))).toEqual([0, 200]);
    expect(amounts(ride(at('B12', 3, 0), { ...at('B12', 5, 30), vehicle: '' }))).toEqual([0, 200]);
  });

  it('twin: after the window the same stop alights at the first band', () => {
    expect(amounts(ride(at('B12', 3, 0), at('B12', 3, 1.01)))).toEqual([0, 200]);
    expect(amounts(ride(at('F1', 0, 0), at('F1', 0, 1.01)))).toEqual([150, 150]);
  });

  it('a segment line whose bus does not know its stop refuses without charging', () => {
    expect(amounts(ride(at('B12', 0, 0)))).toEqual(['stopUnknown']);
    expect(amounts(ride(at('B12', 11, 0)))).toEqual(['stopUnknown']);
    expect(amounts(ride(at('F1', 0, 0)))).toEqual([150]);
  });

  it('an unreadable record is refused with its reason', () => {
    const d = transitTapDecide(FARES, at('B12', 3, 0), 'state byte 9 unknown');
    expect(d).toEqual({ kind: 'refuse', reason: 'recordUnreadable',
      detail: 'state byte 9 unknown' });
  });

  it('a line missing from the table is a flat line at the set\'s flat fare', () => {
    expect(amounts(ride(at('NIGHT3', 0, 0)))).toEqual([200]);
  });
});

describe('a seeded walk of 10^4 taps against a naive model', () => {
  it('charges what the model charges, tap by tap', () => {
    const seed = Number(process.env['SHUAKA_SEED'] ?? 12);
    const next = prngFromSeed(seed);
    const pick = (n: number): number => Math.floor(next() * n);
    let record: Record1A | null = null;
    let model: NaiveState = { open: null, lastLine: null, lastMin: -1e9, transfer: false };
    let minutes = 0;
    for (let i = 0; i < 10_000; i += 1) {
      minutes += 2 + pick(150);
      const lineId = ['B12', 'K7', 'F1'][pick(3)] ?? 'F1';
      const stop = lineId === 'B12' ? 1 + pick(10) : lineId === 'K7' ? [1, 2, 3, 5][pick(4)] ?? 1 : 0;
      const decision = transitTapDecide(FARES, at(lineId, stop, minutes, i), record);
      const expected = naiveFare(model, lineId, stop, minutes);
      expect(decision.kind === 'charge' ? decision.amountMinor : -1, `seed ${seed} tap ${i}`)
        .toBe(expected.amountMinor);
      model = expected.state;
      if (decision.kind === 'charge') record = decision.record;
    }
  });
});

interface NaiveState {
  open: { line: string; stop: number; min: number; transfer: boolean } | null;
  lastLine: string | null;
  lastMin: number;
  transfer: boolean;
}

/** The fixture's rules restated directly, with its numbers (no shared code). */
function naiveFare(
  s: NaiveState, line: string, stop: number, min: number,
): { amountMinor: number; state: NaiveState } {
  const k7 = new Map([[1, 0], [2, 4000], [3, 9500], [5, 21000]]);
  const b12 = (n: number): number => (n <= 3 ? 200 : n <= 6 ? 300 : 400);
  const k7Fare = (m: number): number => (m <= 5000 ? 200 : m <= 10000 ? 300 : 600);
  if (s.open !== null && s.open.line === line && min - s.open.min <= 120 * (line === 'K7' ? 1.5 : 1)) {
    const fare = line === 'B12' ? b12(Math.abs(stop - s.open.stop))
      : k7Fare(Math.abs((k7.get(stop) ?? 0) - (k7.get(s.open.stop) ?? 0)));
    const paid = s.open.transfer ? fare - 100 : fare;
    return { amountMinor: paid,
      state: { open: null, lastLine: line, lastMin: min, transfer: s.open.transfer } };
  }
  const penalty = s.open === null ? 0 : s.open.line === 'B12' ? 400 : 800;
  const transfer = s.open === null && s.lastLine !== null && s.lastLine !== line
    && min - s.lastMin < 90 && !s.transfer;
  if (line === 'F1') {
    return { amountMinor: penalty + (transfer ? 50 : 150),
      state: { open: null, lastLine: line, lastMin: min, transfer } };
  }
  return { amountMinor: penalty,
    state: { open: { line, stop, min, transfer }, lastLine: line, lastMin: min, transfer } };
}
