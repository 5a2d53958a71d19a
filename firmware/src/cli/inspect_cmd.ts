// `shuaka inspect TRACE.json`: the decoded TLV tree of every answer, certificates, fDDA verdict.

import { KernelOp, KernelStatus, kernelStatusName } from '../../../assembly/host/abi.gen.js';
import { loadKernel, type Kernel } from '../../../assembly/host/kernel_loader.js';
import {
  decodeTlv,
  findTlv,
  tlvEncode,
  type TlvObject,
} from '../../../assembly/host/qpboc_session.js';
import { EXIT_OK, EXIT_USAGE, cliHelpAsked, type CliIo } from './cli_args.js';
import { isSmCard, smOdaReport } from './inspect_sm.js';
import { jtt978ExchangeJson, jtt978TraceParse } from './jtt978_inspect.js';
import { loadTraceArgument } from './replay_cmd.js';
import {
  ReplayMismatch,
  TraceError,
  detailName,
  parseTrace,
  prepareKernel,
  replayTrace,
  type ReplayResult,
} from './qpboc_trace.js';

const USAGE = [
  'usage: shuaka inspect [--runtime core|component] TRACE.json',
  '',
  'Replays TRACE.json (see `shuaka replay --help`) and prints one JSON object: every exchange',
  "with its R-APDU decoded as a TLV tree (by the kernel's own parser), the certificates the",
  'kernel recovers from the card data (issuer, ICC) and the fDDA verdict.',
  '',
  'A T-Union (JT/T 978) trace ({"application": "jtt978", "exchanges": [{"device": "card" or',
  '"psam", "c", "r"}]}, or any trace that selects A000000632010105) is decoded from its bytes:',
  'FCI, files 0015/0016/0017, balance, the 0018 log, records 001A/0019/001E and the purchase',
  'commands of card and PSAM, field by field with names and units.',
].join('\n');

/** Names of the tags a qPBOC exchange carries (EMV 4.4 Book 3 Annex A, PBOC 3.0). */
const TAG_NAMES: Readonly<Record<number, string>> = {
  0x4f: 'AID',
  0x50: 'application label',
  0x57: 'track 2 equivalent',
  0x5a: 'PAN',
  0x5f20: 'cardholder name',
  0x5f24: 'expiry date',
  0x5f25: 'effective date',
  0x5f28: 'issuer country',
  0x5f2a: 'currency',
  0x5f2d: 'language preference',
  0x5f30: 'service code',
  0x5f34: 'PAN sequence number',
  0x61: 'directory entry',
  0x6f: 'FCI template',
  0x70: 'record template',
  0x77: 'response template (format 2)',
  0x80: 'response template (format 1)',
  0x82: 'AIP',
  0x84: 'DF name',
  0x87: 'priority',
  0x8c: 'CDOL1',
  0x8d: 'CDOL2',
  0x8e: 'CVM list',
  0x8f: 'CA public key index',
  0x90: 'issuer PK certificate',
  0x92: 'issuer PK remainder',
  0x93: 'signed static data',
  0x94: 'AFL',
  0x9f07: 'application usage control',
  0x9f08: 'application version',
  0x9f0d: 'IAC default',
  0x9f0e: 'IAC denial',
  0x9f0f: 'IAC online',
  0x9f10: 'IAD',
  0x9f11: 'issuer code table index',
  0x9f12: 'preferred name',
  0x9f1f: 'track 1 discretionary',
  0x9f26: 'application cryptogram',
  0x9f27: 'CID',
  0x9f32: 'issuer PK exponent',
  0x9f36: 'ATC',
  0x9f38: 'PDOL',
  0x9f42: 'application currency',
  0x9f44: 'currency exponent',
  0x9f46: 'ICC PK certificate',
  0x9f47: 'ICC PK exponent',
  0x9f48: 'ICC PK remainder',
  0x9f49: 'DDOL',
  0x9f4a: 'SDA tag list',
  0x9f4b: 'signed dynamic application data',
  0x9f4d: 'log entry',
  0x9f4f: 'log format',
  0x9f50: 'offline accumulator balance',
  0x9f51: 'application currency (PBOC)',
  0x9f5d: 'available offline spending amount',
  0x9f63: 'product identification',
  0x9f66: 'TTQ',
  0x9f69: 'card authentication related data',
  0x9f6c: 'CTQ',
  0x9f6d: 'EC reset threshold',
  0x9f74: 'EC issuer authorisation code',
  0x9f77: 'EC balance limit',
  0x9f78: 'EC single transaction limit',
  0x9f79: 'EC balance',
  0xa5: 'FCI proprietary template',
  0xbf0c: 'FCI issuer discretionary data',
  0xdf4d: 'charge log entry',
  0xdf61: 'extended application indicator',
  0xdf69: 'SM algorithm support indicator',
};

