// GET PROCESSING OPTIONS on a qPBOC card: risk decision, cryptogram, IAD, fDDA, staged debit.

import { berTlv, concatBytes, fromBcd, fromHex, toBcd, toHex } from '../pki/emv_bytes.js';
import { AIP_DDA_0X20 } from './card_profile.js';
import { gpoCommandTemplate, splitDolData } from './card_dol.js';
import { buildLogRecord } from './card_log.js';
import type { PersonalisedApp } from './card_personalise.js';
import { recordTemplate } from './emv_card_records.js';
import * as T from './emv_card_tags.js';
import { acInput, acSessionKey, applicationCryptogram, iadMac } from './pboc_cryptogram.js';
import type { AcTerminalData } from './pboc_cryptogram.js';
import { cardAuthenticationData, signFdda } from './qpboc_fdda.js';
import {
  CAP1_RETURN_AVAILABLE_AMOUNT_0X01,
  CAP2_QPBOC_LOG_0X10,
  DF61_ONLINE_ODA_0X40,
  TTQ1_FULL_FLOW_0X40,
  TTQ1_ODA_FOR_ONLINE_0X01,
  TTQ1_QPBOC_0X20,
  TTQ4_FDDA_V01_0X80,
  cvrByte1,
  decideQpboc,
} from './qpboc_risk.js';
import type { RiskDecision } from './qpboc_risk.js';
import {
  SW_6700_WRONG_LENGTH,
  SW_6985_CONDITIONS_NOT_SATISFIED,
  SW_6A80_WRONG_DATA,
} from './card_apdu.js';

/** Highest ATC; at this value the application refuses further transactions. */
export const ATC_MAX = 0xffff;
/** IAD constants. See domain.md 2.4. */
export const IAD_STANDARD_LENGTH_07 = 0x07;
export const IAD_CVR_LENGTH_03 = 0x03;
export const IAD_ALGORITHM_01_3DES = 0x01;
export const IAD_DISCRETIONARY_LENGTH_0A = 0x0a;
export const IAD_TYPE_01_EC_BALANCE = 0x01;
export const IAD_TYPE_02_CTTA = 0x02;
export const IAD_TYPE_05_AVAILABLE = 0x05;
/** CVR byte 2 bit seen on new cards [S:NFSEE]. */
export const CVR2_NEW_CARD_0X10 = 0x10;

/** What a debit draws on: the EC balance (9F79) or the cumulative offline allowance. */
export type DebitSource = 'ec-balance' | 'offline-allowance';

/**
 * A debit the card staged at GPO; it becomes final at the last AFL record. Balances are the
 * EC balance, or the available offline amount (CTTAL - CTTA) for 'offline-allowance'.
 */
export interface StagedDebit {
  readonly source: DebitSource;
  /** The EC balance already moved at GPO (EcProfile.debitAt 'gpo-with-rollback'). */
  readonly appliedAtGpo: boolean;
  readonly amountMinor: number;
  readonly balanceBeforeMinor: number;
  readonly balanceAfterMinor: number;
  readonly currencyCode: string;
  readonly dateYymmdd: string;
  readonly timeHhmmss: string | null;
  readonly unpredictableNumberHex: string;
  readonly cryptogramHex: string;
  /** The log record to append at the commit, or null when logging is off. */
  readonly logRecord: Uint8Array | null;
}

/** The transaction started by the latest qPBOC GPO: persistent, so a torn one can recover. */
export interface TxnSnapshot {
  readonly atc: number;
  readonly decision: RiskDecision;
  /** The GPO answer carried an AFL: the records belong to this transaction. */
  readonly withRecords: boolean;
  /** Bytes of the records holding dynamic data, frozen at GPO (the backup re-reads return). */
  readonly dynamicRecords: FrozenRecords;
  readonly debit: StagedDebit | null;
  committed: boolean;
}

