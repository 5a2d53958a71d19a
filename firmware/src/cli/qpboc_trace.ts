// TRACE.json for vendors: parse a recorded qPBOC exchange and replay it through the kernel.
//
// Shared by `shuaka replay`, `shuaka inspect` and the golden-vector tests. A trace is
// {inputs, terminal?, exchanges}; the golden vectors (assembly/vectors/qpboc_*.vec.json) are
// traces with an id and an expected outcome.

import { KernelOp, KernelStatus, kernelStatusName } from '../../../assembly/host/abi.gen.js';
import type { Kernel } from '../../../assembly/host/kernel_loader.js';
import { jsonSyntaxProblem } from '../app/params/json_fields.js';
import {
  DEFAULT_TERMINAL_CONFIG,
  QPBOC_MODES,
  configureQpboc,
  panDigitsOf,
  runQpbocTransaction,
} from '../../../assembly/host/qpboc_session.js';
import type {
  QpbocAidEntry,
  QpbocCardIdentity,
  QpbocHostDecision,
  QpbocOutcome,
  QpbocTerminalConfig,
  QpbocTransactionInput,
} from '../../../assembly/host/qpboc_session.js';

/** A trace the CLI cannot use: bad JSON, bad hex, missing field. Exit code 2. */
export class TraceError extends Error {}

/** The scripted card met a command that does not fit the next exchange. Exit code 2. */
export class ReplayMismatch extends Error {
  constructor(
    readonly step: number,
    message: string,
  ) {
    super(message);
  }
}

export interface TraceExchange {
  readonly c: Uint8Array;
  /** null: the link is lost on this command (the card left). */
  readonly r: Uint8Array | null;
  readonly note: string | null;
}

export interface DenyListEntry {
  readonly pan: string;
  /** Two digits, or null to deny every PSN of the PAN. */
  readonly psn: string | null;
}

