// A virtual qPBOC card: SELECT, GPO, READ RECORD (commit on the last AFL record), GET DATA.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { Prng } from '../prng.js';
import { bytesEqual, fromHex, toHex } from '../pki/emv_bytes.js';
import type { TestPki } from '../pki/test_pki.js';
import {
  CLA_00_INTERINDUSTRY,
  CLA_80_PROPRIETARY,
  INS_88_INTERNAL_AUTHENTICATE,
  INS_A4_SELECT,
  INS_A8_GPO,
  INS_AE_GENERATE_AC,
  INS_B2_READ_RECORD,
  INS_CA_GET_DATA,
  SW_6700_WRONG_LENGTH,
  SW_6985_CONDITIONS_NOT_SATISFIED,
  SW_6A86_WRONG_P1P2,
  SW_6D00_INS_NOT_SUPPORTED,
  SW_6E00_CLA_NOT_SUPPORTED,
  SW_9000_OK,
  parseCommandApdu,
  responseApdu,
  statusOnly,
} from './card_apdu.js';
import type { CommandApdu } from './card_apdu.js';
import { CardLedger } from './card_ledger.js';
import type { LedgerEntry } from './card_ledger.js';
import type { CardIdentity, VirtualCard } from './card_model.js';
import { personaliseCard } from './card_personalise.js';
import type { PersonalisedCard } from './card_personalise.js';
import type { CardProfile } from './card_profile.js';
import { drawIdentity } from './card_rf.js';
import { commandCostMs } from './card_timing.js';
import type { CommandCost } from './card_timing.js';
import { getData, readRecord, selectByName } from './qpboc_commands.js';
import type { AppState, CommandResult, SessionState } from './qpboc_commands.js';
import { processGpo } from './qpboc_gpo.js';
import type { StagedDebit } from './qpboc_gpo.js';
import { generateAc, internalAuthenticate } from './pboc_full_flow.js';
import type { FullFlowApproval } from './pboc_full_flow.js';
import type { RiskDecision } from './qpboc_risk.js';

/** UnionPay RID: the default application of the query methods is the first UnionPay one. */
export const RID_A000000333_UNIONPAY = 'a000000333';
/** China Standard Time offset for wall-clock record times. */
const CST_OFFSET_MS = 8 * 3600 * 1000;

/** What a card needs besides its profile. */
export interface CardOptions {
  /** Source of per-tap randomness (phone UIDs, 9F69 card unpredictable number). */
  readonly prng: Prng;
  /** Keys and certificates. */
  readonly pki: TestPki;
  /** Optional clock: ledger commit times, and the log/ledger time when the PDOL has no 9F21. */
  readonly clock?: ClockPort;
}

/** A virtual qPBOC card plus the inspection API tests and checkers use. */
export interface QpbocCard extends VirtualCard {
  readonly profile: CardProfile;
  readonly personalised: PersonalisedCard;
  /** Every committed debit, in commit order. */
  ledger(): readonly LedgerEntry[];
  /** EC balance (9F79) in minor units, or null without EC; `aidHex` defaults to the first
   *  UnionPay application. */
  balanceMinor(aidHex?: string): number | null;
  /** Current ATC. */
  atc(aidHex?: string): number;
  /** The debit staged by the last GPO and not committed yet (with 'gpo-with-rollback' it is
   *  already off the balance, `appliedAtGpo`), or null. */
  pendingDebit(aidHex?: string): StagedDebit | null;
  /** CTTA (cumulative offline total) of a card with offline limits, else null. */
  cumulativeOfflineMinor(aidHex?: string): number | null;
  /** The decision of the last qPBOC GPO or GENERATE AC on any application, or null. */
  lastDecision(): RiskDecision | null;
  /** Number of powerOn calls so far. */
  presentations(): number;
  /**
   * The card went online elsewhere (a bank load, 圈存): each application's EC balance is back
   * at its personalised value, its cumulative offline total at its personalised value, and its
   * consecutive offline count reset (a card never online stays a new card). Between two
   * presentations, with no debit staged (throws otherwise). Not a debit: the ledger is unchanged.
   */
  topUp(): void;
  /** The card leaves the field: it answers nothing until the next powerOn. */
  powerOff(): void;
}

/**
 * Personalises `profile` and returns the card, powered off (call powerOn first).
 * Throws CardProfileError when the profile cannot be personalised.
 */
export function createCard(profile: CardProfile, options: CardOptions): QpbocCard {
  return new QpbocCardImpl(personaliseCard(profile, options.pki), options);
}

