// Test-only terminal: sends the exact APDU sequences of domain.md 1 and runs ODA independently.

import { expect } from 'vitest';
import type { VirtualCard } from '../../../src/cards/card_model.js';
import type { CaPublicKeyParams } from '../../../src/pki/emv_capk.js';
import { recoverIccKey, recoverIssuerKey, verifySdad } from './emv_verifier.js';
import { findTag, hex, parseTlv, primitives, toHexT } from './tlv_walk.js';
import type { TlvNode } from './tlv_walk.js';

export const SELECT_PPSE_HEX = '00A404000E325041592E5359532E444446303100';

/** A card answer split into data and status word. */
export interface Answer {
  readonly data: Uint8Array;
  readonly sw: number;
  readonly raw: Uint8Array;
}

/** Sends one APDU (hex) and splits the answer; fails the test when the card is silent. */
export function send(card: VirtualCard, apduHex: string): Answer {
  const raw = card.transceive(hex(apduHex));
  if (raw === null) throw new Error(`no answer to ${apduHex}`);
  const n = raw.length;
  return { data: raw.slice(0, n - 2), sw: ((raw[n - 2] ?? 0) << 8) | (raw[n - 1] ?? 0), raw };
}

/** The terminal's side of a tap. */
export interface TapInput {
  readonly amountMinor: number;
  readonly ttqHex: string;
  readonly unHex: string;
  readonly dateHex: string;
  readonly currencyHex: string;
}

export const DEFAULT_TAP: TapInput = {
  amountMinor: 200,
  ttqHex: '26000080',
  unHex: '2b29ebe4',
  dateHex: '250601',
  currencyHex: '0156',
};

/** Terminal values for the PDOL (the rest is zero-filled, per DOL rules). */
export function terminalValues(input: TapInput): Map<number, Uint8Array> {
  return new Map([
    [0x9f66, hex(input.ttqHex)],
    [0x9f02, hex(input.amountMinor.toString().padStart(12, '0'))],
    [0x9f03, hex('000000000000')],
    [0x9f1a, hex('0156')],
    [0x95, hex('0000000000')],
    [0x5f2a, hex(input.currencyHex)],
    [0x9a, hex(input.dateHex)],
    [0x9c, hex('00')],
    [0x9f37, hex(input.unHex)],
    [0x9f21, hex('123045')],
  ]);
}

/** Builds DOL data (EMV Book 3, 5.4): values cut or zero-padded to the asked length. */
export function buildDolData(dol: Uint8Array, values: ReadonlyMap<number, Uint8Array>): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < dol.length) {
    let tag = dol[i++] ?? 0;
    if ((tag & 0x1f) === 0x1f) {
      let b: number;
      do {
        b = dol[i++] ?? 0;
        tag = tag * 256 + b;
      } while ((b & 0x80) !== 0);
    }
    const length = dol[i++] ?? 0;
    const value = values.get(tag) ?? new Uint8Array(0);
    for (let k = 0; k < length; k += 1) out.push(value[k] ?? 0);
  }
  return Uint8Array.from(out);
}

/** The APDU hex of a GPO carrying `pdolData`. */
export function gpoApdu(pdolData: Uint8Array): string {
  const lc = pdolData.length + 2;
  return `80A80000${byte(lc)}83${byte(pdolData.length)}${toHexT(pdolData)}00`;
}

/** READ RECORD `rec` of `sfi`. */
export function readRecordApdu(sfi: number, rec: number): string {
  return `00B2${byte(rec)}${byte((sfi << 3) | 4)}00`;
}

function byte(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Everything a tap collected. */
export interface Tap {
  readonly ppse: Answer;
  readonly select: Answer;
  readonly gpo: Answer;
  readonly gpoTlv: readonly TlvNode[];
  readonly input: TapInput;
  /** Records in AFL order: [sfi, rec, bytes]. */
  readonly records: readonly (readonly [number, number, Uint8Array])[];
  readonly afl: Uint8Array | null;
}

/** AFL entries as [sfi, first, last, oda] tuples. */
export function aflEntries(afl: Uint8Array): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  for (let i = 0; i + 3 < afl.length; i += 4) {
    out.push([(afl[i] ?? 0) >> 3, afl[i + 1] ?? 0, afl[i + 2] ?? 0, afl[i + 3] ?? 0]);
  }
  return out;
}

/**
 * PPSE, SELECT AID, GPO, then READ RECORD for every AFL record (or only `readLimit` of them).
 * Asserts 9000 and well-formed templates at each step.
 */
