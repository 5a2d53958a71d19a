// `shuaka inspect` for T-Union (JT/T 978) dialogues: every card and PSAM command named, its
// data and answer cut into named fields with units (domain.md §7).
//
// A T-Union trace is {"application": "jtt978", "exchanges": [{"device": "card" | "psam",
// "c": HEX, "r": HEX | null, "note"?: TEXT}]}; a trace without "application" is one when it
// selects the T-Union ADF. Decoding reads the recorded bytes only (no kernel replay), so a
// dialogue recorded from any validator can be read.

import { decodeTlv, type TlvObject } from '../../../assembly/host/qpboc_session.js';
import { TraceError } from './qpboc_trace.js';
import { record1ADecode } from '../app/fare/jtt978_records.js';
import {
  BALANCE_RESPONSE, CREDIT_SAM_DATA, DEBIT_DATA, DEBIT_RESPONSE, FILE_0015, FILE_0016, FILE_0017,
  INIT_PURCHASE_DATA, INIT_PURCHASE_RESPONSE, INIT_SAM_DATA, INIT_SAM_RESPONSE, PROOF_DATA,
  PROOF_RESPONSE, PSAM_FILE_0016, PSAM_FILE_0017, RECORD_0018, RECORD_001A, RECORD_001E,
  layoutDecode,
  type DecodedField, type FieldSpec,
} from './jtt978_layouts.js';

/** The T-Union ADF (domain.md §7.1). */
export const JTT978_ADF_AID_HEX = 'A000000632010105';

export type Jtt978Device = 'card' | 'psam';

export interface Jtt978Exchange {
  readonly device: Jtt978Device;
  readonly c: Uint8Array;
  readonly r: Uint8Array | null;
  readonly note: string | null;
}

/** What a part of an exchange decodes to: named fields and/or an error; null: nothing. */
type Part = { readonly fields?: DecodedField[]; readonly error?: string } | null;

/** Status words of the e-purse commands (domain.md §7.4, §7.5; ISO 7816-4). */
const SW_MEANINGS: Readonly<Record<string, string>> = {
  '9000': 'success',
  '9401': 'insufficient balance',
  '9302': 'MAC invalid',
  '9403': 'key not found',
  '6985': 'conditions of use not satisfied (no proof available)',
  '6A82': 'file or application not found',
  '6A83': 'record not found',
  '6700': 'wrong length',
  '6D00': 'instruction not supported',
  '6283': 'selected file invalidated (application blocked)',
};

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** SFI of READ BINARY (P1 = 100xxxxx) or READ/UPDATE RECORD (P2 = xxxxx100 / xxxxx000). */
function sfiOf(capdu: Uint8Array): number {
  const ins = capdu[1] ?? 0;
  if (ins === 0xb0) return ((capdu[2] ?? 0) & 0x80) !== 0 ? (capdu[2] ?? 0) & 0x1f : 0;
  return (capdu[3] ?? 0) >> 3;
}

function sfiName(sfi: number): string {
  return sfi.toString(16).toUpperCase().padStart(4, '0');
}

/** The command's name and the layouts of its data and of its answer. */
interface CommandShape {
  readonly name: string;
  readonly data: readonly FieldSpec[] | 'record' | null;
  readonly answer: readonly FieldSpec[] | 'fci' | 'record' | null;
}

const CARD_FILES: Readonly<Record<number, readonly FieldSpec[]>> = {
  0x15: FILE_0015, 0x16: FILE_0016, 0x17: FILE_0017,
};
const PSAM_FILES: Readonly<Record<number, readonly FieldSpec[]>> = {
  0x16: PSAM_FILE_0016, 0x17: PSAM_FILE_0017,
};