class QpbocCardImpl implements QpbocCard {
  readonly label: string;
  readonly profile: CardProfile;
  private readonly states: AppState[];
  /** Each application's AID as lower-case hex, in `states` order (AIDs never change). */
  private readonly aidHexes: readonly string[];
  private readonly cardLedger = new CardLedger();
  private readonly prng: Prng;
  private readonly clock: ClockPort | null;
  private identityNow: CardIdentity;
  private powered = false;
  private presentationCount = 0;
  private session: SessionState = freshSession();
  private lastMs = 0;
  private decision: RiskDecision | null = null;
  /** defaultState's answer once looked up (null: not yet). */
  private defaultStateFound: AppState | undefined | null = null;

  constructor(
    readonly personalised: PersonalisedCard,
    options: CardOptions,
  ) {
    this.profile = personalised.profile;
    this.label = personalised.profile.label;
    this.prng = options.prng.fork(`card:${this.label}`);
    this.clock = options.clock ?? null;
    this.states = personalised.apps.map((app) => ({
      app,
      atc: app.profile.atcInitial,
      lastOnlineAtc: app.profile.lastOnlineAtc,
      balanceMinor: app.profile.ec === null ? null : app.profile.ec.balanceMinor,
      cumulativeMinor: app.profile.offlineLimits?.cumulativeTotalMinor ?? null,
      log: [],
      rollback: null,
      txn: null,
    }));
    this.aidHexes = this.states.map((s) => toHex(s.app.aid));
    this.identityNow = drawIdentity(this.profile.rf, this.prng);
  }

  identity(): CardIdentity {
    return this.identityNow;
  }

  powerOn(): void {
    this.powered = true;
    this.presentationCount += 1;
    this.session = freshSession();
    if (this.presentationCount > 1) this.identityNow = drawIdentity(this.profile.rf, this.prng);
  }

  powerOff(): void {
    this.powered = false;
    this.session = freshSession();
  }

  transceive(capdu: Uint8Array): Uint8Array | null {
    if (!this.powered) {
      this.lastMs = 0;
      return null;
    }
    const command = parseCommandApdu(capdu);
    const result: CommandResult =
      command === null ? rejected(SW_6700_WRONG_LENGTH) : this.dispatch(command);
    this.lastMs = commandCostMs(
      this.profile.processing,
      result.cost,
      Math.max(0, result.response.length - 2),
    );
    return result.response;
  }

  lastProcessingMs(): number {
    return this.lastMs;
  }

  ledger(): readonly LedgerEntry[] {
    return this.cardLedger.entries();
  }

  balanceMinor(aidHex?: string): number | null {
    return this.state(aidHex).balanceMinor;
  }

  atc(aidHex?: string): number {
    return this.state(aidHex).atc;
  }

  pendingDebit(aidHex?: string): StagedDebit | null {
    return stagedDebit(this.state(aidHex));
  }

  cumulativeOfflineMinor(aidHex?: string): number | null {
    return this.state(aidHex).cumulativeMinor;
  }

  lastDecision(): RiskDecision | null {
    return this.decision;
  }

  presentations(): number {
    return this.presentationCount;
  }

  topUp(): void {
    for (const state of this.states) {
      if (state.rollback !== null || stagedDebit(state) !== null) {
        throw new Error(`${this.label}: topped up with a debit staged`);
      }
      const profile = state.app.profile;
      state.balanceMinor = profile.ec === null ? null : profile.ec.balanceMinor;
      state.cumulativeMinor = profile.offlineLimits?.cumulativeTotalMinor ?? null;
      if (state.lastOnlineAtc !== 0) state.lastOnlineAtc = state.atc;
    }
  }

  private dispatch(command: CommandApdu): CommandResult {
    switch (command.ins) {
      case INS_A4_SELECT:
        if (command.cla !== CLA_00_INTERINDUSTRY) return rejected(SW_6E00_CLA_NOT_SUPPORTED);
        return selectByName(this.personalised, this.session, command);
      case INS_A8_GPO:
        if (command.cla !== CLA_80_PROPRIETARY) return rejected(SW_6E00_CLA_NOT_SUPPORTED);
        return this.gpo(command);
      case INS_B2_READ_RECORD:
        if (command.cla !== CLA_00_INTERINDUSTRY) return rejected(SW_6E00_CLA_NOT_SUPPORTED);
        return readRecord(this.selectedState(), this.session, command, (s) => this.commit(s));
      case INS_CA_GET_DATA:
        if (command.cla !== CLA_80_PROPRIETARY) return rejected(SW_6E00_CLA_NOT_SUPPORTED);
        return getData(this.selectedState(), command);
      case INS_88_INTERNAL_AUTHENTICATE:
        if (command.cla !== CLA_00_INTERINDUSTRY) return rejected(SW_6E00_CLA_NOT_SUPPORTED);
        return internalAuthenticate(this.selectedState(), this.session.fullFlow, command);
      case INS_AE_GENERATE_AC:
        if (command.cla !== CLA_80_PROPRIETARY) return rejected(SW_6E00_CLA_NOT_SUPPORTED);
        return this.generateAc(command);
      default: {
        const knownClass =
          command.cla === CLA_00_INTERINDUSTRY || command.cla === CLA_80_PROPRIETARY;
        return rejected(knownClass ? SW_6D00_INS_NOT_SUPPORTED : SW_6E00_CLA_NOT_SUPPORTED);
      }
    }
  }

