// The scenic-area gate application: one lane, one reader, the bus kernel path for sales.
//
// A tap is identified by the qPBOC kernel up to its decision point (domain.md 4.1): the PAN
// is known, nothing is staged. There the gate decides (gate_rules.ts). A ticket holder, a
// credit, a refusal or an exit stop the kernel (the card commits nothing); a sale goes on as a
// bus fare would (grey record, final record, clearing) at the fares.json price of the card's
// category (concessions). Then the ledger gets its record and only then the lane opens.

import { HalStatus } from '../../../../hal/src/ports/hal_status.js';
import type { DetectedCard } from '../../../../hal/src/ports/reader_port.js';
import type { GateMessage } from '../../../../hal/src/ports/display_port.js';
import type { TurnstileDirection } from '../../../../hal/src/ports/turnstile_port.js';
import type { QpbocMode, QpbocPath } from '../../../../assembly/host/qpboc_session.js';
import { kernelLoadParams } from '../validator/kernel_params.js';
import { TapSession, type TapAdmissionHook } from '../validator/tap_session.js';
import { multipleCardsReport, viewMultipleCards } from '../validator/tap_view.js';
import { UidMemory } from '../validator/uid_memory.js';
import type { TapReport, ValidatorConfig, ValidatorPorts } from '../validator/validator_ports.js';
import { localDateTime } from '../validator/validator_time.js';
import type { GateLedgerResult, GateRecord } from './gate_ledger.js';
import {
  GateLane,
  gatePassesBetween,
  type GateLaneConfig,
  type LaneOutcome,
} from './gate_lane.js';
import type { GateParams } from './gate_params.js';
import {
  gateDecideEntry,
  GateTicketBook,
  type GateDecision,
  type GateNow,
  type GateRefusal,
} from './gate_rules.js';
import { gateSaleUnanswered } from './gate_sale_reconcile.js';
import { GateSite } from './gate_site.js';
import { GateDay } from './gate_state.js';
import type { TurnstilePort } from '../../../../hal/src/ports/turnstile_port.js';
import type { StoragePort } from '../../../../hal/src/ports/storage_port.js';

/** What the gate is given beyond the validator's ports. */
export interface GatePorts extends ValidatorPorts {
  readonly turnstile: TurnstilePort;
  /**
   * The free-exit turnstile beside the lane (released one way, its sensor counts people out),
   * or null. Scenic-area exits need no card: the count is what 限流 needs.
   */
  readonly exitTurnstile: TurnstilePort | null;
  /** The journal directory's storage: the gate ledger lives beside journal.bin. */
  readonly ledgerStorage: StoragePort;
  /** The active gate.json (the board keeps it with the parameter set). */
  readonly gateParams: () => GateParams;
  /**
   * Fleet card token of a PAN: the deny key's HMAC of PAN || PSN 00 (gate_params.ts), 24 hex
   * digits; null if none can be made.
   */
  readonly cardToken: (pan: string) => string | null;
  /**
   * The site's shared state when several lanes run in one process (gate_site.ts), each with
   * its own reader and turnstile; absent: this lane alone (over `ledgerStorage`).
   */
  readonly site?: GateSite;
}

/** A gate's choices; every field explicit. */
export interface GateConfig {
  readonly validator: ValidatorConfig;
  readonly lane: GateLaneConfig;
  readonly direction: TurnstileDirection;
}

/** How one tap at the gate ended. */
export interface GateTapReport {
  readonly tap: TapReport;
  readonly decision: GateDecision | { readonly kind: 'exit' } | null;
  readonly lane: LaneOutcome | null;
  readonly cardToken: string | null;
}

/** Where the decision point left the tap. */
interface Pending {
  cardToken: string | null;
  decision: GateDecision | { readonly kind: 'exit' } | null;
}

/** One gate lane. `start` first, then `tap` for each detected card, `idle` between. */
export class GateApp {
  private readonly session: TapSession;
  /** How the lane sells (the board's --mode): the sale's path must be this one's. */
  private readonly salesMode: QpbocMode;
  private readonly site: GateSite;
  private readonly lane: GateLane;
  private pending: Pending = { cardToken: null, decision: null };
  private laneEntry: GateRecord | null = null;
  /** The entry of the admission a fault cut short last (see latePassages), or null. */
  private cutShortEntry: GateRecord | null = null;
  private outOfService: string | null = null;
  private exitPassCount: number | null = null;
  /** The free exit's controller failed its last reading (logged once, released on return). */
  private exitLost = false;
  private tapping = false;

