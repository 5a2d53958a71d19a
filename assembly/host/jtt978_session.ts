// Host driver of the multi-application kernel: qPBOC cards and JT/T 978 (T-Union) cards with a
// PSAM, over two async transceive functions (the card's reader and the PSAM's).
//
// The kernel decides everything (style.md 10.3); this file only moves bytes. It sends each
// C-APDU to the device the status names (STATUS_NEED_APDU: the card; STATUS_NEED_PSAM_APDU: the
// PSAM), asks the host at the decision point (a qPBOC card identity, or the T-Union card's files
// and record), hands the grey record over before DEBIT (STATUS_NEED_PRECOMMIT) and decodes the
// outcome. Layouts: assembly/README.md, "JT/T 978".

import { KernelOp, KernelStatus, kernelStatusName } from './abi.gen.js';
import { hexUpper as hexOf } from './hex_upper.js';
import type { Kernel } from './kernel_loader.js';
import {
  decodeCardIdentity,
  decodeQpbocOutcome,
  encodeQpbocInput,
  tlvEncode,
  QPBOC_MODES,
  type QpbocCardIdentity,
  type QpbocHostDecision,
  type QpbocOutcome,
  type QpbocTransactionInput,
} from './qpboc_session.js';

/** Which device an exchange went to. */
export type Device = 'card' | 'psam';

/** One exchange; rapdu null = the device did not answer (link lost). */
export interface DeviceExchange {
  readonly device: Device;
  readonly capdu: Uint8Array;
  readonly rapdu: Uint8Array | null;
}

/** The PSAM's part of the terminal configuration (PSAM files 0016 and 0017, domain.md 7.2). */
export interface Jtt978PsamConfig {
  /** File 0016: 6 bytes. */
  readonly terminalNumber: Uint8Array;
  /** File 0017 byte 1: the purchase key index sent in INITIALIZE FOR PURCHASE. */
  readonly keyIndex: number;
}

/** Files 0015 / 0017, the balance and the 001A (interop) or 0019 (local) record 02. */
export interface Jtt978CardData {
  readonly aid: string;
  /** 0015 bytes 1-8 (hex). */
  readonly issuerId: string;
  /** 0015 byte 9: application type (02 normal). */
  readonly applicationType: number;
  /** 0015 bytes 11-20 (hex). */
  readonly applicationSerial: string;
  /** YYYYMMDD. */
  readonly startDate: string;
  readonly expiryDate: string;
  /** 0017: province and city codes (hex, 2 bytes each). */
  readonly province: string;
  readonly city: string;
  /** 0017 interop type 0001: an interop (互联互通) card; its record is 001A, else 0019. */
  readonly interop: boolean;
  readonly cardCategory: number;
  readonly balanceMinor: number;
  /** True when this decision comes from a recovery. */
  readonly recovery: boolean;
  /** 0x1A or 0x19; `record` is empty when the card has none yet (6A83). */
  readonly recordSfi: number;
  readonly record: Uint8Array;
  readonly file0015: Uint8Array;
  readonly file0017: Uint8Array;
}

/** One UPDATE CAPP DATA CACHE: 001A record 128 bytes, 001E 48, 0019 1-128 (domain.md 7.3). */
export interface Jtt978CacheUpdate {
  readonly sfi: 0x19 | 0x1a | 0x1e;
  readonly recordNumber: number;
  readonly data: Uint8Array;
}

/** The host's answer at the T-Union decision point. */
export type Jtt978Decision =
  | {
      readonly kind: 'purchase';
      /** Binary fen, 0 .. 2^32-1. */
      readonly amountMinor: number;
      /** 'compound' (09, with at least one cache update) or 'simple' (06, none). */
      readonly type: 'compound' | 'simple';
      readonly updates: readonly Jtt978CacheUpdate[];
    }
  | { readonly kind: 'deny-list' | 'duplicate-tap' | 'refused' };