export function runTap(
  card: VirtualCard,
  aidHex: string,
  input: TapInput,
  readLimit = Number.POSITIVE_INFINITY,
): Tap {
  const ppse = send(card, SELECT_PPSE_HEX);
  expect(ppse.sw).toBe(0x9000);
  const select = send(card, `00A40400${byte(aidHex.length / 2)}${aidHex}00`);
  expect(select.sw).toBe(0x9000);
  const fci = parseTlv(select.data);
  expect(fci[0]?.tag).toBe(0x6f);
  const pdol = findTag(fci, 0x9f38)?.value ?? new Uint8Array(0);
  const gpo = send(card, gpoApdu(buildDolData(pdol, terminalValues(input))));
  expect(gpo.sw).toBe(0x9000);
  const gpoTlv = parseTlv(gpo.data);
  expect(gpoTlv.length).toBe(1);
  const afl = findTag(gpoTlv, 0x94)?.value ?? null;
  const records: [number, number, Uint8Array][] = [];
  for (const [sfi, first, last] of afl === null ? [] : aflEntries(afl)) {
    for (let rec = first; rec <= last && records.length < readLimit; rec += 1) {
      const r = send(card, readRecordApdu(sfi, rec));
      expect(r.sw).toBe(0x9000);
      const tlv = parseTlv(r.data);
      expect(tlv.length).toBe(1);
      expect(tlv[0]?.tag).toBe(0x70);
      records.push([sfi, rec, r.data]);
    }
  }
  return { ppse, select, gpo, gpoTlv, input, records, afl };
}

/** The cryptogram type the CVR announces: IAD byte 5 & 0x30. */
export function acType(tap: Tap): 'TC' | 'ARQC' | 'AAC' | 'RFU' {
  const iad = findTag(tap.gpoTlv, 0x9f10)?.value;
  const bits = (iad?.[4] ?? 0xff) & 0x30;
  return bits === 0x10 ? 'TC' : bits === 0x20 ? 'ARQC' : bits === 0x00 ? 'AAC' : 'RFU';
}

/** Value of `tag` from the GPO answer or any record (first occurrence). */
export function tapValue(tap: Tap, tag: number): Uint8Array | undefined {
  const inGpo = findTag(tap.gpoTlv, tag);
  if (inGpo !== undefined) return inGpo.value;
  for (const [, , bytes] of tap.records) {
    const node = findTag(parseTlv(bytes), tag);
    if (node !== undefined) return node.value;
  }
  return undefined;
}

/** Result of the terminal's ODA. */
export type OdaResult =
  | { readonly ok: true; readonly idn: number; readonly v01: boolean }
  | { readonly ok: false; readonly reason: string };

/**
 * Full fDDA as a terminal does it: CA key by RID and 8F, issuer and ICC key recovery with the
 * static data built from the AFL (SFI 1-10: 70 value; 11-30: whole record; then the AIP), and
 * SDAD verification with the terminal data the tap sent.
 */
export function terminalOda(
  tap: Tap,
  caKeys: readonly CaPublicKeyParams[],
  aidHex: string,
): OdaResult {
  const get = (tag: number): Uint8Array => tapValue(tap, tag) ?? new Uint8Array(0);
  const caIndex = get(0x8f)[0];
  const ca = caKeys.find((k) => k.index === caIndex && aidHex.startsWith(k.ridHex));
  if (ca === undefined) return { ok: false, reason: `no CA key ${String(caIndex)}` };
  const pan = toHexT(get(0x5a)).replace(/f+$/, '');
  const caKey = { modulus: hex(ca.modulusHex), exponent: hex(ca.exponentHex) };
  const issuer = recoverIssuerKey(caKey, get(0x90), get(0x92), get(0x9f32), pan);
  if (typeof issuer === 'string') return { ok: false, reason: `issuer: ${issuer}` };
  const sda = staticData(tap);
  const icc = recoverIccKey(issuer.key, get(0x9f46), get(0x9f48), get(0x9f47), sda, pan);
  if (typeof icc === 'string') return { ok: false, reason: `icc: ${icc}` };
  const cad = tapValue(tap, 0x9f69) ?? null;
  const amount = hex(tap.input.amountMinor.toString().padStart(12, '0'));
  const currency = hex(tap.input.currencyHex);
  const idn = verifySdad(icc.key, get(0x9f4b), hex(tap.input.unHex), amount, currency, cad);
  if (typeof idn === 'string') return { ok: false, reason: `sdad: ${idn}` };
  if (idn.length !== 2) return { ok: false, reason: `IDN of ${idn.length} bytes` };
  return { ok: true, idn: ((idn[0] ?? 0) << 8) | (idn[1] ?? 0), v01: cad !== null };
}

/** Static data to be authenticated, from the records the tap read. */
export function staticData(tap: Tap): Uint8Array {
  const out: number[] = [];
  for (const [sfi, first, , oda] of tap.afl === null ? [] : aflEntries(tap.afl)) {
    for (let rec = first; rec < first + oda; rec += 1) {
      const entry = tap.records.find(([s, r]) => s === sfi && r === rec);
      if (entry === undefined) continue;
      const node = parseTlv(entry[2])[0];
      out.push(...(sfi <= 10 ? (node?.value ?? []) : entry[2]));
    }
  }
  const tagList = tapValue(tap, 0x9f4a);
  if (tagList !== undefined && toHexT(tagList) === '82') {
    out.push(...(findTag(tap.gpoTlv, 0x82)?.value ?? []));
  }
  return Uint8Array.from(out);
}

/** All primitive tags of the tap (GPO + records), to check for duplicates. */
export function allPrimitiveTags(tap: Tap): number[] {
  const nodes = [...primitives(tap.gpoTlv)];
  for (const [, , bytes] of tap.records) nodes.push(...primitives(parseTlv(bytes)));
  return nodes.map((n) => n.tag);
}
