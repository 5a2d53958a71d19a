// PN532 reader driver over a SerialLink (HSU): implements the reader data and control ports.
//
// Layering follows libnfc and nfcpy: `command` is the chipset layer (one frame out, ACK,
// one frame back, with abort, NACK and resend), the port methods above it are the device
// layer. Every wait is measured on the injected ClockPort, so the same driver runs on a real
// UART, on a pty and on the simulator's in-memory link.

import { clockAlarm, type ClockAlarm, type ClockPort } from '../ports/clock_port.js';
import { HalStatus, halErr, halOk, type HalResult } from '../ports/hal_status.js';
import type {
  ReaderControlPort,
  ReaderInfo,
  ReaderRfConfig,
  ReaderStartOptions,
} from '../ports/reader_control_port.js';
import type {
  CardTechnology,
  DetectedCard,
  PollOptions,
  PollResult,
  ReaderPort,
  RemovalOptions,
  TransceiveOptions,
} from '../ports/reader_port.js';
import type { SerialLink } from '../ports/serial_link.js';
import {
  PN532_BAUD_POWER_ON,
  PN532_BRTY_00_106_TYPE_A,
  PN532_BRTY_03_106_TYPE_B,
  PN532_CMD_00_DIAGNOSE,
  PN532_CMD_02_GET_FIRMWARE_VERSION,
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
  PN532_DATA_OUT_MAX,
  PN532_DIAG_06_CARD_PRESENCE,
  PN532_IC_32,
  PN532_PARAM_04_AUTO_ATR_RES,
  PN532_PARAM_10_AUTO_RATS,
  PN532_RFCI_01_FIELD,
  PN532_RFCI_02_TIMINGS,
  PN532_RFCI_04_MAX_RTY_COM,
  PN532_RFCI_05_MAX_RETRIES,
  PN532_STATUS_40_MI,
  PN532_STATUS_ERROR_MASK_3F,
  PN532_SUPPORT_01_ISO14443A,
  PN532_SUPPORT_02_ISO14443B,
  PN532_TG_40_MORE_DATA,
  PN532_WAKE_F0_HOST_LINKS,
  parsePn532TargetTypeA,
  parsePn532TargetTypeB,
  pn532BaudCode,
  pn532CommandName,
  pn532RfTimeoutCode,
  pn532StatusInfo,
} from './pn532_commands.js';
import {
  PN532_ACK_FRAME,
  PN532_NACK_FRAME,
  PN532_TFI_D4_HOST_TO_PN532,
  PN532_TFI_D5_PN532_TO_HOST,
  Pn532FrameDecoder,
  encodePn532FrameCode,
  type Pn532FrameEvent,
} from './pn532_frame.js';

/**
 * HSU wake-up burst. Activity on RX wakes the chip from LowVbat/PowerDown, and the first bytes
 * are lost while its oscillator starts (UM0701-02 §6.3.2.3, AN10609). We send what libnfc
 * sends, 55 55 and fourteen zeros; because the frame is found by its 00 FF start code, the
 * surplus zeros are harmless to an awake chip.
 */
export const PN532_WAKE_UP_BURST: Uint8Array = Uint8Array.of(0x55, 0x55, ...new Uint8Array(14));

/** Largest C-APDU the driver accepts (extended length: 7-byte header + 4096 data + 3 Le). */
export const PN532_CAPDU_MAX_BYTES = 4106;
/** Largest R-APDU the driver reassembles from MI-chained parts (4096 data + SW). */
export const PN532_RAPDU_MAX_BYTES = 4098;

/** Driver timing and retry policy; every field explicit (TigerBeetle: no hidden defaults). */
export interface Pn532ReaderOptions {
  /** Wait for the ACK after a command frame, ms. nfcpy waits 100 ms; hardware ACKs in ~15. */
  readonly ackTimeoutMs: number;
  /** Default response timeout of configuration commands, ms (libnfc: 350). */
  readonly commandTimeoutMs: number;
  /** Response timeout of SAMConfiguration right after wake-up, ms (libnfc: 1000). */
  readonly wakeTimeoutMs: number;
  /** Resends of a command frame that got no ACK, after an abort ACK. */
  readonly commandRetries: number;
  /** NACKs sent for one response that arrives damaged (bad checksum) or stalls half-way. */
  readonly nackRetries: number;
  /**
   * A started frame that gets no further byte for this long is taken as damaged (bytes lost on
   * the line) and answered with a NACK, ms. Above USB-serial latency timers (16 ms).
   */
  readonly interByteTimeoutMs: number;
  /** Pause between our ACK of SetSerialBaudRate and switching our end, ms (nfcpy: 1). */
  readonly baudSwitchSettleMs: number;
  /**
   * Whole start-up sequences tried before `start` gives up. Line noise can defeat one
   * sequence even with NACKs and resends; each new try first resynchronises the link.
   */
  readonly startAttempts: number;
  /**
   * Resynchronisation before a new start-up try, ms: after an abort ACK we let stray answers
   * of the failed try arrive and drop them, so they cannot pass for the new try's answers.
   */
  readonly startResyncMs: number;
  /**
   * Time a serial operation may take beyond the wire time of its bytes before the link is
   * taken as dead, ms. A device that vanished can leave a write pending for ever with no
   * close or error event (serialport parks writes issued while its binding closes); without
   * this bound the pending reader operation, and the tap loop with it, would never end.
   */
  readonly linkStallMs: number;
}

/** The policy used by boards unless they have a measured reason to differ. */
export const PN532_READER_DEFAULT_OPTIONS: Pn532ReaderOptions = {
  ackTimeoutMs: 100,
  commandTimeoutMs: 350,
  wakeTimeoutMs: 1000,
  commandRetries: 1,
  nackRetries: 2,
  interByteTimeoutMs: 50,
  baudSwitchSettleMs: 1,
  startAttempts: 4,
  startResyncMs: 50,
  linkStallMs: 500,
};

/** Counters for health checks and tests. */
export interface Pn532ReaderDiagnostics {
  framesSent: number;
  acksMissing: number;
  abortsSent: number;
  nacksSent: number;
  staleFramesDropped: number;
  noiseBytes: number;
  /** Start-up sequences begun again after a failed one (noise, a chip still waking). */
  startRetries: number;
  /** Answers lost in full and asked for again by resending an idempotent command. */
  commandsResent: number;
  /** Serial operations that did not finish within linkStallMs (each declared the link lost). */
  linkStalls: number;
}

type Waited = Pn532FrameEvent | 'timeout' | 'cancelled' | 'stalled' | 'lost';

/** How exchangeFrame ended (see there). */
type ExchangeStage = 'unsent' | 'first' | 'acked';

/** Settles `command`'s promise: with the answer, or with the promise of it (commandAfter). */
type CommandSettle = (answer: HalResult<Uint8Array> | Promise<HalResult<Uint8Array>>) => void;

/**
 * Commands that change nothing a second run would change again, so a lost answer may be
 * asked for by sending the command again. Not InDataExchange/InCommunicateThru (the card could
 * execute a C-APDU twice), InListPassiveTarget (activates cards; the poll loop retries),
 * SetSerialBaudRate or PowerDown (change the link itself).
 */
const PN532_RESENDABLE_COMMANDS: ReadonlySet<number> = new Set([
  PN532_CMD_00_DIAGNOSE,
  PN532_CMD_02_GET_FIRMWARE_VERSION,
  PN532_CMD_12_SET_PARAMETERS,
  PN532_CMD_14_SAM_CONFIGURATION,
  PN532_CMD_32_RF_CONFIGURATION,
  PN532_CMD_44_IN_DESELECT,
  PN532_CMD_52_IN_RELEASE,
]);

