// Typed host wrappers over the kernel's codec operations (TLV, DOL, APDU).

import { KernelOp, KernelStatus } from './abi.gen.js';
import type { Kernel } from './kernel_loader.js';

/** One object reported by OP_TLV_PARSE (offsets are into the parsed bytes). */
export interface TlvEntry {
  readonly tag: number;
  readonly depth: number;
  readonly constructed: boolean;
  readonly headerOffset: number;
  readonly valueOffset: number;
  readonly valueLength: number;
}

/** A kernel answer: its status, and the output bytes (a copy) when the status is OK. */
export interface CodecResult<T> {
  readonly status: number;
  readonly value: T | null;
}

const TLV_ENTRY_BYTES = 12;

/** Decodes OP_TLV_PARSE output. */
export function decodeTlvEntries(output: Uint8Array): TlvEntry[] {
  const view = new DataView(output.buffer, output.byteOffset, output.byteLength);
  const entries: TlvEntry[] = [];
  for (let p = 0; p + TLV_ENTRY_BYTES <= output.length; p += TLV_ENTRY_BYTES) {
    entries.push({
      tag: view.getUint32(p),
      depth: view.getUint8(p + 4),
      constructed: view.getUint8(p + 5) !== 0,
      headerOffset: view.getUint16(p + 6),
      valueOffset: view.getUint16(p + 8),
      valueLength: view.getUint16(p + 10),
    });
  }
  return entries;
}

/** Every object of `bytes` in document order. Statuses: OK or an ERR_TLV_* code. */
export function tlvParse(kernel: Kernel, bytes: Uint8Array): CodecResult<TlvEntry[]> {
  const status = kernel.step(KernelOp.OP_TLV_PARSE, 0, bytes);
  return {
    status,
    value: status === KernelStatus.STATUS_OK ? decodeTlvEntries(kernel.output()) : null,
  };
}

/** BER encoding of a tag number (1-3 bytes). */
export function encodeTag(tag: number): Uint8Array {
  if (tag <= 0xff) return Uint8Array.of(tag);
  if (tag <= 0xffff) return Uint8Array.of(tag >>> 8, tag & 0xff);
  return Uint8Array.of(tag >>> 16, (tag >>> 8) & 0xff, tag & 0xff);
}

/** Value at a path of tags, e.g. [0x6f, 0xa5, 0xbf0c, 0x61, 0x4f]. */
export function tlvFind(
  kernel: Kernel,
  bytes: Uint8Array,
  path: readonly number[],
): CodecResult<Uint8Array> {
  const pathBytes = Buffer.concat(path.map(encodeTag));
  const status = kernel.step(
    KernelOp.OP_TLV_FIND,
    pathBytes.length,
    Buffer.concat([pathBytes, bytes]),
  );
  return { status, value: status === KernelStatus.STATUS_OK ? kernel.output().slice() : null };
}

/** DOL data built from BER-TLV terminal data. */
export function dolBuild(
  kernel: Kernel,
  dol: Uint8Array,
  terminalTlv: Uint8Array,
): CodecResult<Uint8Array> {
  const status = kernel.step(KernelOp.OP_DOL_BUILD, dol.length, Buffer.concat([dol, terminalTlv]));
  return { status, value: status === KernelStatus.STATUS_OK ? kernel.output().slice() : null };
}

/** A short C-APDU from its header (CLA INS P1 P2), data and optional Le (1..256). */
export function apduBuild(
  kernel: Kernel,
  header: Uint8Array,
  data: Uint8Array,
  le: number | null,
): CodecResult<Uint8Array> {
  const arg = le === null ? 0 : 0x10000 | (le & 0x1ff);
  const status = kernel.step(KernelOp.OP_APDU_BUILD, arg, Buffer.concat([header, data]));
  return { status, value: status === KernelStatus.STATUS_OK ? kernel.output().slice() : null };
}

/** Parsed C-APDU: its case (1-4), header, Lc and Le (0 = absent). */
export interface CommandApduInfo {
  readonly apduCase: number;
  readonly header: Uint8Array;
  readonly lc: number;
  readonly le: number;
}

export function apduParseCommand(kernel: Kernel, capdu: Uint8Array): CodecResult<CommandApduInfo> {
  const status = kernel.step(KernelOp.OP_APDU_PARSE_COMMAND, 0, capdu);
  if (status !== KernelStatus.STATUS_OK) return { status, value: null };
  const out = kernel.output();
  return {
    status,
    value: {
      apduCase: out[0] ?? 0,
      header: out.slice(1, 5),
      lc: out[5] ?? 0,
      le: ((out[6] ?? 0) << 8) | (out[7] ?? 0),
    },
  };
}

/** SW classes of OP_APDU_PARSE_RESPONSE. */
export enum SwClass {
  NORMAL = 0,
  MORE_DATA = 1,
  WRONG_LE = 2,
  WARNING = 3,
  ERROR = 4,
}

export interface ResponseApduInfo {
  readonly sw: number;
  readonly swClass: SwClass;
  readonly dataLength: number;
}

export function apduParseResponse(
  kernel: Kernel,
  rapdu: Uint8Array,
): CodecResult<ResponseApduInfo> {
  const status = kernel.step(KernelOp.OP_APDU_PARSE_RESPONSE, 0, rapdu);
  if (status !== KernelStatus.STATUS_OK) return { status, value: null };
  const out = kernel.output();
  return {
    status,
    value: {
      sw: ((out[0] ?? 0) << 8) | (out[1] ?? 0),
      swClass: (out[2] ?? 0) as SwClass,
      dataLength: ((out[3] ?? 0) << 8) | (out[4] ?? 0),
    },
  };
}
