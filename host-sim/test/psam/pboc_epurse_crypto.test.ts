// The e-purse crypto against a DES known answer (FIPS 81) and an independent node:crypto
// computation written in the test (support/epurse_reference.ts).

import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/prng.js';
import {
  cardKeyFromIssuerMaster,
  computeMac1,
  computeMac2,
  computeTac,
  DES3_ECB_CIPHERS_MAX,
  des3EncryptEcb,
  desEncryptBlock,
  diversifyKey,
  issuerMasterFromRoot,
  iso9797Mac1Des,
  iso9797Mac3,
  iso9797Pad2,
  purchaseSessionKey,
  TRANSACTION_TYPE_09_COMPOUND_PURCHASE,
} from '../../src/psam/pboc_epurse_crypto.js';
import { withSeed, testSeeds } from '../cards/support/seeded.js';
import {
  h,
  refDes,
  ref3des,
  refDiversify,
  refMac1,
  refMac3,
  refPurchase,
  x,
} from './support/epurse_reference.js';

describe('DES and ISO 9797-1 MACs', () => {
  it('des_fips81Vector_encryptsNowIsT', () => {
    // FIPS 81 appendix B: key 0123456789ABCDEF, "Now is t" → 3FA40E8A984D4815.
    expect(x(desEncryptBlock(h('0123456789abcdef'), h('4e6f772069732074')))).toBe(
      '3fa40e8a984d4815',
    );
  });

  it('pad2_alwaysAppends80ThenZeros', () => {
    expect(x(iso9797Pad2(h('')))).toBe('8000000000000000');
    expect(x(iso9797Pad2(h('0102030405060708')))).toBe('01020304050607088000000000000000');
    expect(x(iso9797Pad2(h('aabbcc')))).toBe('aabbcc8000000000');
  });

  for (const seed of testSeeds([1, 2, 3])) {
    it(`macs_seed${seed}_matchIndependentCbc`, () => {
      withSeed(seed, () => {
        const prng = new Prng(seed);
        for (let length = 0; length <= 40; length += 1) {
          const data = prng.bytes(length);
          const k8 = prng.bytes(8);
          const k16 = prng.bytes(16);
          expect(x(iso9797Mac1Des(k8, data))).toBe(x(refMac1(k8, data)));
          expect(x(iso9797Mac3(k16, data))).toBe(x(refMac3(k16, data)));
          expect(x(desEncryptBlock(k8, k16.subarray(0, 8)))).toBe(
            x(refDes(k8, k16.subarray(0, 8))),
          );
          const factor = prng.bytes(8);
          expect(x(diversifyKey(k16, factor))).toBe(x(refDiversify(k16, factor)));
        }
      });
    });
  }

  it('des3Ecb_fips81Message_encryptsEachBlockAlone', () => {
    // FIPS 81 appendix B, ECB: "Now is the time for all " under 0123456789ABCDEF (single DES
    // as EDE with K1 = K2), the same key again for the second call.
    const key16 = h('0123456789abcdef0123456789abcdef');
    const want = '3fa40e8a984d48156a271787ab8883f9893d51ec4b563b53';
    expect(x(des3EncryptEcb(key16, h('4e6f77206973207468652074696d6520666f7220616c6c20'))))
      .toBe(want);
    expect(x(des3EncryptEcb(key16, h('4e6f772069732074')))).toBe(want.slice(0, 16));
    expect(x(des3EncryptEcb(key16, h('')))).toBe('');
  });

  it('des3Ecb_manyKeysInterleaved_eachAnswersWithItsOwnKey', () => {
    // More keys than the cache keeps, each used again after the others (a kept cipher must
    // never answer for another key, nor hold a block back between calls).
    const prng = new Prng(7);
    const keys = Array.from({ length: DES3_ECB_CIPHERS_MAX + 9 }, () => prng.bytes(16));
    for (let round = 0; round < 3; round += 1) {
      for (const key of keys) {
        const blocks = prng.bytes(8 * (1 + prng.below(3)));
        const want = [];
        for (let at = 0; at < blocks.length; at += 8) {
          want.push(x(ref3des(key, blocks.subarray(at, at + 8))));
        }
        expect(x(des3EncryptEcb(key, blocks))).toBe(want.join(''));
      }
    }
    const key = keys[0] ?? new Uint8Array(16);
    const changed = key.slice();
    changed[15] = (changed[15] ?? 0) ^ 0x02;
    const block = h('0011223344556677');
    expect(x(des3EncryptEcb(changed, block))).toBe(x(ref3des(changed, block)));
    expect(x(des3EncryptEcb(key, block))).toBe(x(ref3des(key, block)));
    expect(() => des3EncryptEcb(key, new Uint8Array(12))).toThrow(RangeError);
    expect(() => des3EncryptEcb(new Uint8Array(8), block)).toThrow(RangeError);
  });

  it('sizes_whenWrong_throwRangeError', () => {
    expect(() => iso9797Mac1Des(new Uint8Array(16), h('00'))).toThrow(RangeError);
    expect(() => iso9797Mac3(new Uint8Array(8), h('00'))).toThrow(RangeError);
    expect(() => diversifyKey(new Uint8Array(16), new Uint8Array(7))).toThrow(RangeError);
    expect(() => cardKeyFromIssuerMaster(new Uint8Array(16), new Uint8Array(9))).toThrow(
      RangeError,
    );
  });
});