interface TreeEntry {
  readonly tag: string;
  readonly name: string;
  readonly depth: number;
  readonly value?: string;
  readonly text?: string;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** The R-APDU data as the kernel's OP_TLV_PARSE sees it. */
function tlvTree(kernel: Kernel, data: Uint8Array): { tree: TreeEntry[] } | { error: string } {
  if (data.length === 0) return { tree: [] };
  const status = kernel.step(KernelOp.OP_TLV_PARSE, 0, data);
  if (status !== KernelStatus.STATUS_OK) return { error: kernelStatusName(status) };
  const out = kernel.output();
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const tree: TreeEntry[] = [];
  for (let p = 0; p + 12 <= out.length; p += 12) {
    const tag = view.getUint32(p);
    const constructed = view.getUint8(p + 5) !== 0;
    const valueOffset = view.getUint16(p + 8);
    const value = data.subarray(valueOffset, valueOffset + view.getUint16(p + 10));
    const printable = value.length > 0 && value.every((b) => b >= 0x20 && b < 0x7f);
    tree.push({
      tag: tag.toString(16).toUpperCase(),
      name: TAG_NAMES[tag] ?? 'unknown',
      depth: view.getUint8(p + 4),
      ...(constructed ? {} : { value: hex(value) }),
      ...(!constructed && printable ? { text: Buffer.from(value).toString('latin1') } : {}),
    });
  }
  return { tree };
}

function commandName(capdu: Uint8Array): string {
  const ins = capdu[1] ?? 0;
  if (ins === 0xa4) return capdu[4] === 0x0e ? 'SELECT PPSE' : 'SELECT AID';
  if (ins === 0xa8) return 'GET PROCESSING OPTIONS';
  if (ins === 0xb2) return `READ RECORD ${capdu[2] ?? 0} SFI ${(capdu[3] ?? 0) >> 3}`;
  if (ins === 0xca) return `GET DATA ${hex(capdu.subarray(2, 4))}`;
  if (ins === 0xc0) return 'GET RESPONSE';
  return `INS ${hex(capdu.subarray(1, 2))}`;
}

interface OdaReport {
  readonly issuerCertificate: Record<string, unknown>;
  readonly iccCertificate: Record<string, unknown>;
  readonly fdda: Record<string, unknown>;
  readonly algorithm?: string;
}

/** Recovers the certificates from what the kernel collected (OP_TXN_DUMP) with the ODA ops. */
function odaReport(kernel: Kernel, result: ReplayResult): OdaReport {
  kernel.step(KernelOp.OP_TXN_DUMP, 0, new Uint8Array(0));
  const dump = decodeTlv(kernel.output().slice());
  const part = (tag: number): readonly TlvObject[] =>
    dump.find((o) => o.tag === tag)?.children ?? [];
  const card = part(0xe2);
  const terminal = part(0xe1);
  const fci = part(0xe3);
  const pick = (from: readonly TlvObject[], tags: readonly number[]): Uint8Array[] =>
    tags.flatMap((tag) => {
      const value = findTlv(from, tag);
      return value === null ? [] : [tlvEncode(tag, value)];
    });
  const staticRecords = findTlv(dump, 0xdf8104) ?? new Uint8Array(0);
  const aip = findTlv(card, 0x82);
  const withAip = findTlv(card, 0x9f4a)?.[0] === 0x82 && aip !== null;
  const staticData = Buffer.concat([staticRecords, withAip ? aip : new Uint8Array(0)]);
  if (isSmCard(card)) {
    return smOdaReport(kernel, { card, terminal, fci, staticData, outcome: result.outcome });
  }
  const base = [
    ...pick(fci, [0x84]),
    ...pick(terminal, [0x9a]),
    ...pick(card, [0x8f, 0x90, 0x92, 0x9f32, 0x5a]),
    ...(findTlv(card, 0x5a) === null ? pick(card, [0x57]) : []),
  ];
  const issuerStatus = kernel.step(KernelOp.OP_ODA_RECOVER_ISSUER, 0, Buffer.concat(base));
  const issuer = certificateJson(issuerStatus, kernel);
  const iccTlv = Buffer.concat([
    ...pick(card, [0x9f46, 0x9f48, 0x9f47, 0x5a]),
    ...(findTlv(card, 0x5a) === null ? pick(card, [0x57]) : []),
    ...pick(terminal, [0x9a]),
  ]);
  const iccStatus =
    issuerStatus === KernelStatus.STATUS_OK
      ? kernel.step(
          KernelOp.OP_ODA_RECOVER_ICC,
          staticData.length,
          Buffer.concat([staticData, iccTlv]),
        )
      : null;
  const icc =
    iccStatus === null
      ? { status: 'not attempted (no issuer key)' }
      : certificateJson(iccStatus, kernel);
  const o = result.outcome;
  const cardAuth = findTlv(card, 0x9f69);
  return {
    issuerCertificate: issuer,
    iccCertificate: { ...icc, staticDataBytes: staticData.length },
    fdda: {
      verdict: o.odaPerformed ? (o.odaPassed ? 'passed' : 'failed') : 'not performed',
      kernelDetail: o.odaPerformed && !o.odaPassed ? detailName(o.detail) : null,
      version: cardAuth === null ? '00' : hex(cardAuth.subarray(0, 1)),
      sdadPresent: findTlv(card, 0x9f4b) !== null,
    },
  };
}

function certificateJson(status: number, kernel: Kernel): Record<string, unknown> {
  if (status !== KernelStatus.STATUS_OK) return { status: kernelStatusName(status) };
  const modulus = kernel.output().slice();
  return { status: 'STATUS_OK', modulusBits: modulus.length * 8, modulus: hex(modulus) };
}

/** The decoded exchanges of a T-Union trace, or null for a qPBOC one. Throws TraceError. */
function jtt978Trace(text: string): Record<string, unknown>[] | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text) as unknown;
  } catch {
    return null;
  }
  return jtt978TraceParse(doc)?.map(jtt978ExchangeJson) ?? null;
}

