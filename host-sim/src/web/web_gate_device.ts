// A scenic-area gate on the page: the production GateApp on the simulated board (kernel,
// PN532 emulator, journal) with an emulated turnstile controller. A person taps a card of the
// population (a ticket holder or a walk-in), walks through the lane when it opens, jumps it
// while locked (tailgating) or stands in the pass sensor (a stuck sensor).

import { GateApp } from '../../../firmware/src/app/gate/gate_app.js';
import { GATE_LANE_CONFIG_DEFAULT } from '../../../firmware/src/app/gate/gate_lane.js';
import { GateLoop } from '../../../firmware/src/app/gate/gate_loop.js';
import type { GateParams } from '../../../firmware/src/app/gate/gate_params.js';
import { DenyKey } from '../../../firmware/src/app/deny_list/deny_key.js';
import { VALIDATOR_CONFIG_DEFAULT } from '../../../firmware/src/app/validator/validator_ports.js';
import { localDateTime } from '../../../firmware/src/app/validator/validator_time.js';
import { testPki } from '../pki/test_pki.js';
import { runOnClock } from '../pn532_sim/pn532_sim_rig.js';
import { Prng } from '../prng.js';
import { riderPool, type RiderPool } from '../sim/bus_riders.js';
import { GATE_RUN_DEFAULT, gateBoardOptions } from '../sim/gate_run.js';
import { createSimBoard, type SimBoard } from '../sim/sim_board.js';
import { simDenyKey } from '../sim/sim_board_parts.js';
import { StorageSim } from '../storage_sim.js';
import { TurnstileControllerSim } from '../turnstile_sim/turnstile_controller_sim.js';
import { TurnstileSimPort } from '../turnstile_sim/turnstile_sim_port.js';
import { ClockPacer, type ClockPacerOptions } from './clock_pacer.js';
import type { JsonValue, WebAction, WebActResult, WebDevice } from './web_device.js';

/** How long a tapped card stays on the reader (the visitor reads the screen). */
const WEB_GATE_TAP_HOLD_MS = 1_500;
/** Persons on each of the first cards' tickets (a family), the rest walk in and pay. */
const TICKET_PERSONS = [3, 2];

/** The gate's cards: the first ones hold today's tickets, the others pay at the gate. */
function gateJson(pool: RiderPool, date: string, tokenOf: (pan: string) => string): GateParams {
  const tickets = TICKET_PERSONS.map((persons, i) => {
    const pan = pool.cards[i]?.card.profile.applications[0]?.pan ?? '';
    return { ticketId: `T-${i + 1}`, cardToken: tokenOf(pan), date, slotId: 'day', persons,
      reentry: i === 0 };
  });
  return {
    siteId: 'XIHU-N', dayCapacity: 500, slotEntryGraceMin: 0, walkIns: true,
    slots: [{ id: 'day', startMinute: 0, endMinute: 1440, capacity: 500 }], tickets,
  };
}

/** Builds a gate device of `seed` (its own card population). Throws when it cannot start. */
export async function createWebGateDevice(seed: number, pace: ClockPacerOptions):
  Promise<WebGateDevice> {
  const pool = riderPool(seed, 1, testPki(), 'realistic');
  const board = await createSimBoard(gateBoardOptions({ ...GATE_RUN_DEFAULT, seed }, pool));
  const key = DenyKey.fromBytes(simDenyKey(seed));
  const tokenOf = (pan: string): string => {
    const token = key.token(pan, 0);
    return token === null ? '' : Buffer.from(token).toString('hex').toUpperCase();
  };
  const { date } = localDateTime(board.clock.wallMs(), VALIDATOR_CONFIG_DEFAULT.utcOffsetMinutes);
  const gate = gateJson(pool, `20${date.slice(0, 2)}-${date.slice(2, 4)}-${date.slice(4, 6)}`,
    tokenOf);
  const controller = new TurnstileControllerSim();
  const app = new GateApp({
    ...board.validatorPorts,
    turnstile: new TurnstileSimPort(controller, { clock: board.clock, requestMs: 20,
      timeoutMs: 500 }),
    exitTurnstile: null,
    ledgerStorage: new StorageSim({ totalBytes: 8 << 20, prng: new Prng(seed).fork('ledger'),
      tornModes: ['prefix'] }),
    gateParams: () => gate,
    cardToken: (pan) => tokenOf(pan) || null,
  }, { validator: VALIDATOR_CONFIG_DEFAULT, lane: GATE_LANE_CONFIG_DEFAULT, direction: 'entry' });
  const started = await board.rig.run(app.start());
  if (!started.ok) {
    board.dispose();
    throw new Error(`gate start: ${started.detail}`);
  }
  return new WebGateDevice(board, pool, app, controller, gate, pace);
}

