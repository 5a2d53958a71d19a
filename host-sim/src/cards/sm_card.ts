// SM (PBOC 3.0 national cryptography) virtual cards: a qPBOC card that signs ODA with SM2/SM3.
//
// The card is a host-sim qPBOC card (all its transaction rules, ledger and faults) with its ODA
// objects swapped on the way out when SM applies (domain.md 3.6): the PDOL asks for DF69; with
// DF69 = 01 (or always, for an SM-only card) READ RECORD answers carry the SM CA index (8F),
// the SM issuer certificate (90, format 12) and ICC certificate (9F46, format 14) instead of
// the RSA ones (92 9F32 9F47 9F48 dropped), and 9F4B is the SM SDAD (format 15) over the
// terminal's 9F37 9F02 5F2A and a 9F69 the card draws itself. An RSA-and-SM card answers
// DF69 = 00 exactly as its RSA twin. Certificates come from sm_cert.ts (OpenSSL curve math).

import type { Prng } from '../prng.js';
import { concatBytes } from '../pki/emv_bytes.js';
import type { Sm2KeyPair } from '../pki/sm2_sign.js';
import { smSdad } from '../pki/sm_cert.js';
import { gpoCommandTemplate, parseDol, splitDolData } from './card_dol.js';
import type { DolEntry } from './card_dol.js';
import type { QpbocCard } from './qpboc_card.js';
import { smRewriteTemplate, type SmObjects } from './sm_card_tlv.js';

/** Which ODA an SM card offers: SM2 only, or RSA unless the terminal sends DF69 = 01. */
export type SmCardMode = 'sm-only' | 'rsa-and-sm';

/** The SM half of a card: keys, certificates (signed at personalisation) and mode. */
export interface SmCardMaterial {
  readonly mode: SmCardMode;
  readonly caIndex: number;
  readonly iccKey: Sm2KeyPair;
  readonly issuerCert: Uint8Array;
  readonly iccCert: Uint8Array;
}

const TAG_DF69_SM_SUPPORT = 0xdf69;
const TAG_9F66_TTQ = 0x9f66;
const TAG_9F37_UN = 0x9f37;
const TAG_9F02_AMOUNT = 0x9f02;
const TAG_5F2A_CURRENCY = 0x5f2a;
const TTQ4_FDDA_V01 = 0x80;
const INS_A8_GPO = 0xa8;
const INS_B2_READ_RECORD = 0xb2;

/**
 * Wraps `base` (a personalised qPBOC card whose PDOL asks for DF69) as an SM card.
 * `prng` draws the card unpredictable number of 9F69 and the SM2 nonces.
 */
export function withSm(base: QpbocCard, material: SmCardMaterial, prng: Prng): QpbocCard {
  const app = base.personalised.apps[0];
  if (app === undefined) throw new Error(`${base.label}: no application to make SM`);
  const pdol = parseDol(Uint8Array.from(Buffer.from(app.profile.pdolHex, 'hex')));
  if (!pdol.some((e) => e.tag === TAG_DF69_SM_SUPPORT)) {
    throw new Error(`${base.label}: the PDOL must ask for DF69 to offer SM`);
  }
  const fddaV01 = app.profile.oda?.fddaV01 === true;
  const ctq = Uint8Array.from(Buffer.from(app.profile.ctqHex, 'hex'));
  const df61 = app.profile.df61 ?? 0;
  const session = new SmSession(material, pdol, fddaV01, ctq, df61, prng);
  return new Proxy(base, {
    get(target, property, receiver): unknown {
      if (property === 'transceive') {
        return (capdu: Uint8Array): Uint8Array | null => session.transceive(target, capdu);
      }
      if (property === 'label') return `${target.label}+sm`;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

/** Per-transaction SM state: chosen at GPO, applied to every answer until the next GPO. */
class SmSession {
  private objects: SmObjects | null = null;

  constructor(
    private readonly material: SmCardMaterial,
    private readonly pdol: readonly DolEntry[],
    private readonly fddaV01: boolean,
    private readonly ctq: Uint8Array,
    private readonly df61: number,
    private readonly prng: Prng,
  ) {}

  transceive(card: QpbocCard, capdu: Uint8Array): Uint8Array | null {
    const ins = capdu[1] ?? 0;
    if (ins === INS_A8_GPO) this.objects = this.gpoObjects(capdu);
    const rapdu = card.transceive(capdu);
    if (rapdu === null || this.objects === null) return rapdu;
    if (ins !== INS_A8_GPO && ins !== INS_B2_READ_RECORD) return rapdu;
    const sw1 = rapdu[rapdu.length - 2] ?? 0;
    if (sw1 !== 0x90 || rapdu.length < 4) return rapdu;
    const data = rapdu.subarray(0, rapdu.length - 2);
    const rewritten = smRewriteTemplate(data, this.objects);
    return rewritten === null ? rapdu : concatBytes(rewritten, rapdu.subarray(rapdu.length - 2));
  }

  /** The SM objects of this transaction, or null when the card answers with RSA. */
  private gpoObjects(capdu: Uint8Array): SmObjects | null {
    const lc = capdu[4] ?? 0;
    const template = gpoCommandTemplate(capdu.subarray(5, 5 + lc));
    if (template === null) return null;
    const values = splitDolData(this.pdol, template);
    const offered = (values.get(TAG_DF69_SM_SUPPORT)?.[0] ?? 0) === 0x01;
    if (!offered && this.material.mode === 'rsa-and-sm') return null;
    const ttq = values.get(TAG_9F66_TTQ) ?? new Uint8Array(4);
    const v01 = this.fddaV01 && ((ttq[3] ?? 0) & TTQ4_FDDA_V01) !== 0;
    const cardAuth = v01
      ? concatBytes(Uint8Array.of(0x01), this.prng.bytes(4), this.ctq, Uint8Array.of(this.df61))
      : null;
    const un = values.get(TAG_9F37_UN) ?? new Uint8Array(4);
    const tail = cardAuth === null
      ? un
      : concatBytes(un, values.get(TAG_9F02_AMOUNT) ?? new Uint8Array(6),
        values.get(TAG_5F2A_CURRENCY) ?? new Uint8Array(2), cardAuth);
    const material = this.material;
    const prng = this.prng;
    return {
      caIndex: material.caIndex,
      issuerCert: material.issuerCert,
      iccCert: material.iccCert,
      cardAuth,
      // The ATC is the card's answer to this GPO: the SDAD is signed when it is first sent.
      sdad: (atc: number): Uint8Array => smSdad(material.iccKey, atc, tail, prng),
    };
  }
}
