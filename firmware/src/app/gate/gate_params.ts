// gate.json: a scenic area's daily capacity, time slots and the tickets bound to cards.
//
// Tickets are sold elsewhere (online, the ticket office) and bound to a bank card by its fleet
// card token: HMAC-SHA-256(fleet deny key, PAN || PSN 00), first 12 bytes, as 24 hex digits,
// made as a deny-list token is (../deny_list/README.md) with the PSN fixed at 00. The PSN is
// left out because the full PBOC flow reaches the gate's decision point before the record
// holding 5F34 is read, and a card reissued under the same number keeps its ticket. The
// journal's PAN token cannot serve:
// it is keyed by each terminal's own data key, which never leaves the terminal, so a ticket
// office could not compute it. The clear PAN never appears in the set (PCI DSS 3.5.1).

import { calendarDateValid } from '../params/calendar_date.js';
import { CARD_TOKEN_PATTERN, DATE_PATTERN, ID_PATTERN } from '../params/field_patterns.js';
import { FieldError, JsonFields, type FieldPattern } from '../params/json_fields.js';

export const FILE_GATE = 'gate.json';

/** Bounds that keep a set within memory and the day's arithmetic within safe integers. */
export const GATE_TICKETS_MAX = 200_000;
export const GATE_SLOTS_MAX = 48;
export const GATE_PERSONS_MAX = 60;
export const GATE_CAPACITY_MAX = 1_000_000;
const TIME_PATTERN: FieldPattern = {
  re: /^(?:[01][0-9]|2[0-3]):[0-5][0-9]$/,
  says: 'a time hh:mm from 00:00 to 23:59',
};
/** An end may also be midnight at the day's end, so a window can hold the minute 23:59. */
const END_PATTERN: FieldPattern = {
  re: /^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/,
  says: 'a time hh:mm from 00:00 to 24:00',
};

/** An entry window of the day (local time, minutes after midnight; end exclusive). */
export interface GateSlot {
  readonly id: string;
  readonly startMinute: number;
  readonly endMinute: number;
  /** Entries allowed in this slot, tickets and walk-ins together. */
  readonly capacity: number;
}

/** A ticket bound to a card: `persons` entries on `date` in `slotId`. */
export interface GateTicket {
  readonly ticketId: string;
  /** Fleet card token, 24 upper-case hex digits. */
  readonly cardToken: string;
  /** Local date YYYY-MM-DD. */
  readonly date: string;
  readonly slotId: string;
  readonly persons: number;
  /** The party may leave and come back the same day (a park ticket, not a show). */
  readonly reentry: boolean;
}

/** The parsed gate.json. */
export interface GateParams {
  readonly siteId: string;
  /** Entries allowed per day (景区最大承载量), tickets and walk-ins together. */
  readonly dayCapacity: number;
  /** Minutes before a slot's start at which its tickets are let in already. */
  readonly slotEntryGraceMin: number;
  /** Visitors may pay the admission at the gate (fares.json prices; categories = concessions). */
  readonly walkIns: boolean;
  readonly slots: readonly GateSlot[];
  readonly tickets: readonly GateTicket[];
}

/** Parses and checks gate.json (syntax, bounds, then semantics). Throws FieldError. */
export function gateParamsParse(fields: JsonFields): GateParams {
  fields.comment();
  const siteId = fields.str('siteId', ID_PATTERN, 32);
  const dayCapacity = fields.int('dayCapacity', 1, GATE_CAPACITY_MAX);
  const slotEntryGraceMin = fields.int('slotEntryGraceMin', 0, 120);
  const walkIns = fields.bool('walkIns');
  const slots = fields.arr('slots', GATE_SLOTS_MAX).map((value, i) =>
    slotParse(JsonFields.of(value, fields.file, `slots[${i}]`)));
  const tickets = fields.arr('tickets', GATE_TICKETS_MAX).map((value, i) =>
    ticketParse(JsonFields.of(value, fields.file, `tickets[${i}]`)));
  fields.finish();
  const params = { siteId, dayCapacity, slotEntryGraceMin, walkIns, slots, tickets };
  gateSemanticCheck(params, fields.file);
  return params;
}

