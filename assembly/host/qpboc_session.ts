// Host driver of the qPBOC kernel: runs the step machine over an async transceive function.
//
// The kernel decides everything (style.md 10.3); this file only moves bytes: it sends each
// C-APDU the kernel stages, feeds back the R-APDU (or reports the link as lost), asks the
// host to decide before the commit, and decodes the outcome, clearing and torn records.
// Layouts: assembly/README.md, "Transaction ABI".

import { KernelOp, KernelStatus, kernelStatusName } from './abi.gen.js';
import { hexUpper as hexOf } from './hex_upper.js';
import type { Kernel } from './kernel_loader.js';

/**
 * EC: offline electronic cash (TC expected). ODA: UnionPay transit ODA, authorised later: qPBOC
 * with "ODA for online" when the card flags it (DF61), else the full contactless PBOC flow
 * (SDA/DDA/CDA + ARQC). Auto: EC when the purse pays the fare, else as ODA (assembly/README.md).
 * Full: the full contactless PBOC flow for every card (TTQ 40800000; a phone answering with a
 * qPBOC cryptogram continues as in ODA mode).
 */
export type QpbocMode = 'ec' | 'oda' | 'auto' | 'full';

/** Every mode, in the order of the kernel's OP_TXN_BEGIN argument (0-3). */
export const QPBOC_MODES: readonly QpbocMode[] = ['ec', 'oda', 'auto', 'full'];

/** One accepted AID; `partialMatch` lets longer card AIDs match (A000000333 0101 -> 010101...). */
export interface QpbocAidEntry {
  readonly aid: Uint8Array;
  readonly partialMatch: boolean;
}

/** Terminal configuration (OP_TXN_CONFIGURE). Codes are 4 BCD digits ("0156" = China/CNY). */
export interface QpbocTerminalConfig {
  readonly countryCode: string;
  readonly currencyCode: string;
  readonly aids: readonly QpbocAidEntry[];
  /** Contactless transaction limit (DF20): amounts at or above it are not accepted. */
  readonly contactlessLimitMinor?: number;
  /**
   * Contactless offline floor limit (DF19): above it no offline approval (TVR 4.8); the EC
   * lane refuses, mode auto skips the e-cash probe (assembly/README.md, limits).
   */
  readonly floorLimitMinor?: number;
  /** CVM required limit (DF21): amounts at or above it are not accepted (no CVM here). */
  readonly cvmLimitMinor?: number;
  /** Extra primitive terminal objects offered to the PDOL (9F35, 9F33, 9F4E ...), BER-TLV. */
  readonly extraTerminalData?: Uint8Array;
  /** 9F33 terminal capabilities (3 bytes, hex). Default 2008C8 (IC, no CVM, SDA DDA CDA). */
  readonly terminalCapabilities?: string;
  /** 9F35 terminal type (1 byte, hex). Default 25: unattended, offline with online capability. */
  readonly terminalType?: string;
  /** 9F1E IFD serial number (8 ASCII characters). */
  readonly ifdSerialNumber?: string;
  /** 9F09 application version number of the terminal (2 bytes, hex). Default 0030 (PBOC 3.0). */
  readonly applicationVersion?: string;
  /** E-cash balance limit (DF8122): a 9F5D/9F79 balance above it is refused. Default 100000. */
  readonly ecashLimitMinor?: number;
  /** Default DDOL (DF8121, hex) for DDA when the card has no 9F49. Default 9F3704. */
  readonly defaultDdol?: string;
}

/** UnionPay debit/credit/quasi-credit/EC: partial match on A000000333 0101 (domain.md 1.3). */
export const UNIONPAY_AIDS: readonly QpbocAidEntry[] = [
  { aid: Uint8Array.of(0xa0, 0x00, 0x00, 0x03, 0x33, 0x01, 0x01), partialMatch: true },
];

/** A Chinese UnionPay-only validator. */
export const DEFAULT_TERMINAL_CONFIG: QpbocTerminalConfig = {
  countryCode: '0156',
  currencyCode: '0156',
  aids: UNIONPAY_AIDS,
};