function commandShape(device: Jtt978Device, capdu: Uint8Array): CommandShape {
  const [cla, ins, p1, p2] = [capdu[0] ?? 0, capdu[1] ?? 0, capdu[2] ?? 0, capdu[3] ?? 0];
  const sfi = sfiOf(capdu);
  if (ins === 0xa4) {
    return { name: `SELECT ${hex(capdu.subarray(5, 5 + (capdu[4] ?? 0)))}`, data: null,
      answer: device === 'card' ? 'fci' : null };
  }
  if (ins === 0xb0) {
    const files = device === 'card' ? CARD_FILES : PSAM_FILES;
    return { name: `READ BINARY ${sfiName(sfi)}`, data: null, answer: files[sfi] ?? null };
  }
  if (ins === 0xb2) {
    const layout = sfi === 0x18 ? RECORD_0018 : sfi === 0x1e ? RECORD_001E
      : sfi === 0x1a || sfi === 0x19 ? 'record' : null;
    return { name: `READ RECORD ${p1} of ${sfiName(sfi)}`, data: null, answer: layout };
  }
  if (cla === 0x80 && ins === 0x5c) {
    return { name: 'GET BALANCE', data: null, answer: BALANCE_RESPONSE };
  }
  if (cla === 0x80 && ins === 0x50) {
    const name = p1 === 0x03 ? 'INITIALIZE FOR COMPOUND PURCHASE' : 'INITIALIZE FOR PURCHASE';
    return { name, data: INIT_PURCHASE_DATA, answer: INIT_PURCHASE_RESPONSE };
  }
  if (cla === 0x80 && ins === 0x70) {
    return { name: 'INIT SAM FOR PURCHASE', data: INIT_SAM_DATA, answer: INIT_SAM_RESPONSE };
  }
  if (cla === 0x80 && ins === 0xdc) {
    return { name: `UPDATE CAPP DATA CACHE ${p1} of ${sfiName(p2 >> 3)}`, data: 'record',
      answer: null };
  }
  if (cla === 0x80 && ins === 0x54) {
    return { name: 'DEBIT FOR PURCHASE', data: DEBIT_DATA, answer: DEBIT_RESPONSE };
  }
  if (cla === 0x80 && ins === 0x72) {
    return { name: 'CREDIT SAM FOR PURCHASE', data: CREDIT_SAM_DATA, answer: null };
  }
  if (cla === 0x80 && ins === 0x5a) {
    return { name: 'GET TRANSACTION PROOF', data: PROOF_DATA, answer: PROOF_RESPONSE };
  }
  if (cla === 0x84 && ins === 0x1e) return { name: 'APPLICATION BLOCK', data: null, answer: null };
  return { name: `INS ${hex(capdu.subarray(1, 2))}`, data: null, answer: null };
}

/** The C-APDU's data field (case 3/4: after Lc), or null when there is none. */
function commandData(capdu: Uint8Array): Uint8Array | null {
  if (capdu.length <= 5) return null;
  const lc = capdu[4] ?? 0;
  return capdu.subarray(5, 5 + lc);
}

/** A record of 001A / 0019 (the 001A layout) or 001E, by its length. */
function recordPart(sfi: number, bytes: Uint8Array): Part {
  if (sfi === 0x1e) return layoutDecode(RECORD_001E, bytes);
  const cut = layoutDecode(RECORD_001A, bytes);
  if (!('fields' in cut)) return cut;
  const verdict = record1ADecode(bytes);
  return verdict.ok ? cut : { fields: cut.fields, error: `not a valid record: ${verdict.reason}` };
}

function fciPart(bytes: Uint8Array): Part {
  let tree: TlvObject[];
  try {
    tree = decodeTlv(bytes);
  } catch (error) {
    return { error: `FCI is not BER-TLV (${error instanceof Error ? error.message : ''})` };
  }
  const fields: DecodedField[] = [];
  const walk = (objects: readonly TlvObject[]): DecodedField[] | { error: string } => {
    for (const o of objects) {
      if (o.children !== null) {
        const inner = walk(o.children);
        if ('error' in inner) return inner;
        continue;
      }
      if (o.tag === 0x9f0c) {
        const file = layoutDecode(FILE_0015, o.value);
        if ('error' in file) return { error: `9F0C (copy of file 0015): ${file.error}` };
        fields.push(...file.fields.map((f) => ({ ...f, field: `0015 ${f.field}` })));
        continue;
      }
      const name = o.tag === 0x84 ? 'DF name (AID)' : o.tag === 0x9f08 ? 'application version'
        : `tag ${o.tag.toString(16).toUpperCase()}`;
      fields.push({ field: name, hex: hex(o.value) });
    }
    return fields;
  };
  const out = walk(tree);
  return 'error' in out ? out : { fields: out };
}