/** What the session needs from the firmware. */
export interface MultiAppSessionIo {
  /** The card: resolves to the R-APDU or null when the link is lost. */
  transceive(capdu: Uint8Array): Promise<Uint8Array | null>;
  /** The PSAM: resolves to the R-APDU or null when it failed. */
  psamTransceive(capdu: Uint8Array): Promise<Uint8Array | null>;
  /** qPBOC decision point (deny list, duplicate tap). */
  decide(identity: QpbocCardIdentity): Promise<QpbocHostDecision> | QpbocHostDecision;
  /** T-Union decision point: the fare and the records to write, or a refusal. */
  decideJtt978(card: Jtt978CardData): Promise<Jtt978Decision> | Jtt978Decision;
  /**
   * Stores the grey record durably (it is the torn record should DEBIT go unanswered) and
   * resolves true; false abandons the purchase before DEBIT.
   */
  precommit(greyRecord: Uint8Array): Promise<boolean> | boolean;
}

/** A decoded JT/T 978 record (grey or final; assembly/README.md, JT/T 978 record). */
export interface Jtt978Record {
  readonly state: 'grey' | 'final';
  readonly transactionType: number;
  readonly issuerId: string;
  readonly applicationSerial: string;
  readonly cardType: number;
  readonly city: string;
  readonly interop: boolean;
  readonly balanceBeforeMinor: number;
  readonly amountMinor: number;
  readonly atc: number;
  readonly keyVersion: number;
  readonly algorithmId: number;
  readonly cardRandom: string;
  readonly terminalNumber: string;
  readonly terminalSerial: number;
  /** YYYYMMDDhhmmss. */
  readonly dateTime: string;
  readonly mac1: string;
  readonly balanceAfterMinor: number;
  readonly tac: string;
  readonly mac2: string;
  readonly mac2Verified: boolean;
  readonly recovered: boolean;
  readonly aid: string;
}

export const JTT978_RECORD_BYTES = 93;

/** Reason codes (assembly/src/jtt978/jtt978_reason.ts; a test keeps them in step). */
export const JTT978_REASONS = {
  0: 'none',
  1: 'approved',
  15: 'expired',
  16: 'not-yet-effective',
  17: 'deny-list',
  18: 'duplicate-tap',
  19: 'host-refused',
  22: 'card-data-invalid',
  23: 'insufficient-balance',
  25: 'card-blocked',
  26: 'card-refused',
  28: 'psam-refused',
  29: 'mac2-invalid',
  30: 'link-lost',
  50: 'not-debited',
  51: 'proof-unavailable',
  52: 'recovery-refused',
  53: 'card-mismatch',
  54: 'balance-mismatch',
} as const;

export type Jtt978ReasonName = (typeof JTT978_REASONS)[keyof typeof JTT978_REASONS] | 'unknown';

export type Jtt978OutcomeKind =
  'approved' | 'declined' | 'try-again' | 'torn' | 'recovery-not-pending' | 'terminated' | 'fault';

/** The end of a T-Union transaction or recovery. */
export interface Jtt978Outcome {
  readonly kind: Jtt978OutcomeKind;
  readonly status: number;
  readonly statusName: string;
  readonly reason: Jtt978ReasonName;
  readonly reasonCode: number;
  /** The SW or status behind the reason, 0 if none. */
  readonly detail: number;
  readonly balanceMinor: number | null;
  readonly debitSent: boolean;
  readonly recovery: boolean;
  /** The deny-listed card's application was blocked. */
  readonly blocked: boolean;
  readonly recordKind: 'none' | 'clearing' | 'torn' | 'committed-decline';
  /** The record bytes (clearing, committed decline, or the grey record of a tear). */
  readonly recordBytes: Uint8Array | null;
  readonly record: Jtt978Record | null;
}

/** Either application's outcome, with the exchanges and decisions of the whole tap. */
export type CardOutcome =
  | { readonly app: 'qpboc'; readonly outcome: QpbocOutcome; readonly transcript: Transcript }
  | { readonly app: 'jtt978'; readonly outcome: Jtt978Outcome; readonly transcript: Transcript };

export type Transcript = readonly DeviceExchange[];

const STEPS_MAX = 256;
const OUTCOME_HEADER_BYTES = 20;
const PATH_JTT978 = 4;
const RECORD_KINDS = ['none', 'clearing', 'torn', 'committed-decline'] as const;
const QPBOC_DECISIONS: Readonly<Record<QpbocHostDecision, number>> = {
  proceed: 1,
  'deny-list': 2,
  'duplicate-tap': 3,
  refused: 4,
};
/** OP_TXN_LINK_LOST causes: the card left (2), the PSAM failed (4). */
const CAUSE_CARD_GONE = 2;
const CAUSE_PSAM = 4;
/** The input of the operations that take none (the kernel only reads it). */
const NO_INPUT = new Uint8Array(0);