interface ActiveTarget {
  readonly tg: number;
  readonly card: DetectedCard;
}

/**
 * PN532 (C106, firmware 1.6) on an HSU link. One instance owns its link. Implements
 * `ReaderPort` (for the application) and `ReaderControlPort` (for the board).
 */
export class Pn532Reader implements ReaderPort, ReaderControlPort {
  private readonly decoder = new Pn532FrameDecoder();
  private waiter: (() => void) | undefined;
  /**
   * The driver's three timeouts, each one reusable alarm armed and called off around every
   * wait (most end with their answer, not their timeout): the deadline of the event wait or
   * pause under way (it sets `timedOut`), the inter-byte stall of a started answer, and the
   * bound of the serial operation under way (see linkOp).
   */
  private readonly deadlineAlarm: ClockAlarm;
  private readonly interByteAlarm: ClockAlarm;
  private readonly linkAlarm: ClockAlarm;
  private timedOut = false;
  /** The inter-byte alarm went off (a real timer may fire a little before its time). */
  private interByteFired = false;
  /** Settles the serial operation under way with undefined (stalled); see linkOp. */
  private linkSettle: ((result: HalResult<void> | undefined) => void) | undefined;
  /** What the serial operation under way does now (a frame's flush, then its write). */
  private linkWhat = '';
  /** The bound of the serial operation under way, ms. */
  private linkLimitMs = 0;
  /** The link bound fired once already: the clock has had its one more turn. */
  private linkBoundTurned = false;
  private lastRxMs = 0;
  /** nextEvent's wait under way: the command whose answer it watches for a stall. */
  private eventCode = 0;
  /** The last byte time the inter-byte alarm was armed for (NaN: not armed in this wait). */
  private eventStallArmedForMs = Number.NaN;
  /** Settles nextEvent's wait under way. */
  private eventSettle: ((waited: Waited) => void) | undefined;
  /** exchangeFrame under way: its command, answer timeout, settle, and what it found. */
  private exchangeCode = 0;
  private exchangeTimeoutMs = 0;
  private exchangeSettle: ((stage: ExchangeStage) => void) | undefined;
  /** The ACK came: exchangeFrame waits for the answer. */
  private exchangeAcked = false;
  private exchangeEvent: Waited = 'timeout';
  private exchangeUnsent: HalResult<never> = halErr(HalStatus.READER_IO, 'not sent');
  private ackDeadlineMs = 0;
  /** `command` under way: its frame (for a resend) and its promise's settle. */
  private commandFrame: Uint8Array = NO_DATA;
  private commandSettle: CommandSettle | undefined;
  private answerDeadlineMs = 0;
  private busy = false;
  /** The last InDataExchange answer had status bit 6 (MI) set: more parts follow. */
  private exchangeMore = false;
  private cancelRequested = false;
  /** The chip powers up in LowVbat; PowerDown puts it back to sleep. Both need the burst. */
  private asleep = true;
  private support = 0;
  private active: ActiveTarget | undefined;
  /** Last card activated, kept after release so its removal can be watched. */
  private lastCard: DetectedCard | undefined;
  private readonly stats: Pn532ReaderDiagnostics = {
    framesSent: 0,
    acksMissing: 0,
    abortsSent: 0,
    nacksSent: 0,
    staleFramesDropped: 0,
    noiseBytes: 0,
    startRetries: 0,
    commandsResent: 0,
    linkStalls: 0,
  };
  /** Set when the chip named itself something other than a PN532 during this start. */
  private identityRefused = false;
  /** Why the serial link is gone (device unplugged), or null while it works. */
  private linkDown: string | null = null;

  constructor(
    private readonly link: SerialLink,
    private readonly clock: ClockPort,
    private readonly options: Pn532ReaderOptions,
  ) {
    link.setReceiver((bytes) => {
      this.lastRxMs = clock.nowMs();
      this.decoder.push(bytes);
      this.wakeWaiter();
    });
    this.deadlineAlarm = clockAlarm(clock, () => {
      this.timedOut = true;
      this.wakeWaiter();
    });
    this.interByteAlarm = clockAlarm(clock, () => {
      this.interByteFired = true;
      this.wakeWaiter();
    });
    this.linkAlarm = clockAlarm(clock, () => this.linkBoundReached());
  }

  /** Counters since construction. Never fails. */
  diagnostics(): Pn532ReaderDiagnostics {
    return { ...this.stats, noiseBytes: this.decoder.noiseBytes };
  }

  /**
   * The board tells the driver its serial device disappeared (USB unplugged, pty closed).
   * The pending operation, if any, ends at once with READER_IO instead of running into its
   * timeout, and every later operation fails with READER_IO until `start` succeeds on the
   * reopened link. The last card is kept, so its removal can still be watched afterwards.
   * The driver calls it itself when a serial operation stalls past `linkStallMs` (a device
   * gone without a close event). Never fails.
   */
  linkLost(detail: string): void {
    this.linkDown = detail;
    this.active = undefined;
    this.wakeWaiter();
  }

  /**
   * Why the link is down (as given to `linkLost`, by the board or by the driver on a stalled
   * serial operation), or null once `start` succeeded again. Never fails.
   */
  linkLostDetail(): string | null {
    return this.linkDown;
  }

  /** The card activated by the last successful poll, if still active. */
  activeCard(): DetectedCard | undefined {
    return this.active?.card;
  }

  // ---- ReaderControlPort -------------------------------------------------------------------

  /** See ReaderControlPort.start. Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO, BUSY,
   *  NOT_SUPPORTED. */
  start(options: ReaderStartOptions): Promise<HalResult<ReaderInfo>> {
    return this.exclusive(() => this.startTries(options));
  }

  /** See ReaderControlPort.configure. Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO,
   *  BUSY. */
  configure(rf: ReaderRfConfig): Promise<HalResult<void>> {
    return this.exclusive(() => this.configureSteps(rf));
  }

  /** See ReaderControlPort.setRfField. Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO,
   *  BUSY. */
  setRfField(on: boolean): Promise<HalResult<void>> {
    return this.exclusive(async () => {
      const r = await this.command(PN532_CMD_32_RF_CONFIGURATION, [
        PN532_RFCI_01_FIELD,
        on ? 1 : 0,
      ]);
      if (!on) this.active = undefined;
      return r.ok ? halOk(undefined) : r;
    });
  }

  /** See ReaderControlPort.setBaudRate. Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO,
   *  BUSY, NOT_SUPPORTED. */
  setBaudRate(baudRate: number): Promise<HalResult<void>> {
    return this.exclusive(() => this.switchBaudRate(baudRate));
  }

  /** See ReaderControlPort.shutdown. Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO, BUSY. */
  shutdown(): Promise<HalResult<void>> {
    return this.exclusive(async () => {
      const released = await this.command(PN532_CMD_52_IN_RELEASE, oneByte(0x00));
      if (!released.ok) return released;
      this.active = undefined;
      this.lastCard = undefined;
      const off = await this.command(PN532_CMD_32_RF_CONFIGURATION, [PN532_RFCI_01_FIELD, 0]);
      if (!off.ok) return off;
      if (this.link.baudRate() !== PN532_BAUD_POWER_ON) {
        // The chip keeps its speed until power-off; leave it where the next start looks first.
        const back = await this.switchBaudRate(PN532_BAUD_POWER_ON);
        if (!back.ok) return back;
      }
      const down = await this.command(PN532_CMD_16_POWER_DOWN, [PN532_WAKE_F0_HOST_LINKS]);
      if (!down.ok) return down;
      this.asleep = true;
      return this.expectStatusOk(down.value, PN532_CMD_16_POWER_DOWN);
    });
  }

