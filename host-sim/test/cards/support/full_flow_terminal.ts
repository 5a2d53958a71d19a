// Test-only terminal for the full contactless PBOC flow (domain.md 6.2): GPO with TTQ 1.b7,
// READ RECORD per AFL, INTERNAL AUTHENTICATE, GENERATE AC, and independent ODA checks.

import { expect } from 'vitest';
import type { VirtualCard } from '../../../src/cards/card_model.js';
import type { CaPublicKeyParams } from '../../../src/pki/emv_capk.js';
import { recoverIccKey, recoverIssuerKey } from './emv_verifier.js';
import type { PublicKey } from './emv_verifier.js';
import {
  DEFAULT_TAP,
  SELECT_PPSE_HEX,
  aflEntries,
  buildDolData,
  gpoApdu,
  readRecordApdu,
  send,
  staticData,
  tapValue,
  terminalValues,
} from './test_terminal.js';
import type { Answer, Tap, TapInput } from './test_terminal.js';
import { findTag, hex, parseTlv, toHexT } from './tlv_walk.js';

/** TTQ of a stock-card ODA step: full contactless PBOC flow only (domain.md 6.2). */
export const TTQ_FULL_FLOW = '40000000';
/** GENERATE AC P1 values. See EMV 4.4 Book 3, Table 12. */
export const P1_AAC = 0x00;
export const P1_TC = 0x40;
export const P1_ARQC = 0x80;
export const P1_CDA = 0x10;

/** The terminal's values for PDOL, CDOLs and DDOL: PDOL ones plus merchant name and 8A. */
export function fullFlowValues(input: TapInput, arcAscii = 'Z3'): Map<number, Uint8Array> {
  const values = terminalValues(input);
  values.set(0x9f4e, hex(Buffer.from('SHUAKA BUS 1'.padEnd(20, ' ')).toString('hex')));
  values.set(0x8a, hex(Buffer.from(arcAscii).toString('hex')));
  return values;
}

/** A full-flow transaction up to the records, seen as a Tap (AIP as an 82 node). */
export interface FullFlowStart {
  readonly tap: Tap;
  readonly aip: Uint8Array;
  readonly gpoFormat: 1 | 2;
  readonly pdolData: Uint8Array;
}

/** PPSE, SELECT, GPO (full flow), READ RECORD of every AFL record; asserts 9000 throughout. */
export function startFullFlow(
  card: VirtualCard,
  aidHex: string,
  input: TapInput = { ...DEFAULT_TAP, ttqHex: TTQ_FULL_FLOW },
): FullFlowStart {
  const ppse = send(card, SELECT_PPSE_HEX);
  expect(ppse.sw).toBe(0x9000);
  const select = send(
    card,
    `00A40400${(aidHex.length / 2).toString(16).padStart(2, '0')}${aidHex}00`,
  );
  expect(select.sw).toBe(0x9000);
  const pdol = findTag(parseTlv(select.data), 0x9f38)?.value ?? new Uint8Array(0);
  const pdolData = buildDolData(pdol, fullFlowValues(input));
  const gpo = send(card, gpoApdu(pdolData));
  expect(gpo.sw).toBe(0x9000);
  const top = parseTlv(gpo.data);
  expect(top.length).toBe(1);
  let aip: Uint8Array;
  let afl: Uint8Array;
  let gpoFormat: 1 | 2;
  if (top[0]?.tag === 0x80) {
    gpoFormat = 1;
    aip = top[0].value.slice(0, 2);
    afl = top[0].value.slice(2);
  } else {
    gpoFormat = 2;
    expect(top[0]?.tag).toBe(0x77);
    // Format 2 without a cryptogram: AIP and AFL only.
    expect((top[0]?.children ?? []).map((n) => n.tag)).toEqual([0x82, 0x94]);
    aip = findTag(top, 0x82)?.value ?? new Uint8Array(0);
    afl = findTag(top, 0x94)?.value ?? new Uint8Array(0);
  }
  expect(afl.length % 4).toBe(0);
  const records: [number, number, Uint8Array][] = [];
  for (const [sfi, first, last] of aflEntries(afl)) {
    for (let rec = first; rec <= last; rec += 1) {
      const r = send(card, readRecordApdu(sfi, rec));
      expect(r.sw, `record ${sfi}.${rec}`).toBe(0x9000);
      expect(parseTlv(r.data)[0]?.tag).toBe(0x70);
      records.push([sfi, rec, r.data]);
    }
  }
  const gpoTlv = parseTlv(hex(`8202${toHexT(aip)}`));
  const tap: Tap = { ppse, select, gpo, gpoTlv, input, records, afl };
  return { tap, aip, gpoFormat, pdolData };
}