/** Loads the PSAM configuration (OP_JTT978_CONFIGURE). Throws on malformed fields. */
export function configureJtt978(kernel: Kernel, config: Jtt978PsamConfig): number {
  if (config.terminalNumber.length !== 6) throw new Error('terminal number: 6 bytes');
  if (!Number.isInteger(config.keyIndex) || config.keyIndex < 0 || config.keyIndex > 0xff) {
    throw new Error(`key index: ${config.keyIndex}`);
  }
  const tlv = Buffer.concat([
    tlvEncode(0xdf8140, config.terminalNumber),
    tlvEncode(0xdf8141, Uint8Array.of(config.keyIndex)),
  ]);
  return kernel.step(KernelOp.OP_JTT978_CONFIGURE, 0, Uint8Array.from(tlv));
}

/** Encodes the purchase input of OP_TXN_DECIDE 1. Throws on values out of range. */
export function encodeJtt978Purchase(
  decision: Extract<Jtt978Decision, { kind: 'purchase' }>,
): Uint8Array {
  const amount = decision.amountMinor;
  if (!Number.isInteger(amount) || amount < 0 || amount > 0xffffffff) {
    throw new Error(`amount out of range: ${amount}`);
  }
  const head = Buffer.alloc(6);
  head.writeUInt32BE(amount, 0);
  head[4] = decision.type === 'compound' ? 0x09 : 0x06;
  head[5] = decision.updates.length;
  const parts: Uint8Array[] = [head];
  for (const update of decision.updates) {
    if (update.data.length < 1 || update.data.length > 128) throw new Error('update length');
    parts.push(Uint8Array.of(update.sfi, update.recordNumber & 0xff, update.data.length));
    parts.push(update.data);
  }
  return Uint8Array.from(Buffer.concat(parts));
}

/** Decodes the T-Union decision request (first byte 'J'). Throws when it is malformed. */
export function decodeJtt978CardData(out: Uint8Array): Jtt978CardData {
  if (out.length < 67 || out[0] !== 0x4a) throw new Error('not a JT/T 978 decision request');
  const recordLength = out[4] ?? 0;
  const f15 = out.slice(5, 35);
  const f17 = out.slice(35, 46);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const aidLength = out[50] ?? 0;
  return {
    aid: hexOf(out.subarray(51, 51 + aidLength)),
    issuerId: hexOf(f15.subarray(0, 8)),
    applicationType: f15[8] ?? 0,
    applicationSerial: hexOf(f15.subarray(10, 20)),
    startDate: hexOf(f15.subarray(20, 24)),
    expiryDate: hexOf(f15.subarray(24, 28)),
    province: hexOf(f17.subarray(4, 6)),
    city: hexOf(f17.subarray(6, 8)),
    interop: (((f17[8] ?? 0) << 8) | (f17[9] ?? 0)) === 1,
    cardCategory: f17[10] ?? 0,
    balanceMinor: view.getUint32(46),
    recovery: ((out[2] ?? 0) & 1) !== 0,
    recordSfi: out[3] ?? 0,
    record: out.slice(67, 67 + recordLength),
    file0015: f15,
    file0017: f17,
  };
}

/** Decodes a 93-byte JT/T 978 record. Throws when it is not one. */
export function decodeJtt978Record(r: Uint8Array): Jtt978Record {
  if (r.length !== JTT978_RECORD_BYTES || r[0] !== 0x4a) throw new Error('not a JT/T 978 record');
  const view = new DataView(r.buffer, r.byteOffset, r.byteLength);
  const hex = (at: number, n: number): string => hexOf(r.subarray(at, at + n));
  const flags = r[75] ?? 0;
  return {
    state: r[2] === 2 ? 'final' : 'grey',
    transactionType: r[3] ?? 0,
    issuerId: hex(4, 8),
    applicationSerial: hex(12, 10),
    cardType: r[22] ?? 0,
    city: hex(23, 2),
    interop: r[25] === 1,
    balanceBeforeMinor: view.getUint32(26),
    amountMinor: view.getUint32(30),
    atc: view.getUint16(34),
    keyVersion: r[36] ?? 0,
    algorithmId: r[37] ?? 0,
    cardRandom: hex(38, 4),
    terminalNumber: hex(42, 6),
    terminalSerial: view.getUint32(48),
    dateTime: hex(52, 7),
    mac1: hex(59, 4),
    balanceAfterMinor: view.getUint32(63),
    tac: hex(67, 4),
    mac2: hex(71, 4),
    mac2Verified: (flags & 1) !== 0,
    recovered: (flags & 2) !== 0,
    aid: hex(77, r[76] ?? 0),
  };
}

