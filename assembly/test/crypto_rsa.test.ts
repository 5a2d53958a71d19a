// RSA public operation in the kernel (OP_RSA_PUBLIC) against BigInt modpow, plus edge cases.
//
// Moduli need not be RSA moduli for x^e mod n to be checked, so most are seeded random odd
// numbers of every length 64..256 bytes (including lengths that are not whole 32-bit limbs)
// and adversarial shapes that drive the division's rare branches.

import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus, kernelStatusName } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import type { Kernel } from '../host/kernel_loader.js';
import { Prng } from '../../host-sim/src/prng.js';
import { bigToBytes, bytesToBig, modPow, randomBig } from './support/oda_rsa.js';

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
        if (e === 65537n && bytes % 8 !== 0) continue;
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
});
