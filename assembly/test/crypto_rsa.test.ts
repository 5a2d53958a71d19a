// RSA public operation in the kernel (OP_RSA_PUBLIC) against BigInt modpow and node:crypto
// (OpenSSL), plus edge cases.
//
// Moduli need not be RSA moduli for x^e mod n to be checked, so most are seeded random odd
// numbers of every length 64..256 bytes (including lengths that are not whole 32-bit or 28-bit
// limbs) and adversarial shapes that drive the division's and Montgomery's rare branches
// (final subtraction, all-ones limbs, the top 28-bit limb nearly empty or full). Real keys:
// UnionPay CA key 80 (e = 65537) from ../shared/vectors and OpenSSL-generated keys.

import {
  constants, createPublicKey, generateKeyPairSync, publicEncrypt,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus, kernelStatusName } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import type { Kernel } from '../host/kernel_loader.js';
import { Prng } from '../../host-sim/src/prng.js';
import { REPO_ROOT } from './support/codec_vectors.js';
import { bigToBytes, bytesToBig, modPow, randomBig } from './support/oda_rsa.js';

const CAPK_VECTORS = join(REPO_ROOT, '..', 'shared', 'vectors', 'unionpay_capk.json');

const SEED = Number(process.env['SHUAKA_SEED'] ?? 0x45a_0001);

function rsaInput(modulus: Uint8Array, exponent: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + modulus.length + 1 + exponent.length + data.length);
  out[0] = modulus.length >> 8;
  out[1] = modulus.length & 0xff;
  out.set(modulus, 2);
  out[2 + modulus.length] = exponent.length;
  out.set(exponent, 3 + modulus.length);
  out.set(data, 3 + modulus.length + exponent.length);
  return out;
}

const E3 = Uint8Array.of(3);
const E65537 = Uint8Array.of(1, 0, 1);