/** One transaction's inputs (OP_TXN_BEGIN): all from the host, nothing from a clock or RNG. */
export interface QpbocTransactionInput {
  readonly mode: QpbocMode;
  /** Amount in minor units (fen), 0 .. 999 999 999 999. */
  readonly amountMinor: number;
  /** Transaction date YYMMDD and time hhmmss (local). */
  readonly date: string;
  readonly time: string;
  /** 4 bytes from the host's seeded PRNG. */
  readonly unpredictableNumber: Uint8Array;
  /** 9C, default 0x00 (goods and services). */
  readonly transactionType?: number;
  /** 9F41 transaction sequence counter (0..99 999 999), kept durable by the host; field 55. */
  readonly sequenceCounter?: number;
}

export type QpbocAcType = 'AAC' | 'TC' | 'ARQC' | 'RFU';

/** The card identity handed to the host before the commit (NEED_HOST_DECISION). */
export interface QpbocCardIdentity {
  /** DF name (84) in hex. */
  readonly aid: string;
  /** PAN digits (from 5A, else track 2). */
  readonly pan: string;
  /** 5F34 as two digits, or null. */
  readonly panSequence: string | null;
  /** 5F24 YYMMDD, else the track 2 expiry YYMM, or null. */
  readonly expiry: string | null;
  readonly atc: number;
  readonly amountMinor: number;
  readonly acType: QpbocAcType | null;
  /** True when this decision comes from a recovery (do not apply duplicate-tap rules). */
  readonly recovery: boolean;
  readonly odaMode: boolean;
  /** The path this card is on (qPBOC EC, qPBOC ODA for online, full contactless PBOC flow). */
  readonly path: QpbocPath;
  /** The raw decision request (BER-TLV). */
  readonly tlv: Uint8Array;
}

export type QpbocHostDecision = 'proceed' | 'deny-list' | 'duplicate-tap' | 'refused';
export type QpbocLinkLostCause = 'timeout' | 'card-gone' | 'reader-error';

/** What the session needs from the firmware: the reader and the decision rules. */
export interface QpbocSessionIo {
  /** Sends a C-APDU; resolves to the R-APDU (data + SW1 SW2) or null when the link is lost. */
  transceive(capdu: Uint8Array): Promise<Uint8Array | null>;
  /** Deny list and duplicate-tap rules, before the card commits. */
  decide(identity: QpbocCardIdentity): Promise<QpbocHostDecision> | QpbocHostDecision;
  /** Cause reported when transceive returns null (default 'card-gone'). */
  readonly linkLostCause?: QpbocLinkLostCause;
}

/** One exchange of the transcript; rapdu null = the link was lost on that command. */
export interface QpbocExchange {
  readonly capdu: Uint8Array;
  readonly rapdu: Uint8Array | null;
}

export type QpbocOutcomeKind =
  | 'approved'
  | 'admitted'
  | 'declined'
  | 'try-again'
  | 'use-another-card'
  | 'not-accepted'
  | 'torn'
  | 'recovery-not-pending'
  | 'terminated'
  | 'fault';

export type QpbocRecordKind = 'none' | 'clearing' | 'torn' | 'committed-decline';

/** Which card path ran (outcome byte 19, decision flags bits 2-3). */
export type QpbocPath = 'none' | 'qpboc-ec' | 'qpboc-oda' | 'full-flow';
/** Which ODA method ran (outcome byte 18). */
export type QpbocOdaMethod = 'none' | 'fdda' | 'sda' | 'dda' | 'cda';
const PATHS: readonly QpbocPath[] = ['none', 'qpboc-ec', 'qpboc-oda', 'full-flow'];
const ODA_METHODS: readonly QpbocOdaMethod[] = ['none', 'fdda', 'sda', 'dda', 'cda'];

