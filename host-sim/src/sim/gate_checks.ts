// Checkers of a gate day: the bus line's card-ledger checks on the sales, then the gate
// ledger against the tickets sold, the admissions paid and what the visitors physically did.

import { gateLedgerFileName, gateLedgerParse } from '../../../firmware/src/app/gate/gate_ledger.js';
import type { GateRecord } from '../../../firmware/src/app/gate/gate_ledger.js';
import { HOURS_PER_DAY } from '../../../firmware/src/app/gate/gate_state.js';
import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { checkBusRun } from './bus_checks.js';
import type { BusRun, TapLine } from './bus_run.js';
import {
  GATE_ADMISSION_MINOR, GATE_CONCESSION_MINOR, gateCardGroups, type GateRun,
} from './gate_run.js';
import { SIM_EPOCH_WALL_MS } from './sim_board.js';
import { simDenyKey } from './sim_board_parts.js';
import { gateCardToken } from './gate_visitors.js';
import { DenyKey } from '../../../firmware/src/app/deny_list/deny_key.js';
import { VALIDATOR_CONFIG_DEFAULT } from '../../../firmware/src/app/validator/validator_ports.js';

/** Findings; empty `violations` = the day is correct. */
export interface GateCheck {
  readonly violations: string[];
  readonly ticketsSold: number;
  readonly ticketEntries: number;
  readonly paidAdmissions: number;
  readonly paidEntries: number;
  readonly exits: number;
  readonly tailgates: number;
  readonly refusals: number;
  /** Per local hour: entries (tickets + paid). */
  readonly entriesByHour: readonly number[];
}

/** The gate ledger records of the run's day (durable bytes only). */
export function gateRunRecords(run: GateRun): GateRecord[] | string {
  const name = gateLedgerFileName(run.plan.gate.tickets[0]?.date ?? '2026-11-22');
  const bytes = run.ledgerStorage.durableFiles().get(name) ?? new Uint8Array(0);
  const parsed = gateLedgerParse(bytes, name);
  if (!parsed.ok) return parsed.error;
  if (parsed.value.tornBytes > 0) return `${name} has a torn tail after a clean run`;
  return parsed.value.records;
}

export function checkGateRun(run: GateRun): GateCheck {
  const violations = checkGateSales(run);
  const records = gateRunRecords(run);
  if (typeof records === 'string') {
    return { violations: [...violations, records], ticketsSold: run.plan.ticketPersons,
      ticketEntries: 0, paidAdmissions: 0, paidEntries: 0, exits: 0, tailgates: 0,
      refusals: 0, entriesByHour: [] };
  }
  const count = (pick: (r: GateRecord) => boolean): number => records.filter(pick).length;
  const ticketEntries = count((r) => r.kind === 'entry' && r.via === 'ticket');
  const paidEntries = count((r) => r.kind === 'entry' && r.via === 'paid');
  const paid = records.filter((r): r is GateRecord & { kind: 'paid' } => r.kind === 'paid');
  const exits = count((r) => r.kind === 'exit');
  const tailgates = records.reduce((n, r) => n + (r.kind === 'tailgate' ? r.count : 0), 0);
  const walkedIn = run.visits.reduce((n, v) => n + v.walked, 0);
  const tailgated = run.visits.reduce((n, v) => n + v.tailgated, 0);
  const exitsWalked = run.visits.reduce((n, v) => n + v.visit.exitsBefore, 0);
  // Every ticket holder came with the whole party: entries by ticket = places sold.
  const inSlot = ticketPersonsInSlot(run);
  if (ticketEntries < inSlot.min || ticketEntries > inSlot.max) {
    const expected = inSlot.min === inSlot.max ? `${inSlot.min}` : `${inSlot.min}..${inSlot.max}`;
    violations.push(`ticket entries ${ticketEntries} != ${expected} of the ${
      run.plan.ticketPersons} sold (holders who came in their slot)`);
  }
  if (paidEntries !== paid.length) {
    violations.push(`paid entries ${paidEntries} != admissions paid ${paid.length}`);
  }
  if (ticketEntries + paidEntries !== walkedIn) {
    violations.push(`entries ${ticketEntries + paidEntries} != people admitted ${walkedIn}`);
  }
  if (tailgates !== tailgated) violations.push(`tailgates ${tailgates} != strangers ${tailgated}`);
  if (exits !== exitsWalked) violations.push(`exits ${exits} != people who left ${exitsWalked}`);
  violations.push(...checkPaidAgainstJournal(run, paid));
  const day = run.app.counts();
  const entriesByHour = Array.from({ length: HOURS_PER_DAY }, (_, h) =>
    (day?.hours[h]?.ticketEntries ?? 0) + (day?.hours[h]?.paidEntries ?? 0));
  if (entriesByHour.reduce((a, b) => a + b, 0) !== ticketEntries + paidEntries) {
    violations.push('hourly counts do not add up to the entries');
  }
  return { violations, ticketsSold: run.plan.ticketPersons, ticketEntries,
    paidAdmissions: paid.length, paidEntries, exits, tailgates,
    refusals: count((r) => r.kind === 'refused'), entriesByHour };
}

