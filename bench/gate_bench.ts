// Gate speed (issue 14): tap-to-open latency, lane throughput against a tripod turnstile's
// physical limit (1.5-2 s a person: 30-40 persons/min), and the gate's own time per passage,
// which must stay within 1 % of a passage.
//
// Tap-to-open and throughput are simulated ms of seeded gate days (the production GateApp on
// the PN532 emulator, sim/gate_run.ts). Own time is real, per passage: the admission decision
// against a book of 100,000 tickets, the lane's control logic for one passage (GateLane on an
// in-memory controller), the ledger line's encoding and counting, and one fsynced ledger line
// on this machine's file system. The whole simulated day's CPU per passage is printed too, as
// an upper bound that also pays for the card, PN532 and display emulators.

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  GateLedger,
  gateLedgerLine,
  gateLedgerParse,
} from '../firmware/src/app/gate/gate_ledger.js';
import { GATE_LANE_CONFIG_DEFAULT, GateLane } from '../firmware/src/app/gate/gate_lane.js';
import { gateDecideEntry, GateTicketBook } from '../firmware/src/app/gate/gate_rules.js';
import { GateDay } from '../firmware/src/app/gate/gate_state.js';
import { ClockSim } from '../host-sim/src/clock_sim.js';
import { TurnstileControllerSim } from '../host-sim/src/turnstile_sim/turnstile_controller_sim.js';
import { TurnstileSimPort } from '../host-sim/src/turnstile_sim/turnstile_sim_port.js';
import { FileStorage } from '../hal/src/storage/file_storage.js';
import { GATE_RUN_DEFAULT, runGate } from '../host-sim/src/sim/gate_run.js';
import { TRIPOD_PASSAGE_MS_MAX, TRIPOD_PASSAGE_MS_MIN } from '../host-sim/src/sim/gate_visit.js';

