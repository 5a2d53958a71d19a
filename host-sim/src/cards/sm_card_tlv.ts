// SM card answers: swaps the ODA objects inside a GPO (77) or READ RECORD (70) template.

import { berTlv, concatBytes } from '../pki/emv_bytes.js';

/** The SM objects of one transaction (sm_card.ts builds them at GPO). */
export interface SmObjects {
  readonly caIndex: number;
  readonly issuerCert: Uint8Array;
  readonly iccCert: Uint8Array;
  /** The 9F69 the card sends instead of its RSA twin's (null: fDDA v00, 9F69 kept). */
  readonly cardAuth: Uint8Array | null;
  /** Signs the SM SDAD for the ATC of this transaction. */
  readonly sdad: (atc: number) => Uint8Array;
}

const TAG_70_RECORD = 0x70;
const TAG_77_FORMAT2 = 0x77;
const TAG_8F_CA_INDEX = 0x8f;
const TAG_90_ISSUER_CERT = 0x90;
const TAG_9F36_ATC = 0x9f36;
const TAG_9F46_ICC_CERT = 0x9f46;
const TAG_9F4B_SDAD = 0x9f4b;
const TAG_9F69_CARD_AUTH = 0x9f69;
/** RSA-only objects an SM answer leaves out: remainders and exponents. */
const RSA_ONLY_TAGS = new Set([0x92, 0x9f32, 0x9f47, 0x9f48]);

interface Tlv {
  readonly tag: number;
  readonly value: Uint8Array;
}

// The ATC of the last GPO answer and the SDAD signed for it (one signature per transaction).
const signed = new WeakMap<SmObjects, { atc: number; sdad: Uint8Array }>();

/**
 * The template `data` (one 70 or 77 object) with the SM objects swapped in, or null when it is
 * not such a template (then the answer passes unchanged).
 */
export function smRewriteTemplate(data: Uint8Array, objects: SmObjects): Uint8Array | null {
  const outer = parseList(data);
  const template = outer?.[0];
  if (outer === null || outer.length !== 1 || template === undefined) return null;
  if (template.tag !== TAG_70_RECORD && template.tag !== TAG_77_FORMAT2) return null;
  const inner = parseList(template.value);
  if (inner === null) return null;
  const atc = inner.find((t) => t.tag === TAG_9F36_ATC);
  if (atc !== undefined) signed.set(objects, { atc: readU16(atc.value), sdad: new Uint8Array(0) });
  const out: Uint8Array[] = [];
  for (const t of inner) {
    const value = swapped(t, objects);
    if (value !== null) out.push(berTlv(t.tag, value));
  }
  return berTlv(template.tag, concatBytes(...out));
}

function swapped(t: Tlv, objects: SmObjects): Uint8Array | null {
  if (RSA_ONLY_TAGS.has(t.tag)) return null;
  switch (t.tag) {
    case TAG_8F_CA_INDEX:
      return Uint8Array.of(objects.caIndex);
    case TAG_90_ISSUER_CERT:
      return objects.issuerCert;
    case TAG_9F46_ICC_CERT:
      return objects.iccCert;
    case TAG_9F69_CARD_AUTH:
      return objects.cardAuth ?? t.value;
    case TAG_9F4B_SDAD:
      return sdadOf(objects);
    default:
      return t.value;
  }
}

function sdadOf(objects: SmObjects): Uint8Array {
  const state = signed.get(objects) ?? { atc: 0, sdad: new Uint8Array(0) };
  if (state.sdad.length === 0) {
    state.sdad = objects.sdad(state.atc);
    signed.set(objects, state);
  }
  return state.sdad;
}

function readU16(value: Uint8Array): number {
  return ((value[0] ?? 0) << 8) | (value[1] ?? 0);
}

/** A flat BER-TLV list (tags up to 3 bytes, lengths up to 82 xx xx), or null when malformed. */
function parseList(bytes: Uint8Array): Tlv[] | null {
  const out: Tlv[] = [];
  let at = 0;
  // Each object takes at least two bytes: the loop ends within bytes.length / 2 rounds.
  while (at < bytes.length) {
    let tag = bytes[at] ?? 0;
    at += 1;
    if ((tag & 0x1f) === 0x1f) {
      for (let more = true; more && at < bytes.length; at += 1) {
        const b = bytes[at] ?? 0;
        tag = (tag << 8) | b;
        more = (b & 0x80) !== 0;
      }
    }
    let length = bytes[at] ?? -1;
    at += 1;
    if (length === 0x81 || length === 0x82) {
      const count = length & 0x7f;
      length = 0;
      for (let i = 0; i < count; i += 1) length = (length << 8) | (bytes[at + i] ?? 0);
      at += count;
    } else if (length < 0 || length > 0x7f) {
      return null;
    }
    if (at + length > bytes.length) return null;
    out.push({ tag, value: bytes.subarray(at, at + length) });
    at += length;
  }
  return out;
}