/** Persistent figures the GPO reads. */
export interface GpoCardState {
  readonly atc: number;
  readonly lastOnlineAtc: number;
  readonly balanceMinor: number | null;
  /** CTTA of a card with cumulative offline limits, else null. */
  readonly cumulativeMinor: number | null;
}

/** Per-GPO inputs that do not come from the terminal. */
export interface GpoEnvironment {
  /** 4 random bytes for 9F69. */
  readonly cardUnpredictableNumber: Uint8Array;
  /** Wall time "hhmmss" from the injected clock, used when the PDOL has no 9F21. */
  readonly clockTimeHhmmss: string | null;
}

/** Result of a GPO: a status word, the start of a full-flow transaction, or a qPBOC one. */
export type GpoOutcome =
  | { readonly kind: 'status'; readonly sw: number }
  | {
      readonly kind: 'full-flow';
      readonly data: Uint8Array;
      /** The transaction's ATC (state.atc + 1; the caller persists it). */
      readonly atc: number;
      readonly ttq: Uint8Array;
      /** The PDOL data as received (CDA hashes it). */
      readonly pdolData: Uint8Array;
    }
  | {
      readonly kind: 'qpboc';
      readonly data: Uint8Array;
      readonly txn: TxnSnapshot;
      readonly rsaBits: readonly number[];
    };

/** The terminal's values split by the card's own DOL. */
export interface Terminal {
  readonly values: ReadonlyMap<number, Uint8Array>;
  get(tag: number): Uint8Array;
}

/**
 * Runs GPO command data through the card's PDOL, risk management and cryptogram generation.
 * Returns status 6A80 (not one 83 template, or a non-BCD amount), 6700 (data length differs
 * from the PDOL), 6985 (TTQ asks neither qPBOC nor a full flow the card supports, or the ATC
 * is exhausted); 'full-flow' (TTQ 1.b7 without 1.b6: GPO format 1 or 2 without cryptogram);
 * else the qPBOC answer and its transaction, whose ATC is state.atc + 1 (the caller persists
 * it). See domain.md 1.5 and 6.2.
 */
export function processGpo(
  app: PersonalisedApp,
  state: GpoCardState,
  commandData: Uint8Array,
  env: GpoEnvironment,
): GpoOutcome {
  const template = gpoCommandTemplate(commandData);
  if (template === null) return { kind: 'status', sw: SW_6A80_WRONG_DATA };
  if (template.length !== app.pdolDataLength) return { kind: 'status', sw: SW_6700_WRONG_LENGTH };
  const terminal = terminalView(splitDolData(app.pdol, template));
  const amountMinor = fromBcd(terminal.get(T.TAG_9F02_AMOUNT));
  if (amountMinor === null) return { kind: 'status', sw: SW_6A80_WRONG_DATA };
  const ttq = terminal.get(T.TAG_9F66_TTQ);
  const qpboc = ((ttq[0] ?? 0) & TTQ1_QPBOC_0X20) !== 0;
  const flow = app.fullFlow;
  const fullFlow = !qpboc && ((ttq[0] ?? 0) & TTQ1_FULL_FLOW_0X40) !== 0 && flow !== null;
  if ((!qpboc && !fullFlow) || state.atc >= ATC_MAX) {
    return { kind: 'status', sw: SW_6985_CONDITIONS_NOT_SATISFIED };
  }
  if (fullFlow && flow !== null) {
    const afl = berTlv(T.TAG_94_AFL, flow.afl.bytes);
    const data =
      flow.profile.gpoFormat === 1
        ? berTlv(T.TAG_80_RESPONSE_FORMAT1, concatBytes(app.aip, flow.afl.bytes))
        : berTlv(T.TAG_77_RESPONSE_FORMAT2, concatBytes(berTlv(T.TAG_82_AIP, app.aip), afl));
    return { kind: 'full-flow', data, atc: state.atc + 1, ttq, pdolData: template };
  }
  return qpbocTransaction(app, state, terminal, amountMinor, env);
}

