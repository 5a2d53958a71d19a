// The pre-commit SDAD check: clones refused before the last READ RECORD, genuine cards untouched.
//
// host-sim cards keep 9F69 in their last record, so the fDDA hash can only be checked after the
// card commits; what needs no hash (framing, IDN = ATC) is checked before. Forged SDADs are
// signed here with BigInt math and node:crypto (independent of host-sim's signer).

import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import {
  decodeTlv,
  findTlv,
  runQpbocTransaction,
  tlvEncode,
  type QpbocOutcome,
  type TlvObject,
} from '../host/qpboc_session.js';
import {
  population,
  type Population,
  type PopulationName,
} from '../../host-sim/src/cards/card_population.js';
import { createCard, type QpbocCard } from '../../host-sim/src/cards/qpboc_card.js';
import { Prng } from '../../host-sim/src/prng.js';
import type { RsaKeyPair } from '../../host-sim/src/pki/rsa_keygen.js';
import { detailName, parseTrace, prepareKernel } from '../../firmware/src/cli/qpboc_trace.js';
import { simTerminalJson, toHex } from './qpboc_support.js';

const SEEDS = [20250601, 1, 77, 4242, 0x5eed];
const INPUTS = {
  amount: '000000000200',
  date: '250601',
  time: '101010',
  unpredictableNumber: '0A1B2C3D',
};
/** Everything the pre-commit check can refuse: it never looks at the hash. */
const PRECHECK_STATUSES = [
  'ERR_ODA_SDAD_LENGTH',
  'ERR_ODA_SDAD_RANGE',
  'ERR_ODA_SDAD_TRAILER',
  'ERR_ODA_SDAD_HEADER',
  'ERR_ODA_SDAD_FORMAT',
  'ERR_ODA_SDAD_HASH_ALGORITHM',
  'ERR_ODA_SDAD_DYNAMIC_LENGTH',
  'ERR_ODA_SDAD_IDN_MISMATCH',
];
const TAG_77 = 0x77;
const TAG_70 = 0x70;
const TAG_9F36 = 0x9f36;
const TAG_9F4B = 0x9f4b;
const TAG_9F69 = 0x9f69;

/** Rewrites the answer to one command (null: leave it). */
type Rewrite = (capdu: Uint8Array, data: Uint8Array) => Uint8Array | null;

let kernel: Kernel;

beforeAll(async () => {
  kernel = await loadKernel();
});

async function run(
  pop: Population,
  card: QpbocCard,
  mode: 'ec' | 'oda',
  rewrite: Rewrite | null = null,
): Promise<QpbocOutcome> {
  const trace = parseTrace(
    JSON.stringify({ terminal: simTerminalJson(pop), inputs: { ...INPUTS, mode }, exchanges: [] }),
  );
  prepareKernel(kernel, trace);
  card.powerOn();
  const transceive = async (capdu: Uint8Array): Promise<Uint8Array | null> => {
    const rapdu = card.transceive(capdu);
    if (rapdu === null || rewrite === null || rapdu.length < 2) return rapdu;
    const data = rewrite(capdu, rapdu.subarray(0, rapdu.length - 2));
    return data === null ? rapdu : Buffer.concat([data, rapdu.subarray(rapdu.length - 2)]);
  };
  // Every card here is genuine as far as the host knows: proceed, the kernel decides alone.
  return runQpbocTransaction(kernel, { transceive, decide: () => 'proceed' }, trace.input);
}

function isGpo(capdu: Uint8Array): boolean {
  return capdu[1] === 0xa8;
}

/** The READ RECORD of the last AFL record (the commit command), from the GPO answer. */
function commitCommand(outcome: QpbocOutcome): string {
  const gpo = outcome.transcript.find((e) => isGpo(e.capdu))?.rapdu;
  if (gpo === undefined || gpo === null) throw new Error('no GPO answer');
  const afl = findTlv(decodeTlv(gpo.subarray(0, gpo.length - 2)), 0x94);
  if (afl === null) throw new Error('no AFL');
  const entry = afl.subarray(afl.length - 4);
  return toHex(Uint8Array.of(0x00, 0xb2, entry[2] ?? 0, (entry[0] ?? 0) | 4, 0x00));
}