describe('purchase MAC1, MAC2, TAC (domain.md 7.4)', () => {
  for (const seed of testSeeds([11, 12, 13, 14])) {
    it(`purchase_seed${seed}_matchesIndependentLayouts`, () => {
      withSeed(seed, () => {
        const prng = new Prng(seed);
        const p = {
          root: prng.bytes(16),
          tacMaster: prng.bytes(16),
          issuerId: x(prng.bytes(8)),
          cardSerial8: x(prng.bytes(8)),
          random: x(prng.bytes(4)),
          atc: prng.below(0x10000),
          terminalSerial: prng.nextU32(),
          amount: prng.below(100_000),
          type: TRANSACTION_TYPE_09_COMPOUND_PURCHASE,
          terminalNumber: x(prng.bytes(6)),
          dateTime: '20261203072500',
        };
        const want = refPurchase(p);
        const serial10 = h(`1234${p.cardSerial8}`);
        const dpk = cardKeyFromIssuerMaster(issuerMasterFromRoot(p.root, h(p.issuerId)), serial10);
        expect(x(dpk)).toBe(want.dpk);
        const sk = purchaseSessionKey(dpk, {
          cardRandom: h(p.random),
          offlineSerial: p.atc,
          terminalSerial: p.terminalSerial,
        });
        expect(x(sk)).toBe(want.sk);
        const data = {
          amountMinor: p.amount,
          transactionType: p.type,
          terminalNumber: h(p.terminalNumber),
          dateTime: h(p.dateTime),
        };
        expect(x(computeMac1(sk, data))).toBe(want.mac1);
        expect(x(computeMac2(sk, p.amount))).toBe(want.mac2);
        const dtk = cardKeyFromIssuerMaster(p.tacMaster, h(p.cardSerial8));
        expect(x(computeTac(dtk, data, p.terminalSerial))).toBe(want.tac);
      });
    });
  }

  it('mac1_whenAnyInputBitFlips_changes', () => {
    const sk = h('0011223344556677');
    const base = {
      amountMinor: 200,
      transactionType: 9,
      terminalNumber: h('000000000123'),
      dateTime: h('20261203072500'),
    };
    const mac = x(computeMac1(sk, base));
    expect(x(computeMac1(sk, { ...base, amountMinor: 201 }))).not.toBe(mac);
    expect(x(computeMac1(sk, { ...base, transactionType: 6 }))).not.toBe(mac);
    expect(x(computeMac1(sk, { ...base, terminalNumber: h('000000000124') }))).not.toBe(mac);
    expect(x(computeMac1(sk, { ...base, dateTime: h('20261203072501') }))).not.toBe(mac);
    expect(() => computeMac1(sk, { ...base, amountMinor: 2 ** 32 })).toThrow(RangeError);
    expect(() => computeMac1(sk, { ...base, dateTime: h('2026120307') })).toThrow(RangeError);
  });
});
