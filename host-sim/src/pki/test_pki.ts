// The test PKI: CA keys, issuer certificates and ICC keys, deterministic from one seed.

import { Prng } from '../prng.js';
import { fromHex, toHex } from './emv_bytes.js';
import { caPublicKeyParams } from './emv_capk.js';
import type { CaPublicKeyParams } from './emv_capk.js';
import { buildIssuerCertificate } from './emv_cert.js';
import type { EmvPublicKeyCertificate } from './emv_cert.js';
import { generateRsaKeyPair, rsaKeyFromPrimes } from './rsa_keygen.js';
import type { RsaExponent, RsaKeyPair } from './rsa_keygen.js';
import { TEST_PKI_PRIMES, TEST_PKI_PRIMES_SEED } from './fixtures/test_pki_primes.gen.js';
import {
  CA_SPECS,
  ICC_KEY_SPECS,
  ISSUER_SPECS,
  REVOKED_ISSUER,
  TEST_PKI_SEED,
  TEST_RID_HEX,
} from './test_pki_spec.js';
import type { CaSpec, IccKeySlot, IssuerName, IssuerSpec } from './test_pki_spec.js';

/** A CA key with its terminal-side parameter set. */
export interface TestCa {
  readonly spec: CaSpec;
  readonly key: RsaKeyPair;
  /** What a validator loads (DF05 as ASCII, the majority form). */
  readonly params: CaPublicKeyParams;
}

/** An issuer key and its certificate under its CA. */
export interface TestIssuer {
  readonly spec: IssuerSpec;
  readonly key: RsaKeyPair;
  readonly ca: TestCa;
  readonly certificate: EmvPublicKeyCertificate;
}

/** An entry of the CA's certificate revocation list: (RID, CA index, issuer cert serial). */
export interface RevokedCertificate {
  readonly ridHex: string;
  readonly caIndex: number;
  readonly certSerialHex: string;
  /** The population issuer this entry revokes. */
  readonly issuer: IssuerName;
}

/** The whole test PKI. Keys are built on first use and then cached. */
export interface TestPki {
  readonly seed: number;
  readonly ridHex: string;
  /** Every CA, in CA_SPECS order. */
  readonly cas: readonly TestCa[];
  /** The CA public keys as a validator loads them. */
  readonly caKeys: readonly CaPublicKeyParams[];
  /** Revoked issuer certificates (one example, REVOKED_ISSUER). */
  readonly revoked: readonly RevokedCertificate[];
  /** The CA with index `index`. Throws RangeError for an unknown index. */
  ca(index: number): TestCa;
  /** A population issuer. Throws RangeError for an unknown name. */
  issuer(name: IssuerName): TestIssuer;
  /** The ICC key of a slot. Throws RangeError for an unknown slot. */
  iccKey(slot: IccKeySlot): RsaKeyPair;
}

/** Options of createTestPki. */
export interface TestPkiOptions {
  /** Load primes from fixtures/ when the seed matches (default true); false regenerates. */
  readonly useFixture: boolean;
}

/**
 * Builds the PKI for `seed`. With the default seed and `useFixture`, keys come from the cached
 * primes (instant); otherwise each key costs a seeded prime search (tens of ms per key).
 */
export function createTestPki(
  seed: number,
  options: TestPkiOptions = { useFixture: true },
): TestPki {
  return new TestPkiImpl(seed >>> 0, options.useFixture);
}

let defaultPki: TestPki | undefined;

/** The shared default PKI (TEST_PKI_SEED), loaded from fixtures: instant, identical everywhere. */
export function testPki(): TestPki {
  defaultPki ??= createTestPki(TEST_PKI_SEED);
  return defaultPki;
}

/** Label under which a key is derived (Prng fork label) and cached in the fixture. */
export function keyLabel(kind: 'ca' | 'issuer' | 'icc', name: string): string {
  return `${kind}:${name}`;
}

/** Every key of `pki` by label, building all of them (the fixture writer's input). */
export function testPkiKeys(pki: TestPki): ReadonlyMap<string, RsaKeyPair> {
  if (!(pki instanceof TestPkiImpl)) throw new TypeError('not a TestPki from createTestPki');
  return pki.allKeys();
}