  // ---- ReaderPort --------------------------------------------------------------------------

  /** See ReaderPort.poll. Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO, BUSY, CANCELLED,
   *  NOT_SUPPORTED. */
  poll(options: PollOptions): Promise<HalResult<PollResult>> {
    // Not through `exclusive`: its steps end the operation themselves (a promise job fewer).
    return this.exclusiveBusy() ?? this.pollSteps(options);
  }

  /** See ReaderPort.transceive. Errors: TIMEOUT, TRANSMISSION, PROTOCOL, CARD_GONE, READER_IO,
   *  BUSY, CANCELLED, SIZE, NOT_SUPPORTED. */
  transceive(capdu: Uint8Array, options: TransceiveOptions): Promise<HalResult<Uint8Array>> {
    // Not through `exclusive`: its steps end the operation themselves (a promise job fewer).
    return this.exclusiveBusy() ?? this.transceiveSteps(capdu, options);
  }

  /** See ReaderPort.release. Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO, BUSY,
   *  CANCELLED. */
  release(): Promise<HalResult<void>> {
    return this.exclusive(() => this.releaseSteps(PN532_CMD_52_IN_RELEASE));
  }

  /**
   * InDeselect: deselects the card but lets the chip keep its target data (not in the port;
   * InRelease is what a validator wants). Errors as `release`.
   */
  deselect(): Promise<HalResult<void>> {
    return this.exclusive(() => this.releaseSteps(PN532_CMD_44_IN_DESELECT));
  }

  /** See ReaderPort.isCardPresent. Errors: TIMEOUT, TRANSMISSION, PROTOCOL, READER_IO, BUSY,
   *  CANCELLED, NOT_SUPPORTED. */
  isCardPresent(): Promise<HalResult<boolean>> {
    return this.exclusive(() => this.presenceStep());
  }

  /** See ReaderPort.waitForRemoval. Errors: TIMEOUT (the card is still there at the deadline,
   *  and only then), TRANSMISSION, PROTOCOL, READER_IO (also: the chip did not answer a
   *  presence check, even when asked again), BUSY, CANCELLED, NOT_SUPPORTED. */
  waitForRemoval(options: RemovalOptions): Promise<HalResult<void>> {
    return this.exclusive(async () => {
      const deadlineMs = this.clock.nowMs() + options.timeoutMs;
      for (;;) {
        const present = await this.presenceStep();
        if (!present.ok) return presenceFailure(present);
        if (!present.value) return halOk(undefined);
        if (this.clock.nowMs() + options.intervalMs > deadlineMs) {
          return halErr(HalStatus.TIMEOUT, 'card still in the field');
        }
        if (!(await this.pause(options.intervalMs))) {
          if (this.linkDown !== null) return this.lostError(PN532_CMD_00_DIAGNOSE);
          return halErr(HalStatus.CANCELLED, 'removal wait cancelled');
        }
      }
    });
  }

  /** See ReaderPort.cancel. Never fails. */
  cancel(): void {
    if (!this.busy) return;
    this.cancelRequested = true;
    this.wakeWaiter();
  }

  // ---- device layer ------------------------------------------------------------------------

  /**
   * Start-up sequences until one succeeds, at most `startAttempts`. Between two, a resync:
   * an abort ACK ends whatever the chip still runs, then its stray answers are let in and
   * dropped. A refused baud rate, another chip's identity and a lost link are final.
   */
  private async startTries(options: ReaderStartOptions): Promise<HalResult<ReaderInfo>> {
    // A start is the board's statement that the link is (re)opened: forget an earlier loss.
    this.linkDown = null;
    this.identityRefused = false;
    let result = await this.startSteps(options);
    for (let attempt = 1; attempt < this.options.startAttempts; attempt += 1) {
      if (result.ok || result.error === HalStatus.NOT_SUPPORTED) return result;
      if (this.identityRefused) return result;
      if (this.linkDown !== null || this.cancelRequested) return result;
      this.stats.startRetries += 1;
      await this.sendAbort();
      if (!(await this.pause(this.options.startResyncMs))) return result;
      this.decoder.clear();
      result = await this.startSteps(options);
    }
    return result;
  }

  private async startSteps(options: ReaderStartOptions): Promise<HalResult<ReaderInfo>> {
    this.active = undefined;
    this.asleep = true;
    let sam = await this.samAt(PN532_BAUD_POWER_ON);
    if (!sam.ok && options.baudRate !== PN532_BAUD_POWER_ON) {
      // A host restart without a power cycle leaves the chip at the speed we switched it to.
      sam = await this.samAt(options.baudRate);
    }
    if (!sam.ok) return sam;
    const fw = await this.command(PN532_CMD_02_GET_FIRMWARE_VERSION, []);
    if (!fw.ok) return fw;
    const [, ic, ver, rev, support] = fw.value;
    if (fw.value.length !== 5 || ic !== PN532_IC_32 || ver === undefined || rev === undefined) {
      // A well-formed answer that passed both checksums: another chip, not noise. Final.
      this.identityRefused = true;
      return halErr(HalStatus.PROTOCOL, `not a PN532: firmware ${hex(fw.value.subarray(1))}`);
    }
    this.support = support ?? 0;
    const params = await this.command(PN532_CMD_12_SET_PARAMETERS, [
      PN532_PARAM_04_AUTO_ATR_RES | PN532_PARAM_10_AUTO_RATS,
    ]);
    if (!params.ok) return params;
    const rf = await this.configureSteps(options.rf);
    if (!rf.ok) return rf;
    const field = await this.command(PN532_CMD_32_RF_CONFIGURATION, [PN532_RFCI_01_FIELD, 1]);
    if (!field.ok) return field;
    if (options.baudRate !== this.link.baudRate()) {
      const baud = await this.switchBaudRate(options.baudRate);
      if (!baud.ok) return baud;
    }
    return halOk({
      name: `PN532 v${ver}.${rev}`,
      firmwareVersion: ver,
      firmwareRevision: rev,
      supportsTypeA: (this.support & PN532_SUPPORT_01_ISO14443A) !== 0,
      supportsTypeB: (this.support & PN532_SUPPORT_02_ISO14443B) !== 0,
      baudRate: this.link.baudRate(),
    });
  }

  /** SAMConfiguration normal mode at `baudRate`, the first command out of LowVbat (AN10609). */
  private async samAt(baudRate: number): Promise<HalResult<Uint8Array>> {
    if (this.link.baudRate() !== baudRate) {
      const set = await this.linkOp('setBaudRate', 0, (settle) => {
        void this.link.setBaudRate(baudRate).then(settle);
      });
      if (!set.ok) return set;
    }
    this.asleep = true;
    return this.command(PN532_CMD_14_SAM_CONFIGURATION, [0x01], this.options.wakeTimeoutMs);
  }

  private async configureSteps(rf: ReaderRfConfig): Promise<HalResult<void>> {
    const attempts = Math.min(Math.max(Math.trunc(rf.activationAttempts), 1), 0xff);
    const retries = Math.min(Math.max(Math.trunc(rf.exchangeRetries), 0), 0xfe);
    const steps: number[][] = [
      [PN532_RFCI_02_TIMINGS, 0x00, 0x0b, pn532RfTimeoutCode(rf.cardAnswerTimeoutMs)],
      [PN532_RFCI_04_MAX_RTY_COM, retries],
      // MxRtyATR stays at the chip default; 00 = one activation try, FF would be endless.
      [PN532_RFCI_05_MAX_RETRIES, 0xff, 0x01, attempts - 1],
    ];
    for (const item of steps) {
      const r = await this.command(PN532_CMD_32_RF_CONFIGURATION, item);
      if (!r.ok) return r;
    }
    return halOk(undefined);
  }