/** The end of a transaction or recovery. */
export interface QpbocOutcome {
  readonly kind: QpbocOutcomeKind;
  readonly status: number;
  readonly statusName: string;
  readonly reason: QpbocReasonName;
  readonly reasonCode: number;
  /** The callee status or SW behind the reason (e.g. an ERR_ODA_* code), 0 if none. */
  readonly detail: number;
  readonly acType: QpbocAcType | null;
  /** New EC balance (9F5D, else GET DATA 9F79), in minor units; null when not a valid balance. */
  readonly balanceMinor: number | null;
  /** 9F5D when the IAD says it is an offline spending allowance, not a purse balance. */
  readonly offlineAllowanceMinor: number | null;
  readonly path: QpbocPath;
  readonly odaMethod: QpbocOdaMethod;
  readonly odaPerformed: boolean;
  readonly odaPassed: boolean;
  /** The last READ RECORD was sent: the card committed, or may have. */
  readonly commitSent: boolean;
  readonly recovery: boolean;
  readonly linkLostCause: QpbocLinkLostCause | null;
  readonly recordKind: QpbocRecordKind;
  /** ICC data for clearing (approval, admission) or for reconciliation (committed decline). */
  readonly clearingRecord: Uint8Array | null;
  /** Persist this before showing "tap again"; hand it to runQpbocRecovery on the re-tap. */
  readonly tornRecord: Uint8Array | null;
  readonly decisions: readonly QpbocCardIdentity[];
  readonly transcript: readonly QpbocExchange[];
}

/** Reason codes (assembly/src/qpboc/qpboc_reason.ts; a test keeps them in step). */
export const QPBOC_REASONS = {
  0: 'none',
  1: 'offline-approved',
  2: 'oda-admitted',
  3: 'full-flow-admitted',
  10: 'card-declined',
  11: 'online-required',
  12: 'oda-failed',
  13: 'oda-data-missing',
  14: 'oda-not-supported',
  15: 'expired',
  16: 'not-yet-effective',
  17: 'deny-list',
  18: 'duplicate-tap',
  19: 'host-refused',
  20: 'cryptogram-not-arqc',
  21: 'card-data-inconsistent',
  22: 'card-data-invalid',
  23: 'insufficient-ecash',
  24: 'ecash-balance-invalid',
  30: 'link-lost',
  31: 'use-another-interface',
  40: 'no-accepted-app',
  41: 'ppse-failed',
  42: 'amount-over-limit',
  43: 'full-flow-required',
  44: 'kind-not-accepted',
  50: 'atc-mismatch',
  51: 'atc-unavailable',
  52: 'recovery-refused',
  53: 'pan-mismatch',
} as const;

export type QpbocReasonName = (typeof QPBOC_REASONS)[keyof typeof QPBOC_REASONS] | 'unknown';

/** Name of a reason code. */
export function qpbocReasonName(code: number): QpbocReasonName {
  const names: Readonly<Record<number, QpbocReasonName | undefined>> = QPBOC_REASONS;
  return names[code] ?? 'unknown';
}

const DECISION_CODES: Readonly<Record<QpbocHostDecision, number>> = {
  proceed: 1,
  'deny-list': 2,
  'duplicate-tap': 3,
  refused: 4,
};
const LINK_LOST_CODES: Readonly<Record<QpbocLinkLostCause, number>> = {
  timeout: 1,
  'card-gone': 2,
  'reader-error': 3,
};
const AC_TYPES: readonly QpbocAcType[] = ['AAC', 'TC', 'ARQC', 'RFU'];
const RECORD_KINDS: readonly QpbocRecordKind[] = ['none', 'clearing', 'torn', 'committed-decline'];
const OUTCOME_HEADER_BYTES = 20;
/** The input of the operations that take none (the kernel only reads it). */
const NO_INPUT = new Uint8Array(0);
/** Bound on kernel steps per transaction: selects, GPO, records, GET RESPONSE rounds. */
const STEPS_MAX = 256;

/** A BER-TLV object decoded by the host helpers below. */
export interface TlvObject {
  readonly tag: number;
  readonly value: Uint8Array;
  readonly children: readonly TlvObject[] | null;
}

/** Decodes BER-TLV (EMV subset) into a tree; throws on malformed input (kernel output only). */
export function decodeTlv(bytes: Uint8Array): TlvObject[] {
  const out: TlvObject[] = [];
  let p = 0;
  while (p < bytes.length) {
    const first = bytes[p] ?? 0;
    if (first === 0x00 || first === 0xff) {
      p += 1;
      continue;
    }
    let tag = first;
    p += 1;
    if ((first & 0x1f) === 0x1f) {
      do {
        tag = tag * 256 + (bytes[p] ?? 0);
        p += 1;
      } while (((bytes[p - 1] ?? 0) & 0x80) !== 0 && p < bytes.length);
    }
    let length = bytes[p] ?? 0;
    p += 1;
    if (length > 0x80) {
      const count = length & 0x7f;
      length = 0;
      for (let i = 0; i < count; i += 1) length = length * 256 + (bytes[p + i] ?? 0);
      p += count;
    }
    if (p + length > bytes.length) throw new Error(`TLV overflow at tag ${tag.toString(16)}`);
    const value = bytes.subarray(p, p + length);
    out.push({ tag, value, children: (first & 0x20) !== 0 ? decodeTlv(value) : null });
    p += length;
  }
  return out;
}

