// A fleet on the simulated line: N buses, each the production validator with its uploader,
// against one depot (the in-memory twin, or a real depot over HTTPS with one terminal
// identity per bus), with network outages injected into each bus's link from the seed.

import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalExportLine } from '../../../firmware/src/app/journal/journal_export.js';
import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import type { DepotPort } from '../../../firmware/src/app/upload/depot_port.js';
import {
  Uploader, UPLOADER_CONFIG_DEFAULT, type UploaderState,
} from '../../../firmware/src/app/upload/uploader.js';
import { Prng } from '../prng.js';
import type { ParamsDownload, UploadParamsPort } from
  '../../../firmware/src/app/upload/upload_params.js';
import { runBus, type BusCompanion, type BusRun, type TapLine } from './bus_run.js';
import { checkBusRun } from './bus_checks.js';
import { DepotLinkFaulty, DepotSim, type DepotLinkFaults } from './depot_sim.js';
import { IoTracker, depotTracked } from './fleet_io.js';
import type { SimBoard } from './sim_board.js';
import type { BusBoard } from './sim_board_parts.js';
import { fleetBusRunOptions, fleetParamsDownload, type FleetParamsOptions } from
  './fleet_params.js';

/** Options of a fleet run (`shuaka sim --fleet N`). */
export interface FleetOptions {
  readonly seed: number;
  readonly buses: number;
  readonly ridersPerBus: number;
  /** The depot each bus talks to: made once per terminal (its own identity). */
  readonly depotFor: (terminalId: string) => Promise<DepotPort & { close?: () => void }>;
  /** Random call failures and lost answers on every link (outage windows come from the seed). */
  readonly failChance: number;
  readonly lostAnswerChance: number;
  /** Parameters down (each bus fetches and installs the depot's newest set); absent: none. */
  readonly params?: FleetParamsOptions | null;
}

/** One bus of the fleet after its day. */
export interface FleetBus {
  readonly terminalId: string;
  readonly run: BusRun;
  /** The bus's board (its clock and card field), for visits after the day (fleet_visit.ts). */
  readonly board: SimBoard;
  readonly upload: Readonly<UploaderState>;
  readonly faultsInjected: number;
  readonly outages: readonly (readonly [number, number])[];
  readonly lastSeq: number;
  readonly ackThroughSeq: number;
  /** Export lines the journal still holds unacknowledged (0 when all reached the depot). */
  readonly backlogLines: number;
  /** Every export line of the day (what the depot must hold for this terminal). */
  readonly exportedLines: number;
  /** The bus's parameters-down (installed version, refusal), or null without --params-key. */
  readonly paramsDown: ParamsDownload | null;
}

/** Contacts after the last rider before the day is called (outages are over by then). */
const DRAIN_CONTACTS_MAX = 40;

/** Terminal id of bus `index` (0-based): SIM00001, SIM00002, … */
export function fleetTerminalId(index: number): string {
  return `SIM${String(index + 1).padStart(5, '0')}`;
}

/**
 * Rides every bus of the fleet, one after the other; `onBus` sees each as it ends. The caller
 * disposes the buses' boards (fleetDispose) once done with them; when a ride fails, those
 * ridden before it are disposed here.
 */
export async function runFleet(
  options: FleetOptions,
  onTap: (bus: number, line: TapLine) => void,
  onBus: (bus: FleetBus) => void,
): Promise<FleetBus[]> {
  const buses: FleetBus[] = [];
  const prng = new Prng(options.seed).fork('fleet');
  try {
    for (let index = 0; index < options.buses; index += 1) {
      const terminalId = fleetTerminalId(index);
      const depot = await options.depotFor(terminalId);
      try {
        const bus = await rideFleetBus(options, { index, terminalId, depot, onTap },
          prng.fork(terminalId));
        buses.push(bus);
        onBus(bus);
      } finally {
        depot.close?.();
      }
    }
  } catch (error) {
    fleetDispose(buses);
    throw error;
  }
  return buses;
}

/** Removes what each bus's board made (its sysfs tree in a temporary directory). */
export function fleetDispose(buses: readonly FleetBus[]): void {
  for (const bus of buses) bus.run.board.dispose();
}

interface FleetBusSeat {
  readonly index: number;
  readonly terminalId: string;
  readonly depot: DepotPort;
  readonly onTap: (bus: number, line: TapLine) => void;
}