  constructor(
    private readonly ports: GatePorts,
    private readonly config: GateConfig,
  ) {
    const hook: TapAdmissionHook = { decide: (pan, _psn, path) => this.decideAtCard(pan, path) };
    const uids = new UidMemory(config.validator.uidMemorySize);
    // The lane's mode says how it sells; the kernel takes every card in auto mode, so that a
    // ticket holder's card that cannot pay that way is still read (an e-cash lane declined a
    // card without e-cash at GPO, 余额不足, before its PAN, and its ticket, could be known).
    this.salesMode = config.validator.mode;
    this.session = new TapSession(ports, { ...config.validator, mode: 'auto' }, uids, hook);
    this.site = ports.site ?? new GateSite(ports.ledgerStorage);
    this.lane = new GateLane(ports.turnstile, ports.clock, config.lane, () => this.passed());
  }

  /** Why the lane refuses visitors, or null in service. */
  outOfServiceReason(): string | null {
    return this.outOfService;
  }

  /** True from a card's detection to the end of its party's passages (the uploader waits). */
  tapInProgress(): boolean {
    return this.tapping;
  }

  /** The day's counts (for the simulator, the report and tests). */
  counts(): GateDay | null {
    return this.site.day;
  }

  /**
   * Loads the parameters into the kernel and today's ledger (anti-passback and limits survive
   * restarts), locks the lane and releases the free exit.
   */
  async start(): Promise<{ ok: boolean; detail: string }> {
    const refused = kernelLoadParams(this.ports.kernel, this.ports.params(),
      this.config.validator.terminalData);
    if (refused !== null) {
      this.outOfService = `parameters: ${refused}`;
      await this.show('laneFault', null);
      return { ok: false, detail: this.outOfService };
    }
    const loaded = await this.ensureDay();
    if (!loaded.ok) return loaded;
    const exitOpened = this.ports.exitTurnstile === null
      ? { ok: true as const } : await this.ports.exitTurnstile.open('exit');
    if (!exitOpened.ok) this.ports.log.log({ event: 'gate-exit-error', detail: exitOpened.detail });
    this.exitLost = !exitOpened.ok; // released when it answers (countFreeExits)
    const closed = await this.ports.turnstile.close();
    if (!closed.ok) {
      this.outOfService = `turnstile: ${closed.error}: ${closed.detail}`;
      await this.show('laneFault', null);
      return { ok: false, detail: this.outOfService };
    }
    await this.showIdle();
    return { ok: true, detail: '' };
  }

  /**
   * Between taps: people passing while locked (tailgating over the arms) and a stuck sensor.
   * A lane out of service comes back when the sensor reads clear again.
   */
  async idle(): Promise<void> {
    await this.countFreeExits();
    const check = await this.lane.idleCheck();
    if (check.latePassed > 0) await this.latePassages(check.latePassed);
    if (check.tailgaters > 0) await this.tailgating(null, check.tailgaters);
    if (check.stop !== null) {
      await this.laneStopped(check.stop);
    } else if (this.outOfService !== null && this.outOfService.startsWith('lane')) {
      // A fault while open can leave the controller holding the release the lock never
      // reached (a line cut mid-visit): lock before serving again; a failed lock stays out.
      const locked = await this.ports.turnstile.close();
      if (!locked.ok) {
        await this.laneStopped({ kind: 'fault', error: locked.error, detail: locked.detail });
        return;
      }
      // The operator who saw gate-out-of-service sees the lane serving again (as reader-back).
      this.ports.log.log({ event: 'gate-back', after: this.outOfService });
      this.outOfService = null;
      const now = this.now();
      await this.record({ kind: 'lane', ...now, state: 'recovered', detail: 'sensor clear' });
      await this.showIdle();
    }
  }

  /**
   * Several cards in the field (a wallet held to the reader): none was activated or charged;
   * the visitor is told 多卡 with the bus's screen and beep (the lane's fault screen when it
   * is out of service). The report is the bus validator's.
   */
  async severalCards(count: number): Promise<GateTapReport> {
    const startedMs = this.ports.clock.nowMs();
    if (this.outOfService !== null) {
      await this.show('laneFault', null);
    } else {
      const view = viewMultipleCards();
      const shown = await this.ports.display.show(view.screen);
      if (!shown.ok) this.ports.log.log({ event: 'display-error', error: shown.error });
      await this.ports.indicator.signal(view.signal);
    }
    const tap = multipleCardsReport(startedMs, this.ports.clock.nowMs(), count);
    return { tap, decision: null, lane: null, cardToken: null };
  }