describe('kernel RSA public operation', () => {
  let kernel: Kernel;
  let memoryBytes = 0;
  beforeAll(async () => {
    kernel = await loadKernel({ runtime: 'core' });
    memoryBytes = kernel.memoryBytes();
  });

  function check(n: bigint, bytes: number, e: bigint, x: bigint, label: string): void {
    const modulus = bigToBytes(n, bytes);
    const status = kernel.step(
      KernelOp.OP_RSA_PUBLIC,
      0,
      rsaInput(modulus, e === 3n ? E3 : E65537, bigToBytes(x, bytes)),
    );
    expect(kernelStatusName(status), label).toBe('STATUS_OK');
    expect(bytesToBig(kernel.output()), label).toBe(modPow(x, e, n));
  }

  it('rsaPublic_onSeededRandomModuli_matchesBigInt', () => {
    const prng = new Prng(SEED);
    console.log(`crypto_rsa seed 0x${SEED.toString(16)} (replay: SHUAKA_SEED=${SEED})`);
    for (let bytes = 64; bytes <= 256; bytes += 1) {
      // Random bit length within the byte length: the top limb may be anything from 1 to 32 bits.
      const bits = bytes * 8 - prng.below(8);
      const n = randomBig(prng, bits) | 1n;
      for (const e of [3n, 65537n]) {
        const x = randomBig(prng, bits + 8) % n;
        check(n, bytes, e, x, `seed ${SEED} bytes ${bytes} e ${e}`);
      }
    }
  });

  it('rsaPublic_onAdversarialShapes_matchesBigInt', () => {
    const prng = new Prng(SEED ^ 0x77);
    const shapes: Array<(bits: number) => bigint> = [
      (bits) => (1n << BigInt(bits)) - 1n, // all ones: d1 = d0 = 0xFFFFFFFF
      (bits) => (1n << BigInt(bits - 1)) + 1n, // 100...001: d1 = 0x80000000, d0 = 0
      (bits) => (1n << BigInt(bits)) - (1n << BigInt(bits / 2)) + 1n,
      (bits) => ((1n << BigInt(bits)) - 1n) ^ (0xffffffffn << 32n), // a zero limb below the top
    ];
    for (const bytes of [64, 100, 128, 176, 248, 256]) {
      for (const [i, shape] of shapes.entries()) {
        const n = shape(bytes * 8) | 1n;
        const inputs = [
          0n,
          1n,
          2n,
          n - 1n,
          n - 2n,
          n >> 1n,
          (n * 3n) >> 2n,
          randomBig(prng, bytes * 8) % n,
        ];
        for (const x of inputs) {
          check(n, bytes, 3n, x, `shape ${i} bytes ${bytes} x ${x.toString(16).slice(0, 12)}`);
        }
        check(n, bytes, 65537n, n - 1n, `shape ${i} bytes ${bytes} e 65537`);
      }
    }
  });

  it('rsaPublic_whenInputNotBelowModulus_returnsInputRange', () => {
    const prng = new Prng(SEED);
    const n = randomBig(prng, 1024) | 1n;
    const modulus = bigToBytes(n, 128);
    for (const x of [n, n + 1n, (1n << 1024n) - 1n]) {
      const status = kernel.step(
        KernelOp.OP_RSA_PUBLIC,
        0,
        rsaInput(modulus, E3, bigToBytes(x, 128)),
      );
      expect(status).toBe(KernelStatus.ERR_RSA_INPUT_RANGE);
      expect(kernel.output().length).toBe(0);
    }
  });

  it('rsaPublic_withBadLayoutsAndKeys_returnsDefinedErrors', () => {
    const prng = new Prng(SEED);
    const n = randomBig(prng, 1024) | 1n;
    const modulus = bigToBytes(n, 128);
    const x = bigToBytes(n >> 1n, 128);
    const cases: Array<[string, Uint8Array, KernelStatus]> = [
      ['empty', new Uint8Array(0), KernelStatus.ERR_RSA_INPUT_MALFORMED],
      [
        'truncated modulus',
        rsaInput(modulus, E3, x).subarray(0, 100),
        KernelStatus.ERR_RSA_INPUT_MALFORMED,
      ],
      [
        'data one byte short',
        rsaInput(modulus, E3, x.subarray(1)),
        KernelStatus.ERR_RSA_INPUT_LENGTH,
      ],
      [
        'data one byte long',
        rsaInput(modulus, E3, Uint8Array.of(0, ...x)),
        KernelStatus.ERR_RSA_INPUT_LENGTH,
      ],
      [
        'modulus 63 bytes',
        rsaInput(modulus.subarray(0, 63), E3, x.subarray(0, 63)),
        KernelStatus.ERR_RSA_MODULUS_LENGTH,
      ],
      [
        'modulus 257 bytes',
        rsaInput(new Uint8Array(257).fill(0xf1), E3, new Uint8Array(257)),
        KernelStatus.ERR_RSA_MODULUS_LENGTH,
      ],
      [
        'leading zero',
        rsaInput(Uint8Array.of(0, ...modulus.subarray(1)), E3, new Uint8Array(128)),
        KernelStatus.ERR_RSA_MODULUS_INVALID,
      ],
      [
        'even modulus',
        rsaInput(bigToBytes(n - 1n, 128), E3, new Uint8Array(128)),
        KernelStatus.ERR_RSA_MODULUS_INVALID,
      ],
      [
        'exponent 5',
        rsaInput(modulus, Uint8Array.of(5), x),
        KernelStatus.ERR_RSA_EXPONENT_UNSUPPORTED,
      ],
      [
        'exponent 17',
        rsaInput(modulus, Uint8Array.of(0x11), x),
        KernelStatus.ERR_RSA_EXPONENT_UNSUPPORTED,
      ],
      [
        'exponent empty',
        rsaInput(modulus, new Uint8Array(0), x),
        KernelStatus.ERR_RSA_EXPONENT_UNSUPPORTED,
      ],
      [
        'exponent 5 bytes',
        rsaInput(modulus, Uint8Array.of(1, 0, 0, 0, 3), x),
        KernelStatus.ERR_RSA_EXPONENT_UNSUPPORTED,
      ],
    ];
    for (const [label, input, want] of cases) {
      expect(kernelStatusName(kernel.step(KernelOp.OP_RSA_PUBLIC, 0, input)), label).toBe(
        kernelStatusName(want),
      );
    }
    // A zero-padded exponent (000003, as some parameter files carry it) is still 3.
    expect(
      kernel.step(KernelOp.OP_RSA_PUBLIC, 0, rsaInput(modulus, Uint8Array.of(0, 0, 3), x)),
    ).toBe(KernelStatus.STATUS_OK);
    expect(bytesToBig(kernel.output())).toBe(modPow(n >> 1n, 3n, n));
    expect(kernel.memoryBytes()).toBe(memoryBytes);
    expect(kernel.faultCount()).toBe(0);
  });
  it('rsaPublic65537_onMontgomeryEdgeShapes_matchesBigInt', () => {
    const prng = new Prng(SEED ^ 0x65537);
    // Bit lengths around whole 28-bit limbs (R = 2^(28k) just above n) and 32-bit limbs.
    for (const bits of [505, 512, 532, 560, 1008, 1012, 1024, 1400, 1408, 1980, 1984, 2044, 2048]) {
      const bytes = Math.ceil(bits / 8);
      const top = 1n << BigInt(bits - 1);
      const moduli = [
        (1n << BigInt(bits)) - 1n,
        top + 1n,
        top | randomBig(prng, 28) | 1n,
        (randomBig(prng, bits) | top | 1n) & ~(0xfffffffn << 28n),
        randomBig(prng, bits) | top | 1n,
      ];
      for (const [i, n] of moduli.entries()) {
        const inputs = [0n, 1n, 2n, n - 1n, n - 2n, n >> 1n, (1n << BigInt(bits - 2)) % n];
        for (let r = 0; r < 3; r += 1) inputs.push(randomBig(prng, bits) % n);
        for (const x of inputs) {
          check(n, bytes, 65537n, x, `bits ${bits} shape ${i} x ${x.toString(16).slice(0, 12)}`);
        }
      }
    }
  });

  it('rsaPublic65537_differentialFuzz_matchesBigInt', () => {
    const seed = SEED ^ 0xf4f4;
    const prng = new Prng(seed);
    console.log(`crypto_rsa e=65537 fuzz seed ${seed} (replay: SHUAKA_SEED=${SEED})`);
    for (let round = 0; round < 1500; round += 1) {
      const bytes = 64 + prng.below(193);
      const bits = bytes * 8 - prng.below(8);
      const n = randomBig(prng, bits) | (1n << BigInt(bits - 1)) | 1n;
      const x = randomBig(prng, bits) % n;
      check(n, bytes, 65537n, x, `seed ${seed} round ${round} bytes ${bytes}`);
    }
  });

  it('rsaPublic65537_onUnionPayCaKey80_matchesNodeCrypto', () => {
    interface CapkVector {
      readonly index: string;
      readonly modulus: string;
      readonly exponent: string;
    }
    const vectors = JSON.parse(readFileSync(CAPK_VECTORS, 'utf8')) as { keys: CapkVector[] };
    const key = vectors.keys.find((k) => k.index === '80');
    expect(key?.exponent).toBe('010001');
    const modulus = Buffer.from(key?.modulus ?? '', 'hex');
    const n = bytesToBig(modulus);
    const prng = new Prng(SEED ^ 0x80);
    for (const x of [1n, n - 1n, randomBig(prng, 1000), randomBig(prng, 1024) % n]) {
      const data = bigToBytes(x, modulus.length);
      const jwk = { kty: 'RSA', n: modulus.toString('base64url'), e: 'AQAB' };
      const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
      const want = publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, data);
      const status = kernel.step(KernelOp.OP_RSA_PUBLIC, 0, rsaInput(modulus, E65537, data));
      expect(kernelStatusName(status)).toBe('STATUS_OK');
      expect(Buffer.from(kernel.output()).equals(want)).toBe(true);
    }
  });

  it('rsaPublic65537_onOpenSslKeys_matchesNodeCrypto', () => {
    const prng = new Prng(SEED ^ 0x0551);
    for (const bits of [512, 768, 1024, 1152, 1408, 1536, 1984, 2048]) {
      const { publicKey } = generateKeyPairSync('rsa', {
        modulusLength: bits,
        publicExponent: 65537,
      });
      const jwk = publicKey.export({ format: 'jwk' });
      const modulus = Buffer.from(jwk.n ?? '', 'base64url');
      const n = bytesToBig(modulus);
      for (let r = 0; r < 4; r += 1) {
        const data = bigToBytes(randomBig(prng, bits) % n, modulus.length);
        const want = publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, data);
        const status = kernel.step(KernelOp.OP_RSA_PUBLIC, 0, rsaInput(modulus, E65537, data));
        expect(kernelStatusName(status), `${bits} bits`).toBe('STATUS_OK');
        expect(Buffer.from(kernel.output()).equals(want), `${bits} bits`).toBe(true);
      }
    }
    expect(kernel.memoryBytes()).toBe(memoryBytes);
    expect(kernel.faultCount()).toBe(0);
  });
});