function qpbocTransaction(
  app: PersonalisedApp,
  state: GpoCardState,
  terminal: Terminal,
  amountMinor: number,
  env: GpoEnvironment,
): GpoOutcome {
  const profile = app.profile;
  const atc = state.atc + 1;
  const ttq = terminal.get(T.TAG_9F66_TTQ);
  const cap = app.data.get(T.TAG_9F68_CARD_ADDITIONAL_PROCESSES) ?? new Uint8Array(4);
  const newCard = state.lastOnlineAtc === 0;
  const ec = profile.ec;
  const purse = purseOf(app, state);
  const decision = decideQpboc({
    ttq,
    cardAdditionalProcesses: cap,
    amountMinor,
    currencyMatches: toHex(terminal.get(T.TAG_5F2A_CURRENCY)) === profile.currencyCode,
    newCard,
    ec:
      ec === null || state.balanceMinor === null
        ? null
        : { ...ec, balanceMinor: state.balanceMinor },
    allowanceMinor: purse?.source === 'offline-allowance' ? purse.availableMinor : null,
  });
  const onlineOda =
    decision.ac === 'ARQC' &&
    ((ttq[0] ?? 0) & TTQ1_ODA_FOR_ONLINE_0X01) !== 0 &&
    ((profile.df61 ?? 0) & DF61_ONLINE_ODA_0X40) !== 0;
  const withRecords = app.afl.entries.length > 0 && (decision.ac === 'TC' || onlineOda);
  const spent = decision.ac === 'TC' ? amountMinor : 0;
  const balanceAfter = purse === null ? null : purse.availableMinor - spent;
  const dynamic = dynamicValues(app, atc, terminal, withRecords, balanceAfter, env);
  const cvr = Uint8Array.of(cvrByte1(decision.ac), newCard ? CVR2_NEW_CARD_0X10 : 0, 0);
  const sessionKey = acSessionKey(app.mkAc, atc);
  const ac = applicationCryptogram(
    sessionKey,
    acInput(profile.iad.cvn, acTerminalData(terminal.get), app.aip, atc, cvr),
  );
  const iad = buildIad(app, cvr, iadDiscretionary(app, state, spent), sessionKey);
  const data = gpoResponse(app, { atc, ac, iad, withRecords, dynamic });
  const debit =
    decision.ac === 'TC' && purse !== null
      ? stageDebit(app, terminal, atc, amountMinor, purse, ac, env)
      : null;
  const dynamicRecords = withRecords ? buildDynamicRecords(app, dynamic) : new FrozenRecords();
  const txn: TxnSnapshot = { atc, decision, withRecords, dynamicRecords, debit, committed: false };
  const signer = dynamic.has(T.TAG_9F4B_SDAD) ? app.signingKey : null;
  const rsaBits = signer === null ? [] : [signer.bits];
  return { kind: 'qpboc', data, txn, rsaBits };
}

/** What the card can spend offline: its EC balance or its cumulative offline allowance. */
export interface Purse {
  readonly source: DebitSource;
  readonly availableMinor: number;
}

/** The application's purse, or null when it can spend nothing offline. */
export function purseOf(app: PersonalisedApp, state: GpoCardState): Purse | null {
  if (state.balanceMinor !== null) {
    return { source: 'ec-balance', availableMinor: state.balanceMinor };
  }
  const limits = app.profile.offlineLimits;
  if (limits === null || state.cumulativeMinor === null) return null;
  const availableMinor = limits.cumulativeLimitMinor - state.cumulativeMinor;
  return { source: 'offline-allowance', availableMinor: Math.max(0, availableMinor) };
}

/**
 * The IAD's issuer-discretionary type and value after spending `spent` (domain.md 2.4):
 * 01 + EC balance; for cumulative limits 02 + CTTA or 05 + available amount (9F5D).
 */
