// Gate admission rules: ticket bound to a card, walk-in sale, anti-passback, 景区限流.

import type { GateParams, GateSlot, GateTicket } from './gate_params.js';
import type { GateDay } from './gate_state.js';

/** Why a card is refused at an entry lane (each maps to one gate screen). */
export type GateRefusal =
  | 'ticket-expired'
  | 'ticket-not-yet'
  | 'wrong-slot'
  | 'day-full'
  | 'slot-full'
  | 'passback'
  | 'closed'
  | 'no-ticket'
  /** A walk-in whose card cannot pay the way the lane sells (e-cash only, or ODA only). */
  | 'card-cannot-buy';

export const GATE_REFUSALS: readonly GateRefusal[] = [
  'ticket-expired', 'ticket-not-yet', 'wrong-slot', 'day-full', 'slot-full', 'passback',
  'closed', 'no-ticket', 'card-cannot-buy',
];

/** What an entry tap leads to. */
export type GateDecision =
  /** Admit `persons` of the card's ticket, one passage each. */
  | { readonly kind: 'ticket'; readonly ticket: GateTicket; readonly persons: number }
  /** The card paid earlier today and nobody passed: one entry without charging again. */
  | { readonly kind: 'credit'; readonly persons: 1 }
  /** Sell one admission at the gate (the kernel path, fares.json price and concessions). */
  | { readonly kind: 'pay'; readonly slot: GateSlot }
  | { readonly kind: 'refuse'; readonly reason: GateRefusal; readonly placesLeft: number | null };

/** The local day and minute of a tap. */
export interface GateNow {
  /** YYYY-MM-DD (local). */
  readonly date: string;
  /** Minutes after local midnight, 0..1439. */
  readonly minute: number;
}

/** The tickets of a set, indexed by card token (built once per parameter set). */
export class GateTicketBook {
  private readonly byCard = new Map<string, GateTicket[]>();
  /** Persons sold per "date slotId" and per date. */
  private readonly soldSlot = new Map<string, number>();
  private readonly soldDay = new Map<string, number>();

  constructor(readonly params: GateParams) {
    for (const t of params.tickets) {
      const list = this.byCard.get(t.cardToken) ?? [];
      list.push(t);
      this.byCard.set(t.cardToken, list);
      const slotKey = `${t.date} ${t.slotId}`;
      this.soldSlot.set(slotKey, (this.soldSlot.get(slotKey) ?? 0) + t.persons);
      this.soldDay.set(t.date, (this.soldDay.get(t.date) ?? 0) + t.persons);
    }
  }

  ticketsOf(cardToken: string): readonly GateTicket[] {
    return this.byCard.get(cardToken) ?? [];
  }

  soldInSlot(date: string, slotId: string): number {
    return this.soldSlot.get(`${date} ${slotId}`) ?? 0;
  }

  soldInDay(date: string): number {
    return this.soldDay.get(date) ?? 0;
  }

  /** The slot whose window holds `minute`, or null outside the opening hours. */
  slotAt(minute: number): GateSlot | null {
    return this.params.slots.find((s) => minute >= s.startMinute && minute < s.endMinute) ?? null;
  }
}

/**
 * Decides an entry tap of the card `cardToken` now. Order: the card's ticket (a sold place is
 * kept: ticket holders are never refused for capacity, the set's checks forbid overselling),
 * then a paid admission not yet used, then anti-passback, then the sale's limits: the day and
 * the slot each keep room for the places sold and not yet used (预约优先) and for the paid
 * admissions not yet walked through.
 */
export function gateDecideEntry(
  book: GateTicketBook,
  day: GateDay,
  cardToken: string,
  now: GateNow,
): GateDecision {
  const tickets = book.ticketsOf(cardToken);
  if (tickets.length > 0) return gateDecideTicket(book, day, tickets, now);
  const card = day.card(cardToken);
  if (card.paidUnused > 0) return { kind: 'credit', persons: 1 };
  if (card.inside > 0) return { kind: 'refuse', reason: 'passback', placesLeft: null };
  if (!book.params.walkIns) return { kind: 'refuse', reason: 'no-ticket', placesLeft: null };
  const slot = book.slotAt(now.minute);
  if (slot === null) return { kind: 'refuse', reason: 'closed', placesLeft: null };
  // A paid admission nobody walked through keeps its place: its credit enters without a
  // capacity check, in the slot of its tap (gate_app.ts), so it counts against this one too.
  const credits = day.creditsOpen();
  const dayLeft = book.params.dayCapacity - day.entries - gateOutstandingDay(book, day) - credits;
  if (dayLeft <= 0) return { kind: 'refuse', reason: 'day-full', placesLeft: 0 };
  const slotLeft = slot.capacity - day.entriesInSlot(slot.id) - credits
    - Math.max(0, book.soldInSlot(day.date, slot.id) - day.ticketEntriesInSlot(slot.id));
  if (slotLeft <= 0) return { kind: 'refuse', reason: 'slot-full', placesLeft: 0 };
  return { kind: 'pay', slot };
}

/** Ticket places of the day sold and not yet used. */
function gateOutstandingDay(book: GateTicketBook, day: GateDay): number {
  return Math.max(0, book.soldInDay(day.date) - day.ticketEntries);
}

function gateDecideTicket(
  book: GateTicketBook,
  day: GateDay,
  tickets: readonly GateTicket[],
  now: GateNow,
): GateDecision {
  const ticket = tickets.find((t) => t.date === now.date);
  if (ticket === undefined) {
    // ISO dates compare as strings. A card with only future tickets is early; else expired.
    const later = tickets.some((t) => t.date > now.date);
    const reason = later ? 'ticket-not-yet' : 'ticket-expired';
    return { kind: 'refuse', reason, placesLeft: null };
  }
  const slot = book.params.slots.find((s) => s.id === ticket.slotId);
  if (slot === undefined) throw new Error(`ticket ${ticket.ticketId}: slot checked at load`);
  const opensMinute = slot.startMinute - book.params.slotEntryGraceMin;
  if (now.minute < opensMinute || now.minute >= slot.endMinute) {
    return { kind: 'refuse', reason: 'wrong-slot', placesLeft: null };
  }
  const card = day.card(ticket.cardToken);
  const unused = ticket.persons - card.ticketEntries;
  if (unused > 0) return { kind: 'ticket', ticket, persons: unused };
  // Every place used: only a re-entry ticket lets those who went out come back in.
  const outside = ticket.persons - card.inside;
  if (ticket.reentry && outside > 0) return { kind: 'ticket', ticket, persons: outside };
  return { kind: 'refuse', reason: 'passback', placesLeft: null };
}
