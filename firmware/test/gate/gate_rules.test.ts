// Gate admission rules, each with its failing twin: expired ticket, wrong slot, full day,
// full slot, passback, re-entry, closed hours, no sale at the gate, a paid entry not used.

import { describe, expect, it } from 'vitest';

import type { GateRecord } from '../../src/app/gate/gate_ledger.js';
import { gateDecideEntry, GateTicketBook } from '../../src/app/gate/gate_rules.js';
import { GateDay } from '../../src/app/gate/gate_state.js';
import { gateParams, ticket, TOKEN_A, TOKEN_B, TOKEN_C } from './gate_fixtures.js';

const TODAY = '2026-12-03';
const at = (hh: number, mm = 0): { date: string; minute: number } =>
  ({ date: TODAY, minute: hh * 60 + mm });

function entry(cardToken: string, via: 'ticket' | 'paid', slotId = 'am'): GateRecord {
  return { kind: 'entry', date: TODAY, minute: 600, cardToken, via, slotId, ticketId: null };
}

describe('tickets bound to a card', () => {
  const book = new GateTicketBook(gateParams([ticket({ persons: 3 })]));

  it('todaysTicket_inItsSlot_admitsTheWholeParty', () => {
    const d = gateDecideEntry(book, new GateDay(TODAY), TOKEN_A, at(9));
    expect(d).toMatchObject({ kind: 'ticket', persons: 3 });
  });

  it('ticketOfYesterday_isExpired', () => {
    const d = gateDecideEntry(book, new GateDay('2026-12-04'), TOKEN_A,
      { date: '2026-12-04', minute: 600 });
    expect(d).toEqual({ kind: 'refuse', reason: 'ticket-expired', placesLeft: null });
  });

  it('ticketOfTomorrow_isNotYetValid', () => {
    const d = gateDecideEntry(book, new GateDay('2026-12-02'), TOKEN_A,
      { date: '2026-12-02', minute: 600 });
    expect(d).toMatchObject({ reason: 'ticket-not-yet' });
  });

  it('morningTicket_inTheAfternoon_isWrongSlot_butWithinGraceBeforeStartIsAdmitted', () => {
    expect(gateDecideEntry(book, new GateDay(TODAY), TOKEN_A, at(13)))
      .toMatchObject({ reason: 'wrong-slot' });
    expect(gateDecideEntry(book, new GateDay(TODAY), TOKEN_A, at(7, 29)))
      .toMatchObject({ reason: 'wrong-slot' });
    expect(gateDecideEntry(book, new GateDay(TODAY), TOKEN_A, at(7, 30)))
      .toMatchObject({ kind: 'ticket' });
  });

  it('partPassed_theRestComeLater_thenPassback', () => {
    const day = new GateDay(TODAY);
    day.apply(entry(TOKEN_A, 'ticket'));
    expect(gateDecideEntry(book, day, TOKEN_A, at(10))).toMatchObject({ persons: 2 });
    day.apply(entry(TOKEN_A, 'ticket'));
    day.apply(entry(TOKEN_A, 'ticket'));
    expect(gateDecideEntry(book, day, TOKEN_A, at(10))).toMatchObject({ reason: 'passback' });
    // Leaving does not help a ticket without re-entry.
    day.apply({ kind: 'exit', date: TODAY, minute: 700, cardToken: TOKEN_A });
    expect(gateDecideEntry(book, day, TOKEN_A, at(11))).toMatchObject({ reason: 'passback' });
  });

  it('reentryTicket_admitsThoseWhoWentOut_only', () => {
    const reentry = new GateTicketBook(gateParams([ticket({ persons: 2, reentry: true })]));
    const day = new GateDay(TODAY);
    day.apply(entry(TOKEN_A, 'ticket'));
    day.apply(entry(TOKEN_A, 'ticket'));
    expect(gateDecideEntry(reentry, day, TOKEN_A, at(10))).toMatchObject({ reason: 'passback' });
    day.apply({ kind: 'exit', date: TODAY, minute: 700, cardToken: TOKEN_A });
    expect(gateDecideEntry(reentry, day, TOKEN_A, at(11))).toMatchObject({
      kind: 'ticket', persons: 1,
    });
  });

  it('ticketHolder_isAdmittedEvenWhenTheSaleIsFull', () => {
    const full = new GateTicketBook(gateParams([ticket({ persons: 6 })]));
    const day = new GateDay(TODAY);
    for (let i = 0; i < 4; i += 1) day.apply(entry(TOKEN_C, 'paid', 'pm'));
    expect(gateDecideEntry(full, day, TOKEN_B, at(9))).toMatchObject({ reason: 'day-full' });
    expect(gateDecideEntry(full, day, TOKEN_A, at(9))).toMatchObject({ kind: 'ticket' });
  });
});