  private gpo(command: CommandApdu): CommandResult {
    const state = this.selectedState();
    if (command.p1 !== 0 || command.p2 !== 0) return rejected(SW_6A86_WRONG_P1P2, 'gpo');
    if (state === null) return rejected(SW_6985_CONDITIONS_NOT_SATISFIED, 'gpo');
    // An unconfirmed debit applied at GPO does not count: this GPO rolls it back if it starts
    // a transaction.
    const view =
      state.rollback === null ? state : { ...state, balanceMinor: state.rollback.balanceMinor };
    const outcome = processGpo(state.app, view, command.data, {
      cardUnpredictableNumber: this.prng.bytes(4),
      clockTimeHhmmss: this.clockTime(),
    });
    if (outcome.kind === 'status') return rejected(outcome.sw, 'gpo');
    // A new GPO starts a new transaction: any pending one is abandoned, never committed, and a
    // debit applied at GPO but never confirmed is rolled back (domain.md 4.3).
    restoreRollback(state);
    state.txn = null;
    this.session.gpoThisSession = true;
    this.session.fullFlow = null;
    switch (outcome.kind) {
      case 'full-flow':
        state.atc = outcome.atc;
        this.session.fullFlow = {
          atc: outcome.atc,
          ttq: outcome.ttq,
          pdolData: outcome.pdolData,
          phase: 'after-gpo',
          internalAuthDone: false,
          firstAc: null,
          cdol1Data: null,
        };
        return { response: responseApdu(outcome.data, SW_9000_OK), cost: gpoCost([]) };
      case 'qpboc':
        state.atc = outcome.txn.atc;
        state.txn = outcome.txn;
        this.decision = outcome.txn.decision;
        applyAtGpo(state, outcome.txn.debit);
        return { response: responseApdu(outcome.data, SW_9000_OK), cost: gpoCost(outcome.rsaBits) };
      default: {
        const never: never = outcome;
        throw new Error(`unknown GPO outcome ${String(never)}`);
      }
    }
  }

  private generateAc(command: CommandApdu): CommandResult {
    const state = this.selectedState();
    const result = generateAc(state, this.session.fullFlow, command);
    if (result.decision !== null) this.decision = result.decision;
    if (state !== null && result.approval !== null) this.approveOffline(state, result.approval);
    return result;
  }

  /** A full-flow offline approval spends the cumulative allowance at once (no records follow). */
  private approveOffline(state: AppState, approval: FullFlowApproval): void {
    state.cumulativeMinor = (state.cumulativeMinor ?? 0) + approval.amountMinor;
    const get = (tag: number): string => toHex(approval.terminal.get(tag) ?? new Uint8Array(0));
    this.cardLedger.append({
      aidHex: toHex(state.app.aid),
      source: approval.purse.source,
      atc: approval.atc,
      amountMinor: approval.amountMinor,
      balanceBeforeMinor: approval.purse.availableMinor,
      balanceAfterMinor: approval.purse.availableMinor - approval.amountMinor,
      currencyCode: get(0x5f2a),
      dateYymmdd: get(0x9a),
      timeHhmmss: approval.terminal.has(0x9f21) ? get(0x9f21) : this.clockTime(),
      unpredictableNumberHex: get(0x9f37),
      cryptogramHex: toHex(approval.cryptogram),
      presentation: this.presentationCount,
      recovered: false,
      committedAtMs: this.clock === null ? null : this.clock.nowMs(),
    });
  }

