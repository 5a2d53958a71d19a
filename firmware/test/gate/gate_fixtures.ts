// Gate test fixtures: a gate.json, a lane on the emulated controller, a clock driver.

import { ClockSim } from '../../../host-sim/src/clock_sim.js';
import { TurnstileControllerSim } from '../../../host-sim/src/turnstile_sim/turnstile_controller_sim.js';
import { TurnstileSimPort } from '../../../host-sim/src/turnstile_sim/turnstile_sim_port.js';
import type { GateParams, GateTicket } from '../../src/app/gate/gate_params.js';

export const TOKEN_A = 'A'.repeat(24);
export const TOKEN_B = 'B'.repeat(24);
export const TOKEN_C = 'C'.repeat(24);

export function ticket(overrides: Partial<GateTicket>): GateTicket {
  return {
    ticketId: 'T1', cardToken: TOKEN_A, date: '2026-12-03', slotId: 'am', persons: 3,
    reentry: false, ...overrides,
  };
}

/** A small site: 08:00-12:00 (am, 6 places) and 12:00-17:00 (pm, 6), 10 a day. */
export function gateParams(tickets: readonly GateTicket[], walkIns = true): GateParams {
  return {
    siteId: 'LINGYIN', dayCapacity: 10, slotEntryGraceMin: 30, walkIns,
    slots: [
      { id: 'am', startMinute: 8 * 60, endMinute: 12 * 60, capacity: 6 },
      { id: 'pm', startMinute: 12 * 60, endMinute: 17 * 60, capacity: 6 },
    ],
    tickets,
  };
}

/** The gate.json text of `params` (times as HH:MM). */
export function gateJson(params: GateParams): string {
  const hhmm = (m: number): string =>
    `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return JSON.stringify({
    siteId: params.siteId, dayCapacity: params.dayCapacity,
    slotEntryGraceMin: params.slotEntryGraceMin, walkIns: params.walkIns,
    slots: params.slots.map((s) => ({
      id: s.id, start: hhmm(s.startMinute), end: hhmm(s.endMinute), capacity: s.capacity,
    })),
    tickets: params.tickets,
  });
}

/** A lane rig on simulated time. */
export function laneRig(): { clock: ClockSim; controller: TurnstileControllerSim;
  port: TurnstileSimPort } {
  const clock = new ClockSim(0);
  const controller = new TurnstileControllerSim();
  const port = new TurnstileSimPort(controller, { clock, requestMs: 20, timeoutMs: 500 });
  return { clock, controller, port };
}

/** People in each controller's sensor (the beam stays blocked while anyone is in it). */
const occupants = new WeakMap<TurnstileControllerSim, number>();

/** A visitor who walks up `atMs` from now and takes `walkMs` in the sensor. */
export function visitor(
  clock: ClockSim,
  controller: TurnstileControllerSim,
  atMs: number,
  walkMs: number,
  force = false,
): void {
  void clock.sleepMs(atMs).then(async () => {
    occupants.set(controller, (occupants.get(controller) ?? 0) + 1);
    controller.blocked = true;
    await clock.sleepMs(walkMs);
    controller.walk('entry', force);
    const left = (occupants.get(controller) ?? 1) - 1;
    occupants.set(controller, left);
    controller.blocked = left > 0;
  });
}

/** Steps simulated time until `work` settles (bounded). */
export async function runOn<T>(clock: ClockSim, work: Promise<T>): Promise<T> {
  let done = false;
  let value: T | undefined;
  void work.then((v) => {
    done = true;
    value = v;
  });
  for (let i = 0; i < 1_000_000 && !done; i += 1) {
    if (!(await clock.step())) break;
  }
  if (!done) throw new Error('work did not settle on simulated time');
  return value as T;
}