async function rideFleetBus(
  options: FleetOptions,
  seat: FleetBusSeat,
  prng: Prng,
): Promise<FleetBus> {
  const { index, terminalId, depot } = seat;
  // One outage of 2 to 10 minutes starting during the ride (riders board every few seconds),
  // so the backlog grows behind it and is drained after it, through the backoff.
  const fromMs = prng.below(Math.max(1, options.ridersPerBus * 5_000));
  const outages = [[fromMs, fromMs + 120_000 + prng.below(480_000)] as const];
  const faults: DepotLinkFaults = {
    failChance: options.failChance, lostAnswerChance: options.lostAnswerChance, outages,
  };
  const io = new IoTracker();
  let uploader: Uploader | null = null;
  let link: DepotLinkFaulty | null = null;
  let paramsDown: ParamsDownload | null = null;
  let simBoard: SimBoard | null = null;
  const companion: BusCompanion = {
    run: async (board, ridersDone) => {
      simBoard = board;
      link = new DepotLinkFaulty(depotTracked(depot, io), faults, prng.fork('link'), board.clock);
      const params = options.params ?? null;
      paramsDown = params === null ? null : fleetParamsDownload(board, terminalId, params);
      uploader = fleetUploader(board, link, terminalId, prng.fork('jitter'), paramsDown);
      await uploader.run(ridersDone);
      await drain(uploader, board);
    },
    betweenTaps: async () => uploader?.betweenTaps(),
    settleIo: () => io.settle(),
  };
  const busOptions = {
    ...fleetBusRunOptions(options.seed, index, options.ridersPerBus, terminalId),
    ...(options.params ? { denyKeyBytes: options.params.denyKeyBytes } : {}),
  };
  const run = await runBus(busOptions, (line) => seat.onTap(index, line), companion);
  const up = uploader as Uploader | null;
  const summary = run.board.journal.summary();
  if (simBoard === null) throw new Error(`${terminalId}: the bus never started`);
  return {
    terminalId, run, outages, board: simBoard,
    upload: up?.state() ?? emptyState(),
    faultsInjected: (link as DepotLinkFaulty | null)?.faultsInjected ?? 0,
    lastSeq: summary.lastSeq, ackThroughSeq: summary.ackThroughSeq,
    backlogLines: fleetExportLines(run, summary.ackThroughSeq).size,
    exportedLines: fleetExportLines(run, 0).size,
    paramsDown: paramsDown as ParamsDownload | null,
  };
}

/** A fleet bus's uploader on `depot` (the day's faulty link, or a visit's). */
export function fleetUploader(
  board: BusBoard,
  depot: DepotPort,
  terminalId: string,
  prng: Prng,
  params: UploadParamsPort | null,
): Uploader {
  return new Uploader(
    {
      depot, storage: board.storage, journalFileName: JOURNAL_FILE_NAME, journal: board.journal,
      panVault: board.panVault, clock: board.clock, random01: () => prng.below(1 << 30) / (1 << 30),
      log: { log: (event) => board.logs.push(event) },
      tapInProgress: () => board.validator.state() === 'Processing', params,
    },
    { ...UPLOADER_CONFIG_DEFAULT, terminalId, contactIntervalMs: 30_000,
      backoff: { baseMs: 2_000, maxMs: 60_000 } },
  );
}

/** After the last rider: contact until a contact sends nothing more (or give up, counted). */
async function drain(uploader: Uploader, board: SimBoard): Promise<void> {
  for (let contact = 0; contact < DRAIN_CONTACTS_MAX; contact += 1) {
    const before = uploader.state().batchesSent;
    const result = await uploader.contact();
    await uploader.betweenTaps();
    if (result.ok && uploader.state().batchesSent === before) return;
    // The backoff's ceiling: 40 tries span 40 minutes, past the longest outage (10).
    if (!result.ok) await board.clock.sleepMs(60_000);
  }
}

function emptyState(): UploaderState {
  return { contacts: 0, contactsFailed: 0, batchesSent: 0, recordsSent: 0, recordsStored: 0,
    duplicates: 0, depotAckThroughSeq: 0, lastError: null, paramsInstalled: 0,
    paramsRefused: null };
}

/**
 * The export lines of a bus's journal (on its medium) after `ackThroughSeq`, by seq; with 0,
 * every line the journal ever exported (what the depot must hold, exactly).
 */
export function fleetExportLines(run: BusRun, ackThroughSeq: number): Map<number, string> {
  const scan = journalScanFiles(run.board.storage.durableFiles(), JOURNAL_FILE_NAME, true);
  const openSeqs = new Set(scan.state.uncertainAll().map((tap) => tap.seq));
  const lines = new Map<number, string>();
  for (const record of scan.records) {
    const line = journalExportLine(record,
      { ackThroughSeq, openSeqs, vault: run.board.panVault });
    if (line !== null) lines.set(record.seq, line.text);
  }
  return lines;
}

/**
 * Checks a bus against the depot twin: the depot holds exactly the journal's export (nothing
 * lost, nothing twice), the journal is acknowledged, and the ride's own checks hold.
 */
export function fleetCheckBus(bus: FleetBus, depot: DepotSim | null): string[] {
  const violations = [...checkBusRun(bus.run).violations];
  if (bus.backlogLines > 0) violations.push(`${bus.terminalId}: ${bus.backlogLines} not uploaded`);
  if (depot === null) return violations;
  const truth = fleetExportLines(bus.run, 0);
  const stored = depot.records.get(bus.terminalId) ?? new Map();
  for (const [seq, line] of truth) {
    const held = stored.get(seq);
    if (held === undefined) violations.push(`${bus.terminalId} seq ${seq}: not at the depot`);
    else if (JSON.stringify(held) !== JSON.stringify(JSON.parse(line))) {
      violations.push(`${bus.terminalId} seq ${seq}: the depot holds another record`);
    }
  }
  for (const seq of stored.keys()) {
    if (!truth.has(seq)) violations.push(`${bus.terminalId} seq ${seq}: at the depot only`);
  }
  return violations;
}

export { DepotSim };
