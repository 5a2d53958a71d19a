// A bus validator on the page: taps, holds and early pulls of the population's cards, live.

import { withFaults } from '../cards/card_faults.js';
import type { VirtualCard } from '../cards/card_model.js';
import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';
import { runOnClock } from '../pn532_sim/pn532_sim_rig.js';
import type { TapLine } from '../sim/bus_run.js';
import { RIDE_ANSWER_WAIT_MS } from '../sim/bus_ride.js';
import type { RiderCard, RiderPool } from '../sim/bus_riders.js';
import type { Uploader } from '../../../firmware/src/app/upload/uploader.js';
import type { DepotSim } from '../sim/depot_sim.js';
import { ClockPacer, type ClockPacerOptions } from './clock_pacer.js';
import type { DepotSwitch } from './depot_switch.js';
import type { WebBusBoard } from './web_bus_board.js';
import type { JsonValue, WebAction, WebActResult, WebDevice } from './web_device.js';

/**
 * How long a tapped or pulled card stays after the answer: the validator shows its answer
 * until it sees the card leave, so this is how long the person at the page can read it. A
 * pulled card stays mute in the field that long, as the riders of `shuaka sim` do (rideTap).
 */
export const WEB_TAP_HOLD_MS = 1_500;
/** Default command after which an early pull takes the card away (after GPO: a torn tap). */
export const WEB_PULL_AFTER_COMMANDS_DEFAULT = 3;
/** Bound on the early-pull command index (a qPBOC tap has fewer commands than this). */
const PULL_AFTER_COMMANDS_MAX = 32;
/** Finished taps kept for the page's tap list. */
const RECENT_TAPS_MAX = 20;

type Presence = 'tap' | 'hold' | 'pull';

/** A card in the field: what was presented (with its pull fault) and how it leaves. */
interface InField {
  readonly presented: VirtualCard;
  readonly presence: Presence;
  readonly placedMs: number;
}

/** "622848******1234": the first 6 and last 4 digits, as the journal and receipts mask. */
function maskPan(pan: string | undefined): string {
  if (pan === undefined || pan.length < 10) return '';
  return `${pan.slice(0, 6)}${'*'.repeat(pan.length - 10)}${pan.slice(-4)}`;
}

function reportJson(report: TapReport): JsonValue {
  return {
    result: report.result,
    reason: report.reason,
    panMasked: report.panMasked,
    amountMinor: report.amountMinor,
    balanceMinor: report.balanceMinor,
    fareRule: report.fareRule,
    journalSeqs: [...report.journalSeqs],
    recovered: report.recovered,
  };
}

/** The bus's uploader, its link (which the page can cut) and the depot twin they reach. */
export interface WebBusUpload {
  readonly uploader: Uploader;
  readonly link: DepotSwitch;
  readonly depot: DepotSim;
}

/** The validator of one bus and its uploader, paced at wall-clock speed. */
export class WebBusDevice implements WebDevice {
  readonly kind = 'bus';
  readonly id: string;
  private readonly field = new Map<number, InField>();
  /** The card of the tap under way (see runValidator), null between taps. */
  private tapping: [number, InField] | null = null;
  private readonly pacer: ClockPacer;
  private readonly events: JsonValue[] = [];
  private readonly recent: JsonValue[] = [];
  private lastTap: JsonValue = null;
  private tapCount = 0;
  private fault: string | null = null;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private onTick: () => void = () => undefined;

  constructor(
    private readonly parts: WebBusBoard,
    private readonly pool: RiderPool,
    private readonly upload: WebBusUpload,
    pace: ClockPacerOptions,
    private readonly onTap: (line: TapLine) => void,
  ) {
    this.id = parts.board.params.set.terminal.terminalId;
    this.pacer = new ClockPacer(parts.board.clock, pace, () => this.tick());
  }