export function iadDiscretionary(
  app: PersonalisedApp,
  state: GpoCardState,
  spent: number,
): { readonly type: number; readonly valueMinor: number } {
  const limits = app.profile.offlineLimits;
  if (state.balanceMinor !== null || limits === null || state.cumulativeMinor === null) {
    return { type: IAD_TYPE_01_EC_BALANCE, valueMinor: (state.balanceMinor ?? 0) - spent };
  }
  const ctta = state.cumulativeMinor + spent;
  return limits.iadType === IAD_TYPE_02_CTTA
    ? { type: IAD_TYPE_02_CTTA, valueMinor: ctta }
    : { type: IAD_TYPE_05_AVAILABLE, valueMinor: Math.max(0, limits.cumulativeLimitMinor - ctta) };
}

/**
 * A transaction's dynamic values by tag. The SDAD is signed when first read: in a record, it is
 * read only if the terminal reads that record (most taps that end before do not), and the
 * card's private RSA operation is most of the cost of a simulated GPO. Its bytes depend only
 * on what the GPO fixed (key, ATC, terminal data, 9F69), not on when they are computed; the
 * card's processing time counts the signature at GPO all the same (`rsaBits`).
 */
class DynamicValues {
  private readonly values = new Map<number, Uint8Array>();
  private signSdad: (() => Uint8Array) | null = null;

  set(tag: number, value: Uint8Array): void {
    this.values.set(tag, value);
  }

  /** The SDAD (9F4B), signed by `sign` when first read. */
  setSdad(sign: () => Uint8Array): void {
    this.signSdad = sign;
  }

  has(tag: number): boolean {
    return this.values.has(tag) || (tag === T.TAG_9F4B_SDAD && this.signSdad !== null);
  }

  get(tag: number): Uint8Array | undefined {
    if (tag === T.TAG_9F4B_SDAD && this.signSdad !== null) {
      this.values.set(tag, this.signSdad());
      this.signSdad = null;
    }
    return this.values.get(tag);
  }
}

/**
 * The records holding dynamic data, frozen at GPO: a record holding the SDAD is put together
 * when first read (DynamicValues says why), from parts fixed at GPO.
 */
export class FrozenRecords {
  private readonly built = new Map<string, Uint8Array>();
  private readonly pending = new Map<string, () => Uint8Array>();

  set(key: string, bytes: Uint8Array): void {
    this.built.set(key, bytes);
  }

  setLater(key: string, build: () => Uint8Array): void {
    this.pending.set(key, build);
  }

  /** The record's bytes, or undefined when the transaction froze no such record. */
  get(key: string): Uint8Array | undefined {
    const build = this.pending.get(key);
    if (build !== undefined) {
      this.pending.delete(key);
      this.built.set(key, build());
    }
    return this.built.get(key);
  }
}