describe('walk-ins paying at the gate (景区限流)', () => {
  it('room_left_pays', () => {
    const book = new GateTicketBook(gateParams([]));
    expect(gateDecideEntry(book, new GateDay(TODAY), TOKEN_B, at(9))).toMatchObject({
      kind: 'pay',
    });
  });

  it('dayFull_countsTicketPlacesNotYetUsed_refusesWithZeroPlaces', () => {
    // 10 a day: 3 sold for the afternoon, 7 entered: full; one place less sold: one left.
    const sold = new GateTicketBook(gateParams([ticket({ slotId: 'pm', persons: 3 })]));
    const day = new GateDay(TODAY);
    for (let i = 0; i < 7; i += 1) day.apply(entry(`${i}`.repeat(24), 'paid', i < 5 ? 'am' : 'pm'));
    expect(gateDecideEntry(sold, day, TOKEN_B, at(13))).toEqual({
      kind: 'refuse', reason: 'day-full', placesLeft: 0,
    });
    const fewer = new GateTicketBook(gateParams([ticket({ slotId: 'pm', persons: 2 })]));
    expect(gateDecideEntry(fewer, day, TOKEN_B, at(13))).toMatchObject({ kind: 'pay' });
  });

  it('slotFull_refuses_theNextSlotSells', () => {
    const book = new GateTicketBook(gateParams([]));
    const day = new GateDay(TODAY);
    for (let i = 0; i < 6; i += 1) day.apply(entry(`${i}`.repeat(24), 'paid', 'am'));
    expect(gateDecideEntry(book, day, TOKEN_B, at(11))).toMatchObject({ reason: 'slot-full' });
    expect(gateDecideEntry(book, day, TOKEN_B, at(12))).toMatchObject({ kind: 'pay' });
  });

  it('paidCardInside_isPassback_afterExit_paysAgain', () => {
    const book = new GateTicketBook(gateParams([]));
    const day = new GateDay(TODAY);
    day.apply(entry(TOKEN_B, 'paid'));
    expect(gateDecideEntry(book, day, TOKEN_B, at(10))).toMatchObject({ reason: 'passback' });
    day.apply({ kind: 'exit', date: TODAY, minute: 700, cardToken: TOKEN_B });
    expect(gateDecideEntry(book, day, TOKEN_B, at(12))).toMatchObject({ kind: 'pay' });
  });

  it('paidButNobodyPassed_nextTapEntersWithoutPaying', () => {
    const book = new GateTicketBook(gateParams([]));
    const day = new GateDay(TODAY);
    day.apply({
      kind: 'paid', date: TODAY, minute: 600, cardToken: TOKEN_B, journalSeq: 4,
      amountMinor: 8000, fareRule: 'flat',
    });
    expect(gateDecideEntry(book, day, TOKEN_B, at(10))).toEqual({ kind: 'credit', persons: 1 });
    day.apply(entry(TOKEN_B, 'paid'));
    expect(gateDecideEntry(book, day, TOKEN_B, at(10))).toMatchObject({ reason: 'passback' });
  });

  it('creditOfTheDayBefore_entersWithoutPaying_holdsItsPlace_andLastsOneDayOnly', () => {
    const book = new GateTicketBook(gateParams([]));
    const yesterday = new GateDay('2026-12-02');
    yesterday.apply({ kind: 'paid', date: '2026-12-02', minute: 1439, cardToken: TOKEN_B,
      journalSeq: 4, amountMinor: 8000, fareRule: 'flat' });
    // Used the same day: nothing to carry (twin).
    const used = new GateDay('2026-12-02');
    used.apply({ kind: 'paid', date: '2026-12-02', minute: 600, cardToken: TOKEN_C,
      journalSeq: 5, amountMinor: 8000, fareRule: 'flat' });
    used.apply({ ...entry(TOKEN_C, 'paid'), date: '2026-12-02' });
    const day = new GateDay(TODAY);
    day.carryCreditsFrom(yesterday);
    day.carryCreditsFrom(used);
    expect(day.creditsOpen()).toBe(1);
    expect(gateDecideEntry(book, day, TOKEN_B, at(10))).toEqual({ kind: 'credit', persons: 1 });
    expect(gateDecideEntry(book, day, TOKEN_C, at(10))).toMatchObject({ kind: 'pay' });
    day.apply(entry(TOKEN_B, 'paid'));
    expect(day.creditsOpen()).toBe(0);
    expect(gateDecideEntry(book, day, TOKEN_B, at(10))).toMatchObject({ reason: 'passback' });
    // One day more, not a chain: a day that carried credits is not carried from again.
    expect(() => new GateDay('2026-12-04').carryCreditsFrom(day)).toThrow(/one day more/);
  });

  it('outsideOpeningHours_isClosed; noSaleAtTheGate_isNoTicket', () => {
    const book = new GateTicketBook(gateParams([]));
    expect(gateDecideEntry(book, new GateDay(TODAY), TOKEN_B, at(17)))
      .toMatchObject({ reason: 'closed' });
    const ticketsOnly = new GateTicketBook(gateParams([], false));
    expect(gateDecideEntry(ticketsOnly, new GateDay(TODAY), TOKEN_B, at(9)))
      .toMatchObject({ reason: 'no-ticket' });
  });
});