  describe(): JsonValue {
    const terminal = this.parts.board.params.set.terminal;
    return {
      terminalId: terminal.terminalId,
      lineId: terminal.lineId,
      cards: this.pool.cards.map((card, id) => ({
        id,
        name: card.name,
        panMasked: maskPan(card.card.profile.applications[0]?.pan),
      })),
    };
  }

  state(): JsonValue {
    const { board, indicator } = this.parts;
    const journal = board.journal.summary();
    const now = indicator.now();
    return {
      simMs: Math.floor(board.clock.nowMs()),
      fareMinor: board.params.set.fares.flatFareMinor,
      screen: { ...board.screen.snapshot() },
      displayErrors: board.screen.errors.length,
      leds: { green: now.green, red: now.red },
      toneHz: now.toneHz,
      field: [...this.field.keys()],
      lastTap: this.lastTap,
      recentTaps: [...this.recent],
      journal: {
        records: journal.recordCount,
        ackThroughSeq: journal.ackThroughSeq,
        backlog: journal.unacknowledgedFinalCount,
        uncertain: journal.uncertainCount,
        sizeBytes: journal.sizeBytes,
      },
      upload: this.uploadState(),
      balances: this.pool.cards.map((card) => card.card.balanceMinor()),
      taps: this.tapCount,
      fault: this.fault,
    };
  }

  takeEvents(): JsonValue[] {
    for (const edge of this.parts.indicator.take()) {
      this.events.push({ type: 'indicator', ...edge });
    }
    return this.events.splice(0, this.events.length);
  }

  act(action: WebAction): WebActResult {
    if (this.fault !== null) return { ok: false, error: `the validator stopped: ${this.fault}` };
    if (action.verb === 'link') {
      const online = action.args['online'];
      if (typeof online !== 'boolean') return { ok: false, error: 'online must be true or false' };
      this.upload.link.online = online;
      return { ok: true };
    }
    const id = action.args['card'];
    const card = typeof id === 'number' && Number.isInteger(id) ? this.pool.cards[id] : undefined;
    if (card === undefined || typeof id !== 'number') {
      return { ok: false, error: `no card ${JSON.stringify(id ?? null)} in this population` };
    }
    switch (action.verb) {
      case 'tap':
      case 'hold':
        return this.place(id, card, action.verb, null);
      case 'pull': {
        const after = action.args['afterCommands'] ?? WEB_PULL_AFTER_COMMANDS_DEFAULT;
        if (typeof after !== 'number' || !Number.isInteger(after) || after < 1
          || after > PULL_AFTER_COMMANDS_MAX) {
          return { ok: false, error: `afterCommands must be an integer in 1..32` };
        }
        return this.place(id, card, 'pull', after);
      }
      case 'remove':
        return this.remove(id);
      default:
        return { ok: false,
          error: `unknown action '${action.verb}' (tap, hold, pull, remove, link)` };
    }
  }

  start(onTick: () => void): void {
    this.onTick = onTick;
    this.loop = Promise.all([this.runValidator(), this.runUploader()]).then(() => undefined);
    this.pacer.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.pacer.stop();
    for (const id of [...this.field.keys()]) this.remove(id);
    try {
      // The loop ends at its next turn; no pacer runs, so the clock is stepped here.
      if (this.loop !== null) await runOnClock(this.parts.board.clock, this.loop);
    } catch {
      // A loop that cannot end is abandoned: its clock is never stepped again.
    }
    this.parts.board.dispose();
  }

  private tick(): void {
    this.onTick();
  }

  private uploadState(): JsonValue {
    const state = this.upload.uploader.state();
    return {
      online: this.upload.link.online,
      contacts: state.contacts,
      contactsFailed: state.contactsFailed,
      recordsSent: state.recordsSent,
      depotAckThroughSeq: state.depotAckThroughSeq,
      lastError: state.lastError,
      atDepot: this.upload.depot.records.get(this.id)?.size ?? 0,
    };
  }