/** First primitive with `tag` anywhere in the tree. */
export function findTlv(objects: readonly TlvObject[], tag: number): Uint8Array | null {
  for (const object of objects) {
    if (object.tag === tag) return object.value;
    if (object.children !== null) {
      const found = findTlv(object.children, tag);
      if (found !== null) return found;
    }
  }
  return null;
}

/** `digits` (exactly 2 x `bytes` decimal digits) packed two to a byte; throws otherwise. */
function bcd(digits: string, bytes: number, what: string): Uint8Array {
  const out = new Uint8Array(bytes);
  bcdInto(out, 0, digits, bytes, what);
  return out;
}

/** `bcd(digits, bytes, what)` written into `out` at `at`, without an array of its own. */
function bcdInto(out: Uint8Array, at: number, digits: string, bytes: number, what: string): void {
  if (digits.length !== bytes * 2) throw new Error(`${what}: ${digits}`);
  for (let k = 0; k < bytes; k += 1) {
    const high = digits.charCodeAt(2 * k) - 0x30;
    const low = digits.charCodeAt(2 * k + 1) - 0x30;
    if (!(high >= 0 && high <= 9 && low >= 0 && low <= 9)) throw new Error(`${what}: ${digits}`);
    out[at + k] = (high << 4) | low;
  }
}

/** Packed digits of `bytes` up to the first F (5A) or D (57). */
export function panDigitsOf(bytes: Uint8Array): string {
  // The first D or F nibble is found on the bytes: only the digits before it become text.
  const length = bytes.length;
  for (let i = 0; i < length; i += 1) {
    const byte = bytes[i] ?? 0;
    const high = byte >> 4;
    if (high === 0xd || high === 0xf) return hexOf(bytes.subarray(0, i));
    const low = byte & 0x0f;
    if (low === 0xd || low === 0xf) return hexOf(bytes.subarray(0, i + 1)).slice(0, 2 * i + 1);
  }
  return hexOf(bytes);
}

/** One BER-TLV object (tag of 1-3 bytes, minimal length). */
export function tlvEncode(tag: number, value: Uint8Array): Uint8Array {
  const tagBytes = tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
  const length = value.length;
  const lengthBytes = length < 0x80 ? 1 : length <= 0xff ? 2 : 3;
  const out = new Uint8Array(tagBytes + lengthBytes + length);
  let at = 0;
  if (tagBytes === 3) out[at++] = tag >>> 16;
  if (tagBytes >= 2) out[at++] = tag >>> 8;
  out[at++] = tag;
  if (lengthBytes === 3) {
    out[at++] = 0x82;
    out[at++] = length >>> 8;
  } else if (lengthBytes === 2) {
    out[at++] = 0x81;
  }
  out[at++] = length;
  out.set(value, at);
  return out;
}

/** Encodes a terminal configuration for OP_TXN_CONFIGURE. Throws on invalid fields. */
export function encodeQpbocConfig(config: QpbocTerminalConfig): Uint8Array {
  const parts: Uint8Array[] = [
    tlvEncode(0x9f1a, bcd(config.countryCode, 2, 'country code')),
    tlvEncode(0x5f2a, bcd(config.currencyCode, 2, 'currency code')),
  ];
  const limits: ReadonlyArray<readonly [number, number | undefined]> = [
    [0xdf20, config.contactlessLimitMinor],
    [0xdf19, config.floorLimitMinor],
    [0xdf21, config.cvmLimitMinor],
  ];
  for (const [tag, minor] of limits) {
    if (minor !== undefined) parts.push(tlvEncode(tag, amountBcd(minor)));
  }
  for (const entry of config.aids) {
    const body = Buffer.concat([
      tlvEncode(0x4f, entry.aid),
      tlvEncode(0xdf8120, Uint8Array.of(entry.partialMatch ? 1 : 0)),
    ]);
    parts.push(tlvEncode(0xe1, body));
  }
  if (config.ecashLimitMinor !== undefined) {
    parts.push(tlvEncode(0xdf8122, amountBcd(config.ecashLimitMinor)));
  }
  if (config.defaultDdol !== undefined) {
    parts.push(tlvEncode(0xdf8121, hexField(config.defaultDdol, 0, 'default DDOL')));
  }
  parts.push(tlvEncode(0xe2, terminalObjects(config)));
  return Uint8Array.from(Buffer.concat(parts));
}

