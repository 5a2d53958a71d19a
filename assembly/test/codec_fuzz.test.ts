// Differential fuzzing of the kernel codecs: mutated vectors against the TypeScript reference.
//
// Every mutated input must give a defined status, the same answer as the reference codec, no
// trap and an unchanged memory size. SHUAKA_SEED replays a run; the seed is always printed.

import { describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus, kernelStatusName } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import { Prng } from '../../host-sim/src/prng.js';
import { fuzzMutate } from './support/fuzz_mutate.js';
import { loadCodecSteps, toHex, encodeEntries, type CodecStep } from './support/codec_vectors.js';
import {
  refDolBuild,
  refDolParse,
  refTagList,
  refTlvFind,
  refTlvParse,
} from './support/ref_codecs.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 0x5eed_c0de);
const ITERATIONS = 100_000;
const KNOWN = new Set(
  Object.values(KernelStatus).filter((v): v is number => typeof v === 'number'),
);

/** One to three random edits (see fuzzMutate), with this suite's special bytes. */
function mutate(prng: Prng, bytes: Uint8Array): Uint8Array {
  return fuzzMutate(prng, bytes, [0x00, 0xff, 0x1f, 0x9f, 0xbf, 0xe1, 0x80], 8192);
}

/** What the reference codec says for `step` with `input`: status name and output hex. */
function reference(step: CodecStep, input: Uint8Array): { status: string; output: string } | null {
  switch (step.vector.op) {
    case 'OP_TLV_PARSE': {
      const r = refTlvParse(input);
      return r.ok
        ? { status: 'STATUS_OK', output: toHex(encodeEntries(r.entries)) }
        : { status: r.error, output: '' };
    }
    case 'OP_TLV_WALK': {
      const r = refTlvParse(input);
      if (!r.ok) return { status: r.error, output: '' };
      const count = r.entries.length.toString(16).toUpperCase().padStart(8, '0');
      return { status: 'STATUS_OK', output: count };
    }
    case 'OP_TLV_FIND': {
      const path = refTagList(input.subarray(0, step.arg));
      if (typeof path === 'string') return { status: path, output: '' };
      const r = refTlvFind(input.subarray(step.arg), path);
      return typeof r === 'string'
        ? { status: r, output: '' }
        : { status: 'STATUS_OK', output: toHex(r) };
    }
    case 'OP_DOL_BUILD': {
      // The kernel checks the DOL, then the terminal data, then builds: the same order here.
      const dol = input.subarray(0, step.arg);
      const entries = refDolParse(dol);
      if (typeof entries === 'string') return { status: entries, output: '' };
      // Objects are stored in document order, so a duplicate before a malformation wins.
      const terminal = refTlvParse(input.subarray(step.arg));
      const values = new Map<number, Uint8Array>();
      for (const e of terminal.entries) {
        if (e.constructed) continue;
        if (values.has(e.tag)) return { status: 'ERR_TLV_DUPLICATE', output: '' };
        const start = step.arg + e.valueOffset;
        values.set(e.tag, input.subarray(start, start + e.valueLength));
      }
      if (!terminal.ok) return { status: terminal.error, output: '' };
      const r = refDolBuild(dol, values);
      return typeof r === 'string'
        ? { status: r, output: '' }
        : { status: 'STATUS_OK', output: toHex(r) };
    }
    default:
      return null;
  }
}

describe('codec fuzz', () => {
  it(`survives ${ITERATIONS} mutated inputs and agrees with the reference (seed ${SEED})`, async () => {
    console.log(`codec fuzz seed ${SEED} (replay with SHUAKA_SEED=${SEED})`);
    const kernel = await loadKernel();
    const memoryBefore = kernel.memoryBytes();
    const steps = loadCodecSteps();
    const prng = new Prng(SEED);
    let compared = 0;
    for (let i = 0; i < ITERATIONS; i += 1) {
      const step = steps[prng.below(steps.length)] as CodecStep;
      const pathPart = step.vector.op === 'OP_TLV_FIND' || step.vector.op === 'OP_DOL_BUILD';
      // Keep the path/DOL prefix intact half of the time so the mutation reaches the data.
      const keep = pathPart && prng.chance(0.5) ? step.arg : 0;
      const input =
        keep > 0
          ? Uint8Array.from([
              ...step.input.subarray(0, keep),
              ...mutate(prng, step.input.subarray(keep)),
            ])
          : mutate(prng, step.input);
      const arg = keep > 0 ? step.arg : Math.min(step.arg, input.length);
      const status = kernel.step(step.op, arg, input);
      const where = `seed ${SEED} iteration ${i} ${step.vector.id} input ${toHex(input)}`;
      if (!KNOWN.has(status) || kernel.faultCount() !== 0) {
        throw new Error(
          `undefined status ${status} or trap (${kernel.lastFault()?.message}) at ${where}`,
        );
      }
      const expected = reference(step, input);
      if (expected !== null && arg === step.arg) {
        compared += 1;
        const got = { status: kernelStatusName(status), output: toHex(kernel.output()) };
        if (got.status !== expected.status || got.output !== expected.output) {
          expect(got, where).toEqual(expected);
        }
      }
    }
    expect(kernel.memoryBytes()).toBe(memoryBefore);
    expect(kernel.faultCount()).toBe(0);
    expect(compared).toBeGreaterThan(ITERATIONS / 4);
    console.log(`codec fuzz: ${ITERATIONS} inputs, ${compared} compared with the reference`);
  });

  it('the APDU codecs never trap on arbitrary bytes', async () => {
    const kernel = await loadKernel();
    const prng = new Prng(SEED ^ 0xa9d0);
    for (let i = 0; i < 20_000; i += 1) {
      const input = prng.bytes(prng.below(300));
      for (const op of [
        KernelOp.OP_APDU_PARSE_COMMAND,
        KernelOp.OP_APDU_PARSE_RESPONSE,
        KernelOp.OP_APDU_BUILD,
      ]) {
        const status = kernel.step(op, prng.nextU32() & 0x1ffff, input);
        expect(KNOWN.has(status), `seed ${SEED} op ${op} ${toHex(input)}`).toBe(true);
      }
    }
    expect(kernel.faultCount()).toBe(0);
  });
});