  /**
   * SetSerialBaudRate, flow as nfcpy runs it on hardware: command, ACK, answer at the old
   * rate, then our ACK at the old rate, then both ends switch and we give the chip a moment.
   */
  private async switchBaudRate(baudRate: number): Promise<HalResult<void>> {
    const code = pn532BaudCode(baudRate);
    if (code === undefined) return halErr(HalStatus.NOT_SUPPORTED, `baud rate ${baudRate}`);
    const r = await this.command(PN532_CMD_10_SET_SERIAL_BAUD_RATE, [code]);
    if (!r.ok) return r;
    const ack = await this.linkWrite(PN532_ACK_FRAME);
    if (!ack.ok) return ack;
    // As nfcpy: give the ACK time to leave (USB bridges report drain early) and the chip time
    // to switch, then switch our end.
    await this.clock.sleepMs(this.options.baudSwitchSettleMs);
    return this.linkOp('setBaudRate', 0, (settle) => {
      void this.link.setBaudRate(baudRate).then(settle);
    });
  }

  /** The poll, as one exclusive operation begun by `poll` (see exclusiveBusy). */
  private async pollSteps(options: PollOptions): Promise<HalResult<PollResult>> {
    try {
      const deadlineMs = this.clock.nowMs() + options.timeoutMs;
      if (this.active !== undefined) {
        const released = await this.releaseSteps(PN532_CMD_52_IN_RELEASE);
        if (!released.ok) return released;
      }
      for (const technology of options.technologies) {
        const remainingMs = deadlineMs - this.clock.nowMs();
        if (remainingMs <= 0) break;
        const listed = await this.listTargets(technology, 2, remainingMs);
        const found = this.listTargetsFound(listed, technology, 2);
        if (!found.ok) return found;
        const targets = found.value;
        if (targets.length >= 2) {
          // 多卡: refuse, and let both go so neither is left half-activated.
          const released = await this.command(PN532_CMD_52_IN_RELEASE, oneByte(0x00));
          if (!released.ok) return released;
          this.active = undefined;
          return halOk({ kind: 'several', count: targets.length });
        }
        const first = targets[0];
        if (first !== undefined) {
          this.active = first;
          this.lastCard = first.card;
          return halOk({ kind: 'one', card: first.card });
        }
      }
      return halOk({ kind: 'none' });
    } finally {
      this.exclusiveEnd();
    }
  }

  /**
   * InListPassiveTarget for one technology; its answer goes through listTargetsFound. Not
   * async: the caller awaits the command itself, one promise job fewer for every poll.
   */
  private listTargets(
    technology: CardTechnology,
    maxTargets: number,
    timeoutMs: number,
  ): Promise<HalResult<Uint8Array>> {
    let params: readonly number[];
    switch (technology) {
      case 'ISO14443A':
        params = LIST_TYPE_A_PARAMS[maxTargets] ?? [maxTargets, PN532_BRTY_00_106_TYPE_A];
        break;
      case 'ISO14443B':
        if ((this.support & PN532_SUPPORT_02_ISO14443B) === 0) {
          return Promise.resolve(
            halErr(HalStatus.NOT_SUPPORTED, 'firmware does not offer ISO 14443B'),
          );
        }
        params = [maxTargets, PN532_BRTY_03_106_TYPE_B, 0x00]; // AFI 00: all families
        break;
      default:
        return assertNever(technology);
    }
    return this.command(PN532_CMD_4A_IN_LIST_PASSIVE_TARGET, params, timeoutMs);
  }

  /** The targets (0..maxTargets) listTargets' answer `r` gives, parsed. */
  private listTargetsFound(
    r: HalResult<Uint8Array>,
    technology: CardTechnology,
    maxTargets: number,
  ): HalResult<ActiveTarget[]> {
    if (!r.ok) return r;
    const data = r.value;
    const count = data[1];
    if (count === undefined || count > maxTargets) {
      return halErr(HalStatus.PROTOCOL, `InListPassiveTarget answer ${hex(data.subarray(1))}`);
    }
    const targets: ActiveTarget[] = [];
    let at = 2;
    for (let k = 0; k < count; k += 1) {
      const parsed =
        technology === 'ISO14443A'
          ? parsePn532TargetTypeA(data, at)
          : parsePn532TargetTypeB(data, at);
      if (!parsed.ok) return halErr(HalStatus.PROTOCOL, parsed.detail);
      targets.push({ tg: parsed.tg, card: parsed.target });
      at = parsed.next;
    }
    return halOk(targets);
  }

  /** The exchange, as one exclusive operation begun by `transceive` (see exclusiveBusy). */
  private async transceiveSteps(
    capdu: Uint8Array,
    options: TransceiveOptions,
  ): Promise<HalResult<Uint8Array>> {
    try {
      const target = this.active;
      if (target === undefined || !target.card.isoDep) {
        return halErr(HalStatus.NOT_SUPPORTED, 'no ISO 14443-4 card is activated');
      }
      if (capdu.length === 0 || capdu.length > PN532_CAPDU_MAX_BYTES) {
        return halErr(HalStatus.SIZE, `C-APDU of ${capdu.length} bytes`);
      }
      const deadlineMs = this.clock.nowMs() + options.timeoutMs;
      // Host-side chaining: every part but the last carries Tg | 40 (MI) and is answered with a
      // bare status byte; the last part returns the card's answer. See UM0701-02 §7.3.8.
      let at = 0;
      while (capdu.length - at > PN532_DATA_OUT_MAX) {
        const part = capdu.subarray(at, at + PN532_DATA_OUT_MAX);
        const sent = this.exchangePart(target.tg | PN532_TG_40_MORE_DATA, part, deadlineMs);
        const r = this.exchangePartAnswer(await sent);
        if (!r.ok) return r;
        at += PN532_DATA_OUT_MAX;
      }
      // Most C-APDUs fit one frame: the array itself, not a view of it (the first view of a short
      // array moves its bytes off V8's heap, a cost of its own).
      const last = at === 0 ? capdu : capdu.subarray(at);
      let r = this.exchangePartAnswer(await this.exchangePart(target.tg, last, deadlineMs));
      // One part (most answers): its bytes as they are, a view of the frame decoded for it alone.
      if (!r.ok || !this.exchangeMore) return rapduChecked(r);
      const parts: Uint8Array[] = [];
      let total = 0;
      for (;;) {
        if (!r.ok) return r;
        total += r.value.length;
        if (total > PN532_RAPDU_MAX_BYTES) return halErr(HalStatus.SIZE, `R-APDU over ${total}`);
        parts.push(r.value);
        if (!this.exchangeMore) break;
        // Chip-side chaining: status bit 6 (MI) set, fetch the rest with a bare "40 Tg".
        r = this.exchangePartAnswer(await this.exchangePart(target.tg, NO_DATA, deadlineMs));
      }
      return rapduChecked(halOk(concatBytes(parts, total)));
    } finally {
      this.exclusiveEnd();
    }
  }