export function jtt978ReasonName(code: number): Jtt978ReasonName {
  const names: Readonly<Record<number, Jtt978ReasonName | undefined>> = JTT978_REASONS;
  return names[code] ?? 'unknown';
}

const KINDS: ReadonlyMap<number, Jtt978OutcomeKind> = new Map([
  [KernelStatus.STATUS_APPROVED_OFFLINE, 'approved'],
  [KernelStatus.STATUS_DECLINED, 'declined'],
  [KernelStatus.STATUS_TRY_AGAIN, 'try-again'],
  [KernelStatus.STATUS_TORN, 'torn'],
  [KernelStatus.STATUS_RECOVERY_NOT_PENDING, 'recovery-not-pending'],
]);

/**
 * Decodes a final status and its output (outcome header with path 4, then the record). Each
 * return is one literal of every field, not a spread grown one property at a time (slow in V8).
 */
export function decodeJtt978Outcome(status: number, out: Uint8Array): Jtt978Outcome {
  const kind = KINDS.get(status);
  if (kind === undefined || out.length < OUTCOME_HEADER_BYTES) {
    return {
      status,
      statusName: kernelStatusName(status),
      kind: status === KernelStatus.ERR_KERNEL_FAULT ? 'fault' : 'terminated',
      reason: 'none',
      reasonCode: 0,
      detail: status,
      balanceMinor: null,
      debitSent: false,
      recovery: false,
      blocked: false,
      recordKind: 'none',
      recordBytes: null,
      record: null,
    };
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const flags = view.getUint8(3);
  const recordLength = view.getUint16(6);
  const bytes =
    recordLength > 0 ? out.slice(OUTCOME_HEADER_BYTES, OUTCOME_HEADER_BYTES + 93) : null;
  return {
    status,
    statusName: kernelStatusName(status),
    kind,
    reasonCode: view.getUint8(1),
    reason: jtt978ReasonName(view.getUint8(1)),
    detail: view.getInt32(8),
    balanceMinor: (flags & 0x01) !== 0 ? view.getUint32(12) : null,
    debitSent: (flags & 0x08) !== 0,
    recovery: (flags & 0x10) !== 0,
    blocked: (flags & 0x40) !== 0,
    recordKind: RECORD_KINDS[view.getUint8(2)] ?? 'none',
    recordBytes: bytes,
    record: bytes === null ? null : decodeJtt978Record(bytes),
  };
}

/**
 * Runs one tap to its outcome, whatever the card's application (the kernel selects it by AID).
 * Never throws on card or PSAM behaviour; throws only on malformed `input` or when io throws.
 */
export async function runCardTransaction(
  kernel: Kernel,
  io: MultiAppSessionIo,
  input: QpbocTransactionInput,
): Promise<CardOutcome> {
  const mode = QPBOC_MODES.indexOf(input.mode);
  const status = kernel.step(KernelOp.OP_TXN_BEGIN, mode, encodeQpbocInput(input));
  return driveAll(kernel, io, status);
}

/** Recovers a torn tap from its torn record (a qPBOC torn record or a JT/T 978 grey record). */
export async function runCardRecovery(
  kernel: Kernel,
  io: MultiAppSessionIo,
  tornRecord: Uint8Array,
): Promise<CardOutcome> {
  const status = kernel.step(KernelOp.OP_TXN_RECOVER, 0, tornRecord);
  return driveAll(kernel, io, status);
}

async function driveAll(
  kernel: Kernel,
  io: MultiAppSessionIo,
  first: number,
): Promise<CardOutcome> {
  const transcript: DeviceExchange[] = [];
  const decisions: QpbocCardIdentity[] = [];
  let status = first;
  for (let steps = 0; steps < STEPS_MAX; steps += 1) {
    let next: number | null;
    if (status === KernelStatus.STATUS_NEED_APDU || status === KernelStatus.STATUS_NEED_PSAM_APDU) {
      // Most steps are an APDU: served here, not in driveStep, so each costs no promise of its
      // own beyond the device's.
      const out = kernel.output().slice();
      const psam = status === KernelStatus.STATUS_NEED_PSAM_APDU;
      const rapdu = psam ? await io.psamTransceive(out) : await io.transceive(out);
      next = exchangeStep(kernel, psam, out, rapdu, transcript);
    } else {
      next = await driveStep(kernel, io, status, decisions);
    }
    if (next === null) return finish(kernel, status, transcript, decisions);
    status = next;
  }
  // A kernel that never ends is a kernel bug: abandon it and report a fault.
  kernel.step(KernelOp.OP_TXN_ABORT, 0, NO_INPUT);
  return finish(kernel, KernelStatus.ERR_INTERNAL, transcript, decisions);
}

/** Records an exchange and hands its answer (or the lost link) to the kernel. */
function exchangeStep(
  kernel: Kernel,
  psam: boolean,
  capdu: Uint8Array,
  rapdu: Uint8Array | null,
  transcript: DeviceExchange[],
): number {
  transcript.push({
    device: psam ? 'psam' : 'card',
    capdu,
    rapdu: rapdu?.slice() ?? null,
  });
  if (rapdu !== null) return kernel.step(KernelOp.OP_TXN_RESUME, 0, rapdu);
  const cause = psam ? CAUSE_PSAM : CAUSE_CARD_GONE;
  return kernel.step(KernelOp.OP_TXN_LINK_LOST, cause, NO_INPUT);
}

/** One host action for a continue status other than an APDU; null when `status` is final. */
async function driveStep(
  kernel: Kernel,
  io: MultiAppSessionIo,
  status: number,
  decisions: QpbocCardIdentity[],
): Promise<number | null> {
  switch (status) {
    case KernelStatus.STATUS_NEED_HOST_DECISION:
      return decideStep(kernel, io, kernel.output().slice(), decisions);
    case KernelStatus.STATUS_NEED_PRECOMMIT: {
      const stored = await io.precommit(kernel.output().slice());
      return kernel.step(KernelOp.OP_TXN_DECIDE, stored ? 1 : 4, NO_INPUT);
    }
    default:
      return null;
  }
}

async function decideStep(
  kernel: Kernel,
  io: MultiAppSessionIo,
  out: Uint8Array,
  decisions: QpbocCardIdentity[],
): Promise<number> {
  if (out[0] !== 0x4a) {
    const identity = decodeCardIdentity(out);
    decisions.push(identity);
    const decision = await io.decide(identity);
    return kernel.step(KernelOp.OP_TXN_DECIDE, QPBOC_DECISIONS[decision], NO_INPUT);
  }
  const decision = await io.decideJtt978(decodeJtt978CardData(out));
  if (decision.kind === 'purchase') {
    return kernel.step(KernelOp.OP_TXN_DECIDE, 1, encodeJtt978Purchase(decision));
  }
  return kernel.step(KernelOp.OP_TXN_DECIDE, QPBOC_DECISIONS[decision.kind], NO_INPUT);
}

function finish(
  kernel: Kernel,
  status: number,
  transcript: Transcript,
  decisions: readonly QpbocCardIdentity[],
): CardOutcome {
  const out = kernel.output().slice();
  // A terminating status may leave a purchase input refused with the state kept: end it.
  if (status < 0) kernel.step(KernelOp.OP_TXN_ABORT, 0, NO_INPUT);
  const jtt978 = out.length >= OUTCOME_HEADER_BYTES && out[19] === PATH_JTT978;
  if (jtt978) return { app: 'jtt978', outcome: decodeJtt978Outcome(status, out), transcript };
  const cardOnly = transcript
    .filter((e) => e.device === 'card')
    .map((e) => ({ capdu: e.capdu, rapdu: e.rapdu }));
  const outcome = decodeQpbocOutcome(status, out, cardOnly, decisions);
  return { app: 'qpboc', outcome, transcript };
}
