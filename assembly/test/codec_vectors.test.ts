// Golden codec vectors through the built kernel, on the core and the component runtime.

import { beforeAll, describe, expect, it } from 'vitest';
import { KernelStatus, kernelStatusName } from '../host/abi.gen.js';
import { loadKernel, type Kernel, type KernelRuntime } from '../host/kernel_loader.js';
import { decodeTlvEntries } from '../host/kernel_codec.js';
import { loadCodecSteps, toHex } from './support/codec_vectors.js';

const steps = loadCodecSteps();

function objectsOf(output: Uint8Array): string[] {
  return decodeTlvEntries(output).map((e) => `${e.tag.toString(16).toUpperCase()}/${e.depth}`);
}

describe.each<KernelRuntime>(['core', 'component'])(
  'codec vectors on the %s runtime',
  (runtime) => {
    let kernel: Kernel;
    beforeAll(async () => {
      kernel = await loadKernel({ runtime });
    });

    it.each(steps.map((s) => [s.vector.id, s] as const))('%s', (_id, step) => {
      const status = kernel.step(step.op, step.arg, step.input);
      expect(kernelStatusName(status)).toBe(kernelStatusName(step.status));
      expect(toHex(kernel.output())).toBe(toHex(step.output));
      if (step.vector.expect.objects !== undefined) {
        expect(objectsOf(kernel.output())).toEqual(step.vector.expect.objects);
      }
      expect(kernel.faultCount()).toBe(0);
    });
  },
);

describe('vector set', () => {
  it('covers every codec op with good vectors and malformed twins', () => {
    const ops = new Set(steps.map((s) => s.vector.op));
    expect([...ops].sort()).toEqual([
      'OP_APDU_BUILD',
      'OP_APDU_PARSE_COMMAND',
      'OP_APDU_PARSE_RESPONSE',
      'OP_DOL_BUILD',
      'OP_TLV_FIND',
      'OP_TLV_PARSE',
      'OP_TLV_WALK',
    ]);
    for (const op of ops) {
      const ofOp = steps.filter((s) => s.vector.op === op);
      expect(
        ofOp.some((s) => s.status === 0),
        `${op} good`,
      ).toBe(true);
      expect(
        ofOp.some((s) => s.status < 0),
        `${op} malformed`,
      ).toBe(true);
    }
  });
});

describe.each<KernelRuntime>(['core', 'component'])(
  'DOL build from stored terminal data on the %s runtime',
  (runtime) => {
    it('reuses the terminal data of the previous build (bit 31 of arg)', async () => {
      const kernel = await loadKernel({ runtime });
      const kata = steps.find((s) => s.vector.id === 'dol_build_kata_gpo');
      if (kata === undefined) throw new Error('vector dol_build_kata_gpo missing');
      const reuse = 0x8000_0000;
      const pdol = kata.input.subarray(0, kata.arg);
      expect(kernel.step(kata.op, kata.arg, kata.input)).toBe(KernelStatus.STATUS_OK);
      // The same PDOL alone gives the KATA GPO data again (domain.md 1.5).
      expect(kernel.step(kata.op, reuse | pdol.length, pdol)).toBe(KernelStatus.STATUS_OK);
      expect(toHex(kernel.output())).toBe(toHex(kata.output));
      // Another DOL over the stored data: 9F37 truncated on the right, 9F02 padded on the left.
      const other = Uint8Array.from(Buffer.from('9F37029F0208', 'hex'));
      expect(kernel.step(kata.op, reuse | other.length, other)).toBe(KernelStatus.STATUS_OK);
      expect(toHex(kernel.output())).toBe('2B290000000000000001');
      // With the flag the input must be the DOL alone.
      expect(kernel.step(kata.op, reuse | 3, other)).toBe(KernelStatus.ERR_TLV_PATH_INVALID);
    });
  },
);