  /**
   * Sends one InDataExchange frame; its answer goes through exchangePartAnswer. Not async:
   * the caller awaits the command itself, one promise fewer for every APDU.
   */
  private exchangePart(
    tg: number,
    dataOut: Uint8Array,
    deadlineMs: number,
  ): Promise<HalResult<Uint8Array>> {
    const timeoutMs = deadlineMs - this.clock.nowMs();
    if (timeoutMs <= 0) return Promise.resolve(halErr(HalStatus.TIMEOUT, 'APDU deadline passed'));
    return this.command(PN532_CMD_40_IN_DATA_EXCHANGE, oneByte(tg), timeoutMs, dataOut);
  }

  /**
   * The data of one InDataExchange answer `r` (its body: response code, status, data); maps
   * the status byte through the table, and sets exchangeMore from it.
   */
  private exchangePartAnswer(r: HalResult<Uint8Array>): HalResult<Uint8Array> {
    this.exchangeMore = false;
    if (!r.ok) return r;
    const status = r.value[1];
    if (status === undefined) return halErr(HalStatus.PROTOCOL, 'InDataExchange without status');
    const code = status & PN532_STATUS_ERROR_MASK_3F;
    if (code !== 0) {
      const info = pn532StatusInfo(code);
      if (info.hal === HalStatus.CARD_GONE) this.active = undefined;
      return halErr(info.hal, `InDataExchange status 0x${hex([code])}: ${info.name}`);
    }
    this.exchangeMore = (status & PN532_STATUS_40_MI) !== 0;
    return halOk(r.value.subarray(2));
  }

  private async releaseSteps(code: number): Promise<HalResult<void>> {
    const r = await this.command(code, oneByte(this.active?.tg ?? 0x00));
    if (!r.ok) return r;
    this.active = undefined;
    return this.expectStatusOk(r.value, code);
  }

  /**
   * Presence of the last card (`presenceLook`). A look that took longer than
   * PRESENCE_LOOK_STALE_MS (a lost ACK resent, a frame lost to line noise) tells how the field
   * was when it began: the card may have left since, and a phone put down meanwhile would pass
   * for it (a random ID proves nothing). Such a "present" is looked at once more, at once.
   */
  private async presenceStep(): Promise<HalResult<boolean>> {
    const startedMs = this.clock.nowMs();
    const seen = await this.presenceLook();
    const stale = this.clock.nowMs() - startedMs > PRESENCE_LOOK_STALE_MS;
    return seen.ok && seen.value && stale ? this.presenceLook() : seen;
  }

  /**
   * While the last card is active, Diagnose 06 asks the chip to probe the ISO 14443-4 link
   * (UM0701-02 §7.2.1; status 00 = present). Once released, a one-target InListPassiveTarget
   * looks for it again and lets it go: a different card means the original has left.
   */
  private async presenceLook(): Promise<HalResult<boolean>> {
    const card = this.lastCard;
    if (card === undefined) return halErr(HalStatus.NOT_SUPPORTED, 'no card to watch');
    if (this.active !== undefined) {
      const r = await this.command(PN532_CMD_00_DIAGNOSE, oneByte(PN532_DIAG_06_CARD_PRESENCE));
      if (!r.ok) return r;
      const present = r.value[1] === 0x00;
      if (!present) this.active = undefined;
      return halOk(present);
    }
    const technology = card.technology;
    const listed = await this.listTargets(technology, 1, this.options.commandTimeoutMs);
    const found = this.listTargetsFound(listed, technology, 1);
    if (!found.ok) return found;
    const again = found.value[0];
    if (again === undefined) return halOk(false);
    const released = await this.command(PN532_CMD_52_IN_RELEASE, oneByte(0x00));
    if (!released.ok) return released;
    return halOk(sameCard(card, again.card));
  }

  /**
   * The status of command `code`'s answer (`body`: response code, status); its name is looked
   * up only for a failure.
   */
  private expectStatusOk(body: Uint8Array, code: number): HalResult<void> {
    const status = body[1];
    if (status === undefined) {
      return halErr(HalStatus.PROTOCOL, `${pn532CommandName(code)} without status`);
    }
    if ((status & PN532_STATUS_ERROR_MASK_3F) === 0) return halOk(undefined);
    const info = pn532StatusInfo(status);
    const what = pn532CommandName(code);
    return halErr(info.hal, `${what} status 0x${hex([status])}: ${info.name}`);
  }

  // ---- chipset layer -----------------------------------------------------------------------

  /**
   * Sends one command and returns the answer's body: its response code, then its parameters
   * (the body as decoded, no view of it for each answer).
   * A missing ACK is answered with an abort ACK and a resend, except for commands that reach
   * the card; a damaged response with a NACK (the chip resends it); a missing response with an
   * abort ACK and TIMEOUT.
   * Not async: the promise is settled with the answer as it comes (most come right after
   * the ACK), one promise job fewer for every command; the other ways a command goes are
   * commandAfter's.
   */
  private command(
    code: number,
    params: readonly number[],
    timeoutMs: number = this.options.commandTimeoutMs,
    data: Uint8Array = NO_DATA,
  ): Promise<HalResult<Uint8Array>> {
    // Code, parameters and data (an APDU) set in place, in the frame itself: one copy.
    const frame = encodePn532FrameCode(PN532_TFI_D4_HOST_TO_PN532, code, params, data);
    const done = new Promise<HalResult<Uint8Array>>(this.commandWaitBegin);
    if (this.linkDown !== null) {
      this.commandEnd(this.lostError(code));
      return done;
    }
    this.commandFrame = frame;
    this.exchangeStart(frame, code, timeoutMs, this.commandExchanged);
    return done;
  }

  private readonly commandWaitBegin = (settle: CommandSettle): void => {
    this.commandSettle = settle;
  };

  /** The first exchange of `command` ended: its answer, or the rest in commandAfter. */
  private readonly commandExchanged = (stage: ExchangeStage): void => {
    const code = this.exchangeCode;
    const ev = this.exchangeEvent;
    const answer = stage === 'acked' ? answerOf(code, ev) : undefined;
    const frame = this.commandFrame;
    this.commandFrame = NO_DATA;
    if (answer !== undefined) {
      this.commandEnd(answer);
      return;
    }
    this.commandEnd(this.commandAfter(frame, code, this.exchangeTimeoutMs, stage, ev));
  };

  /** Settles `command`'s promise with `answer`. */
  private commandEnd(answer: HalResult<Uint8Array> | Promise<HalResult<Uint8Array>>): void {
    const settle = this.commandSettle;
    this.commandSettle = undefined;
    settle?.(answer);
  }