  /** The card left the reader: back to the idle screen unless the lane is out of service. */
  async cardRemoved(): Promise<void> {
    if (this.outOfService === null) await this.showIdle();
  }

  /** Records the people the free exit counted since the last look (one record each). */
  private async countFreeExits(): Promise<void> {
    const exit = this.ports.exitTurnstile;
    if (exit === null) return;
    const sensor = await exit.readSensor();
    if (!sensor.ok) {
      // Once per loss, not at every idle poll; a lost device is reopened (adapter plugged back).
      if (!this.exitLost) this.ports.log.log({ event: 'gate-exit-error', detail: sensor.detail });
      this.exitLost = true;
      if (sensor.error === HalStatus.READER_IO) await exit.reopen();
      return;
    }
    if (this.exitLost) {
      // Back, perhaps restarted with its relays off: release the free exit again.
      const opened = await exit.open('exit');
      if (!opened.ok) return;
      this.exitLost = false;
      this.ports.log.log({ event: 'gate-exit-back' });
    }
    // A restarted exit controller's counter is a new base, not 65,000 people out (each a
    // fsynced ledger line: the gate stalled until its ledger storage was full).
    const passes = gatePassesBetween(this.exitPassCount, sensor.value.passCount);
    this.exitPassCount = sensor.value.passCount;
    for (let i = 0; i < passes; i += 1) {
      await this.record({ kind: 'exit', ...this.now(), cardToken: null });
    }
  }

  /** Processes one detected card to the end of its passages. */
  async tap(card: DetectedCard): Promise<GateTapReport> {
    this.tapping = true;
    try {
      return await this.tapCard(card);
    } finally {
      this.tapping = false;
    }
  }

  private async tapCard(card: DetectedCard): Promise<GateTapReport> {
    const startedMs = this.ports.clock.nowMs();
    const ready = await this.ensureDay();
    if (!ready.ok || this.outOfService !== null) {
      await this.show('laneFault', null);
      return { tap: outOfServiceReport(startedMs), decision: null, lane: null, cardToken: null };
    }
    this.pending = { cardToken: null, decision: null };
    const tap = await this.site.sessions.run(() => this.session.process(card, startedMs));
    await this.ports.reader.release();
    const { cardToken, decision } = this.pending;
    if (decision === null || cardToken === null) {
      const owner = await this.recoveredSale(tap);
      if (owner !== null) {
        const lane = await this.letThrough(1, 'entry', this.paidEntry(owner));
        return { tap, decision: { kind: 'credit', persons: 1 }, lane, cardToken: owner };
      }
      return { tap, decision: null, lane: null, cardToken }; // declined, torn: screens shown
    }
    const lane = await this.afterDecision(tap, cardToken, decision);
    return { tap, decision, lane, cardToken };
  }

  /**
   * A recovered debit (a power cut after the sale line, before the card's debit ended; the
   * re-tap finished it, with no decision point): the day's unanswered sale, when the journal
   * final answering it is this tap's, gets its `paid` line now, and the card token of the
   * visitor who paid; null otherwise. The start's reconciliation only answers a debit that
   * ended before the cut: this one was paid, and the lane stayed shut (then charged again).
   */
  private async recoveredSale(tap: TapReport): Promise<string | null> {
    const day = this.site.day;
    const finalSeq = tap.journalSeqs[tap.journalSeqs.length - 1];
    if (!tap.recovered || tap.result !== 'approved' || day === null || finalSeq === undefined) {
      return null;
    }
    const loaded = await this.loadLedger(day.date);
    if (!loaded.ok) return null;
    const paid = gateSaleUnanswered(loaded.value, this.ports.journal);
    if (paid === null || paid.kind !== 'paid' || paid.journalSeq !== finalSeq) return null;
    this.ports.log.log({ event: 'gate-sale-reconciled', journalSeq: finalSeq });
    return (await this.record({ ...paid, ...this.now() })) ? paid.cardToken : null;
  }