  /** Makes the staged debit final exactly once; called by READ RECORD on the last AFL record. */
  private commit(state: AppState): void {
    const txn = state.txn;
    if (txn === null || txn.committed || txn.debit === null) return;
    const debit = txn.debit;
    if (debit.source === 'offline-allowance') {
      state.cumulativeMinor = (state.cumulativeMinor ?? 0) + debit.amountMinor;
    } else if (debit.appliedAtGpo) {
      // The balance moved at GPO; the confirmation only drops the rollback copy.
      state.rollback = null;
    } else {
      state.balanceMinor = debit.balanceAfterMinor;
      pushLog(state, debit.logRecord);
    }
    txn.committed = true;
    this.cardLedger.append({
      aidHex: toHex(state.app.aid),
      source: debit.source,
      atc: txn.atc,
      amountMinor: debit.amountMinor,
      balanceBeforeMinor: debit.balanceBeforeMinor,
      balanceAfterMinor: debit.balanceAfterMinor,
      currencyCode: debit.currencyCode,
      dateYymmdd: debit.dateYymmdd,
      timeHhmmss: debit.timeHhmmss,
      unpredictableNumberHex: debit.unpredictableNumberHex,
      cryptogramHex: debit.cryptogramHex,
      presentation: this.presentationCount,
      recovered: !this.session.gpoThisSession,
      committedAtMs: this.clock === null ? null : this.clock.nowMs(),
    });
  }

  private selectedState(): AppState | null {
    const selected = this.session.selected;
    if (selected === null || selected === 'ppse') return null;
    return this.states[selected] ?? null;
  }

  private state(aidHex: string | undefined): AppState {
    // The checkers ask by the AID's lower-case hex after every tap: found by its text, with
    // no decode and no byte compare (text equal to an AID's hex is equal bytes); any other
    // spelling (upper case, spaces) or no match goes the general way below.
    if (aidHex !== undefined) {
      const at = this.aidHexes.indexOf(aidHex);
      if (at >= 0) return this.states[at] as AppState;
    }
    const wanted = aidHex === undefined ? null : fromHex(aidHex);
    const found =
      wanted === null
        ? this.defaultState()
        : this.states.find((s) => bytesEqual(s.app.aid, wanted));
    if (found === undefined) throw new RangeError(`no application ${aidHex ?? '(default)'}`);
    return found;
  }

  /**
   * The query methods' default application: the first UnionPay one, else the first. Looked up
   * once: the card's applications and their AIDs are fixed at construction.
   */
  private defaultState(): AppState | undefined {
    if (this.defaultStateFound === null) {
      this.defaultStateFound =
        this.states.find((s) => toHex(s.app.aid).startsWith(RID_A000000333_UNIONPAY)) ??
        this.states[0];
    }
    return this.defaultStateFound;
  }

  private clockTime(): string | null {
    if (this.clock === null) return null;
    const secondsOfDay = Math.floor((this.clock.wallMs() + CST_OFFSET_MS) / 1000) % 86_400;
    const hh = Math.floor(secondsOfDay / 3600);
    const mm = Math.floor((secondsOfDay % 3600) / 60);
    const ss = secondsOfDay % 60;
    return [hh, mm, ss].map((v) => v.toString().padStart(2, '0')).join('');
  }
}

function freshSession(): SessionState {
  return { selected: null, gpoThisSession: false, fullFlow: null };
}

function pushLog(state: AppState, record: Uint8Array | null): void {
  const log = state.app.profile.log;
  if (record === null || log === null) return;
  state.log.unshift(record);
  state.log.length = Math.min(state.log.length, log.maxRecords);
}

/** The debit staged by the last GPO and not committed yet, or null. */
function stagedDebit(state: AppState): StagedDebit | null {
  const txn = state.txn;
  return txn !== null && !txn.committed ? txn.debit : null;
}

/** 'gpo-with-rollback': the balance and log move at GPO; a rollback copy keeps the old ones. */
function applyAtGpo(state: AppState, debit: StagedDebit | null): void {
  if (debit === null || !debit.appliedAtGpo || state.balanceMinor === null) return;
  state.rollback = { balanceMinor: state.balanceMinor, log: [...state.log] };
  state.balanceMinor = debit.balanceAfterMinor;
  pushLog(state, debit.logRecord);
}

/** Restores the rollback copy of an unconfirmed debit applied at GPO. */
function restoreRollback(state: AppState): void {
  const copy = state.rollback;
  if (copy === null) return;
  state.balanceMinor = copy.balanceMinor;
  state.log = [...copy.log];
  state.rollback = null;
}

function gpoCost(rsaBits: readonly number[]): Omit<CommandCost, 'responseBytes'> {
  return { kind: 'gpo', rsaBits, committed: false };
}

function rejected(sw: number, kind: CommandCost['kind'] = 'other'): CommandResult {
  return { response: statusOnly(sw), cost: { kind, rsaBits: [], committed: false } };
}