  /**
   * `command` from the end of its first exchange (`firstStage`, `first`) on, when that was
   * not the answer: a lost ACK, a stale, damaged or missing answer, a failed write.
   */
  private async commandAfter(
    frame: Uint8Array,
    code: number,
    timeoutMs: number,
    firstStage: ExchangeStage,
    first: Waited,
  ): Promise<HalResult<Uint8Array>> {
    let stage = firstStage;
    let ev = first;
    for (let attempt = 0; ; attempt += 1) {
      if (attempt > 0) {
        if (this.linkDown !== null) return this.lostError(code);
        stage = await this.exchangeFrame(frame, code, timeoutMs);
        ev = this.exchangeEvent;
      }
      if (stage === 'unsent') {
        return this.linkDown !== null ? this.lostError(code) : this.exchangeUnsent;
      }
      const acked = stage === 'acked' ? 'ack' : await this.awaitAck(code, this.ackDeadlineMs, ev);
      // Until the chip has answered once it may still be asleep: keep sending the burst.
      if (acked === 'ack' || (typeof acked === 'object' && acked.ok)) this.asleep = false;
      if (acked === 'ack') {
        let answer: HalResult<Uint8Array> | undefined;
        if (stage === 'acked') {
          const deadlineMs = this.answerDeadlineMs;
          answer = answerOf(code, ev) ?? (await this.awaitResponse(code, deadlineMs, ev));
        } else {
          const deadlineMs = this.clock.nowMs() + timeoutMs;
          const next = await this.nextEvent(deadlineMs, code);
          answer = answerOf(code, next) ?? (await this.awaitResponse(code, deadlineMs, next));
        }
        if (answer.ok || answer.error !== HalStatus.TIMEOUT) return answer;
        if (!PN532_RESENDABLE_COMMANDS.has(code) || attempt >= this.options.commandRetries) {
          return answer;
        }
        // The whole answer was lost on the line, and awaitResponse has sent the abort ACK.
        // Running this command twice changes nothing, so ask again.
        this.stats.commandsResent += 1;
        continue;
      }
      if (acked === 'cancelled') {
        return this.abort(HalStatus.CANCELLED, `${pn532CommandName(code)} cancelled`);
      }
      if (acked === 'lost') return this.lostError(code);
      if (acked !== 'timeout') return acked;
      this.stats.acksMissing += 1;
      if (code === PN532_CMD_40_IN_DATA_EXCHANGE || code === PN532_CMD_42_IN_COMMUNICATE_THRU) {
        // Perhaps only the ACK was lost and the chip is already talking to the card. A resend
        // could make the card execute the C-APDU twice (a second debit), so wait for the
        // answer within the caller's time instead, and let the caller decide on a timeout.
        const deadlineMs = this.clock.nowMs() + Math.max(0, timeoutMs - this.options.ackTimeoutMs);
        return this.awaitResponse(code, deadlineMs, await this.nextEvent(deadlineMs, code));
      }
      await this.sendAbort();
      if (attempt >= this.options.commandRetries) {
        const name = pn532CommandName(code);
        return halErr(HalStatus.READER_IO, `${name}: no ACK after ${attempt + 1} tries`);
      }
    }
  }

  /**
   * Sends `frame` (command `code`) and waits for what follows, as one promise settled once:
   * 'unsent' when the write failed (exchangeUnsent says how); 'first' with the first event
   * after the write when it is not the ACK (exchangeEvent; the ACK deadline in ackDeadlineMs);
   * 'acked' with the event after the ACK (exchangeEvent; its deadline in answerDeadlineMs).
   * Each step begins the next one where the last one ended, at the same clock time the
   * awaits of one step after the other would see: two awaits and their promises fewer per
   * command, which is how most end (the ACK, then the answer).
   */
  private exchangeFrame(
    frame: Uint8Array,
    code: number,
    timeoutMs: number,
  ): Promise<ExchangeStage> {
    return new Promise<ExchangeStage>((settle) => {
      this.exchangeStart(frame, code, timeoutMs, settle);
    });
  }

  /** exchangeFrame, its end given to `then`. */
  private exchangeStart(
    frame: Uint8Array,
    code: number,
    timeoutMs: number,
    then: (stage: ExchangeStage) => void,
  ): void {
    this.exchangeCode = code;
    this.exchangeTimeoutMs = timeoutMs;
    this.exchangeAcked = false;
    this.exchangeSettle = then;
    let written = false;
    // Once only: the link bound may settle the write before its late result comes.
    this.sendFrame(frame, (result) => {
      if (written) return;
      written = true;
      this.frameWritten(result);
    });
  }

  /** The frame's write ended (see linkOpEnded): wait for the ACK, or settle 'unsent'. */
  private frameWritten(result: HalResult<void> | undefined): void {
    const sent = this.linkOpEnded(result);
    if (!sent.ok) {
      this.exchangeUnsent = sent;
      this.exchangeEnd('unsent');
      return;
    }
    this.ackDeadlineMs = this.clock.nowMs() + this.options.ackTimeoutMs;
    this.eventThen(this.ackDeadlineMs, this.exchangeCode, this.exchangeEventCame);
  }

  /** An event of exchangeFrame's wait: the ACK begins the answer's wait, others settle. */
  private readonly exchangeEventCame = (waited: Waited): void => {
    if (this.exchangeAcked || !isAck(waited)) {
      this.exchangeEvent = waited;
      this.exchangeEnd(this.exchangeAcked ? 'acked' : 'first');
      return;
    }
    this.exchangeAcked = true;
    this.asleep = false;
    this.answerDeadlineMs = this.clock.nowMs() + this.exchangeTimeoutMs;
    this.eventThen(this.answerDeadlineMs, this.exchangeCode, this.exchangeEventCame);
  };

  private exchangeEnd(stage: ExchangeStage): void {
    const settle = this.exchangeSettle;
    this.exchangeSettle = undefined;
    settle?.(stage);
  }

  private lostError(code: number): HalResult<never> {
    return halErr(
      HalStatus.READER_IO,
      `${pn532CommandName(code)}: serial link lost: ${this.linkDown ?? 'closed'}`,
    );
  }

  /**
   * Flushes input and writes `frame`, as one linkOp (a flush takes no wire time) whose result
   * goes to `settle` (see linkOpStart), which takes its end with linkOpEnded.
   */
  private sendFrame(
    frame: Uint8Array,
    settle: (result: HalResult<void> | undefined) => void,
  ): void {
    // Like libnfc: whatever is still buffered belongs to an earlier exchange.
    this.decoder.clear();
    const bytes = this.asleep ? Uint8Array.of(...PN532_WAKE_UP_BURST, ...frame) : frame;
    this.linkOpStart('discardInput', this.wireMs(bytes), settle);
    void this.link.discardInput().then((flushed) => {
      // A flush that ended after the bound gave up on it must not send the frame late.
      if (this.linkSettle !== settle) return;
      if (!flushed.ok) return settle(flushed);
      this.linkWhat = 'write';
      this.stats.framesSent += 1;
      void this.link.write(bytes).then(settle);
    });
  }

  /**
   * 'ack', or the response itself when the ACK was lost on the way, or a failure; from `first`,
   * the first event after the command went out, on.
   */
  private async awaitAck(
    code: number,
    deadlineMs: number,
    first: Waited,
  ): Promise<'ack' | 'timeout' | 'cancelled' | 'lost' | HalResult<Uint8Array>> {
    let nacks = 0;
    for (let ev = first; ; ev = await this.nextEvent(deadlineMs, code)) {
      if (ev === 'timeout' || ev === 'cancelled' || ev === 'lost') return ev;
      if (ev === 'stalled') {
        // The ACK was lost and the response stalled half-way: ask for the response again.
        this.decoder.clear();
        if (nacks >= this.options.nackRetries) return this.checksumFailure(code);
        nacks += 1;
        await this.sendNack();
        continue;
      }
      switch (ev.kind) {
        case 'ack':
          return 'ack';
        case 'nack':
          break;
        case 'error':
          return halErr(HalStatus.PROTOCOL, `${pn532CommandName(code)}: error frame`);
        case 'bad-checksum':
          // The ACK was lost and the response damaged: ask for the response again.
          if (nacks >= this.options.nackRetries) return this.checksumFailure(code);
          nacks += 1;
          await this.sendNack();
          break;
        case 'frame': {
          const r = this.acceptResponse(code, ev.tfi, ev.body);
          if (r !== undefined) return r;
          break;
        }
        default:
          return assertNever(ev);
      }
    }
  }