  /** The hook at the card's decision point: decide, remember, tell the kernel. */
  private async decideAtCard(pan: string, path: QpbocPath): Promise<'charge' | 'stop'> {
    const cardToken = this.ports.cardToken(pan);
    this.pending.cardToken = cardToken;
    const now = this.now();
    // A tap begun before local midnight reaches its decision after it: the new day decides
    // (its counts, its passback), loaded now. The old day's counts would refuse a walk-in as
    // full or as passback, and the sale would be counted on a day already over.
    if (this.site.day !== null && this.site.day.date !== now.date) {
      const ready = await this.ensureDay();
      if (!ready.ok) return 'stop';
    }
    const { day, book } = this.site;
    if (cardToken === null || day === null || book === null) {
      this.pending.decision = { kind: 'refuse', reason: 'no-ticket', placesLeft: null };
      return 'stop';
    }
    if (this.config.direction === 'exit') {
      this.pending.decision = { kind: 'exit' };
      return 'stop';
    }
    const entry = gateDecideEntry(book, day, cardToken, now);
    const decision = entry.kind === 'pay' && !laneSells(this.salesMode, path)
      ? { kind: 'refuse' as const, reason: 'card-cannot-buy' as const, placesLeft: null }
      : entry;
    this.pending.decision = decision;
    if (decision.kind !== 'pay') return 'stop';
    // Durable before the card is charged: a cut after its final record is found at start.
    const sale = await this.record({ kind: 'sale', ...now, cardToken,
      panToken: this.ports.panVault.token(pan), lastSeq: this.ports.journal.summary().lastSeq });
    if (sale) return 'charge';
    this.pending.decision = null;
    return 'stop';
  }

  private async afterDecision(
    tap: TapReport,
    cardToken: string,
    decision: GateDecision | { readonly kind: 'exit' },
  ): Promise<LaneOutcome | null> {
    switch (decision.kind) {
      case 'exit':
        return this.letThrough(1, 'exit', { kind: 'exit', ...this.now(), cardToken });
      case 'refuse':
        await this.record({ kind: 'refused', ...this.now(), cardToken, reason: decision.reason });
        await this.show(REFUSAL_MESSAGE[decision.reason], decision.placesLeft);
        return null;
      case 'ticket': {
        const { ticket } = decision;
        const entry: GateRecord = {
          kind: 'entry', ...this.now(), cardToken, via: 'ticket', slotId: ticket.slotId,
          ticketId: ticket.ticketId,
        };
        return this.letThrough(decision.persons, 'entry', entry);
      }
      case 'credit':
        return this.letThrough(1, 'entry', this.paidEntry(cardToken));
      case 'pay':
        return this.afterSale(tap, cardToken, decision.slot.id);
      default: {
        const never: never = decision;
        throw new Error(`unhandled gate decision ${String(never)}`);
      }
    }
  }

  /** A sale: only an approved or admitted tap opens the lane (the kernel showed the rest). */
  private async afterSale(
    tap: TapReport,
    cardToken: string,
    slotId: string,
  ): Promise<LaneOutcome | null> {
    if (tap.result !== 'approved' && tap.result !== 'admitted') return null;
    const journalSeq = tap.journalSeqs[tap.journalSeqs.length - 1];
    if (journalSeq === undefined) throw new Error('a paid admission without its journal record');
    const paid = await this.record({
      kind: 'paid', ...this.now(), cardToken, journalSeq,
      amountMinor: tap.amountMinor ?? 0, fareRule: tap.fareRule ?? 'flat',
    });
    if (!paid) return null;
    return this.letThrough(1, 'entry', this.paidEntry(cardToken, slotId));
  }

  /** A paid entry, counted in the slot it was sold in (a credit: the slot of now). */
  private paidEntry(cardToken: string, slotId: string | null = null): GateRecord {
    const slot = slotId ?? this.site.book?.slotAt(this.now().minute)?.id ?? 'none';
    return { kind: 'entry', ...this.now(), cardToken, via: 'paid', slotId: slot, ticketId: null };
  }

  /** Opens for `persons`; each passage is recorded by `passed` as `entry` (time of passage). */
  private async letThrough(
    persons: number,
    direction: TurnstileDirection,
    entry: GateRecord,
  ): Promise<LaneOutcome> {
    this.laneEntry = entry;
    await this.show(direction === 'exit' ? 'exit' : 'admit', direction === 'exit' ? null : persons);
    const outcome = await this.lane.admit(persons, direction);
    this.laneEntry = null;
    if (outcome.stopped?.kind === 'fault') this.cutShortEntry = entry;
    if (outcome.tailgaters > 0) await this.tailgating(entry, outcome.tailgaters);
    if (outcome.stopped !== null) {
      await this.laneStopped(outcome.stopped);
      // The places left are kept in this lane's ledger: the visitor waits here for staff.
      const left = persons - outcome.passed;
      if (outcome.stopped.kind !== 'no-pass' && direction === 'entry' && left > 0) {
        await this.show('laneFaultKept', left);
      }
    } else if (outcome.tailgaters === 0) await this.showIdle();
    return outcome;
  }