/** 9F4B, 9F69 and 9F5D for this transaction (absent tags are simply not returned). */
function dynamicValues(
  app: PersonalisedApp,
  atc: number,
  terminal: Terminal,
  withRecords: boolean,
  balanceAfter: number | null,
  env: GpoEnvironment,
): DynamicValues {
  const values = new DynamicValues();
  const profile = app.profile;
  const cap1 = app.data.get(T.TAG_9F68_CARD_ADDITIONAL_PROCESSES)?.[0] ?? 0;
  // 9F5D travels in the GPO answer when 9F68 asks for it, or in a record that lists it.
  const aosaInRecord =
    withRecords && recordHolding(app, T.TAG_9F5D_AVAILABLE_OFFLINE_AMOUNT) !== null;
  const aosaWanted = (cap1 & CAP1_RETURN_AVAILABLE_AMOUNT_0X01) !== 0 || aosaInRecord;
  if (balanceAfter !== null && aosaWanted) {
    values.set(T.TAG_9F5D_AVAILABLE_OFFLINE_AMOUNT, toBcd(balanceAfter, 6));
  }
  const dda = ((app.aip[0] ?? 0) & AIP_DDA_0X20) !== 0;
  if (!withRecords || !dda || app.signingKey === null || profile.oda === null) return values;
  const ttq4 = terminal.get(T.TAG_9F66_TTQ)[3] ?? 0;
  const v01 = profile.oda.fddaV01 && (ttq4 & TTQ4_FDDA_V01_0X80) !== 0;
  const ctq = app.data.get(T.TAG_9F6C_CTQ) ?? new Uint8Array(2);
  const authData = v01
    ? cardAuthenticationData(env.cardUnpredictableNumber, ctq, profile.df61)
    : null;
  if (authData !== null) values.set(T.TAG_9F69_CARD_AUTH_DATA, authData);
  // The terminal's values are the card's own copies (splitDolData), never changed after.
  const signingKey = app.signingKey;
  const signed = {
    unpredictableNumber: terminal.get(T.TAG_9F37_UNPREDICTABLE_NUMBER),
    amount: terminal.get(T.TAG_9F02_AMOUNT),
    currency: terminal.get(T.TAG_5F2A_CURRENCY),
  };
  values.setSdad(() => signFdda(signingKey, atc, signed, authData));
  return values;
}

/** Largest answer data a short R-APDU carries. */
export const RESPONSE_DATA_MAX = 256;

/**
 * The longest format 2 GPO answer `app` can produce (SDAD and 9F69 counted in the GPO answer
 * unless a record holds them; 9F5D always counted). Personalisation rejects profiles above
 * RESPONSE_DATA_MAX: such a card would need extended APDUs a PBOC card does not use.
 */
export function gpoWorstCaseLength(app: PersonalisedApp): number {
  const tlvLength = (tag: number, length: number): number =>
    berTlv(tag, new Uint8Array(length)).length;
  let inner =
    tlvLength(T.TAG_82_AIP, 2) +
    tlvLength(T.TAG_94_AFL, app.afl.bytes.length) +
    tlvLength(T.TAG_9F36_ATC, 2) +
    tlvLength(T.TAG_57_TRACK2, app.data.get(T.TAG_57_TRACK2)?.length ?? 0) +
    tlvLength(T.TAG_9F10_IAD, app.profile.iad.format === 'long' ? 19 : 8) +
    tlvLength(T.TAG_9F26_CRYPTOGRAM, 8) +
    tlvLength(T.TAG_5F34_PSN, 1) +
    tlvLength(T.TAG_9F6C_CTQ, 2);
  if (app.signingKey !== null && recordHolding(app, T.TAG_9F4B_SDAD) === null) {
    inner += tlvLength(T.TAG_9F4B_SDAD, app.signingKey.bits / 8);
  }
  if (app.profile.oda?.fddaV01 === true && recordHolding(app, T.TAG_9F69_CARD_AUTH_DATA) === null) {
    inner += tlvLength(T.TAG_9F69_CARD_AUTH_DATA, 8);
  }
  if (app.profile.ec !== null || app.profile.offlineLimits !== null) {
    inner += tlvLength(T.TAG_9F5D_AVAILABLE_OFFLINE_AMOUNT, 6);
  }
  for (const hex of app.profile.gpoExtraTags) {
    const tag = T.tagFromHex(hex);
    inner += tlvLength(tag, app.data.get(tag)?.length ?? 0);
  }
  return tlvLength(T.TAG_77_RESPONSE_FORMAT2, inner);
}

/** recordKey of the record that lists `tag`, or null when the tag travels in the GPO answer. */
export function recordHolding(app: PersonalisedApp, tag: number): string | null {
  // A function of the app's records and their tags, fixed at personalisation (no code changes
  // a personalised app's records): looked up once per app and tag, not at every GPO.
  let byTag = RECORD_HOLDING.get(app);
  if (byTag === undefined) {
    byTag = new Map();
    RECORD_HOLDING.set(app, byTag);
  }
  let key = byTag.get(tag);
  if (key === undefined) {
    key = null;
    for (const [k, r] of app.records) {
      if (r.tags.includes(tag)) {
        key = k;
        break;
      }
    }
    byTag.set(tag, key);
  }
  return key;
}

