// The cards of the latency benchmark: plastic with a 1024- or 1984-bit ICC key, a phone, and
// stock cards that answer the full contactless PBOC flow with SDA, DDA or CDA.
//
// Every tap gets a fresh card (its own PAN and UID), so no tap meets the duplicate-tap rule or
// an emptied purse, and every tap runs the whole kernel. The profiles come from host-sim's
// building blocks; only the ICC key size (and with it the card's RSA signing time, see
// card_timing.ts) differs between the two plastic kinds, both on the same mid-range card
// processing model.

import { ATS_DEFAULT_HEX } from '../host-sim/src/cards/card_rf.js';
import { DEFAULT_PROCESSING } from '../host-sim/src/cards/card_timing.js';
import type { AppProfile, CardProfile, OdaProfile } from '../host-sim/src/cards/card_profile.js';
import {
  CAP_NO_EC,
  PROCESSING_PHONE,
  recordLayout,
  unionPayApp,
} from '../host-sim/src/cards/card_profile_templates.js';
import { drawFields, population } from '../host-sim/src/cards/card_population.js';
import { createCard, type QpbocCard } from '../host-sim/src/cards/qpboc_card.js';
import { DF61_ONLINE_ODA_0X40 } from '../host-sim/src/cards/qpboc_risk.js';
import { toHex } from '../host-sim/src/pki/emv_bytes.js';
import { testPki } from '../host-sim/src/pki/test_pki.js';
import { ICC_KEY_SPECS, type IccKeySlot } from '../host-sim/src/pki/test_pki_spec.js';
import type { IssuerName } from '../host-sim/src/pki/test_pki_spec.js';
import type { Prng } from '../host-sim/src/prng.js';

/** The card kinds a scenario can present. */
export type BenchCardKind =
  'plastic-1024' | 'plastic-1984' | 'phone' | 'full-flow-sda' | 'full-flow-dda' | 'full-flow-cda';

export const BENCH_CARD_KINDS: readonly BenchCardKind[] = [
  'plastic-1024',
  'plastic-1984',
  'phone',
  'full-flow-sda',
  'full-flow-dda',
  'full-flow-cda',
];

/** Issuer and ICC key slot of each kind (test_pki_spec.ts gives their sizes). */
const KEYS: Readonly<Record<BenchCardKind, { issuer: IssuerName; slot: IccKeySlot }>> = {
  'plastic-1024': { issuer: 'bank-a', slot: 'debit' },
  'plastic-1984': { issuer: 'bank-slow', slot: 'slow' },
  phone: { issuer: 'wallet', slot: 'phone' },
  // The population's stock cards (card_population_stock.ts): bank-a debit, bank-b credit.
  'full-flow-sda': { issuer: 'bank-a', slot: 'debit' },
  'full-flow-dda': { issuer: 'bank-a', slot: 'debit' },
  'full-flow-cda': { issuer: 'bank-b', slot: 'credit' },
};

/**
 * Stock cards without e-cash and without DF61, as most riders carry: an auto-mode validator
 * runs the full contactless PBOC flow with them (assembly/README.md, mode auto).
 */
const FULL_FLOW_CARDS = {
  'full-flow-sda': 'stock-debit-sda',
  'full-flow-dda': 'stock-debit-dda',
  'full-flow-cda': 'stock-credit-cda',
} as const;

/** Bits of the ICC key a kind signs its dynamic data with. */
export function benchCardKeyBits(kind: BenchCardKind): number {
  const slot = KEYS[kind].slot;
  const spec = ICC_KEY_SPECS.find((s) => s.slot === slot);
  if (spec === undefined) throw new Error(`no ICC key slot ${slot}`);
  return spec.bits;
}

function odaOf(prng: Prng, kind: BenchCardKind): OdaProfile {
  const { issuer, slot } = KEYS[kind];
  return {
    issuer,
    iccKeySlot: slot,
    iccCertSerialHex: toHex(prng.bytes(3)),
    fddaV01: true,
    signingKeySlot: null,
  };
}

/** A fixed 4-byte UID whose first byte is neither 08 (random ID) nor 88 (cascade tag). */
function fixedUid4(prng: Prng): string {
  const bytes = prng.bytes(4);
  if (bytes[0] === 0x08 || bytes[0] === 0x88) bytes[0] = 0x2a;
  return toHex(bytes);
}

function plasticProfile(prng: Prng, kind: BenchCardKind): CardProfile {
  const issuer = KEYS[kind].issuer;
  // A 1984-bit SDAD no longer fits the GPO answer next to the track data: it moves to a record.
  const layout = kind === 'plastic-1984' ? 'sdad-in-record' : 'sdad-in-gpo';
  const app = unionPayApp(drawFields(prng, issuer), odaOf(prng, kind), layout);
  const ec = app.ec === null ? null : { ...app.ec, balanceMinor: 50_000 };
  return {
    label: `bench-${kind}`,
    rf: {
      kind: 'A',
      uid: { mode: 'fixed', uidHex: fixedUid4(prng) },
      sak: 0x28,
      atsHex: ATS_DEFAULT_HEX,
    },
    applications: [{ ...app, ec, df61: DF61_ONLINE_ODA_0X40 }],
    processing: DEFAULT_PROCESSING,
  };
}

/** A phone wallet as in the population: random UID, online-ODA app without EC, HCE timing. */
function phoneProfile(prng: Prng): CardProfile {
  const base = unionPayApp(drawFields(prng, 'wallet'), odaOf(prng, 'phone'), 'sdad-in-record');
  const app: AppProfile = {
    ...base,
    ec: null,
    cardAdditionalProcessesHex: CAP_NO_EC,
    df61: DF61_ONLINE_ODA_0X40,
    ctqHex: '0080',
    cardholderName: null,
    log: null,
    records: recordLayout('sdad-in-record', false),
  };
  return {
    label: 'bench-phone',
    rf: {
      kind: 'A',
      uid: { mode: 'random-per-tap', length: 4 },
      sak: 0x20,
      atsHex: ATS_DEFAULT_HEX,
    },
    applications: [app],
    processing: PROCESSING_PHONE,
  };
}

/** A fresh card of `kind`, drawn from `prng` (PAN, UID, ATC, keys of the MAC). */
export function benchCard(kind: BenchCardKind, prng: Prng): QpbocCard {
  switch (kind) {
    case 'full-flow-sda':
    case 'full-flow-dda':
    case 'full-flow-cda':
      // A population of its own per card: its own PAN and UID, so no duplicate-tap rule.
      return population(prng.below(0x7fff_ffff), { pki: testPki() }).card(FULL_FLOW_CARDS[kind]);
    case 'phone':
      return createCard(phoneProfile(prng), { prng: prng.fork('card'), pki: testPki() });
    case 'plastic-1024':
    case 'plastic-1984':
      return createCard(plasticProfile(prng, kind), { prng: prng.fork('card'), pki: testPki() });
    default: {
      const never: never = kind;
      throw new Error(`unknown bench card ${String(never)}`);
    }
  }
}