  /** The response to `code`, or a failure; from `first`, the first event after the ACK, on. */
  private async awaitResponse(
    code: number,
    deadlineAtFirstMs: number,
    first: Waited,
  ): Promise<HalResult<Uint8Array>> {
    let deadlineMs = deadlineAtFirstMs;
    let nacks = 0;
    for (let ev = first; ; ev = await this.nextEvent(deadlineMs, code)) {
      if (ev === 'lost') return this.lostError(code);
      if (ev === 'cancelled') {
        return this.abort(HalStatus.CANCELLED, `${pn532CommandName(code)} cancelled`);
      }
      if (ev === 'timeout') {
        return this.abort(HalStatus.TIMEOUT, `${pn532CommandName(code)}: no response`);
      }
      let damaged = false;
      if (ev === 'stalled') {
        // A frame started and stalled: bytes were lost on the line. Ask for it again.
        this.decoder.clear();
        damaged = true;
      } else {
        switch (ev.kind) {
          case 'ack':
          case 'nack':
            break;
          case 'error':
            return halErr(HalStatus.PROTOCOL, `${pn532CommandName(code)}: error frame`);
          case 'bad-checksum':
            damaged = true;
            break;
          case 'frame': {
            const r = this.acceptResponse(code, ev.tfi, ev.body);
            if (r !== undefined) return r;
            break;
          }
          default:
            return assertNever(ev);
        }
      }
      if (damaged) {
        if (nacks >= this.options.nackRetries) return this.checksumFailure(code);
        nacks += 1;
        await this.sendNack();
        deadlineMs = Math.max(deadlineMs, this.clock.nowMs() + this.options.ackTimeoutMs);
      }
    }
  }

  /** The answer to `code`, a protocol failure, or undefined for a stale frame to drop. */
  private acceptResponse(
    code: number,
    tfi: number,
    body: Uint8Array,
  ): HalResult<Uint8Array> | undefined {
    if (tfi !== PN532_TFI_D5_PN532_TO_HOST || body[0] !== code + 1) {
      // An answer to a command we already gave up on (aborted or resent), or line noise that
      // passed the weak checksums (a damaged ACK can: 00 00 FF 01 FF 00 ...): not ours.
      this.stats.staleFramesDropped += 1;
      return undefined;
    }
    return halOk(body);
  }

  private async checksumFailure(code: number): Promise<HalResult<never>> {
    return this.abort(HalStatus.TRANSMISSION, `${pn532CommandName(code)}: checksum errors`);
  }

  private async abort<T>(status: HalStatus, detail: string): Promise<HalResult<T>> {
    await this.sendAbort();
    return halErr(status, detail);
  }

  private async sendAbort(): Promise<void> {
    this.stats.abortsSent += 1;
    // A failed abort changes nothing for the caller: the next command flushes and resends.
    await this.linkWrite(PN532_ACK_FRAME);
  }

  private async sendNack(): Promise<void> {
    this.stats.nacksSent += 1;
    await this.linkWrite(PN532_NACK_FRAME);
  }

  private linkWrite(bytes: Uint8Array): Promise<HalResult<void>> {
    return this.linkOp('write', this.wireMs(bytes), (settle) => {
      void this.link.write(bytes).then(settle);
    });
  }

  /** 8N1: ten bit-times per byte, at the speed the link runs now. */
  private wireMs(bytes: Uint8Array): number {
    return (bytes.length * 10_000) / this.link.baudRate();
  }

  /**
   * One serial operation, bounded: if it has not finished `wireMs + linkStallMs` after it
   * began, the link is declared lost (`linkLost`, so the board reopens it) and READER_IO is
   * returned; the operation's late result, if any ever comes, is dropped. Before giving up
   * the clock is given one more turn, so an answer that was ready while the process was
   * descheduled still wins. Errors: those of the operation, READER_IO.
   */
  private linkOp(
    what: string,
    wireMs: number,
    operation: (settle: (result: HalResult<void>) => void) => void,
  ): Promise<HalResult<void>> {
    // The operation settles this promise with its result; a late one, after the bound
    // settled it, changes nothing.
    return new Promise<HalResult<void> | undefined>((settle) => {
      this.linkOpStart(what, wireMs, settle);
      operation(settle);
    }).then(this.linkOpEnded);
  }

  /**
   * Arms the bound of a serial operation about to begin, whose result goes to `settle`
   * (undefined from the bound); `settle` must take only its first call into account.
   */
  private linkOpStart(
    what: string,
    wireMs: number,
    settle: (result: HalResult<void> | undefined) => void,
  ): void {
    const limitMs = wireMs + this.options.linkStallMs;
    this.linkWhat = what;
    this.linkLimitMs = limitMs;
    // One alarm bounds it, called off once the operation ends (most do): no timer promise.
    this.linkBoundTurned = false;
    this.linkAlarm.set(limitMs);
    this.linkSettle = settle;
  }

  /** The end of linkOp's operation: its result, or READER_IO when the bound settled it. */
  private readonly linkOpEnded = (result: HalResult<void> | undefined): HalResult<void> => {
    this.linkSettle = undefined;
    this.linkAlarm.clear();
    if (result !== undefined) return result;
    this.stats.linkStalls += 1;
    const detail =
      `serial ${this.linkWhat} on ${this.link.path} stalled for ` +
      `${Math.round(this.linkLimitMs)} ms`;
    if (this.linkDown === null) this.linkLost(detail);
    return halErr(HalStatus.READER_IO, detail);
  };

  /** The link bound ran out: one more clock turn for an answer that was ready, then stalled. */
  private linkBoundReached(): void {
    if (!this.linkBoundTurned) {
      this.linkBoundTurned = true;
      this.linkAlarm.set(0);
      return;
    }
    const settle = this.linkSettle;
    this.linkSettle = undefined;
    settle?.(undefined);
  }

  /**
   * The next decoded event before `deadlineMs`, or why there is none: 'timeout', 'cancelled',
   * 'lost' (the board reported the serial link gone), or 'stalled' when the answer to `code`
   * has started (valid header, D5, code + 1) and no byte came for interByteTimeoutMs. Only
   * then is a NACK safe: NACK means "resend your last response", and a chip still running our
   * command would resend the previous answer, which for InDataExchange carries the same
   * response code as the one we wait for.
   */
  private nextEvent(deadlineMs: number, code: number): Promise<Waited> {
    const now = this.eventWaitStart(deadlineMs, code);
    if (now !== undefined) return Promise.resolve(now);
    // One promise for the whole wait: each wake looks again at once (eventWoken), and only
    // what ends the wait settles it.
    this.waiter = this.eventWoken;
    return new Promise<Waited>(this.eventWaitBegin);
  }

  /** nextEvent's wait, its end given to `then` (at once, when it is already there). */
  private eventThen(deadlineMs: number, code: number, then: (waited: Waited) => void): void {
    const now = this.eventWaitStart(deadlineMs, code);
    if (now !== undefined) {
      then(now);
      return;
    }
    this.waiter = this.eventWoken;
    this.eventSettle = then;
  }

  /** Begins nextEvent's wait: what ends it at once, or undefined with its timeouts armed. */
  private eventWaitStart(deadlineMs: number, code: number): Waited | undefined {
    const ready = this.decoder.next();
    if (ready !== undefined) return ready;
    const remainingMs = deadlineMs - this.clock.nowMs();
    this.timedOut = remainingMs <= 0;
    if (!this.timedOut) this.deadlineAlarm.set(remainingMs);
    this.eventCode = code;
    this.eventStallArmedForMs = Number.NaN;
    return this.eventLook();
  }

  /** A wake during nextEvent's wait: settles it when something ends it, else waits on. */
  private readonly eventWoken = (): void => {
    const waited = this.eventLook();
    if (waited === undefined) {
      this.waiter = this.eventWoken;
      return;
    }
    const settle = this.eventSettle;
    this.eventSettle = undefined;
    settle?.(waited);
  };

