// JT/T 978 under a second WebAssembly runtime: every kernel step of compound purchases (two
// devices, the pre-commit stop, a tear and its recovery, a deny-list block) recorded on V8 and
// replayed on the unmodified release kernel under wabt's spectest-interp, in order, on one
// instance: the same statuses and the same output bytes. Also the component runtime (jco).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKernel, type Kernel, type KernelRuntime } from '../host/kernel_loader.js';
import { KernelOp } from '../host/abi.gen.js';
import { tunionCard } from '../../host-sim/src/cards/tunion_population.js';
import { TEST_ISSUER_ID } from '../../host-sim/src/psam/psam_profile.js';
import { REPO_ROOT } from './support/codec_vectors.js';
import { requireTools } from './support/tools.js';
import { renderWast, runWast, type WastStep } from './support/wast_gen.js';
import { configureRig, hex, RigPsam, tap } from './support/jtt978_rig.js';

const work = mkdtempSync(join(tmpdir(), 'shuaka-jtt978-wast-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A kernel that records every step it runs (op, arg, input, status, output). */
function recording(kernel: Kernel, steps: WastStep[]): Kernel {
  return {
    runtime: kernel.runtime,
    inCapacity: kernel.inCapacity,
    step(op: number, arg: number, input: Uint8Array): number {
      const status = kernel.step(op, arg, input);
      steps.push({ op, arg, input: input.slice(), status, output: kernel.output().slice() });
      return status;
    },
    output: () => kernel.output(),
    writeInput: (input) => kernel.writeInput(input),
    stepInPlace: (op, arg, inLength) => kernel.stepInPlace(op, arg, inLength),
    memoryBytes: () => kernel.memoryBytes(),
    faultCount: () => kernel.faultCount(),
    lastFault: () => kernel.lastFault(),
  };
}

/** Configuration, a purchase, a tear and its recovery, a deny-list block: all the steps. */
async function recordSession(runtime: KernelRuntime): Promise<WastStep[]> {
  const steps: WastStep[] = [];
  const kernel = recording(await loadKernel({ runtime }), steps);
  configureRig(kernel);
  const psam = new RigPsam(TEST_ISSUER_ID);
  const card = tunionCard(21, 'tunion-interop-shenzhen');
  await tap(kernel, card, psam, {});
  const { result } = await tap(kernel, card, psam, {}, [
    { device: 'card', exchange: 11, cut: 'after' },
  ]);
  const torn = result.app === 'jtt978' ? result.outcome.recordBytes : null;
  if (torn === null) throw new Error('expected a torn tap');
  await tap(kernel, card, psam, {}, [], torn);
  const denied = tunionCard(22, 'tunion-interop-beijing');
  await tap(kernel, denied, psam, { decide: () => ({ kind: 'deny-list' }) });
  return steps;
}

describe('JT/T 978 on a second runtime', () => {
  it('wabt replays every step of V8 with the same statuses and output bytes', async () => {
    if (!requireTools('second runtime', ['wast2json', 'spectest-interp'])) return;
    const steps = await recordSession('core');
    const ops = new Set(steps.map((s) => s.op));
    expect(ops).toContain(KernelOp.OP_JTT978_CONFIGURE);
    expect(steps.some((s) => s.status === 3)).toBe(true);
    expect(steps.some((s) => s.status === 4)).toBe(true);
    const kernelBytes = new Uint8Array(readFileSync(join(REPO_ROOT, 'build', 'kernel.wasm')));
    const module = new WebAssembly.Module(kernelBytes);
    const instance = new WebAssembly.Instance(module, {});
    const inPtr = (instance.exports['shuaka_in_ptr'] as () => number)();
    const memory = instance.exports['memory'] as WebAssembly.Memory;
    const pages = memory.buffer.byteLength / 65536;
    const result = runWast(work, 'jtt978', renderWast(kernelBytes, steps, inPtr, pages));
    expect(result.total).toBe(1 + steps.length * 4);
    expect(result.passed, result.output).toBe(result.total);
  });

  it('the component runtime (jco, canonical ABI) gives the same steps as the core one', async () => {
    const core = await recordSession('core');
    const component = await recordSession('component');
    const view = (steps: WastStep[]): string[] =>
      steps.map((s) => `${s.op}/${s.arg} ${hex(s.input)} -> ${s.status} ${hex(s.output)}`);
    expect(view(component)).toEqual(view(core));
  });
});
