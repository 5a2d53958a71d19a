// Emulated PN532 on the device end of a SerialLink: real frame protocol, virtual cards, faults.
//
// It speaks what a PN532 C106 v1.6 speaks on its HSU to whichever host is on the other end
// (our Pn532Reader, or libnfc's pn532_uart through a socat pty), presents VirtualCards, and
// models time: UART time comes from the link's pacing, RF air time and card processing time
// from pn532_sim_rf_timing.ts and the card. Behaviour follows pn532.md §1-§5 and §7.

import { clockAlarm, type ClockAlarm, type ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { SerialLink } from '../../../hal/src/ports/serial_link.js';
import {
  PN532_BAUD_POWER_ON,
  PN532_BAUD_RATES,
  PN532_CMD_00_DIAGNOSE,
  PN532_CMD_02_GET_FIRMWARE_VERSION,
  PN532_CMD_04_GET_GENERAL_STATUS,
  PN532_CMD_06_READ_REGISTER,
  PN532_CMD_08_WRITE_REGISTER,
  PN532_CMD_0C_READ_GPIO,
  PN532_CMD_0E_WRITE_GPIO,
  PN532_CMD_10_SET_SERIAL_BAUD_RATE,
  PN532_CMD_12_SET_PARAMETERS,
  PN532_CMD_14_SAM_CONFIGURATION,
  PN532_CMD_16_POWER_DOWN,
  PN532_CMD_32_RF_CONFIGURATION,
  PN532_CMD_40_IN_DATA_EXCHANGE,
  PN532_CMD_42_IN_COMMUNICATE_THRU,
  PN532_CMD_44_IN_DESELECT,
  PN532_CMD_4A_IN_LIST_PASSIVE_TARGET,
  PN532_CMD_52_IN_RELEASE,
  PN532_CMD_54_IN_SELECT,
  PN532_CMD_60_IN_AUTO_POLL,
  PN532_DATA_IN_MAX,
  PN532_PARAM_04_AUTO_ATR_RES,
  PN532_PARAM_10_AUTO_RATS,
  PN532_STATUS_40_MI,
  PN532_TG_40_MORE_DATA,
  pn532CommandName,
  pn532RfTimeoutMs,
} from '../../../hal/src/pn532/pn532_commands.js';
import {
  PN532_ACK_FRAME,
  PN532_ERROR_FRAME,
  PN532_TFI_D4_HOST_TO_PN532,
  PN532_TFI_D5_PN532_TO_HOST,
  Pn532FrameDecoder,
  encodePn532Frame,
  encodePn532FrameParts,
  type Pn532FrameEvent,
} from '../../../hal/src/pn532/pn532_frame.js';
import type { CardIdentity, VirtualCard } from '../cards/card_model.js';
import { ClockSim } from '../clock_sim.js';
import { SerialLinkSim } from '../serial_link_sim.js';
import { faultMatches, type Pn532SimFault } from './pn532_sim_faults.js';
import {
  PN532_FSD_BYTES,
  iso14443ActivationAirMs,
  iso14443ExchangeAirMs,
  type Iso14443BitRateKbps,
} from './pn532_sim_rf_timing.js';
import {
  appendPn532TargetData,
  autoPollTypeMatches,
  cardFrameSizeBytes,
} from './pn532_sim_targets.js';

/** Options of the emulator; every field explicit. */
export interface Pn532SimOptions {
  /** GetFirmwareVersion answer: IC, Ver, Rev, Support (a real C106: 32 01 06 07). */
  readonly firmware: Uint8Array;
  /** Power on in LowVbat, asleep until HSU activity (the real chip's state). */
  readonly startAsleep: boolean;
  /** In LowVbat accept only SAMConfiguration (AN10609); other commands get silence. */
  readonly strictPowerOn: boolean;
  /** Bytes swallowed while the oscillator starts after HSU wake-up (pn532.md §2: 2). */
  readonly wakeBytesLost: number;
  /** Firmware time per command before it answers, ms. */
  readonly commandDelayMs: number;
  /** Largest DataIn per InDataExchange answer; 262 chains only answers that must be. */
  readonly miChunkBytes: number;
  /** ISO 14443 bit rate used by the RF model. */
  readonly rfBitRateKbps: Iso14443BitRateKbps;
  /** Spend the modelled RF and card time on the clock before answering. */
  readonly waitModelledTime: boolean;
  /**
   * A half-received frame followed by this much silence is dropped, as a UART receiver with an
   * idle timeout would, ms. Must stay below the host's ACK timeout (ours: 100, libnfc: 350+),
   * so that the host's resend meets an empty buffer.
   */
  readonly rxIdleResetMs: number;
  /** Model time of one passive activation attempt that finds nothing, ms. */
  readonly emptyActivationAttemptMs: number;
  /** Receives one line per frame both ways ("H>P 00 00 FF ..."); undefined = silent. */
  readonly log: ((line: string) => void) | undefined;
}

/** A PN532 C106 v1.6 with A+B+DEP support, awake on demand, answering promptly. */
export const PN532_SIM_DEFAULT_OPTIONS: Pn532SimOptions = {
  firmware: Uint8Array.of(0x32, 0x01, 0x06, 0x07),
  startAsleep: true,
  strictPowerOn: true,
  wakeBytesLost: 2,
  commandDelayMs: 0.5,
  miChunkBytes: PN532_DATA_IN_MAX,
  rfBitRateKbps: 106,
  waitModelledTime: true,
  rxIdleResetMs: 50,
  emptyActivationAttemptMs: 1,
  log: undefined,
};

/** Modelled time of one RF operation the emulator performed. */
export interface Pn532SimExchangeTiming {
  /** 0x40 InDataExchange, 0x4A InListPassiveTarget / 0x60 InAutoPoll (activation). */
  readonly command: number;
  readonly atMs: number;
  readonly capduBytes: number;
  readonly rapduBytes: number;
  readonly rfMs: number;
  readonly cardMs: number;
}

/** Counters for tests and the bench. */
export interface Pn532SimStats {
  commands: number;
  acksSent: number;
  nacksReceived: number;
  abortsReceived: number;
  badFramesReceived: number;
  bytesLostWaking: number;
  baudSwitches: number;
}

type Answer = Uint8Array | SplitAnswer | FramedAnswer | 'error-frame' | 'silent';

/**
 * A constant answer framed once (no frame built per answer): the frequent short ones, e.g. a
 * poll that finds nothing. Nobody changes a frame that was sent (a damaged resend is a copy).
 */
class FramedAnswer {
  readonly frame: Uint8Array;

  constructor(...bytes: number[]) {
    this.frame = encodePn532Frame(PN532_TFI_D5_PN532_TO_HOST, Uint8Array.from(bytes)).slice();
  }
}

/** InListPassiveTarget: no target found. */
const ANSWER_4B_NO_TARGET = new FramedAnswer(0x4b, 0x00);
/** InDataExchange: a chained part received (more to come), or a target the chip lacks. */
const ANSWER_41_CHAIN_OK = new FramedAnswer(0x41, 0x00);
const ANSWER_41_NO_TARGET = new FramedAnswer(0x41, 0x27);
/** InDataExchange: the card did not answer. */
const ANSWER_41_TIMEOUT = new FramedAnswer(0x41, 0x01);
/** InDeselect and InRelease done. */
const ANSWER_45_OK = new FramedAnswer(0x45, 0x00);
const ANSWER_53_OK = new FramedAnswer(0x53, 0x00);
/** RFConfiguration done. */
const ANSWER_33 = new FramedAnswer(0x33);
/** Heads of a card's answer: status OK, or more parts follow (MI). */
const HEAD_41_OK: readonly number[] = [0x41, 0x00];
const HEAD_41_MI: readonly number[] = [0x41, PN532_STATUS_40_MI];

/** An answer as a response code (and status) before a card's bytes, framed with no join. */
interface SplitAnswer {
  readonly head: readonly number[];
  readonly body: ArrayLike<number>;
}

/**
 * What a command answers once its modelled time (RF, card, empty activation attempts) has
 * run, `afterMs` after it executed. An answer that depends on state the abort of a pending
 * command must leave alone (MI chaining) is a function, called only when the answer leaves.
 */
interface Reply {
  readonly answer: Answer | CardAnswerLater;
  readonly afterMs: number;
}

/** A card's answer to target `tg`, cut into MI parts only when it leaves (see answerChunk). */
class CardAnswerLater {
  constructor(
    readonly tg: number,
    readonly rapdu: Uint8Array,
  ) {}
}

const SILENT: Reply = { answer: 'silent', afterMs: 0 };

function replyNow(answer: Answer): Reply {
  return { answer, afterMs: 0 };
}

/**
 * The command being run. One alarm marks the end of its firmware time (then it executes) and
 * of its modelled time (then it answers); a newer command or an abort changes the generation
 * and the command is dropped at its next step, as the chip drops a command it was told to.
 */
interface RunningCommand {
  readonly code: number;
  /** The command's frame body: its code, then its parameters (no view of them per frame). */
  readonly body: Uint8Array;
  readonly gen: number;
  readonly fault: Pn532SimFault | undefined;
  /** Set once executed, while the modelled time runs. */
  reply: Reply | undefined;
}

interface SimTarget {
  readonly tg: number;
  readonly card: VirtualCard;
  readonly identity: CardIdentity;
  active: boolean;
}

/** The emulator. Construct it on the device end of a link; it answers from then on. */
export class Pn532Sim {
  private readonly decoder = new Pn532FrameDecoder();
  private readonly clock: ClockPort;
  private asleep: boolean;
  private lowVbat: boolean;
  private wakeLossLeft: number;
  private lastRxMs = 0;
  private generation = 0;
  private lastResponse: Uint8Array | undefined;
  private badChecksumLeft = 0;
  private pendingBaud: number | undefined;
  private parameters = PN532_PARAM_04_AUTO_ATR_RES | PN532_PARAM_10_AUTO_RATS;
  private rfOn = false;
  /**
   * Cards powered by the field since they entered it. A card stays powered (and a phone keeps
   * its random UID) across re-activations while the field is on; leaving the field or an RF
   * field switch-off powers it down, so the next activation is a fresh power-up.
   */
  private readonly powered = new Set<VirtualCard>();
  private retryTimeoutCode = 0x0a;
  private maxRetryCom = 0;
  private maxRetryPassive = 0xff;
  private readonly field: VirtualCard[] = [];
  private readonly targets: SimTarget[] = [];
  private chainIn: number[] = [];
  private chainOut: { tg: number; rest: Uint8Array } | undefined;
  private readonly registers = new Map<number, number>([
    [0xffb0, 0xff],
    [0xfff7, 0xff],
  ]);
  private readonly faults: Pn532SimFault[] = [];
  private arrivalWaiters: (() => void)[] = [];
  private running: RunningCommand | undefined;
  private readonly stepAlarm: ClockAlarm;
  /**
   * A command step queues no promise job and no tick unless it waits for a card: true when
   * answers go out through `SerialLinkSim.send` (no promise) and no log callback runs. The
   * cards answer synchronously and queue nothing (VirtualCard).
   */
  private readonly quietSteps: boolean;
  private readonly timings: Pn532SimExchangeTiming[] = [];
  private timingsKept = true;
  readonly stats: Pn532SimStats = {
    commands: 0,
    acksSent: 0,
    nacksReceived: 0,
    abortsReceived: 0,
    badFramesReceived: 0,
    bytesLostWaking: 0,
    baudSwitches: 0,
  };

  constructor(
    private readonly link: SerialLink,
    clock: ClockPort,
    private readonly options: Pn532SimOptions,
  ) {
    this.clock = clock;
    this.asleep = options.startAsleep;
    this.lowVbat = options.startAsleep;
    this.wakeLossLeft = options.wakeBytesLost;
    this.quietSteps = link instanceof SerialLinkSim && options.log === undefined;
    // On the simulated clock a step that queued nothing lets the next wake follow at once.
    this.stepAlarm =
      clock instanceof ClockSim
        ? clock.quietAlarm(() => this.commandStep())
        : clockAlarm(clock, () => this.commandStep());
    link.setReceiver((bytes) => this.onBytes(bytes));
  }

  // ---- scenario control ----------------------------------------------------------------------

  /** A card enters the field (at any moment; a pending poll sees it). */
  placeCard(card: VirtualCard): void {
    if (this.field.includes(card)) return;
    this.field.push(card);
    if (this.options.log !== undefined) this.log(`-- card on: ${card.label}`);
    const waiters = this.arrivalWaiters;
    this.arrivalWaiters = [];
    for (const w of waiters) w();
  }

  /** A card leaves the field (at any moment; its target stops answering, status 01). */
  removeCard(card: VirtualCard): void {
    const field = this.field;
    const at = field.indexOf(card);
    if (at < 0) return;
    // The later cards move up one and the last slot goes: a splice's order, with no array
    // of removed cards (one removal a tap).
    for (let k = at; k + 1 < field.length; k += 1) field[k] = field[k + 1] as VirtualCard;
    field.pop();
    this.powered.delete(card);
    if (this.options.log !== undefined) this.log(`-- card off: ${card.label}`);
  }

  /** Cards currently in the field. */
  cardsInField(): readonly VirtualCard[] {
    return this.field;
  }

  /** Queues a one-shot fault; faults apply in queue order to the next matching command. */
  injectFault(fault: Pn532SimFault): void {
    this.faults.push(fault);
  }

  /** Faults not yet consumed. */
  pendingFaults(): readonly Pn532SimFault[] {
    return this.faults;
  }

  /** Modelled RF/card time of every activation and exchange so far. */
  exchangeTimings(): readonly Pn532SimExchangeTiming[] {
    return this.timings;
  }

  /** Forget recorded timings. */
  resetTimings(): void {
    this.timings.length = 0;
  }

  /**
   * Record timings (the default) or not: a long simulation that never reads them (the swarm)
   * turns them off so that no exchange leaves a record behind. Off forgets those recorded.
   */
  keepTimings(keep: boolean): void {
    this.timingsKept = keep;
    if (!keep) this.timings.length = 0;
  }

  /** Back to power-on state: LowVbat, 115200 baud, no targets (cards stay in the field). */
  async powerCycle(): Promise<void> {
    this.generation += 1;
    this.asleep = this.options.startAsleep;
    this.lowVbat = this.options.startAsleep;
    this.wakeLossLeft = this.options.wakeBytesLost;
    this.targets.length = 0;
    this.rfOn = false;
    this.powered.clear();
    this.decoder.clear();
    await this.link.setBaudRate(PN532_BAUD_POWER_ON);
  }

  /** Stops listening to the link. */
  detach(): void {
    this.generation += 1;
    this.running = undefined;
    this.stepAlarm.clear();
    this.link.setReceiver(undefined);
  }

  // ---- host link -----------------------------------------------------------------------------

  private onBytes(bytes: Uint8Array): void {
    let data = bytes;
    if (this.asleep) {
      // HSU activity wakes the chip; the first bytes are lost while its oscillator starts.
      const lost = Math.min(this.wakeLossLeft, data.length);
      this.wakeLossLeft -= lost;
      this.stats.bytesLostWaking += lost;
      data = data.subarray(lost);
      if (this.wakeLossLeft > 0) return;
      this.asleep = false;
    }
    if (data.length === 0) return;
    // Hex only when someone listens: the swarm runs millions of frames with no log.
    if (this.options.log !== undefined) this.log(`H>P ${hex(data)}`);
    const nowMs = this.clock.nowMs();
    if (this.decoder.midFrame() && nowMs - this.lastRxMs > this.options.rxIdleResetMs) {
      this.stats.badFramesReceived += 1;
      this.decoder.clear();
    }
    this.lastRxMs = nowMs;
    this.decoder.push(data);
    for (let ev = this.decoder.next(); ev !== undefined; ev = this.decoder.next()) this.onEvent(ev);
  }

  private onEvent(ev: Pn532FrameEvent): void {
    switch (ev.kind) {
      case 'ack':
        if (this.pendingBaud !== undefined) {
          // SetSerialBaudRate: the host ACKs our answer at the old rate, then both switch.
          const baud = this.pendingBaud;
          this.pendingBaud = undefined;
          this.stats.baudSwitches += 1;
          void this.link.setBaudRate(baud);
          return;
        }
        this.stats.abortsReceived += 1;
        this.abortPending();
        return;
      case 'nack':
        this.stats.nacksReceived += 1;
        if (this.lastResponse !== undefined) this.sendResponseFrame(this.lastResponse, undefined);
        return;
      case 'error':
        return;
      case 'bad-checksum':
        // Nothing is known about a damaged frame: stay silent, the host times out and resends.
        this.stats.badFramesReceived += 1;
        return;
      case 'frame':
        if (ev.tfi !== PN532_TFI_D4_HOST_TO_PN532) {
          this.send(PN532_ERROR_FRAME);
          return;
        }
        this.startCommand(ev.body);
        return;
      default:
        assertNever(ev);
    }
  }

  /** A new command cancels whatever is still pending (pn532.md §7.5 item 8). */
  private startCommand(body: Uint8Array): void {
    const code = body[0] ?? 0;
    this.generation += 1;
    const gen = this.generation;
    this.pendingBaud = undefined;
    this.stats.commands += 1;
    if (this.lowVbat && this.options.strictPowerOn && code !== PN532_CMD_14_SAM_CONFIGURATION) {
      this.log(`-- LowVbat: ignored ${pn532CommandName(code)}`);
      return;
    }
    const fault = this.takeFault(code);
    if (fault?.kind === 'ignore-command') return;
    if (fault?.kind !== 'drop-ack') {
      this.stats.acksSent += 1;
      this.send(PN532_ACK_FRAME);
    }
    this.running = { code, body, gen, fault, reply: undefined };
    this.stepAfter(this.options.commandDelayMs);
  }

  /**
   * The running command's next step after `durationMs`, or at once when that is 0. True when
   * the step queued no promise job nor tick (see quietSteps).
   */
  private stepAfter(durationMs: number): boolean {
    if (durationMs > 0) {
      this.stepAlarm.set(durationMs);
      return this.quietSteps;
    }
    return this.commandStep();
  }

  /**
   * Executes the running command after its firmware time, or answers after its RF time.
   * True when it queued no promise job nor tick (see quietSteps).
   */
  private commandStep(): boolean {
    const run = this.running;
    if (run === undefined) return this.quietSteps;
    if (run.gen !== this.generation) {
      this.running = undefined;
      return this.quietSteps;
    }
    if (run.reply !== undefined) {
      this.running = undefined;
      const { answer } = run.reply;
      const later = answer instanceof CardAnswerLater;
      this.finishCommand(run, later ? this.answerChunk(answer.tg, answer.rapdu) : answer);
      return this.quietSteps;
    }
    const reply = this.execute(run.code, run.body, run.gen, run.fault);
    if (reply instanceof Promise) {
      // Waiting for a card (the running command stays; a newer one or an abort drops it).
      void reply.then((r) => this.executed(run, r));
      return false;
    }
    return this.executed(run, reply);
  }

  /** See stepAfter for the result. */
  private executed(run: RunningCommand, reply: Reply): boolean {
    if (run.gen !== this.generation || this.running !== run) return this.quietSteps;
    run.reply = reply;
    return this.stepAfter(reply.afterMs);
  }

  private finishCommand(run: RunningCommand, answer: Answer): void {
    const { code, body, fault } = run;
    if (answer === 'silent' || fault?.kind === 'no-response') return;
    if (answer === 'error-frame' || fault?.kind === 'error-frame') {
      this.lastResponse = PN532_ERROR_FRAME;
      this.send(PN532_ERROR_FRAME);
      return;
    }
    const frame =
      answer instanceof FramedAnswer
        ? answer.frame
        : answer instanceof Uint8Array
          ? encodePn532Frame(PN532_TFI_D5_PN532_TO_HOST, answer)
          : encodePn532FrameParts(PN532_TFI_D5_PN532_TO_HOST, answer.head, answer.body);
    this.lastResponse = frame;
    if (fault?.kind === 'bad-checksum') this.badChecksumLeft = fault.times;
    this.sendResponseFrame(frame, fault);
    if (code === PN532_CMD_16_POWER_DOWN) {
      // Asleep, the chip keeps nothing of what it had half-received.
      this.asleep = true;
      this.wakeLossLeft = this.options.wakeBytesLost;
      this.decoder.clear();
    }
    if (code === PN532_CMD_10_SET_SERIAL_BAUD_RATE) {
      this.pendingBaud = PN532_BAUD_RATES[body[1] ?? 4];
    }
  }

  private sendResponseFrame(frame: Uint8Array, fault: Pn532SimFault | undefined): void {
    let bytes = frame;
    if (this.badChecksumLeft > 0) {
      this.badChecksumLeft -= 1;
      bytes = frame.slice();
      const dcsAt = bytes.length - 2;
      bytes[dcsAt] = ((bytes[dcsAt] ?? 0) + 1) & 0xff;
    }
    if (fault?.kind === 'lose-response-bytes') {
      bytes = Uint8Array.of(
        ...bytes.subarray(0, fault.offset),
        ...bytes.subarray(fault.offset + fault.count),
      );
    }
    if (fault?.kind === 'noise-before-response') bytes = Uint8Array.of(...fault.bytes, ...bytes);
    this.send(bytes);
  }

  private send(bytes: Uint8Array): void {
    if (this.options.log !== undefined) this.log(`P>H ${hex(bytes)}`);
    // Nobody awaits an answer's write: on the simulated line it costs no promise.
    if (this.link instanceof SerialLinkSim) this.link.send(bytes);
    else void this.link.write(bytes);
  }

  private abortPending(): void {
    this.generation += 1;
    this.chainIn = [];
    const waiters = this.arrivalWaiters;
    this.arrivalWaiters = [];
    for (const w of waiters) w();
  }

  private takeFault(code: number): Pn532SimFault | undefined {
    if (this.faults.length === 0) return undefined;
    const at = this.faults.findIndex((f) => faultMatches(f, code));
    if (at < 0) return undefined;
    return this.faults.splice(at, 1)[0];
  }

  // ---- command set ---------------------------------------------------------------------------

  /**
   * Runs a command (`body`: its code, then its parameters): its answer, at once or after the
   * modelled time, or once a card comes. The commands of every tap read their parameters in
   * the body; the others get a view of them.
   */
  private execute(
    code: number,
    body: Uint8Array,
    gen: number,
    fault: Pn532SimFault | undefined,
  ): Reply | Promise<Reply> {
    switch (code) {
      case PN532_CMD_40_IN_DATA_EXCHANGE:
        return this.inDataExchange(body, fault);
      case PN532_CMD_4A_IN_LIST_PASSIVE_TARGET:
        return this.inListPassiveTarget(body, gen);
      case PN532_CMD_60_IN_AUTO_POLL:
        return this.inAutoPoll(body.subarray(1), gen);
      case PN532_CMD_44_IN_DESELECT:
      case PN532_CMD_52_IN_RELEASE: {
        const statusFault = fault?.kind === 'error-status' ? fault.status : undefined;
        return replyNow(this.releaseOrDeselect(code, body[1], statusFault));
      }
      default:
        return replyNow(this.executeNow(code, body.subarray(1), fault));
    }
  }

  /** The commands that answer at once, with no RF or card time. */
  private executeNow(code: number, p: Uint8Array, fault: Pn532SimFault | undefined): Answer {
    const statusFault = fault?.kind === 'error-status' ? fault.status : undefined;
    switch (code) {
      case PN532_CMD_00_DIAGNOSE:
        return this.diagnose(p);
      case PN532_CMD_02_GET_FIRMWARE_VERSION:
        return Uint8Array.of(0x03, ...this.options.firmware);
      case PN532_CMD_04_GET_GENERAL_STATUS:
        return this.generalStatus();
      case PN532_CMD_06_READ_REGISTER:
        return this.readRegisters(p);
      case PN532_CMD_08_WRITE_REGISTER:
        return this.writeRegisters(p);
      case PN532_CMD_0C_READ_GPIO:
        return Uint8Array.of(0x0d, this.reg(0xffb0), this.reg(0xfff7), 0x00);
      case PN532_CMD_0E_WRITE_GPIO:
        return this.writeGpio(p);
      case PN532_CMD_10_SET_SERIAL_BAUD_RATE:
        return (p[0] ?? 0xff) < PN532_BAUD_RATES.length ? Uint8Array.of(0x11) : 'error-frame';
      case PN532_CMD_12_SET_PARAMETERS:
        this.parameters = p[0] ?? this.parameters;
        return Uint8Array.of(0x13);
      case PN532_CMD_14_SAM_CONFIGURATION:
        return this.samConfiguration(p);
      case PN532_CMD_16_POWER_DOWN:
        this.releaseTargets(0);
        this.rfOn = false;
        this.powered.clear();
        return Uint8Array.of(0x17, statusFault ?? 0x00);
      case PN532_CMD_32_RF_CONFIGURATION:
        return this.rfConfiguration(p);
      case PN532_CMD_42_IN_COMMUNICATE_THRU:
        return statusFault !== undefined
          ? Uint8Array.of(0x43, statusFault)
          : this.communicateThru(p);
      case PN532_CMD_54_IN_SELECT:
        return this.inSelect(p);
      default:
        return 'error-frame';
    }
  }

  private diagnose(p: Uint8Array): Answer {
    const numTst = p[0];
    if (numTst === undefined) return 'error-frame';
    if (numTst === 0x00) return Uint8Array.of(0x01, ...p); // line test: echo incl. NumTst
    if (numTst === 0x06) {
      const target = this.targets.find((t) => t.active);
      const present = target !== undefined && this.field.includes(target.card);
      if (target !== undefined && !present) target.active = false;
      return Uint8Array.of(0x01, present ? 0x00 : 0x01);
    }
    return Uint8Array.of(0x01, 0x00); // ROM, RAM, antenna tests: all fine
  }

  private generalStatus(): Answer {
    const active = this.targets.filter((t) => t.active);
    const out = [0x05, 0x00, this.rfOn ? 0x01 : 0x00, active.length];
    for (const t of active) out.push(t.tg, 0x00, 0x00, t.identity.kind === 'A' ? 0x00 : 0x03);
    out.push(0x00);
    return Uint8Array.from(out);
  }

  private readRegisters(p: Uint8Array): Answer {
    if (p.length === 0 || p.length % 2 !== 0) return 'error-frame';
    const out = [0x07];
    for (let i = 0; i < p.length; i += 2) out.push(this.reg(((p[i] ?? 0) << 8) | (p[i + 1] ?? 0)));
    return Uint8Array.from(out);
  }

  private writeRegisters(p: Uint8Array): Answer {
    if (p.length === 0 || p.length % 3 !== 0) return 'error-frame';
    for (let i = 0; i < p.length; i += 3) {
      this.registers.set(((p[i] ?? 0) << 8) | (p[i + 1] ?? 0), p[i + 2] ?? 0);
    }
    return Uint8Array.of(0x09);
  }

  private writeGpio(p: Uint8Array): Answer {
    const [p3, p7] = p;
    if (p3 === undefined || p7 === undefined) return 'error-frame';
    // Bit 7 validates a port; without it that port is left alone.
    if ((p3 & 0x80) !== 0) this.registers.set(0xffb0, 0xc0 | (p3 & 0x3f));
    if ((p7 & 0x80) !== 0) this.registers.set(0xfff7, 0xf9 | (p7 & 0x06));
    return Uint8Array.of(0x0f);
  }

  private reg(address: number): number {
    return this.registers.get(address) ?? 0x00;
  }

  private samConfiguration(p: Uint8Array): Answer {
    const mode = p[0];
    if (mode === undefined || mode < 1 || mode > 4) return 'error-frame';
    this.lowVbat = false;
    return Uint8Array.of(0x15);
  }

  private rfConfiguration(p: Uint8Array): Answer {
    const item = p[0];
    switch (item) {
      case 0x01:
        this.rfOn = ((p[1] ?? 0) & 0x01) !== 0;
        if (!this.rfOn) this.powered.clear();
        // Field off drops every card's power, so every target is gone.
        if (!this.rfOn) this.releaseTargets(0);
        break;
      case 0x02:
        this.retryTimeoutCode = p[3] ?? this.retryTimeoutCode;
        break;
      case 0x04:
        this.maxRetryCom = p[1] ?? this.maxRetryCom;
        break;
      case 0x05:
        this.maxRetryPassive = p[3] ?? this.maxRetryPassive;
        break;
      case undefined:
        return 'error-frame';
      default:
        break; // analog settings 0A..0D: accepted, no effect in the model
    }
    return ANSWER_33;
  }

  private releaseOrDeselect(
    code: number,
    tg: number | undefined,
    statusFault: number | undefined,
  ): Answer {
    if (tg === undefined) return 'error-frame';
    const rsp = code + 1;
    if (statusFault !== undefined) return Uint8Array.of(rsp, statusFault);
    if (tg !== 0 && !this.hasTarget(tg)) return Uint8Array.of(rsp, 0x27);
    if (code === PN532_CMD_52_IN_RELEASE) this.releaseTargets(tg);
    else for (const t of this.targets) if (tg === 0 || t.tg === tg) t.active = false;
    this.chainReset();
    return code === PN532_CMD_52_IN_RELEASE ? ANSWER_53_OK : ANSWER_45_OK;
  }

  private powerUp(card: VirtualCard): void {
    if (this.powered.has(card)) return;
    card.powerOn();
    this.powered.add(card);
  }

  private releaseTargets(tg: number): void {
    // In place: no array per poll or release.
    const targets = this.targets;
    let kept = 0;
    for (let k = 0; k < targets.length; k += 1) {
      const t = targets[k] as SimTarget;
      if (tg !== 0 && t.tg !== tg) targets[kept++] = t;
    }
    // Truncated only when something went: a length store is a runtime call, and most polls
    // find no target to release.
    if (kept !== targets.length) targets.length = kept;
    this.chainReset();
  }

  /** Forgets both chains (an empty list is kept as it is: no array per command). */
  private chainReset(): void {
    if (this.chainIn.length > 0) this.chainIn = [];
    this.chainOut = undefined;
  }

  /** Whether target `tg` exists (a loop: no closure per release). */
  private hasTarget(tg: number): boolean {
    for (const t of this.targets) if (t.tg === tg) return true;
    return false;
  }

  private inSelect(p: Uint8Array): Answer {
    const target = this.targets.find((t) => t.tg === p[0]);
    if (target === undefined) return Uint8Array.of(0x55, 0x27);
    if (!this.field.includes(target.card)) return Uint8Array.of(0x55, 0x01);
    this.powerUp(target.card);
    target.active = true;
    return Uint8Array.of(0x55, 0x00);
  }

  // ---- activation ----------------------------------------------------------------------------

  /** InListPassiveTarget; `body`: its code, then MaxTg BrTy [InitiatorData]. */
  private inListPassiveTarget(body: Uint8Array, gen: number): Reply | Promise<Reply> {
    // Indexed, not destructured: a typed array's iterator is slow, and every poll comes here.
    const maxTg = body[1];
    const brTy = body[2];
    if (maxTg === undefined || brTy === undefined || maxTg < 1 || maxTg > 2) {
      return replyNow('error-frame');
    }
    this.releaseTargets(0);
    this.rfOn = true;
    const kind = brTy === 0x00 ? 'A' : brTy === 0x03 ? 'B' : undefined;
    // Type B requires the AFI.
    if (kind === 'B' && body.length < 4) return replyNow('error-frame');
    const uidFilter = kind === 'A' && body.length > 3 ? body.subarray(3) : undefined;
    return this.listPassive(maxTg, kind, uidFilter, gen);
  }

  private listPassive(
    maxTg: number,
    kind: 'A' | 'B' | undefined,
    uidFilter: Uint8Array | undefined,
    gen: number,
  ): Reply | Promise<Reply> {
    const found: VirtualCard[] = [];
    if (kind !== undefined) {
      // Every card's identity is asked, as the chip hears every card in the field.
      for (const card of this.field) {
        if (matchesListing(card.identity(), kind, uidFilter) && found.length < maxTg) {
          found.push(card);
        }
      }
    }
    if (found.length > 0) {
      const activated = this.activate(found, PN532_CMD_4A_IN_LIST_PASSIVE_TARGET);
      // Framed from the head and the target data as they are: no array joining them first.
      const answer: SplitAnswer = { head: [0x4b, found.length], body: activated.data };
      return { answer, afterMs: activated.afterMs };
    }
    if (this.maxRetryPassive !== 0xff || kind === undefined) {
      const attempts = kind === undefined ? 1 : this.maxRetryPassive + 1;
      return {
        answer: ANSWER_4B_NO_TARGET,
        afterMs: attempts * this.options.emptyActivationAttemptMs,
      };
    }
    // MxRtyPassiveActivation = FF: the chip polls until a card comes or the host aborts.
    return this.waitForCard(gen, undefined).then((arrived) =>
      arrived ? this.listPassive(maxTg, kind, uidFilter, gen) : SILENT,
    );
  }

  private async inAutoPoll(p: Uint8Array, gen: number): Promise<Reply> {
    const [pollNr, period] = p;
    const types = p.subarray(2);
    if (pollNr === undefined || period === undefined || types.length === 0 || types.length > 15) {
      return replyNow('error-frame');
    }
    this.releaseTargets(0);
    this.rfOn = true;
    for (let round = 0; pollNr === 0xff || round < pollNr; round += 1) {
      for (const type of types) {
        const card = this.field.find((c) => autoPollTypeMatches(type, c.identity()));
        if (card !== undefined) {
          const { data, afterMs } = this.activate([card], PN532_CMD_60_IN_AUTO_POLL);
          return { answer: withHead([0x61, 0x01, type, data.length], data), afterMs };
        }
      }
      // Period is in 150 ms units; a card arriving meanwhile is seen at once.
      if (!(await this.waitForCard(gen, Math.max(1, period) * 150))) return SILENT;
    }
    return replyNow(Uint8Array.of(0x61, 0x00));
  }

  /**
   * Powers the cards up as targets 1..n: their TargetData, Tg first, and the modelled time
   * the activation takes before the answer leaves.
   */
  private activate(
    cards: readonly VirtualCard[],
    command: number,
  ): { data: number[]; afterMs: number } {
    const data: number[] = [];
    let rfMs = 0;
    // Indexed: no closure per activation (every poll that finds a card comes here).
    for (let index = 0; index < cards.length; index += 1) {
      const card = cards[index] as VirtualCard;
      this.powerUp(card);
      const identity = card.identity();
      const tg = index + 1;
      this.targets.push({ tg, card, identity, active: true });
      const autoRats = (this.parameters & PN532_PARAM_10_AUTO_RATS) !== 0;
      appendPn532TargetData(data, tg, identity, autoRats);
      const uidBytes = identity.kind === 'A' ? identity.uid.length : 4;
      const atsBytes = identity.kind === 'A' ? identity.ats.length : identity.attribRes.length;
      rfMs += iso14443ActivationAirMs(
        identity.kind,
        uidBytes,
        atsBytes,
        this.options.rfBitRateKbps,
      );
    }
    this.recordTiming(command, 0, 0, rfMs, 0);
    return { data, afterMs: this.options.waitModelledTime ? rfMs : 0 };
  }

  /** Resolves true when a card arrives (or `timeoutMs` passes), false when aborted. */
  private async waitForCard(gen: number, timeoutMs: number | undefined): Promise<boolean> {
    const arrival = new Promise<void>((resolve) => this.arrivalWaiters.push(resolve));
    const waits: Promise<void>[] = [arrival];
    if (timeoutMs !== undefined) waits.push(this.clock.sleepMs(timeoutMs));
    await Promise.race(waits);
    return gen === this.generation;
  }

  // ---- data exchange -------------------------------------------------------------------------

  /** InDataExchange; `body`: its code, then Tg and DataOut. */
  private inDataExchange(body: Uint8Array, fault: Pn532SimFault | undefined): Reply {
    const tgByte = body[1];
    if (tgByte === undefined) return replyNow('error-frame');
    if (fault?.kind === 'error-status') return replyNow(Uint8Array.of(0x41, fault.status));
    const tg = tgByte & ~PN532_TG_40_MORE_DATA;
    const more = (tgByte & PN532_TG_40_MORE_DATA) !== 0;
    const data = body.subarray(2);
    const target = this.activeTarget(tg);
    if (target === undefined) return replyNow(ANSWER_41_NO_TARGET);
    if (!more && data.length === 0 && this.chainOut?.tg === tg) {
      return replyNow(this.answerChunk(tg, this.chainOut.rest));
    }
    this.chainOut = undefined;
    if (more) {
      for (const b of data) this.chainIn.push(b);
      return replyNow(ANSWER_41_CHAIN_OK);
    }
    // Unchained (most APDUs): the frame's own bytes, decoded for this command alone.
    const capdu = this.chainIn.length === 0 ? data : withHead(this.chainIn, data);
    this.chainIn = [];
    if (fault?.kind === 'remove-card' && fault.when === 'before-card') this.removeCard(target.card);
    if (!this.field.includes(target.card)) return this.silentCard(target, capdu.length, 0);
    const rapdu = target.card.transceive(capdu);
    const cardMs = target.card.lastProcessingMs();
    if (fault?.kind === 'remove-card' && fault.when === 'after-card') this.removeCard(target.card);
    if (rapdu === null || !this.field.includes(target.card)) {
      return this.silentCard(target, capdu.length, cardMs);
    }
    const rfMs = iso14443ExchangeAirMs({
      type: target.identity.kind,
      bitRateKbps: this.options.rfBitRateKbps,
      capduBytes: capdu.length,
      rapduBytes: rapdu.length,
      fscBytes: cardFrameSizeBytes(target.identity),
      fsdBytes: PN532_FSD_BYTES,
    });
    this.recordTiming(PN532_CMD_40_IN_DATA_EXCHANGE, capdu.length, rapdu.length, rfMs, cardMs);
    // The answer is cut into MI parts only when it leaves: an abort meanwhile drops it whole.
    return {
      answer: new CardAnswerLater(tg, rapdu),
      afterMs: this.options.waitModelledTime ? rfMs + cardMs : 0,
    };
  }

  /** The active target `tg`, if any (a loop: no closure for every exchange, as a find has). */
  private activeTarget(tg: number): SimTarget | undefined {
    for (const t of this.targets) if (t.tg === tg && t.active) return t;
    return undefined;
  }

  /** The card did not answer: the chip waits RetryTO per try, then reports status 01. */
  private silentCard(target: SimTarget, capduBytes: number, cardMs: number): Reply {
    target.active = false;
    const rfMs = pn532RfTimeoutMs(this.retryTimeoutCode) * (this.maxRetryCom + 1);
    this.recordTiming(PN532_CMD_40_IN_DATA_EXCHANGE, capduBytes, 0, rfMs, cardMs);
    return {
      answer: ANSWER_41_TIMEOUT,
      afterMs: this.options.waitModelledTime ? rfMs + cardMs : 0,
    };
  }

  /** Answers with as much as fits, keeping the rest for "40 Tg" continuation requests (MI). */
  private answerChunk(tg: number, rapdu: Uint8Array): Answer {
    const max = Math.max(1, Math.min(this.options.miChunkBytes, PN532_DATA_IN_MAX));
    if (rapdu.length <= max) {
      this.chainOut = undefined;
      return { head: HEAD_41_OK, body: rapdu };
    }
    this.chainOut = { tg, rest: rapdu.slice(max) };
    return { head: HEAD_41_MI, body: rapdu.subarray(0, max) };
  }

  /**
   * Raw frames. The only one a card "answers" here is an ISO-DEP R-block (libnfc's presence
   * check sends R(NAK) B2): an R(ACK) comes back. Anything else gets status 01, promptly, as
   * libnfc's non-A probes need (pn532.md §7.5 item 7).
   */
  private communicateThru(p: Uint8Array): Answer {
    const target = this.targets.find((t) => t.active);
    const first = p[0];
    if (target !== undefined && !this.field.includes(target.card)) target.active = false;
    const alive = target !== undefined && target.active;
    if (alive && p.length === 1 && first !== undefined && (first & 0xe6) === 0xa2) {
      return Uint8Array.of(0x43, 0x00, 0xa2 | (first & 0x01));
    }
    return Uint8Array.of(0x43, 0x01);
  }

  // ---- helpers -------------------------------------------------------------------------------

  private recordTiming(
    command: number,
    capduBytes: number,
    rapduBytes: number,
    rfMs: number,
    cardMs: number,
  ): void {
    if (!this.timingsKept) return;
    const atMs = this.clock.nowMs();
    this.timings.push({ command, atMs, capduBytes, rapduBytes, rfMs, cardMs });
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

function matchesListing(
  identity: CardIdentity,
  kind: 'A' | 'B',
  uidFilter: Uint8Array | undefined,
): boolean {
  if (identity.kind !== kind) return false;
  if (uidFilter === undefined || identity.kind !== 'A') return true;
  return (
    identity.uid.length === uidFilter.length && identity.uid.every((b, i) => b === uidFilter[i])
  );
}

function hex(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

/**
 * `head` then a copy of `body`, in a new array (spreading a 250-byte answer into
 * Uint8Array.of's arguments cost a call argument per byte on every exchange).
 */
function withHead(head: readonly number[], body: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}