/** Runs `shuaka inspect`; returns the exit code (0 inspected, 2 usage/trace/mismatch). */
export async function runInspectCommand(argv: string[], io: CliIo): Promise<number> {
  if (cliHelpAsked(argv)) {
    io.out(USAGE);
    return EXIT_OK;
  }
  const loaded = await loadTraceArgument(argv, io, USAGE);
  if (loaded === null) return EXIT_USAGE;
  try {
    const tunion = jtt978Trace(loaded.text);
    if (tunion !== null) {
      io.out(JSON.stringify({ application: 'jtt978', exchanges: tunion }, null, 2));
      return EXIT_OK;
    }
    const trace = parseTrace(loaded.text);
    const kernel = await loadKernel({ runtime: loaded.runtime });
    prepareKernel(kernel, trace);
    const result = await replayTrace(kernel, trace, 'header');
    const oda = odaReport(kernel, result);
    const exchanges = result.outcome.transcript.map((e) => ({
      command: commandName(e.capdu),
      c: hex(e.capdu),
      r: e.rapdu === null ? null : hex(e.rapdu),
      ...(e.rapdu === null
        ? {}
        : {
            sw: hex(e.rapdu.subarray(e.rapdu.length - 2)),
            ...tlvTree(kernel, e.rapdu.subarray(0, e.rapdu.length - 2)),
          }),
    }));
    const o = result.outcome;
    io.out(
      JSON.stringify(
        {
          outcome: o.kind,
          reason: o.reason,
          detail: o.detail === 0 ? 0 : detailName(o.detail),
          exchanges,
          ...oda,
        },
        null,
        2,
      ),
    );
    return EXIT_OK;
  } catch (err) {
    if (err instanceof TraceError || err instanceof ReplayMismatch) {
      io.err(`inspect: ${err instanceof TraceError ? 'bad trace: ' : ''}${err.message}`);
      return EXIT_USAGE;
    }
    throw err;
  }
}