  private readonly eventWaitBegin = (settle: (waited: Waited) => void): void => {
    this.eventSettle = settle;
  };

  /** What ends nextEvent's wait now, with both timeouts called off; undefined: nothing yet. */
  private eventLook(): Waited | undefined {
    const waited = this.eventLookOnce();
    if (waited !== undefined) {
      // Both timeouts are called off when an event comes first (most waits end that way).
      this.deadlineAlarm.clear();
      this.interByteAlarm.clear();
    }
    return waited;
  }

  private eventLookOnce(): Waited | undefined {
    const ev = this.decoder.next();
    if (ev !== undefined) return ev;
    if (this.linkDown !== null) return 'lost';
    if (this.cancelRequested) return 'cancelled';
    if (this.timedOut) return 'timeout';
    if (this.decoder.frameInProgress(PN532_TFI_D5_PN532_TO_HOST, this.eventCode + 1)) {
      const stallAtMs = this.lastRxMs + this.options.interByteTimeoutMs;
      if (this.clock.nowMs() >= stallAtMs) return 'stalled';
      if (this.eventStallArmedForMs !== this.lastRxMs || this.interByteFired) {
        // Armed again when a byte came since, or when it went off early by this clock.
        this.eventStallArmedForMs = this.lastRxMs;
        this.interByteFired = false;
        this.interByteAlarm.set(stallAtMs - this.clock.nowMs());
      }
    }
    return undefined;
  }

  /** Resolves at the next `wakeWaiter` (bytes, a timeout, cancel, a lost link). */
  private woken(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Sleeps on the clock; false when cancelled or the link was lost meanwhile. */
  private async pause(durationMs: number): Promise<boolean> {
    this.timedOut = false;
    this.deadlineAlarm.set(durationMs);
    try {
      while (!this.timedOut && !this.cancelRequested && this.linkDown === null) {
        await this.woken();
      }
    } finally {
      this.deadlineAlarm.clear();
    }
    return !this.cancelRequested && this.linkDown === null;
  }

  private wakeWaiter(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /**
   * Runs `body` as the one reader operation under way, or answers BUSY. Written without an
   * async frame of its own (every port call passes here): the operation's own promise, and
   * the flags reset when it settles, as a `finally` would.
   */
  private exclusive<T>(body: () => Promise<HalResult<T>>): Promise<HalResult<T>> {
    const busy = this.exclusiveBusy();
    if (busy !== undefined) return busy;
    let running: Promise<HalResult<T>>;
    try {
      running = body();
    } catch (error) {
      this.exclusiveEnd();
      return Promise.reject(error as Error);
    }
    return running.then(
      this.exclusiveEnded as (result: HalResult<T>) => HalResult<T>,
      this.exclusiveFailed,
    );
  }

  /**
   * Begins an operation: BUSY when another one is under way, else undefined, and the
   * operation has begun. `exclusive` ends it in its reaction; an operation whose steps end it
   * themselves (`finally` calling exclusiveEnd) saves that promise job.
   */
  private exclusiveBusy(): Promise<HalResult<never>> | undefined {
    if (this.busy) {
      return Promise.resolve(halErr(HalStatus.BUSY, 'another reader operation is pending'));
    }
    this.busy = true;
    this.cancelRequested = false;
    return undefined;
  }

  private readonly exclusiveEnded = (result: HalResult<unknown>): HalResult<unknown> => {
    this.exclusiveEnd();
    return result;
  };

  private readonly exclusiveFailed = (error: unknown): never => {
    this.exclusiveEnd();
    throw error;
  };

  private exclusiveEnd(): void {
    this.busy = false;
    this.cancelRequested = false;
  }
}

/**
 * A presence look (poll and release, or Diagnose) takes a few ms on a working line; one this
 * much slower was retried, and its answer may be old (see presenceStep).
 */
const PRESENCE_LOOK_STALE_MS = 50;

const NO_DATA = new Uint8Array(0);

/**
 * Parameter lists of one byte (a Tg, InRelease's 00, Diagnose's test number), each made once
 * and shared: most commands carry one, and a command only reads its parameters (into its
 * frame). Not frozen: a frozen array takes a slower path when copied into a typed array.
 */
const ONE_BYTE_PARAMS: readonly (readonly number[])[] = Array.from({ length: 0x100 }, (_, b) => [
  b,
]);

/** `[byte]`, shared (see ONE_BYTE_PARAMS); a byte is 0..255, anything else gets its own list. */
function oneByte(byte: number): readonly number[] {
  return ONE_BYTE_PARAMS[byte] ?? [byte];
}

/** InListPassiveTarget's type A parameters by MaxTg (1 and 2, what the driver asks), shared. */
const LIST_TYPE_A_PARAMS: readonly (readonly number[] | undefined)[] = [
  undefined,
  [1, PN532_BRTY_00_106_TYPE_A],
  [2, PN532_BRTY_00_106_TYPE_A],
];

/** ISO/IEC 14443-3 §6.5.4: a single-size UID whose first byte is 08 is a random ID. */
const UID0_08_RANDOM_ID = 0x08;

function randomUid(card: DetectedCard): boolean {
  if (card.technology !== 'ISO14443A') return false;
  return card.uid.length === 4 && card.uid[0] === UID0_08_RANDOM_ID;
}

/**
 * Whether `b`, found in the field, may be the card `a` we are watching. A random ID may be
 * drawn again at each activation (phones), so it proves nothing: while any random-ID card is
 * in the field the phone counts as still there, and only an empty field ends its tap.
 */
function sameCard(a: DetectedCard, b: DetectedCard): boolean {
  if (a.technology === 'ISO14443A' && b.technology === 'ISO14443A') {
    if (randomUid(a) && randomUid(b)) return true;
    return equalBytes(a.uid, b.uid);
  }
  if (a.technology === 'ISO14443B' && b.technology === 'ISO14443B') {
    return equalBytes(a.pupi, b.pupi);
  }
  return false;
}

function isAck(waited: Waited): boolean {
  return typeof waited === 'object' && waited.kind === 'ack';
}

/**
 * The answer to `code` when `waited` is it (most are), else undefined: awaitResponse then
 * looks at `waited` itself (a stale frame, a damaged one, a timeout...).
 */
function answerOf(code: number, waited: Waited): HalResult<Uint8Array> | undefined {
  if (typeof waited !== 'object' || waited.kind !== 'frame') return undefined;
  if (waited.tfi !== PN532_TFI_D5_PN532_TO_HOST || waited.body[0] !== code + 1) return undefined;
  return halOk(waited.body);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** `r`, or PROTOCOL when it is an R-APDU without a status word. */
function rapduChecked(r: HalResult<Uint8Array>): HalResult<Uint8Array> {
  if (r.ok && r.value.length < 2) return halErr(HalStatus.PROTOCOL, 'R-APDU shorter than SW1 SW2');
  return r;
}

function concatBytes(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function hex(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

/**
 * A presence check that failed. A chip that does not answer is a reader failure (READER_IO),
 * never TIMEOUT: the port keeps TIMEOUT for a card still in the field at the deadline, which
 * a validator reads as "left on the reader" and does not count against the reader, so a chip
 * that went silent during a removal wait would never be declared lost.
 */
function presenceFailure(failed: HalResult<never>): HalResult<never> {
  if (failed.ok || failed.error !== HalStatus.TIMEOUT) return failed;
  return halErr(HalStatus.READER_IO, `${failed.detail} (presence check)`);
}