function hexField(text: string, bytes: number, what: string): Uint8Array {
  if (!/^([0-9A-Fa-f]{2})+$/.test(text) || (bytes > 0 && text.length !== bytes * 2)) {
    throw new Error(`${what}: ${text}`);
  }
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** E2: the field 55 terminal objects (defaults unless the extras carry them), then the extras. */
function terminalObjects(config: QpbocTerminalConfig): Uint8Array {
  const extras = config.extraTerminalData ?? new Uint8Array(0);
  const given = new Set(decodeTlv(extras).map((o) => o.tag));
  const parts: Uint8Array[] = [];
  const fields: ReadonlyArray<readonly [number, string | undefined, string, number, string]> = [
    [0x9f33, config.terminalCapabilities, '2008C8', 3, 'terminal capabilities'],
    [0x9f35, config.terminalType, '25', 1, 'terminal type'],
    [0x9f09, config.applicationVersion, '0030', 2, 'application version'],
  ];
  for (const [tag, value, fallback, bytes, what] of fields) {
    if (value === undefined && given.has(tag)) continue;
    parts.push(tlvEncode(tag, hexField(value ?? fallback, bytes, what)));
  }
  if (config.ifdSerialNumber !== undefined) {
    if (!/^[\x20-\x7e]{8}$/.test(config.ifdSerialNumber)) {
      throw new Error(`IFD serial number: ${config.ifdSerialNumber}`);
    }
    parts.push(tlvEncode(0x9f1e, Uint8Array.from(Buffer.from(config.ifdSerialNumber, 'ascii'))));
  }
  parts.push(extras);
  return Uint8Array.from(Buffer.concat(parts));
}

/** Loads `config` into the kernel. Returns the kernel status (STATUS_OK or ERR_TXN_CONFIG_*). */
export function configureQpboc(kernel: Kernel, config: QpbocTerminalConfig): number {
  return kernel.step(KernelOp.OP_TXN_CONFIGURE, 0, encodeQpbocConfig(config));
}

function amountBcd(amountMinor: number): Uint8Array {
  const out = new Uint8Array(6);
  amountBcdInto(out, 0, amountMinor);
  return out;
}

function amountBcdInto(out: Uint8Array, at: number, amountMinor: number): void {
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0 || amountMinor > 999_999_999_999) {
    throw new Error(`amount out of range: ${amountMinor}`);
  }
  bcdInto(out, at, amountMinor.toString().padStart(12, '0'), 6, 'amount');
}

/**
 * Encodes OP_TXN_BEGIN's input: 9F02(6) 9A(3) 9F21(3) 9F37(4) 9C(1) [9F41(4)]. Throws on bad
 * fields.
 */
export function encodeQpbocInput(input: QpbocTransactionInput): Uint8Array {
  if (input.unpredictableNumber.length !== 4) throw new Error('unpredictable number: 4 bytes');
  const type = input.transactionType ?? 0;
  const counter = input.sequenceCounter;
  const counterValid =
    counter === undefined ||
    (Number.isSafeInteger(counter) && counter >= 0 && counter <= 99_999_999);
  if (!counterValid) throw new Error(`sequence counter out of range: ${counter}`);
  const out = new Uint8Array(counter === undefined ? 17 : 21);
  amountBcdInto(out, 0, input.amountMinor);
  bcdInto(out, 6, input.date, 3, 'date');
  bcdInto(out, 9, input.time, 3, 'time');
  out.set(input.unpredictableNumber, 12);
  out[16] = type & 0xff;
  if (counter !== undefined) bcdInto(out, 17, counter.toString().padStart(8, '0'), 4, 'counter');
  return out;
}