/** A parsed trace. */
export interface Trace {
  readonly input: QpbocTransactionInput;
  readonly config: QpbocTerminalConfig;
  /** UnionPay CA key parameter sets (9F06 9F22 DF05 DF06 DF07 DF02 DF04 DF03). */
  readonly caKeys: readonly Uint8Array[];
  /** Revoked issuer certificates: RID (5) ‖ CA index (1) ‖ serial (3). */
  readonly revoked: readonly Uint8Array[];
  readonly denyList: readonly DenyListEntry[];
  readonly exchanges: readonly TraceExchange[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hexField(value: Json | undefined, where: string, bytes?: number): Uint8Array {
  if (typeof value !== 'string') throw new TraceError(`${where}: expected a hex string`);
  const text = value.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new TraceError(`${where}: bad hex "${value}"`);
  if (bytes !== undefined && text.length !== bytes * 2) {
    throw new TraceError(`${where}: expected ${bytes} bytes, got ${text.length / 2}`);
  }
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

function digitsField(value: Json | undefined, where: string, digits: number): string {
  if (typeof value !== 'string' || !new RegExp(`^\\d{${digits}}$`).test(value)) {
    throw new TraceError(`${where}: expected ${digits} digits`);
  }
  return value;
}

function parseInputs(value: Json | undefined): QpbocTransactionInput {
  if (!isObject(value)) throw new TraceError('inputs: expected an object');
  // auto is the validator's default (run, sim), so a trace without a mode replays as one.
  const mode = QPBOC_MODES.find((m) => m === (value['mode'] ?? 'auto'));
  if (mode === undefined) {
    throw new TraceError('inputs.mode: expected "auto", "ec", "oda" or "full"');
  }
  const type = value['transactionType'];
  const typeValue = type === undefined ? null : hexField(type, 'inputs.transactionType', 1)[0];
  return {
    mode,
    amountMinor: Number(digitsField(value['amount'], 'inputs.amount', 12)),
    date: digitsField(value['date'], 'inputs.date', 6),
    time: digitsField(value['time'], 'inputs.time', 6),
    unpredictableNumber: hexField(value['unpredictableNumber'], 'inputs.unpredictableNumber', 4),
    ...(typeValue === null || typeValue === undefined ? {} : { transactionType: typeValue }),
  };
}

function parseAids(value: Json | undefined): readonly QpbocAidEntry[] {
  if (value === undefined) return DEFAULT_TERMINAL_CONFIG.aids;
  if (!Array.isArray(value) || value.length === 0) {
    throw new TraceError('terminal.aids: expected a non-empty array');
  }
  return value.map((entry, i) => {
    if (typeof entry === 'string')
      return { aid: hexField(entry, `terminal.aids[${i}]`), partialMatch: true };
    if (!isObject(entry)) throw new TraceError(`terminal.aids[${i}]: expected a string or object`);
    return {
      aid: hexField(entry['aid'], `terminal.aids[${i}].aid`),
      partialMatch: entry['partial'] !== false,
    };
  });
}

function parseDenyList(value: Json | undefined): DenyListEntry[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TraceError('terminal.denyList: expected an array');
  return value.map((entry, i) => {
    const where = `terminal.denyList[${i}]`;
    if (typeof entry === 'string') return { pan: digitsPan(entry, where), psn: null };
    if (!isObject(entry)) throw new TraceError(`${where}: expected a PAN or {pan, psn}`);
    const psn = entry['psn'];
    return {
      pan: digitsPan(entry['pan'], `${where}.pan`),
      psn: psn === undefined || psn === null ? null : digitsField(psn, `${where}.psn`, 2),
    };
  });
}

function digitsPan(value: Json | undefined, where: string): string {
  if (typeof value !== 'string' || !/^\d{8,19}$/.test(value)) {
    throw new TraceError(`${where}: expected 8-19 PAN digits`);
  }
  return value;
}

function parseTerminal(value: Json | undefined): Omit<Trace, 'input' | 'exchanges'> {
  if (value !== undefined && !isObject(value)) throw new TraceError('terminal: expected an object');
  const t = value ?? {};
  const limit = t['contactlessLimit'];
  const extra = t['extraTerminalData'];
  const config: QpbocTerminalConfig = {
    countryCode:
      t['countryCode'] === undefined
        ? DEFAULT_TERMINAL_CONFIG.countryCode
        : digitsField(t['countryCode'], 'terminal.countryCode', 4),
    currencyCode:
      t['currencyCode'] === undefined
        ? DEFAULT_TERMINAL_CONFIG.currencyCode
        : digitsField(t['currencyCode'], 'terminal.currencyCode', 4),
    aids: parseAids(t['aids']),
    ...(limit === undefined
      ? {}
      : { contactlessLimitMinor: Number(digitsField(limit, 'terminal.contactlessLimit', 12)) }),
    ...(t['floorLimit'] === undefined
      ? {}
      : { floorLimitMinor: Number(digitsField(t['floorLimit'], 'terminal.floorLimit', 12)) }),
    ...(t['cvmLimit'] === undefined
      ? {}
      : { cvmLimitMinor: Number(digitsField(t['cvmLimit'], 'terminal.cvmLimit', 12)) }),
    ...(extra === undefined
      ? {}
      : { extraTerminalData: hexField(extra, 'terminal.extraTerminalData') }),
  };
  const list = (field: string): Uint8Array[] => {
    const items = t[field];
    if (items === undefined) return [];
    if (!Array.isArray(items)) throw new TraceError(`terminal.${field}: expected an array`);
    return items.map((item, i) => hexField(item, `terminal.${field}[${i}]`));
  };
  const revoked = list('revoked');
  revoked.forEach((entry, i) => {
    if (entry.length !== 9) throw new TraceError(`terminal.revoked[${i}]: expected 9 bytes`);
  });
  return { config, caKeys: list('caKeys'), revoked, denyList: parseDenyList(t['denyList']) };
}

function parseExchanges(value: Json | undefined): TraceExchange[] {
  if (!Array.isArray(value)) throw new TraceError('exchanges: expected an array');
  return value.map((entry, i) => {
    if (!isObject(entry)) throw new TraceError(`exchanges[${i}]: expected {"c": ..., "r": ...}`);
    const c = hexField(entry['c'], `exchanges[${i}].c`);
    if (c.length < 4) throw new TraceError(`exchanges[${i}].c: a C-APDU has at least 4 bytes`);
    const rawR = entry['r'];
    const r = rawR === null ? null : hexField(rawR, `exchanges[${i}].r`);
    const note = entry['note'];
    return { c, r, note: typeof note === 'string' ? note : null };
  });
}

/** Parses TRACE.json text. Throws TraceError with the failing field. */
export function parseTrace(text: string): Trace {
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err) {
    throw new TraceError(`not JSON: ${jsonSyntaxProblem(err)}`);
  }
  if (!isObject(doc)) throw new TraceError('trace: expected a JSON object');
  return {
    input: parseInputs(doc['inputs']),
    ...parseTerminal(doc['terminal']),
    exchanges: parseExchanges(doc['exchanges']),
  };
}

/**
 * Loads the trace's terminal configuration, CA keys and revocations into `kernel`.
 * Throws TraceError when the kernel refuses one of them.
 */
export function prepareKernel(kernel: Kernel, trace: Trace): void {
  // A previous replay may have stopped mid-transaction (mismatch): start from a clean state.
  kernel.step(KernelOp.OP_TXN_ABORT, 0, new Uint8Array(0));
  const config = configureQpboc(kernel, trace.config);
  if (config !== KernelStatus.STATUS_OK) {
    throw new TraceError(
      `terminal: the kernel refused the configuration (${kernelStatusName(config)})`,
    );
  }
  kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0));
  trace.caKeys.forEach((key, i) => {
    const status = kernel.step(KernelOp.OP_CAPK_LOAD, 0, key);
    if (status !== KernelStatus.STATUS_OK) {
      throw new TraceError(`terminal.caKeys[${i}]: refused (${kernelStatusName(status)})`);
    }
  });
  if (trace.revoked.length > 0) {
    const status = kernel.step(KernelOp.OP_CAPK_REVOKE, 0, Buffer.concat([...trace.revoked]));
    if (status !== KernelStatus.STATUS_OK) {
      throw new TraceError(`terminal.revoked: refused (${kernelStatusName(status)})`);
    }
  }
}