/** One gate lane on the page. */
export class WebGateDevice implements WebDevice {
  readonly kind = 'gate';
  readonly id = 'GATE0001';
  private readonly loop: GateLoop;
  private readonly pacer: ClockPacer;
  private readonly events: JsonValue[] = [];
  private readonly onReader = new Set<number>();
  private lastTap: JsonValue = null;
  private fault: string | null = null;
  private stopping = false;
  private running: Promise<void> | null = null;
  private onTick: () => void = () => undefined;

  constructor(
    private readonly board: SimBoard,
    private readonly pool: RiderPool,
    private readonly app: GateApp,
    private readonly controller: TurnstileControllerSim,
    private readonly gate: GateParams,
    pace: ClockPacerOptions,
  ) {
    this.loop = new GateLoop(app, board.validatorPorts.reader, board.clock,
      VALIDATOR_CONFIG_DEFAULT);
    this.pacer = new ClockPacer(board.clock, pace, () => this.onTick());
  }

  describe(): JsonValue {
    return {
      terminalId: this.id, siteId: this.gate.siteId, dayCapacity: this.gate.dayCapacity,
      cards: this.pool.cards.map((card, id) => ({
        id, name: card.name,
        persons: this.gate.tickets[id] === undefined ? 0 : TICKET_PERSONS[id] ?? 0,
      })),
    };
  }

  state(): JsonValue {
    const day = this.app.counts();
    return {
      simMs: Math.floor(this.board.clock.nowMs()),
      screen: { ...this.board.screen.snapshot() },
      lane: {
        open: this.controller.coils[0] === true, alarm: this.controller.coils[2] === true,
        blocked: this.controller.blocked, passCount: this.controller.passCount,
      },
      counts: day === null ? null : {
        entries: day.entries, ticketEntries: day.ticketEntries, paidEntries: day.paidEntries,
        paidAdmissions: day.paidAdmissions, tailgates: day.tailgates,
      },
      onReader: [...this.onReader],
      lastTap: this.lastTap,
      outOfService: this.app.outOfServiceReason(),
      fault: this.fault,
    };
  }

  takeEvents(): JsonValue[] {
    return this.events.splice(0, this.events.length);
  }

  act(action: WebAction): WebActResult {
    if (this.fault !== null) return { ok: false, error: `the gate stopped: ${this.fault}` };
    switch (action.verb) {
      case 'tap':
        return this.tap(action.args['card']);
      case 'walk': {
        const walked = this.controller.walk('entry', false);
        return walked === 'passed' ? { ok: true } : { ok: false, error: 'the lane is locked' };
      }
      case 'jump':
        this.controller.walk('entry', true);
        return { ok: true };
      case 'sensor': {
        const blocked = action.args['blocked'];
        if (typeof blocked !== 'boolean') return { ok: false, error: 'blocked: true or false' };
        this.controller.blocked = blocked;
        return { ok: true };
      }
      default:
        return { ok: false, error: `unknown action '${action.verb}' (tap, walk, jump, sensor)` };
    }
  }

  start(onTick: () => void): void {
    this.onTick = onTick;
    this.running = this.runGate();
    this.pacer.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.pacer.stop();
    try {
      if (this.running !== null) await runOnClock(this.board.clock, this.running);
    } catch {
      // A loop that cannot end is abandoned: its clock is never stepped again.
    }
    this.board.dispose();
  }

  private tap(id: JsonValue | undefined): WebActResult {
    const card = typeof id === 'number' && Number.isInteger(id) ? this.pool.cards[id] : undefined;
    if (card === undefined || typeof id !== 'number') {
      return { ok: false, error: `no card ${JSON.stringify(id ?? null)} at this gate` };
    }
    if (this.onReader.has(id)) return { ok: false, error: `card ${id} is already on the reader` };
    this.onReader.add(id);
    this.board.rig.sim.placeCard(card.card);
    void this.board.clock.sleepMs(WEB_GATE_TAP_HOLD_MS).then(() => {
      this.onReader.delete(id);
      this.board.rig.sim.removeCard(card.card);
    });
    return { ok: true };
  }

  private async runGate(): Promise<void> {
    try {
      while (!this.stopping) {
        const report = await this.loop.turn();
        if (report === null) continue;
        this.lastTap = {
          result: report.tap.result, decision: report.decision?.kind ?? null,
          reason: report.decision?.kind === 'refuse' ? report.decision.reason : null,
          passed: report.lane?.passed ?? 0, tailgaters: report.lane?.tailgaters ?? 0,
        };
        this.events.push({ type: 'tap', ...this.lastTap });
      }
    } catch (error) {
      this.fault = error instanceof Error ? error.message : String(error);
      this.onTick();
    }
  }
}