const MODE_ARGS: Readonly<Record<QpbocMode, number>> = { ec: 0, oda: 1, auto: 2, full: 3 };

function modeArg(mode: QpbocMode): number {
  return MODE_ARGS[mode];
}

/**
 * Runs one transaction to its outcome. Returns 'terminated' for a negative kernel status and
 * 'fault' when the kernel trapped (treat as torn-uncertain, style.md 10.5). Never throws on card
 * behaviour; throws only when `input` is malformed or the io throws.
 */
export async function runQpbocTransaction(
  kernel: Kernel,
  io: QpbocSessionIo,
  input: QpbocTransactionInput,
): Promise<QpbocOutcome> {
  const status = kernel.step(KernelOp.OP_TXN_BEGIN, modeArg(input.mode), encodeQpbocInput(input));
  return drive(kernel, io, status);
}

/**
 * Recovers a torn transaction from its torn record on the re-tap of (what the host believes is)
 * the same card: no new GPO, ATC confirmed by GET DATA, outstanding records re-read.
 */
export async function runQpbocRecovery(
  kernel: Kernel,
  io: QpbocSessionIo,
  tornRecord: Uint8Array,
): Promise<QpbocOutcome> {
  const status = kernel.step(KernelOp.OP_TXN_RECOVER, 0, tornRecord);
  return drive(kernel, io, status);
}

async function drive(kernel: Kernel, io: QpbocSessionIo, first: number): Promise<QpbocOutcome> {
  const transcript: QpbocExchange[] = [];
  const decisions: QpbocCardIdentity[] = [];
  let status = first;
  for (let steps = 0; steps < STEPS_MAX; steps += 1) {
    if (status === KernelStatus.STATUS_NEED_APDU) {
      const capdu = kernel.output().slice();
      const rapdu = await io.transceive(capdu);
      transcript.push({ capdu, rapdu: rapdu === null ? null : rapdu.slice() });
      status =
        rapdu === null
          ? kernel.step(
              KernelOp.OP_TXN_LINK_LOST,
              LINK_LOST_CODES[io.linkLostCause ?? 'card-gone'],
              NO_INPUT,
            )
          : kernel.step(KernelOp.OP_TXN_RESUME, 0, rapdu);
    } else if (status === KernelStatus.STATUS_NEED_HOST_DECISION && !isJtt978Request(kernel)) {
      const identity = decodeCardIdentity(kernel.output().slice());
      decisions.push(identity);
      const decision = await io.decide(identity);
      status = kernel.step(KernelOp.OP_TXN_DECIDE, DECISION_CODES[decision], NO_INPUT);
    } else {
      const out = kernel.output().slice();
      // A continue status this driver does not serve (a JT/T 978 card: PSAM command or
      // pre-commit; jtt978_session.ts serves them): end the transaction, nothing was debited.
      if (status > 0 && status < 10) kernel.step(KernelOp.OP_TXN_ABORT, 0, NO_INPUT);
      return decodeQpbocOutcome(status, out, transcript, decisions);
    }
  }
  // A kernel that never ends is a kernel bug: abandon it and report a fault.
  kernel.step(KernelOp.OP_TXN_ABORT, 0, NO_INPUT);
  return decodeQpbocOutcome(KernelStatus.ERR_INTERNAL, NO_INPUT, transcript, decisions);
}

/** A JT/T 978 decision request (first byte 'J'): jtt978_session.ts serves it, not this one. */
function isJtt978Request(kernel: Kernel): boolean {
  return kernel.output()[0] === 0x4a;
}

/**
 * The torn record of the transaction in flight (OP_TXN_SNAPSHOT), for a write-ahead journal
 * entry before answering 'proceed' at the decision point: if power fails during the commit,
 * the journal already holds what runQpbocRecovery needs. Null outside the record phases.
 * Call it only from the `decide` callback (or between steps): it overwrites the kernel output.
 */