  /** The uploader beside the tap loop, as on the board; it stops with the device. */
  private async runUploader(): Promise<void> {
    try {
      await this.upload.uploader.run(() => this.stopping);
    } catch (error) {
      this.fault = `uploader: ${error instanceof Error ? error.message : String(error)}`;
      this.onTick();
    }
  }

  private async runValidator(): Promise<void> {
    try {
      while (!this.stopping) {
        await this.parts.board.validator.turn((event) => {
          // The card the tap is about, taken when it is detected: it may leave the field
          // (its rider's wait over) before the answer, which is its answer all the same.
          if (event.kind === 'CardInserted') this.tapping = this.inFieldNow();
          if (event.kind === 'CardProcessed') this.processed(event.report);
        });
        // Acks the depot earned are journalled between taps, never during one.
        await this.upload.uploader.betweenTaps();
      }
    } catch (error) {
      this.fault = error instanceof Error ? error.message : String(error);
      this.onTick();
    }
  }

  private place(id: number, card: RiderCard, presence: Presence, pullAfter: number | null):
    WebActResult {
    if (this.field.has(id)) return { ok: false, error: `card ${id} is already on the reader` };
    const faults = pullAfter === null
      ? []
      : [{ kind: 'remove-after-command' as const, command: pullAfter }];
    const presented = withFaults(card.card, { faults });
    const clock = this.parts.board.clock;
    this.field.set(id, { presented, presence, placedMs: clock.nowMs() });
    this.parts.board.rig.sim.placeCard(presented);
    if (presence !== 'hold') {
      // A rider who gets no answer gives up, as in `shuaka sim` (RIDE_ANSWER_WAIT_MS).
      void clock.sleepMs(RIDE_ANSWER_WAIT_MS).then(() => this.leaveIf(id, presented));
    }
    return { ok: true };
  }

  private remove(id: number): WebActResult {
    const entry = this.field.get(id);
    if (entry === undefined) return { ok: false, error: `card ${id} is not on the reader` };
    this.field.delete(id);
    this.parts.board.rig.sim.removeCard(entry.presented);
    return { ok: true };
  }

  /** Takes the card away if `presented` is still the one in the field for `id`. */
  private leaveIf(id: number, presented: VirtualCard): void {
    if (this.field.get(id)?.presented === presented) this.remove(id);
  }

  /** The card in the field a tap is about: one not held there, else any. */
  private inFieldNow(): [number, InField] | null {
    return [...this.field.entries()].find(([, f]) => f.presence !== 'hold')
      ?? [...this.field.entries()][0] ?? null;
  }

  private processed(report: TapReport): void {
    const board = this.parts.board;
    const entry = this.tapping ?? this.inFieldNow();
    this.tapping = null;
    const [id, inField] = entry ?? [null, null];
    const card = id === null ? undefined : this.pool.cards[id];
    const screen = Object.values(board.screen.snapshot().texts).filter((t) => t !== '');
    const line: TapLine = {
      index: this.tapCount,
      rider: id ?? -1,
      cardName: card?.name ?? 'unknown',
      pulledEarly: inField?.presence === 'pull',
      latencyMs: inField === null ? null : report.endedMs - inField.placedMs,
      report,
      screen: screen.join(' / '),
      signal: board.lastSignal(),
      atMs: inField?.placedMs ?? report.startedMs,
    };
    this.tapCount += 1;
    this.lastTap = { card: id, ...(reportJson(report) as Record<string, JsonValue>) };
    this.recent.unshift(this.lastTap);
    if (this.recent.length > RECENT_TAPS_MAX) this.recent.pop();
    this.events.push({ type: 'tap', card: id, screen: line.screen, report: reportJson(report) });
    if (id !== null && inField !== null && inField.presence !== 'hold') {
      void board.clock.sleepMs(WEB_TAP_HOLD_MS).then(() => this.leaveIf(id, inField.presented));
    }
    this.onTap(line);
  }
}
