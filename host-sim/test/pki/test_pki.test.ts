// The test PKI: CA parameter sets (DF03 by SHA-1 in the test), issuer certificates verified by
// the independent verifier, the revocation example, the exported JSON, UnionPay check values.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { caPublicKeyParams, capkCheckValue } from '../../src/pki/emv_capk.js';
import { CAPK_FIXTURE_URL } from '../../src/pki/test_pki_fixture.js';
import { createTestPki, testPki } from '../../src/pki/test_pki.js';
import { CA_SPECS, ISSUER_SPECS, TEST_PKI_SEED } from '../../src/pki/test_pki_spec.js';
import { recoverIssuerKey } from '../cards/support/emv_verifier.js';
import { hex, parseTlv, toHexT } from '../cards/support/tlv_walk.js';

const UNIONPAY_CAPK = new URL('../../../../shared/vectors/unionpay_capk.json', import.meta.url);

describe('CA keys', () => {
  it('everyCaKey_hasTlvInValidatorOrder_andSha1CheckValue', () => {
    const pki = testPki();
    expect(pki.caKeys.map((k) => k.index)).toEqual(CA_SPECS.map((s) => s.index));
    for (const k of pki.caKeys) {
      const tlv = parseTlv(hex(k.tlvHex));
      expect(tlv.map((n) => n.tag.toString(16))).toEqual([
        '9f06',
        '9f22',
        'df05',
        'df06',
        'df07',
        'df02',
        'df04',
        'df03',
      ]);
      const [rid, index, expiry, hash, alg, modulus, exponent, check] = tlv.map((n) => n.value);
      expect(toHexT(rid ?? new Uint8Array(0))).toBe('a000000333');
      expect(index?.[0]).toBe(k.index);
      expect(new TextDecoder().decode(expiry)).toBe(k.expiryYyyymmdd);
      expect([hash?.[0], alg?.[0]]).toEqual([1, 1]);
      const sha1 = createHash('sha1')
        .update(rid ?? new Uint8Array(0))
        .update(index ?? new Uint8Array(0))
        .update(modulus ?? new Uint8Array(0))
        .update(exponent ?? new Uint8Array(0))
        .digest('hex');
      expect(toHexT(check ?? new Uint8Array(0))).toBe(sha1);
      expect(k.checkHex).toBe(sha1);
      const spec = CA_SPECS.find((s) => s.index === k.index);
      expect((modulus?.length ?? 0) * 8).toBe(spec?.bits);
    }
  });

  it('bcdExpiryEncoding_isFourBytes', () => {
    const ca = testPki().ca(0xe1);
    const params = caPublicKeyParams('a000000333', 0xe1, ca.key, '20351231', 'bcd');
    expect(toHexT(parseTlv(hex(params.tlvHex))[2]?.value ?? new Uint8Array(0))).toBe('20351231');
  });

  it('capkCheckValue_matchesPublishedUnionPayDf03', () => {
    interface Key {
      readonly rid: string;
      readonly index: string;
      readonly modulus: string;
      readonly exponent: string;
      readonly DF03_checksum_in_source: string;
    }
    const text = readFileSync(UNIONPAY_CAPK, 'utf8');
    const doc = JSON.parse(text) as { readonly keys: readonly Key[] };
    const checked = doc.keys.filter((k) => ['01', '08', '0B'].includes(k.index));
    expect(checked.length).toBe(3);
    for (const k of checked) {
      const expected = k.DF03_checksum_in_source.toLowerCase();
      const index = Number.parseInt(k.index, 16);
      const value = capkCheckValue(hex(k.rid), index, hex(k.modulus), hex(k.exponent));
      expect(toHexT(value), `index ${k.index}`).toBe(expected);
    }
  });
});

describe('issuer certificates', () => {
  for (const spec of ISSUER_SPECS) {
    it(`${spec.name}_recoversWithCaParamsOnly`, () => {
      const pki = testPki();
      const issuer = pki.issuer(spec.name);
      const ca = pki.caKeys.find((k) => k.index === spec.caIndex);
      if (ca === undefined) throw new Error('CA missing');
      const recovered = recoverIssuerKey(
        { modulus: hex(ca.modulusHex), exponent: hex(ca.exponentHex) },
        issuer.certificate.certificate,
        issuer.certificate.remainder,
        issuer.certificate.exponent,
        `${spec.issuerIdDigits}0000000000`,
      );
      if (typeof recovered === 'string') throw new Error(recovered);
      expect(toHexT(recovered.key.modulus)).toBe(issuer.key.n.toString(16));
      expect(recovered.serial).toBe(spec.certSerialHex);
      expect(recovered.expiryMmyy).toBe(spec.certExpiryMmyy);
      const room = ca.modulusHex.length / 2 - 36;
      expect(issuer.certificate.remainder.length).toBe(Math.max(0, spec.bits / 8 - room));
    });
  }

  it('revokedExample_namesTheRevokedIssuerSerial', () => {
    const pki = testPki();
    expect(pki.revoked).toEqual([
      { ridHex: 'a000000333', caIndex: 0xe3, certSerialHex: '000701', issuer: 'bank-revoked' },
    ]);
  });
});

describe('exports', () => {
  it('capkJsonFixture_equalsTheDefaultPki', () => {
    const doc = JSON.parse(readFileSync(CAPK_FIXTURE_URL, 'utf8')) as { readonly caKeys: unknown };
    expect(doc.caKeys).toEqual(JSON.parse(JSON.stringify(testPki().caKeys)));
  });

  it('otherSeed_generatesDifferentKeys_sameShape', () => {
    const other = createTestPki(TEST_PKI_SEED + 1);
    const ca = other.ca(0xe1);
    expect(ca.key.bits).toBe(1024);
    expect(ca.key.n).not.toBe(testPki().ca(0xe1).key.n);
  });
});
