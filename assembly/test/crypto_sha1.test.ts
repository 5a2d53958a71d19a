// SHA-1 in the kernel (OP_SHA1) against node:crypto on seeded random lengths and block edges.

import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import type { Kernel } from '../host/kernel_loader.js';
import { Prng } from '../../host-sim/src/prng.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 0x5a1_0001);
const EDGE_LENGTHS = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 248, 1000, 2000];

function expected(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

describe('kernel SHA-1', () => {
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await loadKernel({ runtime: 'core' });
  });

  it('sha1_atBlockEdges_matchesNodeCrypto', () => {
    const prng = new Prng(SEED);
    for (const length of EDGE_LENGTHS) {
      const data = prng.bytes(length);
      expect(kernel.step(KernelOp.OP_SHA1, 0, data), `length ${length}`).toBe(
        KernelStatus.STATUS_OK,
      );
      expect(Buffer.from(kernel.output()).toString('hex'), `length ${length}`).toBe(expected(data));
    }
  });

  it('sha1_onSeededRandomLengths_matchesNodeCrypto', () => {
    const prng = new Prng(SEED);
    console.log(`crypto_sha1 seed 0x${SEED.toString(16)} (replay: SHUAKA_SEED=${SEED})`);
    for (let round = 0; round < 500; round += 1) {
      const data = prng.bytes(prng.below(2001));
      expect(kernel.step(KernelOp.OP_SHA1, 0, data)).toBe(KernelStatus.STATUS_OK);
      expect(Buffer.from(kernel.output()).toString('hex'), `seed ${SEED} round ${round}`).toBe(
        expected(data),
      );
    }
  });

  it('sha1_withRepetitions_givesTheSameDigest', () => {
    const data = new Prng(SEED).bytes(248);
    expect(kernel.step(KernelOp.OP_SHA1, 50, data)).toBe(KernelStatus.STATUS_OK);
    expect(Buffer.from(kernel.output()).toString('hex')).toBe(expected(data));
  });

  it('sha1_ofTheFipsExample_isKnown', () => {
    // FIPS 180-4 example "abc".
    expect(kernel.step(KernelOp.OP_SHA1, 0, Buffer.from('abc'))).toBe(KernelStatus.STATUS_OK);
    expect(Buffer.from(kernel.output()).toString('hex')).toBe(
      'a9993e364706816aba3e25717850c26c9cd0d89d',
    );
  });
});
