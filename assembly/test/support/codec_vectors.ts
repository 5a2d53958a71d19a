// Loads assembly/vectors/codec.vec.json and turns each vector into one kernel step.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelOp, KernelStatus } from '../../host/abi.gen.js';
import { refTlvParse, type RefTlvEntry } from './ref_codecs.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A vector as stored in the JSON file. */
export interface CodecVector {
  id: string;
  ref: string;
  op: keyof typeof KernelOp;
  data?: string;
  path?: string[];
  dol?: string;
  terminal?: string;
  header?: string;
  le?: number | null;
  capdu?: string;
  rapdu?: string;
  expect: { status: keyof typeof KernelStatus; output?: string; objects?: string[] };
}

/** A vector resolved to the step the kernel must run and the bytes it must answer. */
export interface CodecStep {
  vector: CodecVector;
  op: number;
  arg: number;
  input: Uint8Array;
  status: number;
  /** Expected output bytes (empty when the status is an error). */
  output: Uint8Array;
}

export function hex(text: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new Error(`bad hex: ${text.slice(0, 40)}`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** OP_TLV_PARSE output for a list of entries (12 bytes each, big-endian fields). */
export function encodeEntries(entries: readonly RefTlvEntry[]): Uint8Array {
  const out = new Uint8Array(entries.length * 12);
  const view = new DataView(out.buffer);
  entries.forEach((e, i) => {
    view.setUint32(i * 12, e.tag);
    view.setUint8(i * 12 + 4, e.depth);
    view.setUint8(i * 12 + 5, e.constructed ? 1 : 0);
    view.setUint16(i * 12 + 6, e.headerOffset);
    view.setUint16(i * 12 + 8, e.valueOffset);
    view.setUint16(i * 12 + 10, e.valueLength);
  });
  return out;
}

function tagBytes(tagHex: string): Uint8Array {
  return hex(tagHex);
}

function resolve(vector: CodecVector): CodecStep {
  const status = KernelStatus[vector.expect.status];
  let input: Uint8Array;
  let arg = 0;
  let output = vector.expect.output === undefined ? new Uint8Array(0) : hex(vector.expect.output);
  switch (vector.op) {
    case 'OP_TLV_PARSE': {
      input = hex(vector.data ?? '');
      const parsed = refTlvParse(input);
      if (status === KernelStatus.STATUS_OK) {
        if (!parsed.ok) throw new Error(`${vector.id}: reference refuses a good vector`);
        output = encodeEntries(parsed.entries);
      }
      break;
    }
    case 'OP_TLV_WALK':
      input = hex(vector.data ?? '');
      break;
    case 'OP_TLV_FIND': {
      const path = Buffer.concat((vector.path ?? []).map(tagBytes));
      input = Buffer.concat([path, hex(vector.data ?? '')]);
      arg = path.length;
      break;
    }
    case 'OP_DOL_BUILD': {
      const dol = hex(vector.dol ?? '');
      input = Buffer.concat([dol, hex(vector.terminal ?? '')]);
      arg = dol.length;
      break;
    }
    case 'OP_APDU_BUILD':
      input = Buffer.concat([hex(vector.header ?? ''), hex(vector.data ?? '')]);
      arg = vector.le === null || vector.le === undefined ? 0 : 0x10000 | (vector.le & 0x1ff);
      break;
    case 'OP_APDU_PARSE_COMMAND':
      input = hex(vector.capdu ?? '');
      break;
    case 'OP_APDU_PARSE_RESPONSE':
      input = hex(vector.rapdu ?? '');
      break;
    default:
      throw new Error(`${vector.id}: op ${vector.op} has no resolver`);
  }
  return { vector, op: KernelOp[vector.op], arg, input: Uint8Array.from(input), status, output };
}

/** Every codec vector, resolved. */
export function loadCodecSteps(): CodecStep[] {
  const file = join(REPO_ROOT, 'assembly', 'vectors', 'codec.vec.json');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { vectors: CodecVector[] };
  return doc.vectors.map(resolve);
}