function sent(outcome: QpbocOutcome): string[] {
  return outcome.transcript.map((e) => toHex(e.capdu));
}

/** Rewrites the value of `tag` inside the single template of `data` (other bytes unchanged). */
function withValue(data: Uint8Array, tag: number, edit: (v: Uint8Array) => Uint8Array) {
  const [top] = decodeTlv(data);
  if (top === undefined || top.children === null) throw new Error('not a template');
  const children = top.children.map((o: TlvObject) =>
    tlvEncode(o.tag, o.tag === tag ? edit(o.value) : o.value),
  );
  return tlvEncode(top.tag, Buffer.concat(children));
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
}

function bigIntToBytes(value: bigint, length: number): Uint8Array {
  return Uint8Array.from(Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex'));
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if ((e & 1n) === 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
  }
  return result;
}

/**
 * An SDAD in format 05 (EMV Book 2 6.5.2, domain.md 3.4) signed with `key`: 6A 05 01 03
 * [02 IDN] BB.. SHA-1(body || hashTail) BC. The framing is right whatever `idn` and `hashTail`.
 */
function forgeSdad(key: RsaKeyPair, idn: number, hashTail: Uint8Array): Uint8Array {
  const n = key.bits / 8;
  const body = new Uint8Array(n - 22).fill(0xbb);
  body.set([0x05, 0x01, 0x03, 0x02, (idn >> 8) & 0xff, idn & 0xff]);
  const hash = createHash('sha1').update(body).update(hashTail).digest();
  const message = Buffer.concat([Uint8Array.of(0x6a), body, hash, Uint8Array.of(0xbc)]);
  expect(message.length).toBe(n);
  return bigIntToBytes(modPow(bytesToBigInt(message), key.d, key.n), n);
}

/** The GPO answer with 9F4B replaced by `forge(atc)`. */
function forgedGpo(forge: (atc: number) => Uint8Array): Rewrite {
  return (capdu, data) => {
    if (!isGpo(capdu)) return null;
    const atcBytes = findTlv(decodeTlv(data), TAG_9F36);
    if (atcBytes === null || data[0] !== TAG_77) throw new Error('GPO answer without 9F36');
    const atc = ((atcBytes[0] ?? 0) << 8) | (atcBytes[1] ?? 0);
    return withValue(data, TAG_9F4B, () => forge(atc));
  };
}

function iccKey(pop: Population, card: QpbocCard): RsaKeyPair {
  const slot = card.profile.applications[0]?.oda?.iccKeySlot;
  if (slot === undefined) throw new Error('card without ODA');
  return pop.pki.iccKey(slot);
}

describe('clone cards are refused before the commit', () => {
  for (const seed of SEEDS) {
    it(`clone (seed ${seed}): declined, last READ RECORD never sent, nothing debited`, async () => {
      const pop = population(seed);
      const card = pop.card('clone');
      const outcome = await run(pop, card, 'ec');
      expect(outcome.kind).toBe('declined');
      expect(outcome.reason).toBe('oda-failed');
      expect(PRECHECK_STATUSES).toContain(detailName(outcome.detail));
      expect(outcome.commitSent).toBe(false);
      expect(outcome.recordKind).toBe('none');
      expect(outcome.odaPerformed).toBe(true);
      expect(outcome.odaPassed).toBe(false);
      expect(outcome.decisions.length).toBe(0);
      expect(sent(outcome)).not.toContain(commitCommand(outcome));
      expect(card.ledger().length).toBe(0);
      // The clone did stage its debit at GPO: only the missing commit kept it from happening.
      expect(card.pendingDebit()).not.toBeNull();
    });
  }
});

describe('genuine cards are never refused by the pre-commit check', () => {
  const EC_CARDS: PopulationName[] = [
    'unionpay-debit-ec',
    'unionpay-credit-ec',
    'unionpay-quasi-credit-ec',
    'new-card',
    'cobadge-visa-unionpay',
    'social-security',
    'slow-wtx',
    'deny-listed',
  ];
  for (const seed of SEEDS) {
    it(`seed ${seed}: genuine EC cards approved with one debit, ODA cards admitted`, async () => {
      const pop = population(seed);
      for (const name of EC_CARDS) {
        const card = pop.card(name);
        const outcome = await run(pop, card, 'ec');
        const what = `${name} seed ${seed}: ${outcome.reason} ${detailName(outcome.detail)}`;
        expect(outcome.kind, what).toBe('approved');
        expect(outcome.odaPerformed && outcome.odaPassed, what).toBe(true);
        expect(card.ledger().length, what).toBe(1);
        expect(card.ledger()[0]?.amountMinor, what).toBe(200);
      }
      for (const name of ['oda-online-no-ec', 'phone-wallet'] as const) {
        const card = pop.card(name);
        const outcome = await run(pop, card, 'oda');
        const what = `${name} seed ${seed}: ${outcome.reason} ${detailName(outcome.detail)}`;
        expect(outcome.kind, what).toBe('admitted');
        expect(outcome.odaPassed, what).toBe(true);
        expect(card.ledger().length, what).toBe(0);
      }
    });
  }

  it('fDDA v00 card (no 9F69): the SDAD in GPO passes before and after the commit', async () => {
    const pop = population(SEEDS[0] ?? 1);
    const profile = pop.profiles['unionpay-debit-ec'];
    const applications = profile.applications.map((app) =>
      app.oda === null ? app : { ...app, oda: { ...app.oda, fddaV01: false } },
    );
    const card = createCard({ ...profile, applications }, { prng: new Prng(7), pki: pop.pki });
    const outcome = await run(pop, card, 'ec');
    const answers = outcome.transcript.map((e) => e.rapdu ?? new Uint8Array(0));
    // The truth of "v00": no answer of the card carries 9F69, and 9F4B comes with GPO.
    const carries = (tag: number) =>
      answers.filter((r) => r.length > 2 && findTlv(decodeTlv(r.subarray(0, -2)), tag) !== null);
    expect(carries(TAG_9F69).length).toBe(0);
    expect(carries(TAG_9F4B).map((r) => r[0])).toEqual([TAG_77]);
    expect(outcome.kind).toBe('approved');
    expect(outcome.odaPassed).toBe(true);
    expect(card.ledger().length).toBe(1);
  });
});

describe('forged and tampered fDDA data', () => {
  const SEED = 20250601;

  it('genuine key, right framing, IDN = ATC + 1: refused before the commit', async () => {
    const pop = population(SEED);
    const card = pop.card('unionpay-debit-ec');
    const key = iccKey(pop, card);
    const un = Buffer.from(INPUTS.unpredictableNumber, 'hex');
    const outcome = await run(
      pop,
      card,
      'ec',
      forgedGpo((atc) => forgeSdad(key, (atc + 1) & 0xffff, un)),
    );
    expect(outcome.kind).toBe('declined');
    expect(outcome.reason).toBe('oda-failed');
    expect(detailName(outcome.detail)).toBe('ERR_ODA_SDAD_IDN_MISMATCH');
    expect(outcome.commitSent).toBe(false);
    expect(outcome.recordKind).toBe('none');
    expect(sent(outcome)).not.toContain(commitCommand(outcome));
    expect(card.ledger().length).toBe(0);
  });

  it('IDN = ATC but a v00 hash on a v01 card: passes the precheck, refused after it', async () => {
    const pop = population(SEED);
    const card = pop.card('unionpay-debit-ec');
    const key = iccKey(pop, card);
    const un = Buffer.from(INPUTS.unpredictableNumber, 'hex');
    const outcome = await run(pop, card, 'ec', forgedGpo((atc) => forgeSdad(key, atc, un)));
    expect(outcome.kind).toBe('declined');
    expect(outcome.reason).toBe('oda-failed');
    expect(detailName(outcome.detail)).toBe('ERR_ODA_SDAD_HASH');
    expect(outcome.commitSent).toBe(true);
    expect(outcome.recordKind).toBe('committed-decline');
    expect(card.ledger().length).toBe(1);
  });

  it('genuine SDAD, 9F69 tampered in the last record: committed-decline on the hash', async () => {
    const pop = population(SEED);
    const card = pop.card('unionpay-debit-ec');
    let tampered = 0;
    const outcome = await run(pop, card, 'ec', (_capdu, data) => {
      if (data[0] !== TAG_70 || findTlv(decodeTlv(data), TAG_9F69) === null) return null;
      tampered++;
      return withValue(data, TAG_9F69, (v) => {
        const out = v.slice();
        out[2] = (out[2] ?? 0) ^ 0x5a; // a card unpredictable number byte, not the version
        return out;
      });
    });
    expect(tampered).toBe(1);
    expect(outcome.kind).toBe('declined');
    expect(outcome.reason).toBe('oda-failed');
    expect(detailName(outcome.detail)).toBe('ERR_ODA_SDAD_HASH');
    expect(outcome.commitSent).toBe(true);
    expect(outcome.recordKind).toBe('committed-decline');
    expect(sent(outcome)).toContain(commitCommand(outcome));
    expect(card.ledger().length).toBe(1);
  });
});

describe('an ICC certificate lost on the way: the issuer certificate is checked alone', () => {
  const SEED = 20250601;
  const TAG_9F44 = 0x9f44;
  const TAG_9F46 = 0x9f46;

  /**
   * The record holding 9F46 with that tag turned into 9F44, as in swarm seed 430: two bytes
   * changed on the PN532 link that cancel in its 8-bit checksum. The value is kept, so the
   * record still parses; the kernel simply has no ICC certificate before the commit.
   */
  const iccCertRenamed: Rewrite = (_capdu, data) => {
    if (data[0] !== TAG_70 || findTlv(decodeTlv(data), TAG_9F46) === null) return null;
    const [top] = decodeTlv(data);
    if (top === undefined || top.children === null) throw new Error('not a template');
    const children = top.children.map((o: TlvObject) =>
      tlvEncode(o.tag === TAG_9F46 ? TAG_9F44 : o.tag, o.value),
    );
    return tlvEncode(top.tag, Buffer.concat(children));
  };

  it('revoked issuer: refused before the last READ RECORD, nothing debited', async () => {
    const pop = population(SEED);
    const card = pop.card('revoked-issuer');
    const outcome = await run(pop, card, 'ec', iccCertRenamed);
    expect(outcome.kind).toBe('declined');
    expect(outcome.reason).toBe('oda-failed');
    expect(detailName(outcome.detail)).toBe('ERR_ODA_ISSUER_CERT_REVOKED');
    expect(outcome.commitSent).toBe(false);
    expect(outcome.recordKind).toBe('none');
    expect(sent(outcome)).not.toContain(commitCommand(outcome));
    expect(card.ledger().length).toBe(0);
  });

  it('genuine issuer: goes on to the commit, then the missing ICC certificate declines', async () => {
    const pop = population(SEED);
    const card = pop.card('unionpay-debit-ec');
    const outcome = await run(pop, card, 'ec', iccCertRenamed);
    expect(outcome.kind).toBe('declined');
    expect(outcome.commitSent).toBe(true);
    expect(outcome.recordKind).toBe('committed-decline');
    expect(detailName(outcome.detail)).toBe('ERR_ODA_ICC_CERT_MISSING');
    expect(card.ledger().length).toBe(1);
  });
});