/**
 * Ticket places the day should use: each ticket holder's party, when the holder came within
 * the ticket's slot (from the grace before its start to its end, local time); none when not,
 * since a ticket is for its slot (a long day's last parties come after the morning). A holder
 * who came on a window's edge (its card placed before, its tap ended after) may go either way.
 */
function ticketPersonsInSlot(run: GateRun): { min: number; max: number } {
  const { gate } = run.plan;
  const denyKey = DenyKey.fromBytes(simDenyKey(run.options.seed));
  const offset = VALIDATOR_CONFIG_DEFAULT.utcOffsetMinutes;
  const minuteAt = (monotonicMs: number): number =>
    Math.floor((SIM_EPOCH_WALL_MS + monotonicMs) / 60_000 + offset) % (24 * 60);
  const within = (ticketSlot: string, minute: number): boolean => {
    const slot = gate.slots.find((x) => x.id === ticketSlot);
    return slot !== undefined && minute >= slot.startMinute - gate.slotEntryGraceMin
      && minute < slot.endMinute;
  };
  let min = 0;
  let max = 0;
  for (const v of run.visits) {
    if (v.visit.kind === 'walk-in') continue;
    const token = gateCardToken(denyKey, v.visit.card);
    const slotId = gate.tickets.find((t) => t.cardToken === token)?.slotId ?? '';
    const ended = v.report === null ? v.placedMs : v.placedMs + (v.report.tap.endedMs
      - v.report.tap.startedMs);
    const first = within(slotId, minuteAt(v.placedMs));
    const last = within(slotId, minuteAt(ended));
    if (first && last) min += v.visit.persons;
    if (first || last) max += v.visit.persons;
  }
  return { min, max };
}

/** The sales through the bus line's checks (card debits against clearing records). */
function checkGateSales(run: GateRun): string[] {
  const taps: TapLine[] = run.visits.flatMap((v, index) => {
    const tap = v.report?.tap;
    // Ticket, credit, exit and gate refusals stop the kernel by design: not the card's answer.
    if (tap === undefined || tap.reason === 'admission-hook') return [];
    // The pool's social-security card is the concession category (gate_run.ts).
    const price = v.visit.card.name === 'social-security' ? GATE_CONCESSION_MINOR
      : GATE_ADMISSION_MINOR;
    const purseShort = v.purseBeforeMinor !== null && v.purseBeforeMinor < price;
    return [{ index, rider: v.visit.index, cardName: v.visit.card.name, pulledEarly: false,
      latencyMs: v.openMs, report: tap, screen: v.screen, signal: null, atMs: v.placedMs,
      purseShort }];
  });
  const bus: BusRun = {
    options: { seed: run.options.seed, riders: taps.length, tornChance: 0, baudRate: 921_600,
      mode: run.options.mode, cardGroups: gateCardGroups(run.options) },
    board: run.board, pool: run.pool, taps,
  };
  return checkBusRun(bus).violations;
}

/** Each paid record names a final of the journal with the same amount; one per final. */
function checkPaidAgainstJournal(run: GateRun, paid: readonly (GateRecord & { kind: 'paid' })[])
  : string[] {
  const scan = journalScanFiles(run.board.storage.durableFiles(), JOURNAL_FILE_NAME, true);
  const finals = new Map(scan.records.filter((r) => r.entry.kind === 'final')
    .map((r) => [r.seq, r]));
  const violations: string[] = [];
  const named = new Set<number>();
  for (const p of paid) {
    const final = finals.get(p.journalSeq);
    if (final === undefined || final.entry.kind !== 'final') {
      violations.push(`paid admission names seq ${p.journalSeq}, not a final record`);
    } else if (final.entry.clearing.amountMinor !== p.amountMinor) {
      violations.push(`paid admission ${p.journalSeq}: amount differs from its clearing record`);
    }
    named.add(p.journalSeq);
  }
  for (const seq of finals.keys()) {
    if (!named.has(seq)) violations.push(`clearing record ${seq} without its gate admission`);
  }
  return violations;
}