export function qpbocSnapshot(kernel: Kernel): Uint8Array | null {
  const status = kernel.step(KernelOp.OP_TXN_SNAPSHOT, 0, NO_INPUT);
  return status === KernelStatus.STATUS_OK ? kernel.output().slice() : null;
}

/** Decodes the decision request of STATUS_NEED_HOST_DECISION. */
export function decodeCardIdentity(tlv: Uint8Array): QpbocCardIdentity {
  const objects = decodeTlv(tlv);
  const get = (tag: number): Uint8Array | null => findTlv(objects, tag);
  const pan = get(0x5a);
  const psn = get(0x5f34);
  const expiry = get(0x5f24);
  const track2 = get(0x57);
  const atc = get(0x9f36);
  const amount = get(0x9f02);
  const ac = get(0xdf8106)?.[0] ?? 0xff;
  const flags = get(0xdf8107)?.[0] ?? 0;
  let expiryText: string | null = expiry === null ? null : hexOf(expiry);
  if (expiryText === null && track2 !== null) {
    const text = hexOf(track2);
    const d = text.indexOf('D');
    expiryText = d < 0 ? null : text.slice(d + 1, d + 5);
  }
  return {
    aid: hexOf(get(0x84) ?? new Uint8Array(0)),
    pan: pan === null ? '' : panDigitsOf(pan),
    panSequence: psn === null ? null : hexOf(psn),
    expiry: expiryText,
    atc: atc === null ? 0 : ((atc[0] ?? 0) << 8) | (atc[1] ?? 0),
    amountMinor: amount === null ? 0 : Number(hexOf(amount)),
    acType: AC_TYPES[ac] ?? null,
    recovery: (flags & 1) !== 0,
    odaMode: (flags & 2) !== 0,
    path: PATHS[(flags >> 2) & 3] ?? 'none',
    tlv,
  };
}

const KIND_BY_STATUS: ReadonlyMap<number, QpbocOutcomeKind> = new Map([
  [KernelStatus.STATUS_APPROVED_OFFLINE, 'approved'],
  [KernelStatus.STATUS_ADMITTED_PENDING_AUTH, 'admitted'],
  [KernelStatus.STATUS_DECLINED, 'declined'],
  [KernelStatus.STATUS_TRY_AGAIN, 'try-again'],
  [KernelStatus.STATUS_TRY_ANOTHER_INTERFACE, 'use-another-card'],
  [KernelStatus.STATUS_NOT_ACCEPTED, 'not-accepted'],
  [KernelStatus.STATUS_TORN, 'torn'],
  [KernelStatus.STATUS_RECOVERY_NOT_PENDING, 'recovery-not-pending'],
]);

const LINK_LOST_CAUSES: readonly (QpbocLinkLostCause | null)[] = [
  null,
  'timeout',
  'card-gone',
  'reader-error',
];

/**
 * Decodes a final kernel status and its output (outcome header + record). Each return is one
 * literal of every field, not a spread of the shared fields grown by the rest one property at
 * a time, which V8 builds several times slower (this runs once per tap).
 */
export function decodeQpbocOutcome(
  status: number,
  out: Uint8Array,
  transcript: readonly QpbocExchange[],
  decisions: readonly QpbocCardIdentity[],
): QpbocOutcome {
  const kind = KIND_BY_STATUS.get(status);
  if (kind === undefined || out.length < OUTCOME_HEADER_BYTES) {
    return decodeQpbocOutcomeEnded(status, transcript, decisions);
  }
  const flags = out[3] ?? 0;
  const recordLength = ((out[6] ?? 0) << 8) | (out[7] ?? 0);
  const record = out.slice(OUTCOME_HEADER_BYTES, OUTCOME_HEADER_BYTES + recordLength);
  const recordKind = RECORD_KINDS[out[2] ?? 0] ?? 'none';
  const reasonCode = out[1] ?? 0;
  return {
    status,
    statusName: kernelStatusName(status),
    transcript,
    decisions,
    kind,
    reasonCode,
    reason: qpbocReasonName(reasonCode),
    detail: int32At(out, 8),
    acType: AC_TYPES[out[4] ?? 0] ?? null,
    balanceMinor: (flags & 0x01) !== 0 ? bcdNumberOf(out, 12, 18) : null,
    offlineAllowanceMinor: (flags & 0x20) !== 0 ? bcdNumberOf(out, 12, 18) : null,
    odaMethod: ODA_METHODS[out[18] ?? 0] ?? 'none',
    path: PATHS[out[19] ?? 0] ?? 'none',
    odaPerformed: (flags & 0x02) !== 0,
    odaPassed: (flags & 0x04) !== 0,
    commitSent: (flags & 0x08) !== 0,
    recovery: (flags & 0x10) !== 0,
    linkLostCause: LINK_LOST_CAUSES[out[5] ?? 0] ?? null,
    recordKind,
    clearingRecord: recordKind === 'clearing' || recordKind === 'committed-decline' ? record : null,
    tornRecord: recordKind === 'torn' ? record : null,
  };
}

