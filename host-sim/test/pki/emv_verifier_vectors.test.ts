// The tests' independent verifier agrees with public proxmark3 vectors (../shared/vectors), so
// it is a trustworthy judge of the test PKI and the cards.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recoverIccKey, recoverIssuerKey, verifySdad } from '../cards/support/emv_verifier.js';
import { hex, toHexT } from '../cards/support/tlv_walk.js';

const VECTORS = new URL('../../../../shared/vectors/pm3_emv_oda_vectors.json', import.meta.url);

interface DdaVector {
  readonly capk: { readonly modulus: string; readonly exponent: string };
  readonly inputs: Readonly<Record<string, string>>;
  readonly derived: {
    readonly issuer: { readonly issuer_pk_modulus: string; readonly serial: string };
    readonly icc: { readonly icc_pk_modulus: string };
    readonly sdad: { readonly IDN_9F4C: string };
  };
}

function input(v: DdaVector, key: string): Uint8Array {
  const value = v.inputs[key];
  if (value === undefined) throw new Error(`vector input ${key} missing`);
  return hex(value);
}

describe('independent verifier vs proxmark3 dda_test.c', () => {
  it('recoversIssuerAndIccKeys_andVerifiesSdadWithDdol9F37', () => {
    const doc = JSON.parse(readFileSync(VECTORS, 'utf8')) as { readonly dda: DdaVector };
    const v = doc.dda;
    const pan = '5285881254345653';
    const issuer = recoverIssuerKey(
      { modulus: hex(v.capk.modulus), exponent: hex(v.capk.exponent) },
      input(v, '90_issuer_pk_certificate'),
      input(v, '92_issuer_pk_remainder'),
      input(v, '9F32_issuer_pk_exponent'),
      pan,
    );
    if (typeof issuer === 'string') throw new Error(issuer);
    expect(toHexT(issuer.key.modulus)).toBe(v.derived.issuer.issuer_pk_modulus.toLowerCase());
    expect(issuer.serial).toBe(v.derived.issuer.serial.toLowerCase());
    const icc = recoverIccKey(
      issuer.key,
      input(v, '9F46_icc_pk_certificate'),
      new Uint8Array(0),
      input(v, '9F47_icc_pk_exponent'),
      input(v, 'static_data_to_be_authenticated'),
      pan,
    );
    if (typeof icc === 'string') throw new Error(icc);
    expect(toHexT(icc.key.modulus)).toBe(v.derived.icc.icc_pk_modulus.toLowerCase());
    const idn = verifySdad(
      icc.key,
      input(v, '9F4B_signed_dynamic_app_data'),
      input(v, 'ddol_data_9F37_unpredictable_number'),
      new Uint8Array(0),
      new Uint8Array(0),
      null,
    );
    if (typeof idn === 'string') throw new Error(idn);
    expect(toHexT(idn)).toBe(v.derived.sdad.IDN_9F4C.toLowerCase());
  });

  it('rejectsAFlippedSdadBit', () => {
    const doc = JSON.parse(readFileSync(VECTORS, 'utf8')) as { readonly dda: DdaVector };
    const v = doc.dda;
    const sdad = input(v, '9F4B_signed_dynamic_app_data');
    sdad[10] = (sdad[10] ?? 0) ^ 0x01;
    const modulus = hex(v.derived.icc.icc_pk_modulus);
    const result = verifySdad(
      { modulus, exponent: hex('03') },
      sdad,
      input(v, 'ddol_data_9F37_unpredictable_number'),
      new Uint8Array(0),
      new Uint8Array(0),
      null,
    );
    expect(typeof result).toBe('string');
  });
});