  /**
   * People the lane let through while its controller was silent, after an admission the
   * fault cut short (GateLane.idleCheck): each uses a place of it (a paid admission's credit,
   * a ticket's place), recorded when the controller answers again. Without this, the credit
   * stayed and the visitor's next tap let a second person in on one payment.
   */
  private async latePassages(count: number): Promise<void> {
    const entry = this.cutShortEntry;
    this.cutShortEntry = null;
    if (entry === null) throw new Error('a late passage without an admission cut short');
    this.ports.log.log({ event: 'gate-late-passage', count });
    for (let i = 0; i < count; i += 1) await this.record({ ...entry, ...this.now() });
  }

  /** One person through: the ledger line, at the time of the passage. */
  private async passed(): Promise<void> {
    const entry = this.laneEntry;
    if (entry === null) throw new Error('a passage outside an admission');
    await this.record({ ...entry, ...this.now() });
  }

  private async tailgating(entry: GateRecord | null, count: number): Promise<void> {
    const cardToken = entry !== null && 'cardToken' in entry ? entry.cardToken : null;
    await this.record({ kind: 'tailgate', ...this.now(), cardToken, count });
    this.ports.log.log({ event: 'gate-tailgating', count });
    await this.show('tailgating', count);
    const alarm = await this.lane.soundAlarm();
    if (!alarm.ok) this.ports.log.log({ event: 'gate-alarm-error', detail: alarm.detail });
    if (this.outOfService === null) await this.showIdle();
  }

  private async laneStopped(stop: NonNullable<LaneOutcome['stopped']>): Promise<void> {
    if (stop.kind === 'no-pass') {
      await this.record({ kind: 'lane', ...this.now(), state: 'no-pass', detail: 'closed' });
      await this.showIdle();
      return;
    }
    const detail = stop.kind === 'stuck' ? 'pass sensor blocked' : `${stop.error}: ${stop.detail}`;
    if (this.outOfService === null) {
      await this.record({ kind: 'lane', ...this.now(), state: stop.kind, detail });
    }
    const reason = `lane ${stop.kind}: ${detail}`;
    // The idle check finds the same stop at every poll while the controller stays silent:
    // logged and shown once per reason, not several lines a second into the system journal.
    if (reason === this.outOfService) return;
    this.outOfService = reason;
    this.ports.log.log({ event: 'gate-out-of-service', reason });
    await this.show('laneFault', null);
  }

  /** Today's day: loaded from the ledger at start and again when the date changes. */
  private ensureDay(): Promise<{ ok: boolean; detail: string }> {
    return this.site.days.run(() => this.loadDay());
  }

  private async loadDay(): Promise<{ ok: boolean; detail: string }> {
    const site = this.site;
    const params = this.ports.gateParams();
    if (site.book === null || site.book.params !== params) site.book = new GateTicketBook(params);
    const wallMs = this.ports.clock.wallMs();
    const { date } = this.now(wallMs);
    if (site.day !== null && site.day.date === date) return { ok: true, detail: '' };
    const loaded = await this.loadLedger(date);
    if (!loaded.ok) {
      this.outOfService = `ledger: ${loaded.error}`;
      return { ok: false, detail: this.outOfService };
    }
    const day = new GateDay(date);
    // The local date a day ago (a fixed UTC offset: no daylight saving in China).
    await this.carryCredits(day, this.now(wallMs - 86_400_000).date);
    for (const record of loaded.value) day.apply(record);
    site.day = day;
    const unanswered = gateSaleUnanswered(loaded.value, this.ports.journal);
    if (unanswered !== null) {
      this.ports.log.log({ event: 'gate-sale-reconciled',
        journalSeq: unanswered.kind === 'paid' ? unanswered.journalSeq : null });
      if (!(await this.record(unanswered))) {
        return { ok: false, detail: this.outOfService ?? 'ledger' };
      }
    }
    return { ok: true, detail: '' };
  }