/** The outcome of a terminating status (or a fault): no header to read. */
function decodeQpbocOutcomeEnded(
  status: number,
  transcript: readonly QpbocExchange[],
  decisions: readonly QpbocCardIdentity[],
): QpbocOutcome {
  return {
    status,
    statusName: kernelStatusName(status),
    transcript,
    decisions,
    kind: status === KernelStatus.ERR_KERNEL_FAULT ? 'fault' : 'terminated',
    reason: 'none',
    reasonCode: 0,
    detail: status,
    acType: null,
    balanceMinor: null,
    offlineAllowanceMinor: null,
    path: 'none',
    odaMethod: 'none',
    odaPerformed: false,
    odaPassed: false,
    commitSent: false,
    recovery: false,
    linkLostCause: null,
    recordKind: 'none',
    clearingRecord: null,
    tornRecord: null,
  };
}

/** The big-endian signed 32-bit integer at `at` (DataView.getInt32 without a view). */
function int32At(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] ?? 0) << 24) |
    ((bytes[at + 1] ?? 0) << 16) |
    ((bytes[at + 2] ?? 0) << 8) |
    (bytes[at + 3] ?? 0)
  );
}

/**
 * `Number(hexOf(bytes[start..end)))` without the text when every nibble is a decimal digit
 * (packed BCD, all a valid balance has); any other nibble takes the text path, as it always did.
 */
function bcdNumberOf(bytes: Uint8Array, start: number, end: number): number {
  let value = 0;
  for (let k = start; k < end; k += 1) {
    const b = bytes[k] ?? 0;
    const high = b >> 4;
    const low = b & 0x0f;
    if (high > 9 || low > 9) return Number(hexOf(bytes.subarray(start, end)));
    value = value * 100 + high * 10 + low;
  }
  return value;
}

/** What the firmware journals about a torn record (the record itself stays opaque). */
export interface QpbocTornSummary {
  readonly aid: string;
  readonly pan: string;
  readonly panSequence: string | null;
  readonly atc: number;
  readonly amountMinor: number;
  readonly date: string;
  readonly time: string;
  readonly mode: QpbocMode;
  /** Index (0-based, in AFL order) of the first record whose answer never arrived. */
  readonly nextRecord: number;
  readonly recordCount: number;
}

/** Decodes the summary of a torn record (STATUS_TORN outcome). Throws when it is malformed. */
export function decodeTornSummary(torn: Uint8Array): QpbocTornSummary {
  const objects = decodeTlv(torn);
  const need = (tag: number): Uint8Array => {
    const value = findTlv(objects, tag);
    if (value === null) throw new Error(`torn record without ${tag.toString(16)}`);
    return value;
  };
  const progress = need(0xdf8103);
  const atc = need(0x9f36);
  const pan = findTlv(objects, 0x5a) ?? need(0x57);
  const psn = findTlv(objects, 0x5f34);
  return {
    aid: hexOf(need(0x84)),
    pan: panDigitsOf(pan),
    panSequence: psn === null ? null : hexOf(psn),
    atc: ((atc[0] ?? 0) << 8) | (atc[1] ?? 0),
    amountMinor: Number(hexOf(need(0x9f02))),
    date: hexOf(need(0x9a)),
    time: hexOf(need(0x9f21)),
    mode: need(0xdf8102)[0] === 2 ? 'auto' : need(0xdf8102)[0] === 1 ? 'oda' : 'ec',
    nextRecord: progress[0] ?? 0,
    recordCount: progress[1] ?? 0,
  };
}
