// Named SM cards (PBOC 3.0 national cryptography) and the SM test PKI they chain to.
//
// Separate from POPULATION_NAMES so that every existing population run keeps its meaning (a
// validator without the SM CA key declines an SM-only card); `smPopulation(seed)` gives the
// cards and the CA key a validator needs to accept them.

import { Prng } from '../prng.js';
import { toHex } from '../pki/emv_bytes.js';
import { sm2KeyPairFrom } from '../pki/sm2_sign.js';
import type { Sm2KeyPair } from '../pki/sm2_sign.js';
import { smCapkTlv, smIccCert, smIssuerCert } from '../pki/sm_cert.js';
import type { Population } from './card_population.js';
import type { CardProfile } from './card_profile.js';
import { PDOL_QPBOC_EXTENDED } from './card_profile_templates.js';
import { ecApp, onlineOdaApp, plastic } from './card_population_draw.js';
import { createCard } from './qpboc_card.js';
import type { QpbocCard } from './qpboc_card.js';
import { withSm } from './sm_card.js';
import type { SmCardMode } from './sm_card.js';

/** The SM cards: EC with SM fDDA, online ODA with SM fDDA, and an RSA-and-SM EC card. */
export const SM_CARD_NAMES = ['sm-ec', 'sm-oda-online', 'rsa-and-sm-ec'] as const;
export type SmCardName = (typeof SM_CARD_NAMES)[number];

/** Index of the test SM2 CA key under RID A000000333 (a test index, not a UnionPay one). */
export const SM_CA_INDEX = 0xe8;
const RID = Uint8Array.from(Buffer.from('A000000333', 'hex'));
const SM_CA_EXPIRY = '20491231';

/** The SM test PKI: one CA key, one issuer key per issuer BIN the SM cards use. */
export interface SmTestPki {
  readonly ca: Sm2KeyPair;
  /** The CA key in the UnionPay parameter TLV form (DF07 04), hex, for terminal parameters. */
  readonly capkTlvHex: string;
  issuer(issuerIdDigits: string): Sm2KeyPair;
}

/** The SM cards of `seed` over the RSA population `pop` (its issuers, PANs and RSA keys). */
export interface SmPopulation {
  readonly pki: SmTestPki;
  readonly profiles: Readonly<Record<SmCardName, CardProfile>>;
  card(name: SmCardName): QpbocCard;
}

const MODES: Readonly<Record<SmCardName, SmCardMode>> = {
  'sm-ec': 'sm-only',
  'sm-oda-online': 'sm-only',
  'rsa-and-sm-ec': 'rsa-and-sm',
};

function profileOf(name: SmCardName, prng: Prng): CardProfile {
  switch (name) {
    case 'sm-ec':
      return plastic(name, prng, [{ ...ecApp(prng, 'bank-a', 'debit', 'sdad-in-gpo'),
        pdolHex: PDOL_QPBOC_EXTENDED }]);
    case 'sm-oda-online':
      return plastic(name, prng, [{ ...onlineOdaApp(prng, 'bank-c', 'oda-online'),
        pdolHex: PDOL_QPBOC_EXTENDED }]);
    case 'rsa-and-sm-ec':
      return plastic(name, prng, [{ ...ecApp(prng, 'bank-b', 'credit', 'high-sfi-oda'),
        pdolHex: PDOL_QPBOC_EXTENDED }]);
    default: {
      const never: never = name;
      throw new Error(`unknown SM card ${String(never)}`);
    }
  }
}

/** The SM test PKI of `seed` (keys drawn from the seed; the same seed gives the same keys). */
export function smTestPki(seed: number): SmTestPki {
  const root = new Prng(seed).fork('sm-pki');
  const ca = sm2KeyPairFrom(root.fork('ca'));
  const issuers = new Map<string, Sm2KeyPair>();
  return {
    ca,
    capkTlvHex: toHex(smCapkTlv(RID, SM_CA_INDEX, ca.publicKey, SM_CA_EXPIRY)),
    issuer(digits) {
      const known = issuers.get(digits);
      if (known !== undefined) return known;
      const key = sm2KeyPairFrom(root.fork(`issuer:${digits}`));
      issuers.set(digits, key);
      return key;
    },
  };
}

/**
 * The SM cards over `pop` (same seed): personalised as RSA cards, then given SM material,
 * chained to `pki` (by default the SM PKI of pop's seed; a run of several card groups gives
 * them all one, as a validator holds one SM CA key of an index).
 */
export function smPopulation(pop: Population, pki: SmTestPki = smTestPki(pop.seed)): SmPopulation {
  const root = new Prng(pop.seed).fork('sm-population');
  const profiles = {} as Record<SmCardName, CardProfile>;
  for (const name of SM_CARD_NAMES) profiles[name] = profileOf(name, root.fork(`profile:${name}`));
  return {
    pki,
    profiles,
    card(name) {
      const prng = root.fork(`card:${name}`);
      const base = createCard(profiles[name], { prng: prng.fork('base'), pki: pop.pki });
      return withSm(base, smMaterial(base, MODES[name], pki, prng.fork('keys')), prng);
    },
  };
}

function smMaterial(base: QpbocCard, mode: SmCardMode, pki: SmTestPki, prng: Prng) {
  const app = base.personalised.apps[0];
  if (app === undefined) throw new Error(`${base.label}: no application`);
  const pan = app.profile.pan;
  const bin = pan.slice(0, 6);
  const issuer = pki.issuer(bin);
  const iccKey = sm2KeyPairFrom(prng);
  const bcd = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
  const expiryMmyy = app.profile.expiryYymmdd.slice(2, 4) + app.profile.expiryYymmdd.slice(0, 2);
  const issuerCert = smIssuerCert({
    caKey: pki.ca, issuerId: bcd(`${bin}FF`), expiry: bcd('1234'), serial: bcd('00E801'),
    issuerPublicKey: issuer.publicKey,
  }, prng);
  const iccCert = smIccCert({
    issuerKey: issuer, pan: bcd(pan.padEnd(20, 'F')), expiry: bcd(expiryMmyy),
    serial: prng.bytes(3), iccPublicKey: iccKey.publicKey, staticData: app.staticData,
  }, prng);
  return { mode, caIndex: SM_CA_INDEX, iccKey, issuerCert, iccCert };
}
