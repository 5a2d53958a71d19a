// The validator loop: WaitForStart -> WaitForCard -> Processing -> WaitForRemoval (Keyple names).

import { HalStatus } from '../../../../hal/src/ports/hal_status.js';
import type {
  DetectedCard, PollOptions, PollResult,
} from '../../../../hal/src/ports/reader_port.js';
import { kernelLoadParams } from './kernel_params.js';
import { TapSession } from './tap_session.js';
import { multipleCardsReport, viewMultipleCards, viewOutOfService } from './tap_view.js';
import { UidMemory } from './uid_memory.js';
import type { LogEvent, TapReport, ValidatorConfig, ValidatorPorts } from './validator_ports.js';

export type ValidatorState = 'WaitForStart' | 'WaitForCard' | 'Processing' | 'WaitForRemoval';

/** How often an idle validator asks its journal whether it still takes a tap. */
const JOURNAL_CHECK_IDLE_MS = 5000;

/** Results that tell the rider to present the card again: nothing was done with it. */
const PRESENT_AGAIN: ReadonlySet<TapReport['result']> = new Set(['tryAgain', 'multipleCards']);

/** Events of the loop, for logs and the simulator (Keyple's vocabulary). */
export type ValidatorEvent =
  | { readonly kind: 'CardInserted'; readonly card: DetectedCard }
  | { readonly kind: 'CardProcessed'; readonly report: TapReport }
  | { readonly kind: 'CardRemoved' };

/**
 * The bus validator application. It sees ports only, so the same code runs on a board with a
 * PN532 on a UART and in the simulator with the PN532 emulator.
 */
export class Validator {
  private stateValue: ValidatorState = 'WaitForStart';
  private readonly session: TapSession;
  private outOfService: string | null = null;
  /** The last card outstayed a removal wait and is still watched. */
  private lingering = false;
  /**
   * Several cards were in the field at the last poll, and the rider was told once: polls that
   * find them again stay silent until the field holds one card or none (two cards in a wallet
   * made a 'multipleCards' tap, beep and log line every few milliseconds).
   */
  private severalInField = false;
  /** Whether the journal took a tap at the last look (true before the first: no news). */
  private journalServing = true;
  /** When the journal was last asked (idleJournalCheck). */
  private journalCheckedMs = Number.NEGATIVE_INFINITY;
  /** What the last tap ended as (readerBack), or null before the first. */
  private lastResult: TapReport['result'] | null = null;
  /** What every poll asks (read-only for the reader): built once, not at each poll. */
  private readonly pollOptions: PollOptions;

  constructor(
    private readonly ports: ValidatorPorts,
    private readonly config: ValidatorConfig,
  ) {
    this.session = new TapSession(ports, config, new UidMemory(config.uidMemorySize));
    this.pollOptions = {
      technologies: ['ISO14443A', 'ISO14443B'],
      timeoutMs: config.pollTimeoutMs,
    };
  }

  state(): ValidatorState {
    return this.stateValue;
  }

  /** Why the validator refuses cards, or null when it is in service. */
  outOfServiceReason(): string | null {
    return this.outOfService;
  }

  /** Loads the parameters into the kernel and shows the idle screen. */
  async start(): Promise<void> {
    const params = this.ports.params();
    this.outOfService = kernelLoadParams(this.ports.kernel, params, this.config.terminalData)
      ?? this.session.tunion.configure();
    if (this.outOfService !== null) {
      this.ports.log.log({ event: 'out-of-service', reason: this.outOfService });
      await this.ports.display.show(viewOutOfService().screen);
      return;
    }
    await this.showIdle();
    this.stateValue = 'WaitForCard';
  }

  /**
   * The reader was lost and is back (restarted: its field went off, so a card in it was
   * reset, and no removal could be seen meanwhile). A tap that asked the rider to present the
   * card again (PRESENT_AGAIN) is not waited out: the next turn polls, as after a removal,
   * so the rider's re-tap is taken. A card whose tap ended otherwise is still watched: a card
   * left on the reader is not a new tap. Then the idle screen.
   */
  async readerBack(): Promise<void> {
    // The field went off: cards in it were reset, and are told about again if still there.
    this.severalInField = false;
    if (this.stateValue === 'WaitForRemoval' && this.lastResult !== null
      && PRESENT_AGAIN.has(this.lastResult)) {
      this.stateValue = 'WaitForCard';
      this.lingering = false;
    }
    await this.showIdle();
  }

