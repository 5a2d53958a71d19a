// A fleet bus after its day: the next contact with the depot (parameters down first, then the
// backlog and the status), a few given cards tapped on the same board, and a contact that
// uploads those taps. What an end-to-end test needs to see a deny list reach every validator
// and a repaid card served again.

import type { DepotPort } from '../../../firmware/src/app/upload/depot_port.js';
import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';
import type {
  ContactResult, UploaderState,
} from '../../../firmware/src/app/upload/uploader.js';
import { Prng } from '../prng.js';
import { RIDE_PACE_AS_DRAWN, rideTap, type RideBoard } from './bus_ride.js';
import type { RiderCard } from './bus_riders.js';
import { runOnClockWithIo, type TapLine } from './bus_run.js';
import { IoTracker, depotTracked } from './fleet_io.js';
import { fleetExportLines, fleetUploader, type FleetBus } from './fleet_run.js';

/** What one visit did. */
export interface FleetVisit {
  /** The parameter version the validator runs after the first contact. */
  readonly paramsVersion: number;
  /** The cards' taps, in order. */
  readonly taps: readonly TapLine[];
  readonly upload: Readonly<UploaderState>;
  /** The journal's ack point after the last contact, and its last seq. */
  readonly ackThroughSeq: number;
  readonly lastSeq: number;
  /** Export lines still unacknowledged after the last contact (0: the depot holds them all). */
  readonly backlogLines: number;
  /** Every contact's outcome, in order (the last of each round decides it). */
  readonly contacts: readonly ContactResult[];
}

/** How many contacts each round tries before the bus carries on offline; 2 s apart. */
export const FLEET_VISIT_CONTACTS_DEFAULT = 8;

/**
 * Visits `bus` `idleMs` after where its clock stands: contacts `depot` until one succeeds
 * (installing and switching to a newer set) or `contactsMax` failed, taps every card of
 * `cards` once (a validator serves riders with or without its depot), then contacts again the
 * same way so the new taps reach the depot. Failed contacts are results, never thrown.
 */
export async function fleetBusVisit(
  bus: FleetBus,
  depot: DepotPort,
  cards: readonly RiderCard[],
  idleMs: number,
  contactsMax: number = FLEET_VISIT_CONTACTS_DEFAULT,
): Promise<FleetVisit> {
  const board = bus.board;
  const io = new IoTracker();
  const prng = new Prng(bus.run.options.seed).fork(`visit/${board.clock.nowMs()}`);
  const uploader = fleetUploader(board, depotTracked(depot, io), bus.terminalId, prng,
    bus.paramsDown);
  const contacts: ContactResult[] = [];
  const contact = async (): Promise<void> => {
    for (let attempt = 1; attempt <= contactsMax; attempt += 1) {
      const result = await uploader.contact();
      await uploader.betweenTaps();
      contacts.push(result);
      if (result.ok) return;
      await board.clock.sleepMs(2_000);
    }
  };
  const ride: RideBoard = { clock: board.clock, field: board.rig.sim, screen: board.screen,
    lastSignal: () => board.lastSignal(), skipIdleMs: () => undefined };
  const taps: TapLine[] = [];
  let paramsVersion = 0;
  const visit = async (): Promise<void> => {
    await board.clock.sleepMs(idleMs);
    await contact();
    paramsVersion = board.params.set.version;
    let waiting: ((report: TapReport) => void) | null = null;
    let stop = false;
    const loop = (async (): Promise<void> => {
      while (!stop) {
        await board.validator.turn((event) => {
          if (event.kind === 'CardProcessed') waiting?.(event.report);
        });
        await uploader.betweenTaps();
      }
    })();
    for (const [index, card] of cards.entries()) {
      const tap = {
        rider: index, card, gapMs: 3_000, holdMs: 400, pullAfterCommands: null, stop: 1,
      };
      taps.push(await rideTap(ride, tap, index, RIDE_PACE_AS_DRAWN, (resolve) => {
        waiting = resolve;
      }));
      waiting = null;
    }
    stop = true;
    await loop;
    await contact();
  };
  await runOnClockWithIo(board.clock, visit(), 200_000 + cards.length * 50_000,
    { run: async () => undefined, betweenTaps: async () => undefined,
      settleIo: () => io.settle() });
  const summary = board.journal.summary();
  return { paramsVersion, taps, upload: uploader.state(), ackThroughSeq: summary.ackThroughSeq,
    lastSeq: summary.lastSeq, contacts,
    backlogLines: fleetExportLines(bus.run, summary.ackThroughSeq).size };
}
