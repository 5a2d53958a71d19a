// Entry and exit lanes of one site in one process share one anti-passback state (GateSite):
// a card that entered on lane 1 cannot enter on lane 2; leaving through the exit lane re-arms
// a re-entry ticket on lane 2. Failing twins: lanes that do not share (each its own ledger)
// let the card in twice; a ticket without re-entry stays refused after the exit.

import { describe, expect, it } from 'vitest';

import { GateApp, type GateTapReport } from '../../../firmware/src/app/gate/gate_app.js';
import { GATE_LANE_CONFIG_DEFAULT } from '../../../firmware/src/app/gate/gate_lane.js';
import type { GateParams } from '../../../firmware/src/app/gate/gate_params.js';
import { GateSite } from '../../../firmware/src/app/gate/gate_site.js';
import { VALIDATOR_CONFIG_DEFAULT } from '../../../firmware/src/app/validator/validator_ports.js';
import { testPki } from '../../src/pki/test_pki.js';
import { Prng } from '../../src/prng.js';
import { riderPool, type RiderPool } from '../../src/sim/bus_riders.js';
import { busBoardOptions } from '../../src/sim/sim_board_parts.js';
import { createSimBoard, type SimBoard } from '../../src/sim/sim_board.js';
import { StorageSim } from '../../src/storage_sim.js';
import { TurnstileControllerSim } from '../../src/turnstile_sim/turnstile_controller_sim.js';
import { TurnstileSimPort } from '../../src/turnstile_sim/turnstile_sim_port.js';

const CARD = 'unionpay-credit-ec';

interface Lane {
  readonly app: GateApp;
  readonly port: TurnstileSimPort;
  readonly direction: 'entry' | 'exit';
}

interface Rig {
  readonly board: SimBoard;
  readonly pool: RiderPool;
  readonly lanes: readonly [Lane, Lane, Lane];
}

function tokenOf(pan: string): string {
  return pan.padStart(24, '0').slice(-24);
}

function storage(seed: number): StorageSim {
  return new StorageSim({ totalBytes: 1 << 20, prng: new Prng(seed), tornModes: ['prefix'] });
}

/** Lane 1 and 2 entry, lane 3 exit; `shared`: one GateSite, else each lane its own ledger. */
async function rigOpen(reentry: boolean, shared: boolean): Promise<Rig> {
  const pool = riderPool(5, 1, testPki(), 'default');
  const board = await createSimBoard(busBoardOptions({
    seed: 5, riders: 0, tornChance: 0, baudRate: 921_600, mode: 'auto', cardGroups: 1,
  }, pool));
  const pan = pool.cards.find((c) => c.name === CARD)?.card.profile.applications[0]?.pan;
  if (pan === undefined) throw new Error(`no ${CARD}`);
  const gate: GateParams = {
    siteId: 'XIHU-N', dayCapacity: 100, slotEntryGraceMin: 0, walkIns: false,
    slots: [{ id: 'morning', startMinute: 0, endMinute: 1440, capacity: 100 }],
    tickets: [{ ticketId: 'T1', cardToken: tokenOf(pan), date: '2026-11-22', slotId: 'morning',
      persons: 1, reentry }],
  };
  const ledger = storage(1);
  const site = shared ? new GateSite(ledger) : null;
  const lane = async (direction: 'entry' | 'exit', seed: number): Promise<Lane> => {
    const port = new TurnstileSimPort(new TurnstileControllerSim(),
      { clock: board.clock, requestMs: 20, timeoutMs: 500 });
    const own = storage(seed);
    const app = new GateApp({
      ...board.validatorPorts, turnstile: port, exitTurnstile: null,
      ledgerStorage: site === null ? own : ledger, ...(site === null ? {} : { site }),
      gateParams: () => gate, cardToken: tokenOf,
    }, { validator: VALIDATOR_CONFIG_DEFAULT, lane: GATE_LANE_CONFIG_DEFAULT, direction });
    const started = await board.rig.run(app.start());
    expect(started.ok, started.detail).toBe(true);
    return { app, port, direction };
  };
  const lanes: [Lane, Lane, Lane] = [await lane('entry', 2), await lane('entry', 3),
    await lane('exit', 4)];
  return { board, pool, lanes };
}

/** The card taps on `lane`; whoever the lane lets through walks in its direction. */
async function tapAt(r: Rig, lane: Lane): Promise<GateTapReport> {
  const entry = r.pool.cards.find((c) => c.name === CARD);
  if (entry === undefined) throw new Error(`no ${CARD}`);
  r.board.rig.sim.placeCard(entry.card);
  const polled = await r.board.rig.run(r.board.validatorPorts.reader.poll({
    technologies: ['ISO14443A', 'ISO14443B'], timeoutMs: 200,
  }));
  if (!polled.ok || polled.value.kind !== 'one') throw new Error('card not found');
  const walked = r.board.clock.sleepMs(1_500)
    .then(() => lane.port.controller.walk(lane.direction, false));
  const report = await r.board.rig.run(
    Promise.all([lane.app.tap(polled.value.card), walked]).then(([x]) => x));
  r.board.rig.sim.removeCard(entry.card);
  return report;
}

describe('gate lanes of one site share anti-passback', () => {
  it('enteredOnLane1_refusedOnLane2_exitReArmsAReentryTicket', async () => {
    const r = await rigOpen(true, true);
    const [one, two, exit] = r.lanes;
    expect((await tapAt(r, one)).decision).toMatchObject({ kind: 'ticket', persons: 1 });
    const second = await tapAt(r, two);
    expect(second.decision).toEqual({ kind: 'refuse', reason: 'passback', placesLeft: null });
    expect(second.lane).toBeNull();
    expect(two.port.controller.passCount).toBe(0);
    const out = await tapAt(r, exit);
    expect(out.decision).toEqual({ kind: 'exit' });
    expect(out.lane?.passed).toBe(1);
    const back = await tapAt(r, two);
    expect(back.decision).toMatchObject({ kind: 'ticket', persons: 1 });
    expect(back.lane?.passed).toBe(1);
    // Inside again: lane 1 refuses now.
    expect((await tapAt(r, one)).decision).toMatchObject({ kind: 'refuse', reason: 'passback' });
    expect(r.lanes[0].app.counts()).toBe(r.lanes[1].app.counts());
    r.board.dispose();
  }, 60_000);

  it('twin_lanesThatDoNotShare_letTheCardInTwice', async () => {
    const r = await rigOpen(true, false);
    const [one, two] = r.lanes;
    expect((await tapAt(r, one)).decision?.kind).toBe('ticket');
    expect((await tapAt(r, two)).decision?.kind).toBe('ticket');
    expect(one.port.controller.passCount + two.port.controller.passCount).toBe(2);
    r.board.dispose();
  }, 60_000);

  it('twin_ticketWithoutReentry_staysRefusedAfterTheExit', async () => {
    const r = await rigOpen(false, true);
    const [one, two, exit] = r.lanes;
    expect((await tapAt(r, one)).decision?.kind).toBe('ticket');
    expect((await tapAt(r, exit)).decision).toEqual({ kind: 'exit' });
    expect((await tapAt(r, two)).decision).toMatchObject({ kind: 'refuse', reason: 'passback' });
    r.board.dispose();
  }, 60_000);
});
