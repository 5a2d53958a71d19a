// The gate's day: entries, exits and alarms per hour, per slot and per card (rebuilt from the
// gate ledger at start, so anti-passback and the limits survive a restart).

import type { GateRecord } from './gate_ledger.js';

export const HOURS_PER_DAY = 24;

/** One card's day at this site. */
export interface GateCardDay {
  /** Entries by ticket (each passage one). */
  ticketEntries: number;
  /** Admissions paid at the gate and not yet walked through. */
  paidUnused: number;
  /** Entries minus exits, never below 0. */
  inside: number;
}

/** Counts of one local hour. */
export interface GateHourCounts {
  ticketEntries: number;
  paidEntries: number;
  exits: number;
  tailgates: number;
  refusals: number;
}

/** The counts of one local date. */
export class GateDay {
  entries = 0;
  ticketEntries = 0;
  paidEntries = 0;
  paidAdmissions = 0;
  /** Paid admissions of the day before nobody walked through then (carryCreditsFrom). */
  carriedCredits = 0;
  exits = 0;
  tailgates = 0;
  readonly hours: GateHourCounts[] = Array.from({ length: HOURS_PER_DAY }, () => ({
    ticketEntries: 0, paidEntries: 0, exits: 0, tailgates: 0, refusals: 0,
  }));
  private readonly cards = new Map<string, GateCardDay>();
  private readonly slotEntries = new Map<string, number>();
  private readonly slotTicketEntries = new Map<string, number>();

  constructor(readonly date: string) {}

  /** The card's day (a fresh zero record when unseen; not stored until it changes). */
  card(cardToken: string): GateCardDay {
    return this.cards.get(cardToken) ?? { ticketEntries: 0, paidUnused: 0, inside: 0 };
  }

  entriesInSlot(slotId: string): number {
    return this.slotEntries.get(slotId) ?? 0;
  }

  ticketEntriesInSlot(slotId: string): number {
    return this.slotTicketEntries.get(slotId) ?? 0;
  }

  /**
   * Takes over the credits `previous` (the day before) left: paid admissions nobody walked
   * through by its end. On a site open round the clock, a visitor who paid at 23:59 and whose
   * lane locked unwalked taps again after midnight: a new day that forgot the credit charged
   * him twice. A credit lasts to the end of the next day, not longer: `previous` must be built
   * from its own ledger alone (it carried nothing itself; throws otherwise). Call before
   * applying this day's records.
   */
  carryCreditsFrom(previous: GateDay): void {
    if (previous.carriedCredits !== 0) {
      throw new Error(`${previous.date} carried credits itself: a credit lasts one day more`);
    }
    for (const [cardToken, card] of previous.cards) {
      if (card.paidUnused <= 0) continue;
      this.carriedCredits += card.paidUnused;
      this.update(cardToken, (c) => (c.paidUnused += card.paidUnused));
    }
  }

  /** Paid admissions not yet walked through: this day's and those carried over. */
  creditsOpen(): number {
    return Math.max(0, this.carriedCredits + this.paidAdmissions - this.paidEntries);
  }

  /** Applies one ledger record of this date. */
  apply(record: GateRecord): void {
    if (record.date !== this.date) {
      throw new Error(`record of ${record.date} applied to ${this.date}`);
    }
    const hour = this.hours[Math.floor(record.minute / 60)];
    if (hour === undefined) throw new Error(`minute ${record.minute} outside the day`);
    switch (record.kind) {
      case 'paid':
        this.paidAdmissions += 1;
        this.update(record.cardToken, (c) => (c.paidUnused += 1));
        return;
      case 'entry':
        this.applyEntry(record, hour);
        return;
      case 'exit':
        this.exits += 1;
        hour.exits += 1;
        if (record.cardToken !== null) {
          this.update(record.cardToken, (c) => (c.inside = Math.max(0, c.inside - 1)));
        }
        return;
      case 'tailgate':
        this.tailgates += record.count;
        hour.tailgates += record.count;
        return;
      case 'refused':
        hour.refusals += 1;
        return;
      case 'lane':
      case 'sale':
        return;
      default: {
        const never: never = record;
        throw new Error(`unhandled gate record ${String(never)}`);
      }
    }
  }

  private applyEntry(record: GateRecord & { kind: 'entry' }, hour: GateHourCounts): void {
    this.entries += 1;
    const slot = record.slotId;
    this.slotEntries.set(slot, this.entriesInSlot(slot) + 1);
    if (record.via === 'ticket') {
      this.ticketEntries += 1;
      hour.ticketEntries += 1;
      this.slotTicketEntries.set(slot, this.ticketEntriesInSlot(slot) + 1);
      this.update(record.cardToken, (c) => {
        c.ticketEntries += 1;
        c.inside += 1;
      });
    } else {
      this.paidEntries += 1;
      hour.paidEntries += 1;
      this.update(record.cardToken, (c) => {
        c.paidUnused = Math.max(0, c.paidUnused - 1);
        c.inside += 1;
      });
    }
  }

  private update(cardToken: string, change: (card: GateCardDay) => void): void {
    const card = { ...this.card(cardToken) };
    change(card);
    this.cards.set(cardToken, card);
  }
}