  /**
   * The ledger of `date`'s records; a torn tail it cut (a power cut in the middle of a line:
   * that line's event was not recorded) is logged, so the operator knows a line was lost.
   */
  private async loadLedger(date: string): Promise<GateLedgerResult<GateRecord[]>> {
    const loaded = await this.site.ledger.load(date);
    if (!loaded.ok) return loaded;
    if (loaded.value.tornBytes > 0) {
      this.ports.log.log({ event: 'gate-ledger-torn-tail', date, bytes: loaded.value.tornBytes });
    }
    return { ok: true, value: loaded.value.records };
  }

  /**
   * Gives `day` the credits the day before left (GateDay.carryCreditsFrom). That day's ledger
   * unreadable or damaged costs only its credits, not today's service: logged, not carried.
   */
  private async carryCredits(day: GateDay, before: string): Promise<void> {
    const loaded = await this.loadLedger(before);
    if (!loaded.ok) {
      this.ports.log.log({ event: 'gate-credits-not-carried', date: before,
        detail: loaded.error });
      return;
    }
    const previous = new GateDay(before);
    for (const record of loaded.value) previous.apply(record);
    // A sale cut before midnight whose debit ended: its `paid` line goes to that day's
    // ledger now, and its credit is carried (it was lost: the visitor paid twice).
    const unanswered = gateSaleUnanswered(loaded.value, this.ports.journal);
    if (unanswered !== null) {
      this.ports.log.log({ event: 'gate-sale-reconciled', date: before,
        journalSeq: unanswered.kind === 'paid' ? unanswered.journalSeq : null });
      if (await this.record(unanswered)) previous.apply(unanswered);
    }
    day.carryCreditsFrom(previous);
  }

  /** Appends durably and counts; a failed write stops the lane (nothing unrecorded opens). */
  private async record(record: GateRecord): Promise<boolean> {
    const written = await this.site.appends.run(() => this.site.ledger.append(record));
    if (!written.ok) {
      this.outOfService = `ledger: ${written.error}`;
      this.ports.log.log({ event: 'gate-ledger-error', detail: written.error });
      return false;
    }
    const day = this.site.day;
    if (day !== null && day.date === record.date) day.apply(record);
    return true;
  }

  private now(wallMs = this.ports.clock.wallMs()): GateNow {
    const { date, time } = localDateTime(wallMs, this.config.validator.utcOffsetMinutes);
    // localDateTime gives YYMMDD (the kernel's 9A); the ledger keeps full dates (2000-2099).
    const iso = `20${date.slice(0, 2)}-${date.slice(2, 4)}-${date.slice(4, 6)}`;
    return { date: iso, minute: Number(time.slice(0, 2)) * 60 + Number(time.slice(2, 4)) };
  }

  private async showIdle(): Promise<void> {
    const params = this.ports.params();
    const shown = await this.ports.display.show({
      kind: 'idle', fareMinor: params.fares.flatFareMinor, lineName: this.ports.gateParams().siteId,
    });
    if (!shown.ok) this.ports.log.log({ event: 'display-error', error: shown.error });
  }

  private async show(message: GateMessage, persons: number | null): Promise<void> {
    const shown = await this.ports.display.show({ kind: 'gate', message, persons });
    if (!shown.ok) this.ports.log.log({ event: 'display-error', error: shown.error });
  }
}

/** Whether a lane selling in `mode` sells to a card the kernel takes on `path`. */
function laneSells(mode: QpbocMode, path: QpbocPath): boolean {
  if (mode === 'ec') return path === 'qpboc-ec';
  if (mode === 'oda') return path === 'qpboc-oda' || path === 'full-flow';
  if (mode === 'full') return path === 'full-flow';
  return true;
}

const REFUSAL_MESSAGE: Readonly<Record<GateRefusal, GateMessage>> = {
  'ticket-expired': 'ticketExpired',
  'ticket-not-yet': 'ticketNotYet',
  'wrong-slot': 'wrongSlot',
  'day-full': 'dayFull',
  'slot-full': 'slotFull',
  passback: 'passback',
  closed: 'closed',
  'no-ticket': 'noTicket',
  // No ticket, and this lane cannot sell to the card: the ticket office can (请到售票处购票).
  'card-cannot-buy': 'noTicket',
};

function outOfServiceReport(startedMs: number): TapReport {
  return {
    startedMs, endedMs: startedMs, result: 'outOfService', reason: 'gate-out-of-service',
    panMasked: null, amountMinor: null, balanceMinor: null, fareRule: null, journalSeqs: [],
    recovered: false,
  };
}