class TestPkiImpl implements TestPki {
  readonly ridHex = TEST_RID_HEX;
  private readonly keys = new Map<string, RsaKeyPair>();
  private readonly casCache = new Map<number, TestCa>();
  private readonly issuersCache = new Map<IssuerName, TestIssuer>();

  constructor(
    readonly seed: number,
    private readonly useFixture: boolean,
  ) {}

  get cas(): readonly TestCa[] {
    return CA_SPECS.map((s) => this.ca(s.index));
  }

  get caKeys(): readonly CaPublicKeyParams[] {
    return this.cas.map((c) => c.params);
  }

  get revoked(): readonly RevokedCertificate[] {
    const spec = issuerSpec(REVOKED_ISSUER);
    const entry = { ridHex: this.ridHex, caIndex: spec.caIndex, certSerialHex: spec.certSerialHex };
    return [{ ...entry, issuer: REVOKED_ISSUER }];
  }

  ca(index: number): TestCa {
    const cached = this.casCache.get(index);
    if (cached !== undefined) return cached;
    const spec = CA_SPECS.find((s) => s.index === index);
    if (spec === undefined) throw new RangeError(`no test CA with index ${index}`);
    const key = this.key(keyLabel('ca', toHex(Uint8Array.of(index))), spec.bits, spec.e);
    const params = caPublicKeyParams(this.ridHex, index, key, spec.expiryYyyymmdd, 'ascii');
    const ca = { spec, key, params };
    this.casCache.set(index, ca);
    return ca;
  }

  issuer(name: IssuerName): TestIssuer {
    const cached = this.issuersCache.get(name);
    if (cached !== undefined) return cached;
    const spec = issuerSpec(name);
    const ca = this.ca(spec.caIndex);
    const key = this.key(keyLabel('issuer', name), spec.bits, spec.e);
    const certificate = buildIssuerCertificate(ca.key, key, {
      issuerIdDigits: spec.issuerIdDigits,
      expiryMmyy: spec.certExpiryMmyy,
      serial: fromHex(spec.certSerialHex),
    });
    const issuer = { spec, key, ca, certificate };
    this.issuersCache.set(name, issuer);
    return issuer;
  }

  iccKey(slot: IccKeySlot): RsaKeyPair {
    const spec = ICC_KEY_SPECS.find((s) => s.slot === slot);
    if (spec === undefined) throw new RangeError(`no ICC key slot ${slot}`);
    return this.key(keyLabel('icc', slot), spec.bits, spec.e);
  }

  /** Every key of the PKI by label (builds them all): what the fixture caches. */
  allKeys(): ReadonlyMap<string, RsaKeyPair> {
    for (const s of ISSUER_SPECS) this.issuer(s.name);
    for (const s of ICC_KEY_SPECS) this.iccKey(s.slot);
    return this.keys;
  }

  private key(label: string, bits: number, e: RsaExponent): RsaKeyPair {
    const cached = this.keys.get(label);
    if (cached !== undefined) return cached;
    const fromFixture = this.useFixture ? fixtureKey(this.seed, label, bits, e) : undefined;
    const key = fromFixture ?? generateRsaKeyPair(new Prng(this.seed).fork(label), bits, e);
    this.keys.set(label, key);
    return key;
  }
}

function issuerSpec(name: IssuerName): IssuerSpec {
  const spec = ISSUER_SPECS.find((s) => s.name === name);
  if (spec === undefined) throw new RangeError(`no test issuer ${name}`);
  return spec;
}

/** The cached key when the fixture matches seed, label, size and exponent; else undefined. */
function fixtureKey(
  seed: number,
  label: string,
  bits: number,
  e: RsaExponent,
): RsaKeyPair | undefined {
  if (seed !== TEST_PKI_PRIMES_SEED) return undefined;
  const entry = TEST_PKI_PRIMES[label];
  if (entry === undefined || entry.e !== e) return undefined;
  const p = BigInt(`0x${entry.p.join('')}`);
  const q = BigInt(`0x${entry.q.join('')}`);
  const key = rsaKeyFromPrimes(p, q, BigInt(e));
  return key.bits === bits ? key : undefined;
}