export const GATE_BENCH_SEEDS = [1, 2, 3] as const;
const LEDGER_APPENDS = 200;

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** Mean real ms of one fsynced ledger line on the temp directory's file system. */
async function ledgerAppendMs(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'shuaka-gate-bench-'));
  try {
    const storage = await FileStorage.open(dir, { quotaBytes: null });
    if (!storage.ok) throw new Error(storage.detail);
    const ledger = new GateLedger(storage.value);
    const started = process.hrtime.bigint();
    for (let i = 0; i < LEDGER_APPENDS; i += 1) {
      const written = await ledger.append({
        kind: 'entry', date: '2026-11-22', minute: 480 + (i % 600), cardToken: 'A'.repeat(24),
        via: 'ticket', slotId: 'morning', ticketId: 'T00001',
      });
      if (!written.ok) throw new Error(written.error);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6 / LEDGER_APPENDS;
    await storage.value.close();
    return ms;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const DECIDES = 100_000;
const PASSAGES = 2_000;

/** Mean real ms of the gate's logic per passage: decision, lane control, record keeping. */
async function gateLogicMs(): Promise<{ decideMs: number; laneMs: number; recordMs: number }> {
  const tickets = Array.from({ length: DECIDES }, (_, i) => ({
    ticketId: `T${i}`, cardToken: i.toString(16).toUpperCase().padStart(24, '0'),
    date: '2026-11-22', slotId: 'morning', persons: 1, reentry: false,
  }));
  const book = new GateTicketBook({
    siteId: 'B', dayCapacity: 1_000_000, slotEntryGraceMin: 30, walkIns: true,
    slots: [{ id: 'morning', startMinute: 480, endMinute: 720, capacity: 1_000_000 }], tickets,
  });
  const day = new GateDay('2026-11-22');
  let t = process.hrtime.bigint();
  const now = { date: day.date, minute: 600 };
  for (const ticket of tickets) gateDecideEntry(book, day, ticket.cardToken, now);
  const decideMs = Number(process.hrtime.bigint() - t) / 1e6 / DECIDES;
  t = process.hrtime.bigint();
  for (let i = 0; i < PASSAGES; i += 1) {
    const record = gateLedgerLine({ kind: 'entry', date: day.date, minute: 600,
      cardToken: tickets[i]?.cardToken ?? '', via: 'ticket', slotId: 'morning', ticketId: 'T' });
    const parsed = gateLedgerParse(record, 'bench');
    if (parsed.ok) for (const r of parsed.value.records) day.apply(r);
  }
  const recordMs = Number(process.hrtime.bigint() - t) / 1e6 / PASSAGES;
  return { decideMs, laneMs: await laneMs(), recordMs };
}

/** CPU ms of GateLane per passage on a controller that answers at once (zero wire time). */
async function laneMs(): Promise<number> {
  const clock = new ClockSim(0);
  const controller = new TurnstileControllerSim();
  const port = new TurnstileSimPort(controller, { clock, requestMs: 0, timeoutMs: 500 });
  const config = { ...GATE_LANE_CONFIG_DEFAULT, sensorPollMs: 50 };
  const lane = new GateLane(port, clock, config, async () => undefined);
  const cpu = process.cpuUsage();
  for (let i = 0; i < PASSAGES; i += 1) {
    void clock.sleepMs(120).then(() => controller.walk('entry', false));
    const admitted = lane.admit(1, 'entry');
    let done = false;
    void admitted.then(() => (done = true));
    while (!done) await clock.step();
  }
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000 / PASSAGES;
}

/** Prints tap-to-open, throughput and own time; one row per seed, then the totals. */
export async function runGateBench(): Promise<void> {
  const load = loadavg()[0] ?? 0;
  console.log(`\ngate (seeded scenic-area mornings, load ${load.toFixed(1)})`);
  console.log('  seed  taps  persons  open p50 ms  open p95 ms  party persons/min  CPU ms/person');
  const opens: number[] = [];
  let persons = 0;
  let cpuMs = 0;
  let partyPersons = 0;
  let partyMs = 0;
  for (const seed of GATE_BENCH_SEEDS) {
    const cpu = process.cpuUsage();
    const run = await runGate({ ...GATE_RUN_DEFAULT, seed, tourGroups: 4 }, () => undefined);
    const used = process.cpuUsage(cpu);
    run.board.dispose();
    const runCpuMs = (used.user + used.system) / 1000;
    const seedOpens = run.visits.flatMap((v) => (v.openMs === null ? [] : [v.openMs]));
    const seedPersons = run.visits.reduce((n, v) => n + v.walked, 0);
    const parties = run.visits.filter((v) => v.walked >= 5);
    const pMs = parties.reduce((n, v) => n + ((v.lastPassMs ?? v.placedMs) - v.placedMs), 0);
    const pPersons = parties.reduce((n, v) => n + v.walked, 0);
    opens.push(...seedOpens);
    persons += seedPersons;
    cpuMs += runCpuMs;
    partyPersons += pPersons;
    partyMs += pMs;
    const sorted = [...seedOpens].sort((a, b) => a - b);
    console.log(`  ${String(seed).padStart(4)}  ${String(run.visits.length).padStart(4)}  `
      + `${String(seedPersons).padStart(7)}  ${quantile(sorted, 0.5).toFixed(0).padStart(11)}  `
      + `${quantile(sorted, 0.95).toFixed(0).padStart(11)}  `
      + `${((pPersons * 60_000) / Math.max(1, pMs)).toFixed(1).padStart(17)}  `
      + `${(runCpuMs / Math.max(1, seedPersons)).toFixed(2).padStart(13)}`);
  }
  const sorted = [...opens].sort((a, b) => a - b);
  const rate = (partyPersons * 60_000) / Math.max(1, partyMs);
  const appendMs = await ledgerAppendMs();
  const logicMs = await gateLogicMs();
  const ownMs = logicMs.decideMs + logicMs.laneMs + logicMs.recordMs + appendMs;
  const share = (100 * ownMs) / TRIPOD_PASSAGE_MS_MIN;
  console.log(`  tap-to-open: p50 ${quantile(sorted, 0.5).toFixed(0)} ms, p95 `
    + `${quantile(sorted, 0.95).toFixed(0)} ms over ${sorted.length} openings (simulated)`);
  console.log(`  lane throughput with parties: ${rate.toFixed(1)} persons/min; a tripod's `
    + `physical limit is ${(60_000 / TRIPOD_PASSAGE_MS_MAX).toFixed(0)}-`
    + `${(60_000 / TRIPOD_PASSAGE_MS_MIN).toFixed(0)}/min (${TRIPOD_PASSAGE_MS_MIN / 1000}-`
    + `${TRIPOD_PASSAGE_MS_MAX / 1000} s a person)`);
  console.log(`  own time per passage: decide ${(logicMs.decideMs * 1000).toFixed(1)} µs + lane `
    + `${(logicMs.laneMs * 1000).toFixed(1)} µs + record ${(logicMs.recordMs * 1000).toFixed(1)} `
    + `µs + fsynced ledger line ${appendMs.toFixed(2)} ms = ${ownMs.toFixed(2)} ms = `
    + `${share.toFixed(2)} % of a ${TRIPOD_PASSAGE_MS_MIN} ms passage (budget 1 %: `
    + `${share <= 1 ? 'within' : 'OVER'})`);
  console.log(`  upper bound, whole simulated day's CPU per person (emulators included): `
    + `${(cpuMs / Math.max(1, persons)).toFixed(2)} ms`);
}
