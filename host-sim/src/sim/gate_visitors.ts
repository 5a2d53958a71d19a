// The visitors of a simulated scenic-area morning: tour groups and families with tickets
// bound to one card, walk-ins paying at the gate, people leaving through the free exit.

import { DenyKey } from '../../../firmware/src/app/deny_list/deny_key.js';
import type { GateParams, GateTicket } from '../../../firmware/src/app/gate/gate_params.js';
import type { Prng } from '../prng.js';
import { REFUSABLE_IN_AUTO } from './bus_checks.js';
import type { RiderCard, RiderPool } from './bus_riders.js';

/** Who comes to the lane. */
export type VisitorKind = 'tour-group' | 'family' | 'walk-in';

/** One tap at the lane and the people behind it. */
export interface GateVisit {
  readonly index: number;
  readonly kind: VisitorKind;
  readonly card: RiderCard;
  /** People who walk through on this tap (the party; 1 for a walk-in). */
  readonly persons: number;
  /** Idle time before the card comes to the reader. */
  readonly gapMs: number;
  /** A stranger slips through behind this party's first person (tailgating). */
  readonly tailgater: boolean;
  /** People of earlier parties leaving through the free exit before this tap. */
  readonly exitsBefore: number;
}

/** Sizes and shares of a simulated day. */
export interface GateVisitorOptions {
  readonly tourGroups: number;
  readonly families: number;
  readonly walkIns: number;
  readonly tailgateChance: number;
  /** Local date of the day (tickets are for it). */
  readonly date: string;
}

/** The day: visits in arrival order and the gate.json that sells their tickets. */
export interface GateDayPlan {
  readonly visits: readonly GateVisit[];
  readonly gate: GateParams;
  readonly ticketPersons: number;
}

/**
 * The fleet token of the card's UnionPay application's PAN (what a ticket office binds tickets
 * to, and what the gate's kernel selects), PSN 00 (gate_params.ts says why).
 */
export function gateCardToken(denyKey: DenyKey, card: RiderCard): string {
  const apps = card.card.profile.applications;
  const app = apps.find((a) => a.aidHex.toUpperCase().startsWith('A000000333')) ?? apps[0];
  const token = app === undefined ? null : denyKey.token(app.pan, 0);
  if (token === null) throw new Error(`card ${card.name} has no token`);
  return Buffer.from(token).toString('hex').toUpperCase();
}

/**
 * Draws the day. Ticket holders get distinct genuine cards (a tour guide's, a parent's); the
 * walk-ins draw from the rest of the pool with the line's own mix, so some are refused by
 * their card (the kernel's answer) and some tap twice (anti-passback).
 */
export function drawGateDay(
  prng: Prng,
  pool: RiderPool,
  denyKeyBytes: Uint8Array,
  options: GateVisitorOptions,
): GateDayPlan {
  const denyKey = DenyKey.fromBytes(denyKeyBytes);
  const genuine = pool.cards.filter((c) => !REFUSABLE_IN_AUTO.has(c.name));
  const parties = options.tourGroups + options.families;
  if (genuine.length < parties + 1) throw new Error('pool too small for the ticket holders');
  const holders = genuine.slice(0, parties);
  const others = pool.cards.filter((c) => !holders.includes(c));
  const visits: Omit<GateVisit, 'index' | 'gapMs' | 'exitsBefore'>[] = [];
  const tickets: GateTicket[] = [];
  holders.forEach((card, i) => {
    const kind: VisitorKind = i < options.tourGroups ? 'tour-group' : 'family';
    const persons = kind === 'tour-group' ? prng.between(12, 25) : prng.between(2, 5);
    tickets.push({
      ticketId: `T${String(i + 1).padStart(5, '0')}`, cardToken: gateCardToken(denyKey, card),
      date: options.date, slotId: 'morning', persons, reentry: kind === 'family',
    });
    visits.push({ kind, card, persons, tailgater: prng.chance(options.tailgateChance) });
  });
  for (let w = 0; w < options.walkIns; w += 1) {
    const card = others[prng.below(others.length)] ?? others[0];
    if (card === undefined) throw new Error('no walk-in cards');
    const tailgater = prng.chance(options.tailgateChance);
    visits.push({ kind: 'walk-in', card, persons: 1, tailgater });
  }
  const shuffled = shuffle(prng, visits);
  let inside = 0;
  const planned = shuffled.map((v, index) => {
    // Morning rush: the first half arrives seconds apart, the rest spread out.
    const rush = index < shuffled.length / 2;
    const exitsBefore = inside > 4 && prng.chance(0.3) ? prng.between(1, 3) : 0;
    inside += v.persons - exitsBefore;
    return { ...v, index, gapMs: rush ? prng.between(1_000, 4_000) : prng.between(5_000, 40_000),
      exitsBefore };
  });
  const ticketPersons = tickets.reduce((n, t) => n + t.persons, 0);
  const gate: GateParams = {
    siteId: 'XIHU-N', dayCapacity: 2_000, slotEntryGraceMin: 30, walkIns: true,
    slots: [
      { id: 'morning', startMinute: 8 * 60, endMinute: 12 * 60, capacity: 1_200 },
      { id: 'afternoon', startMinute: 12 * 60, endMinute: 17 * 60, capacity: 1_200 },
    ],
    tickets,
  };
  return { visits: planned, gate, ticketPersons };
}

function shuffle<T>(prng: Prng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = prng.below(i + 1);
    const a = out[i];
    const b = out[j];
    if (a === undefined || b === undefined) continue;
    out[i] = b;
    out[j] = a;
  }
  return out;
}