/** recordHolding's answers by app, then by tag. */
const RECORD_HOLDING = new WeakMap<PersonalisedApp, Map<number, string | null>>();

/** The 19-byte (long) or 8-byte (short) IAD (domain.md 2.4). */
export function buildIad(
  app: PersonalisedApp,
  cvr: Uint8Array,
  discretionaryData: { readonly type: number; readonly valueMinor: number },
  sk: Uint8Array,
): Uint8Array {
  const iad = app.profile.iad;
  const standard = concatBytes(
    Uint8Array.of(IAD_STANDARD_LENGTH_07, iad.dki, iad.cvn, IAD_CVR_LENGTH_03),
    cvr,
    Uint8Array.of(IAD_ALGORITHM_01_3DES),
  );
  if (iad.format === 'short') return standard;
  const discretionary = concatBytes(
    Uint8Array.of(discretionaryData.type),
    toBcd(discretionaryData.valueMinor, 5),
  );
  return concatBytes(
    standard,
    Uint8Array.of(IAD_DISCRETIONARY_LENGTH_0A),
    discretionary,
    iadMac(sk, discretionary),
  );
}

interface GpoParts {
  readonly atc: number;
  readonly ac: Uint8Array;
  readonly iad: Uint8Array;
  readonly withRecords: boolean;
  readonly dynamic: DynamicValues;
}

/** The format 2 answer, in the order of the real traces (domain.md 1.5). */
function gpoResponse(app: PersonalisedApp, parts: GpoParts): Uint8Array {
  const tlvs: Uint8Array[] = [berTlv(T.TAG_82_AIP, app.aip)];
  if (parts.withRecords) tlvs.push(berTlv(T.TAG_94_AFL, app.afl.bytes));
  tlvs.push(
    berTlv(T.TAG_9F36_ATC, Uint8Array.of(parts.atc >> 8, parts.atc & 0xff)),
    berTlv(T.TAG_57_TRACK2, app.data.get(T.TAG_57_TRACK2) ?? new Uint8Array(0)),
    berTlv(T.TAG_9F10_IAD, parts.iad),
    berTlv(T.TAG_9F26_CRYPTOGRAM, parts.ac),
    berTlv(T.TAG_5F34_PSN, app.data.get(T.TAG_5F34_PSN) ?? new Uint8Array(1)),
    berTlv(T.TAG_9F6C_CTQ, app.data.get(T.TAG_9F6C_CTQ) ?? new Uint8Array(2)),
  );
  for (const tag of T.DYNAMIC_TAGS) {
    // A value a record holds is not asked for here: an SDAD is signed when first asked for.
    const inRecord = parts.withRecords && recordHolding(app, tag) !== null;
    const value = inRecord ? undefined : parts.dynamic.get(tag);
    if (value !== undefined) tlvs.push(berTlv(tag, value));
  }
  for (const hex of app.profile.gpoExtraTags) {
    const tag = T.tagFromHex(hex);
    const value = app.data.get(tag);
    if (value !== undefined) tlvs.push(berTlv(tag, value));
  }
  return berTlv(T.TAG_77_RESPONSE_FORMAT2, concatBytes(...tlvs));
}

/**
 * Records holding dynamic tags, filled with this transaction's values; one holding the SDAD
 * is put together when first read, from the TLVs fixed here and the SDAD's (null below).
 */