/** How the scripted card matches commands: CLA INS P1 P2 (vendor traces) or every byte. */
export type MatchMode = 'header' | 'exact';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/**
 * A card that answers from the recorded exchanges, in order. A command that does not match the
 * next exchange throws ReplayMismatch naming the step; past the last exchange the link is lost.
 */
export class ScriptedCard {
  private next = 0;

  constructor(
    private readonly exchanges: readonly TraceExchange[],
    private readonly match: MatchMode,
  ) {}

  async transceive(capdu: Uint8Array): Promise<Uint8Array | null> {
    const step = this.next;
    const exchange = this.exchanges[step];
    if (exchange === undefined) return null;
    const width = this.match === 'header' ? 4 : Math.max(capdu.length, exchange.c.length);
    const sent = hex(capdu.subarray(0, width));
    const recorded = hex(exchange.c.subarray(0, width));
    if (sent !== recorded) {
      const what = this.match === 'header' ? 'CLA INS P1 P2' : 'command';
      const note = exchange.note === null ? '' : ` (${exchange.note})`;
      throw new ReplayMismatch(
        step,
        `step ${step}${note}: the kernel sent ${hex(capdu)}, ` +
          `its ${what} does not match the recorded ${hex(exchange.c)}`,
      );
    }
    this.next = step + 1;
    return exchange.r === null ? null : exchange.r.slice();
  }

  /** Exchanges used so far. */
  used(): number {
    return this.next;
  }
}

/** Host decision from a deny list (PAN, and PSN when the entry has one). */
export function denyListDecider(
  list: readonly DenyListEntry[],
): (id: QpbocCardIdentity) => QpbocHostDecision {
  return (identity) => {
    const hit = list.some(
      (entry) =>
        entry.pan === identity.pan && (entry.psn === null || entry.psn === identity.panSequence),
    );
    return hit ? 'deny-list' : 'proceed';
  };
}

/** A replay's result: the outcome and how many recorded exchanges were left unused. */
export interface ReplayResult {
  readonly outcome: QpbocOutcome;
  readonly unusedExchanges: number;
}

/** Replays `trace` through a configured kernel. Throws ReplayMismatch on a diverging command. */
export async function replayTrace(
  kernel: Kernel,
  trace: Trace,
  match: MatchMode,
): Promise<ReplayResult> {
  const card = new ScriptedCard(trace.exchanges, match);
  const outcome = await runQpbocTransaction(
    kernel,
    {
      transceive: (capdu) => card.transceive(capdu),
      decide: denyListDecider(trace.denyList),
    },
    trace.input,
  );
  return { outcome, unusedExchanges: trace.exchanges.length - card.used() };
}

/** The outcome as printed by `shuaka replay` (hex strings, JSON-safe). */
export function outcomeJson(result: ReplayResult): Record<string, unknown> {
  const o = result.outcome;
  return {
    outcome: o.kind,
    status: o.statusName,
    reason: o.reason,
    detail: o.detail === 0 ? 0 : detailName(o.detail),
    acType: o.acType,
    balanceMinor: o.balanceMinor,
    oda: { performed: o.odaPerformed, passed: o.odaPassed },
    commitSent: o.commitSent,
    recordKind: o.recordKind,
    clearingRecord: o.clearingRecord === null ? null : hex(o.clearingRecord),
    tornRecord: o.tornRecord === null ? null : hex(o.tornRecord),
    decisions: o.decisions.map((d) => ({
      pan: d.pan,
      panSequence: d.panSequence,
      expiry: d.expiry,
      atc: d.atc,
      aid: d.aid,
    })),
    transcript: o.transcript.map((e) => ({
      c: hex(e.capdu),
      r: e.rapdu === null ? null : hex(e.rapdu),
    })),
    unusedExchanges: result.unusedExchanges,
  };
}

/** A detail value: a kernel status name when negative, else the SW in hex. */
export function detailName(detail: number): string {
  return detail < 0
    ? kernelStatusName(detail)
    : `SW ${detail.toString(16).toUpperCase().padStart(4, '0')}`;
}

export { panDigitsOf };