/** Parses gate.json bytes. Throws FieldError. */
export function gateParamsFromBytes(bytes: Uint8Array, file: string = FILE_GATE): GateParams {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FieldError(file, '', 'not UTF-8 text');
  }
  return gateParamsParse(JsonFields.of(JsonFields.parseUnique(text, file), file, ''));
}

function slotParse(fields: JsonFields): GateSlot {
  const slot = {
    id: fields.str('id', ID_PATTERN, 32),
    startMinute: minuteOf(fields, 'start', TIME_PATTERN),
    endMinute: minuteOf(fields, 'end', END_PATTERN),
    capacity: fields.int('capacity', 1, GATE_CAPACITY_MAX),
  };
  fields.finish();
  if (slot.endMinute <= slot.startMinute) fields.refuse('end', 'must be after start');
  return slot;
}

function ticketParse(fields: JsonFields): GateTicket {
  const ticket = {
    ticketId: fields.str('ticketId', ID_PATTERN, 32),
    cardToken: fields.str('cardToken', CARD_TOKEN_PATTERN, 24),
    date: fields.str('date', DATE_PATTERN, 10),
    slotId: fields.str('slotId', ID_PATTERN, 32),
    persons: fields.int('persons', 1, GATE_PERSONS_MAX),
    reentry: fields.bool('reentry'),
  };
  fields.finish();
  if (!calendarDateValid(ticket.date)) fields.refuse('date', 'not a calendar date');
  return ticket;
}

function minuteOf(fields: JsonFields, name: string, pattern: FieldPattern): number {
  const text = fields.str(name, pattern, 5);
  return Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));
}

/**
 * Semantics a vendor's tool must not get wrong: at least one slot, slot ids unique and slots
 * not overlapping, no slot above the day, ticket ids unique, every ticket in a known slot, one
 * ticket per card and date (the gate must know which one a tap uses), and no slot or day sold
 * beyond its capacity.
 */
export function gateSemanticCheck(params: GateParams, file: string): void {
  // A gate without a slot refuses every tap as closed, all day long: a mistake, not a gate.
  if (params.slots.length === 0) throw new FieldError(file, 'slots', 'at least one slot');
  const slots = [...params.slots].sort((a, b) => a.startMinute - b.startMinute);
  for (let i = 0; i < slots.length; i += 1) {
    const slot = slots[i];
    const next = slots[i + 1];
    if (slot === undefined) continue;
    if (slot.capacity > params.dayCapacity) {
      throw new FieldError(file, 'slots', `slot ${slot.id} capacity above dayCapacity`);
    }
    if (next !== undefined && next.startMinute < slot.endMinute) {
      throw new FieldError(file, 'slots', `slots ${slot.id} and ${next.id} overlap`);
    }
  }
  if (new Set(slots.map((s) => s.id)).size !== slots.length) {
    throw new FieldError(file, 'slots', 'two slots share an id');
  }
  gateTicketsCheck(params, file);
}

function gateTicketsCheck(params: GateParams, file: string): void {
  const slotIds = new Map(params.slots.map((s) => [s.id, s]));
  const ids = new Set<string>();
  const cardDays = new Set<string>();
  const soldSlot = new Map<string, number>();
  const soldDay = new Map<string, number>();
  params.tickets.forEach((t, i) => {
    const at = `tickets[${i}]`;
    if (ids.has(t.ticketId)) throw new FieldError(file, at, `ticketId ${t.ticketId} repeated`);
    ids.add(t.ticketId);
    const slot = slotIds.get(t.slotId);
    if (slot === undefined) throw new FieldError(file, at, `unknown slotId ${t.slotId}`);
    const cardDay = `${t.cardToken} ${t.date}`;
    if (cardDays.has(cardDay)) {
      throw new FieldError(file, at, 'a second ticket for the same card and date');
    }
    cardDays.add(cardDay);
    const slotKey = `${t.date} ${t.slotId}`;
    const inSlot = (soldSlot.get(slotKey) ?? 0) + t.persons;
    const inDay = (soldDay.get(t.date) ?? 0) + t.persons;
    if (inSlot > slot.capacity) throw new FieldError(file, at, `slot ${slotKey} oversold`);
    if (inDay > params.dayCapacity) throw new FieldError(file, at, `day ${t.date} oversold`);
    soldSlot.set(slotKey, inSlot);
    soldDay.set(t.date, inDay);
  });
}
