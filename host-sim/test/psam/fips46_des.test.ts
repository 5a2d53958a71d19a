// The TypeScript DES against FIPS known answers and node:crypto (OpenSSL) on seeded random
// keys and blocks: single DES (as EDE with K1 = K2), two-key 3DES, and the CBC chain.

import { createCipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/prng.js';
import { Fips46Key } from '../../src/psam/fips46_des.js';
import { desCbcLastBlock } from '../../src/psam/pboc_epurse_crypto.js';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function encrypt(key: Uint8Array, block: Uint8Array): string {
  const out = new Uint8Array(8);
  new Fips46Key(key).encryptBlock(block, 0, out, 0);
  return hex(out);
}

function openSslEde(key16: Uint8Array, data: Uint8Array, mode: 'ecb' | 'cbc', iv?: Uint8Array) {
  const cipher = createCipheriv(`des-ede-${mode}`, key16, mode === 'ecb' ? null : (iv ?? null));
  cipher.setAutoPadding(false);
  return new Uint8Array(cipher.update(data));
}

describe('Fips46Key', () => {
  it('givesTheKnownAnswers', () => {
    // The worked example of the DES literature and FIPS 81's ECB example (key 0123456789ABCDEF).
    const key = Buffer.from('133457799bbcdff1', 'hex');
    expect(encrypt(key, Buffer.from('0123456789abcdef', 'hex'))).toBe('85e813540f0ab405');
    const fips81 = Buffer.from('0123456789abcdef', 'hex');
    expect(encrypt(fips81, Buffer.from('4e6f772069732074', 'hex'))).toBe('3fa40e8a984d4815');
  });

  it('encryptsAsOpenSsl_singleAndTwoKeyTripleDes', () => {
    const prng = new Prng(46);
    for (let i = 0; i < 500; i += 1) {
      const key16 = prng.bytes(16);
      const block = prng.bytes(8);
      expect(encrypt(key16, block)).toBe(hex(openSslEde(key16, block, 'ecb')));
      const key8 = key16.subarray(0, 8);
      const same = new Uint8Array(16);
      same.set(key8, 0);
      same.set(key8, 8);
      expect(encrypt(key8, block)).toBe(hex(openSslEde(same, block, 'ecb')));
    }
  });

  it('encryptsInPlace_andRefusesOtherKeyLengths', () => {
    const prng = new Prng(47);
    const key = prng.bytes(16);
    const data = prng.bytes(24);
    const expected = hex(openSslEde(key, data.subarray(8, 16), 'ecb'));
    new Fips46Key(key).encryptBlock(data, 8, data, 8);
    expect(hex(data.subarray(8, 16))).toBe(expected);
    expect(() => new Fips46Key(new Uint8Array(12))).toThrow(RangeError);
  });

  it('chainsAsOpenSslCbc', () => {
    const prng = new Prng(48);
    for (let blocks = 0; blocks <= 6; blocks += 1) {
      const key8 = prng.bytes(8);
      const iv = prng.bytes(8);
      const data = prng.bytes(blocks * 8);
      const same = new Uint8Array(16);
      same.set(key8, 0);
      same.set(key8, 8);
      const want = blocks === 0 ? iv : openSslEde(same, data, 'cbc', iv).subarray(-8);
      expect(hex(desCbcLastBlock(key8, data, iv, data.length))).toBe(hex(want));
    }
  });
});