  /**
   * One turn of the loop: poll; process a card if one is there; wait for it to leave.
   * Returns the tap's report, or null when no card came. A card still in the field after a
   * removal wait is never processed again: the next turns keep waiting for it to leave.
   */
  async turn(
    onEvent: (event: ValidatorEvent) => void = () => undefined,
  ): Promise<TapReport | null> {
    if (this.stateValue === 'WaitForStart') throw new Error('Validator.turn before start');
    if (this.stateValue === 'WaitForRemoval') {
      if (await this.awaitRemoval()) onEvent({ kind: 'CardRemoved' });
      return null;
    }
    const polled = await this.ports.reader.poll(this.pollOptions);
    if (!polled.ok) {
      this.ports.log.log({ event: 'reader-error', error: polled.error, detail: polled.detail });
      await this.ports.clock.sleepMs(this.config.pollIntervalMs);
      return null;
    }
    if (await this.stillSeveral(polled.value.kind, onEvent)) return null;
    if (polled.value.kind === 'none') {
      await this.session.idle();
      await this.idleJournalCheck();
      await this.ports.clock.sleepMs(this.config.pollIntervalMs);
      return null;
    }
    const startedMs = this.ports.clock.nowMs();
    let report: TapReport;
    if (polled.value.kind === 'several') {
      const view = viewMultipleCards();
      await this.ports.display.show(view.screen);
      await this.ports.indicator.signal(view.signal);
      report = multipleCardsReport(startedMs, this.ports.clock.nowMs(), polled.value.count);
      this.severalInField = true;
    } else {
      onEvent({ kind: 'CardInserted', card: polled.value.card });
      this.stateValue = 'Processing';
      report = await this.session.process(polled.value.card, startedMs);
      await this.ports.reader.release();
    }
    onEvent({ kind: 'CardProcessed', report });
    this.ports.log.log(tapLogEvent(report));
    this.lastResult = report.result;
    this.lingering = false;
    // No card was activated among several: none to watch; the polls watch the field.
    if (this.severalInField) this.stateValue = 'WaitForCard';
    else if (await this.awaitRemoval()) onEvent({ kind: 'CardRemoved' });
    return report;
  }

  /**
   * True when the cards the rider was told about are still there: the turn waits a removal
   * interval and reports nothing. When the field has changed, its 'multipleCards' screen ends
   * (the idle screen when it is empty) and the poll is taken as any other.
   */
  private async stillSeveral(
    kind: PollResult['kind'],
    onEvent: (event: ValidatorEvent) => void,
  ): Promise<boolean> {
    if (!this.severalInField) return false;
    if (kind === 'several') {
      await this.ports.clock.sleepMs(this.config.removalIntervalMs);
      return true;
    }
    this.severalInField = false;
    onEvent({ kind: 'CardRemoved' });
    if (kind === 'none') await this.showIdle();
    return false;
  }

  /**
   * Waits for the last card to leave; true once it has. A card still there at the deadline
   * (TIMEOUT) or a reader error keeps the state WaitForRemoval: presence is tracked, and only
   * a poll that finds nothing, or a different card, ends it (a phone's random UID counts as
   * the same card while one stays in the field; see Pn532Reader's presence check).
   */
  private async awaitRemoval(): Promise<boolean> {
    this.stateValue = 'WaitForRemoval';
    const removed = await this.ports.reader.waitForRemoval({
      timeoutMs: this.config.removalTimeoutMs,
      intervalMs: this.config.removalIntervalMs,
    });
    if (removed.ok || removed.error === HalStatus.NOT_SUPPORTED) {
      // NOT_SUPPORTED: no card to watch (several cards were refused, none activated).
      await this.showIdle();
      this.stateValue = 'WaitForCard';
      return true;
    }
    if (removed.error !== HalStatus.TIMEOUT) {
      this.ports.log.log({ event: 'reader-error', error: removed.error, detail: removed.detail });
      await this.ports.clock.sleepMs(this.config.pollIntervalMs);
    } else if (!this.lingering) {
      // The rider's screen returns to idle; the card left on the reader is not a new tap.
      this.lingering = true;
      this.ports.log.log({ event: 'card-left-on-reader' });
      await this.showIdle();
    }
    return false;
  }

  /**
   * Between riders, every JOURNAL_CHECK_IDLE_MS: a journal that filled up (or failed) since
   * the last screen turns it to out of service, and one with room again back to idle, without
   * waiting for a rider to tap and be refused.
   */
  private async idleJournalCheck(): Promise<void> {
    const now = this.ports.clock.nowMs();
    if (now - this.journalCheckedMs < JOURNAL_CHECK_IDLE_MS) return;
    this.journalCheckedMs = now;
    const was = this.journalServing;
    if ((await this.journalServes()) !== was) await this.showIdle();
  }

  /**
   * Whether the journal takes a tap; a change is logged: `out-of-service` (error, reason
   * journal-full or journal-failed) when it stops, `in-service` when it serves again.
   */
  private async journalServes(): Promise<boolean> {
    const accept = await this.ports.journal.canAcceptTap();
    const serves = accept.ok && accept.value;
    if (serves !== this.journalServing) {
      this.ports.log.log(serves
        ? { event: 'in-service', cause: 'journal' }
        : { event: 'out-of-service',
            reason: accept.ok ? 'journal-full' : 'journal-failed',
            ...(accept.ok ? {} : { detail: accept.detail }) });
      this.journalServing = serves;
    }
    return serves;
  }

  private async showIdle(): Promise<void> {
    const params = this.ports.params();
    this.journalCheckedMs = this.ports.clock.nowMs();
    const inService = (await this.journalServes()) && this.outOfService === null;
    const screen = inService
      ? {
          kind: 'idle' as const,
          fareMinor: params.fares.flatFareMinor,
          lineName: params.terminal.lineId,
        }
      : viewOutOfService().screen;
    const shown = await this.ports.display.show(screen);
    if (!shown.ok) this.ports.log.log({ event: 'display-error', error: shown.error });
  }
}

/** The 'tap' log event: a report as flat fields (the PAN is already masked), in one literal. */
function tapLogEvent(report: TapReport): LogEvent {
  return {
    event: 'tap',
    result: report.result,
    reason: report.reason,
    pan: report.panMasked,
    amountMinor: report.amountMinor,
    balanceMinor: report.balanceMinor,
    fareRule: report.fareRule,
    latencyMs: Math.round((report.endedMs - report.startedMs) * 10) / 10,
    journalSeqs: report.journalSeqs.join(','),
    recovered: report.recovered,
  };
}