function buildDynamicRecords(app: PersonalisedApp, dynamic: DynamicValues): FrozenRecords {
  const out = new FrozenRecords();
  for (const [key, r] of app.records) {
    if (r.staticBytes !== null) continue;
    const tlvs: (Uint8Array | null)[] = [];
    for (const tag of r.tags) {
      if (tag === T.TAG_9F4B_SDAD && dynamic.has(tag)) {
        tlvs.push(null);
        continue;
      }
      const value = T.DYNAMIC_TAGS.includes(tag) ? dynamic.get(tag) : app.data.get(tag);
      if (value !== undefined && value.length > 0) tlvs.push(berTlv(tag, value));
    }
    const build = (): Uint8Array => recordTemplate(tlvs.map((tlv) =>
      tlv ?? berTlv(T.TAG_9F4B_SDAD, dynamic.get(T.TAG_9F4B_SDAD) ?? new Uint8Array(0))));
    if (tlvs.includes(null)) out.setLater(key, build);
    else out.set(key, build());
  }
  return out;
}

function stageDebit(
  app: PersonalisedApp,
  terminal: Terminal,
  atc: number,
  amountMinor: number,
  purse: Purse,
  ac: Uint8Array,
  env: GpoEnvironment,
): StagedDebit {
  const time = terminal.values.get(T.TAG_9F21_TIME);
  const timeHhmmss = time !== undefined ? toHex(time) : env.clockTimeHhmmss;
  const cap2 = app.data.get(T.TAG_9F68_CARD_ADDITIONAL_PROCESSES)?.[1] ?? 0;
  const log = app.profile.log;
  let logRecord: Uint8Array | null = null;
  const ec = purse.source === 'ec-balance' ? app.profile.ec : null;
  if (ec !== null && log !== null && (cap2 & CAP2_QPBOC_LOG_0X10) !== 0) {
    // The terminal's values, with this debit's ATC and the card's own time when none came
    // (looked up through, not a copy of the terminal's map per debit).
    const atcBytes = Uint8Array.of(atc >> 8, atc & 0xff);
    const ownTime = time === undefined && timeHhmmss !== null ? fromHex(timeHhmmss) : undefined;
    logRecord = buildLogRecord(log.formatHex, (tag) => {
      if (tag === T.TAG_9F36_ATC) return atcBytes;
      if (tag === T.TAG_9F21_TIME && ownTime !== undefined) return ownTime;
      return terminal.values.get(tag);
    });
  }
  return {
    source: purse.source,
    appliedAtGpo: ec !== null && ec.debitAt === 'gpo-with-rollback',
    amountMinor,
    balanceBeforeMinor: purse.availableMinor,
    balanceAfterMinor: purse.availableMinor - amountMinor,
    currencyCode: toHex(terminal.get(T.TAG_5F2A_CURRENCY)),
    dateYymmdd: toHex(terminal.get(T.TAG_9A_DATE)),
    timeHhmmss,
    unpredictableNumberHex: toHex(terminal.get(T.TAG_9F37_UNPREDICTABLE_NUMBER)),
    cryptogramHex: toHex(ac),
    logRecord,
  };
}

/** Terminal values by tag; a tag the DOL did not ask for reads as zeros of its usual length. */
export function terminalView(values: ReadonlyMap<number, Uint8Array>): Terminal {
  return {
    values,
    get(tag: number): Uint8Array {
      return values.get(tag) ?? new Uint8Array(T.TERMINAL_TAG_LENGTHS.get(tag) ?? 0);
    },
  };
}

/** The AC's terminal data from any tag lookup (PDOL values, CDOL values). */
export function acTerminalData(get: (tag: number) => Uint8Array): AcTerminalData {
  return {
    amount: get(T.TAG_9F02_AMOUNT),
    otherAmount: get(T.TAG_9F03_OTHER_AMOUNT),
    country: get(T.TAG_9F1A_COUNTRY),
    tvr: get(T.TAG_95_TVR),
    currency: get(T.TAG_5F2A_CURRENCY),
    date: get(T.TAG_9A_DATE),
    type: get(T.TAG_9C_TYPE),
    unpredictableNumber: get(T.TAG_9F37_UNPREDICTABLE_NUMBER),
  };
}