function answerPart(shape: CommandShape, capdu: Uint8Array, data: Uint8Array): Part {
  if (shape.answer === null || data.length === 0) return null;
  if (shape.answer === 'fci') return fciPart(data);
  if (shape.answer === 'record') return recordPart(sfiOf(capdu), data);
  // A READ BINARY's Le (case 2, 00 = 256) may ask for the first fields of a file only.
  const le = capdu[1] === 0xb0 && capdu.length === 5 ? (capdu[4] ?? 0) || 256 : null;
  return layoutDecode(shape.answer, data, le);
}

function partJson(prefix: 'command' | 'answer', part: Part): Record<string, unknown> {
  if (part === null) return {};
  const out: Record<string, unknown> = {};
  if (part.fields !== undefined) out[`${prefix}Fields`] = part.fields;
  if (part.error !== undefined) out[`${prefix}Error`] = part.error;
  return out;
}

/** One exchange decoded: command name, fields of its data and answer, status word meaning. */
export function jtt978ExchangeJson(exchange: Jtt978Exchange): Record<string, unknown> {
  const shape = commandShape(exchange.device, exchange.c);
  const data = commandData(exchange.c);
  const commandPart: Part = data === null || shape.data === null ? null
    : shape.data === 'record' ? recordPart((exchange.c[3] ?? 0) >> 3, data)
      : layoutDecode(shape.data, data);
  const base = {
    device: exchange.device, command: shape.name, c: hex(exchange.c),
    r: exchange.r === null ? null : hex(exchange.r),
    ...(exchange.note === null ? {} : { note: exchange.note }),
    ...partJson('command', commandPart),
  };
  if (exchange.r === null) return { ...base, answer: 'none (link lost)' };
  if (exchange.r.length < 2) return { ...base, answerError: 'answer shorter than a status word' };
  const sw = hex(exchange.r.subarray(exchange.r.length - 2));
  const body = exchange.r.subarray(0, exchange.r.length - 2);
  const ok = sw === '9000';
  return {
    ...base, sw, swMeaning: SW_MEANINGS[sw] ?? (sw.startsWith('61') ? 'more data' : 'unknown'),
    ...(ok ? partJson('answer', answerPart(shape, exchange.c, body)) : {}),
  };
}

/** True when `exchanges` select the T-Union ADF (a trace without an "application" field). */
export function selectsJtt978(commands: readonly Uint8Array[]): boolean {
  return commands.some((c) => c[1] === 0xa4 && hex(c.subarray(5)).startsWith(JTT978_ADF_AID_HEX));
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function hexOf(value: Json | undefined, where: string): Uint8Array {
  if (typeof value !== 'string') throw new TraceError(`${where}: expected a hex string`);
  const text = value.replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new TraceError(`${where}: bad hex "${value}"`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/**
 * The exchanges of a T-Union trace, or null when `doc` is not one (no "application":
 * "jtt978" and no SELECT of the T-Union ADF). Throws TraceError on a malformed exchange.
 */
export function jtt978TraceParse(doc: unknown): Jtt978Exchange[] | null {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return null;
  const record = doc as { [key: string]: Json };
  const list = record['exchanges'];
  if (!Array.isArray(list)) return null;
  const application = record['application'];
  if (application !== undefined && application !== 'jtt978') return null;
  const exchanges = list.map((entry, i): Jtt978Exchange => {
    const where = `exchanges[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new TraceError(`${where}: expected {"device", "c", "r"}`);
    }
    const device = entry['device'] ?? 'card';
    if (device !== 'card' && device !== 'psam') {
      throw new TraceError(`${where}.device: expected "card" or "psam"`);
    }
    const c = hexOf(entry['c'], `${where}.c`);
    if (c.length < 4) throw new TraceError(`${where}.c: a C-APDU has at least 4 bytes`);
    const r = entry['r'] === null ? null : hexOf(entry['r'], `${where}.r`);
    const note = entry['note'];
    return { device, c, r, note: typeof note === 'string' ? note : null };
  });
  if (application === undefined && !selectsJtt978(exchanges.map((e) => e.c))) return null;
  return exchanges;
}