/** Issuer and ICC keys recovered from the records with the test's own verifier. */
export interface RecoveredKeys {
  readonly issuer: PublicKey;
  readonly icc: PublicKey | null;
  readonly staticData: Uint8Array;
}

/** Recovers the issuer key and (when 9F46 is present) the ICC key, or returns an error. */
export function recoverKeys(
  start: FullFlowStart,
  caKeys: readonly CaPublicKeyParams[],
  aidHex: string,
): RecoveredKeys | string {
  const get = (tag: number): Uint8Array => tapValue(start.tap, tag) ?? new Uint8Array(0);
  const ca = caKeys.find((k) => k.index === get(0x8f)[0] && aidHex.startsWith(k.ridHex));
  if (ca === undefined) return 'no CA key';
  const pan = toHexT(get(0x5a)).replace(/f+$/, '');
  const caKey = { modulus: hex(ca.modulusHex), exponent: hex(ca.exponentHex) };
  const issuer = recoverIssuerKey(caKey, get(0x90), get(0x92), get(0x9f32), pan);
  if (typeof issuer === 'string') return `issuer: ${issuer}`;
  const sda = staticData(start.tap);
  if (tapValue(start.tap, 0x9f46) === undefined) {
    return { issuer: issuer.key, icc: null, staticData: sda };
  }
  const icc = recoverIccKey(issuer.key, get(0x9f46), get(0x9f48), get(0x9f47), sda, pan);
  if (typeof icc === 'string') return `icc: ${icc}`;
  return { issuer: issuer.key, icc: icc.key, staticData: sda };
}

/** The APDU hex of GENERATE AC with P1 and the CDOL data. */
export function generateAcApdu(p1: number, data: Uint8Array): string {
  const b = (n: number): string => n.toString(16).padStart(2, '0');
  return `80AE${b(p1)}00${b(data.length)}${toHexT(data)}00`;
}

/** The APDU hex of INTERNAL AUTHENTICATE with the DDOL data. */
export function internalAuthenticateApdu(data: Uint8Array): string {
  return `00880000${data.length.toString(16).padStart(2, '0')}${toHexT(data)}00`;
}

/** CDOL data built from the card's 8C or 8D in the records. */
export function cdolData(
  start: FullFlowStart,
  tag: 0x8c | 0x8d,
  values: Map<number, Uint8Array>,
): Uint8Array {
  const dol = tapValue(start.tap, tag);
  if (dol === undefined) throw new Error(`no ${tag.toString(16)} in the records`);
  return buildDolData(dol, values);
}

/** A GENERATE AC answer split into its parts (format 1 or 2). */
export interface GenAcParts {
  readonly format: 1 | 2;
  readonly cid: number;
  readonly atc: number;
  /** 9F26, or null when CDA carries it inside 9F4B. */
  readonly cryptogram: Uint8Array | null;
  readonly iad: Uint8Array;
  readonly sdad: Uint8Array | null;
  /** The TLVs of a format 2 answer except 9F4B, raw, in order (CDA hashes them). */
  readonly tlvsExceptSdad: Uint8Array;
}

/** Splits a GENERATE AC answer; throws on a malformed one. */
export function parseGenAc(answer: Answer): GenAcParts {
  const top = parseTlv(answer.data);
  const node = top[0];
  if (top.length !== 1 || node === undefined) throw new Error('not one template');
  if (node.tag === 0x80) {
    const v = node.value;
    return {
      format: 1,
      cid: v[0] ?? -1,
      atc: ((v[1] ?? 0) << 8) | (v[2] ?? 0),
      cryptogram: v.slice(3, 11),
      iad: v.slice(11),
      sdad: null,
      tlvsExceptSdad: new Uint8Array(0),
    };
  }
  if (node.tag !== 0x77 || node.children === null) throw new Error('not 80 or 77');
  const get = (tag: number): Uint8Array | undefined => findTag(node.children ?? [], tag)?.value;
  const rest = node.children.filter((n) => n.tag !== 0x9f4b).flatMap((n) => [...n.raw]);
  const atc = get(0x9f36) ?? new Uint8Array(2);
  return {
    format: 2,
    cid: get(0x9f27)?.[0] ?? -1,
    atc: ((atc[0] ?? 0) << 8) | (atc[1] ?? 0),
    cryptogram: get(0x9f26) ?? null,
    iad: get(0x9f10) ?? new Uint8Array(0),
    sdad: get(0x9f4b) ?? null,
    tlvsExceptSdad: Uint8Array.from(rest),
  };
}
