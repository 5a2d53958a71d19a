// The golden codec vectors under a second WebAssembly runtime: wabt's spectest-interp.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKernel } from '../host/kernel_loader.js';
import { REPO_ROOT, loadCodecSteps } from './support/codec_vectors.js';
import { requireTools } from './support/tools.js';
import { renderWast, runWast, type WastStep } from './support/wast_gen.js';

const work = mkdtempSync(join(tmpdir(), 'shuaka-wast-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function layout(): Promise<{ inPtr: number; pages: number }> {
  const kernel = await loadKernel();
  const module = new WebAssembly.Module(readFileSync(join(REPO_ROOT, 'build', 'kernel.wasm')));
  const instance = new WebAssembly.Instance(module, {});
  const inPtr = (instance.exports['shuaka_in_ptr'] as () => number)();
  return { inPtr, pages: kernel.memoryBytes() / 65536 };
}

describe('second runtime (wabt spectest-interp)', () => {
  it('returns the same status and output bytes as V8 for every codec vector', async () => {
    if (!requireTools('second runtime', ['wast2json', 'spectest-interp'])) return;
    const kernelBytes = new Uint8Array(readFileSync(join(REPO_ROOT, 'build', 'kernel.wasm')));
    const { inPtr, pages } = await layout();
    const steps: WastStep[] = loadCodecSteps();
    const result = runWast(work, 'codec', renderWast(kernelBytes, steps, inPtr, pages));
    // spectest-interp counts each module it instantiates as a test, then each assertion.
    expect(result.total).toBe(1 + steps.length * 4);
    expect(result.passed, result.output).toBe(result.total);
  });

  it('reports a wrong expectation (negative control)', async () => {
    if (!requireTools('second runtime', ['wast2json', 'spectest-interp'])) return;
    const kernelBytes = new Uint8Array(readFileSync(join(REPO_ROOT, 'build', 'kernel.wasm')));
    const { inPtr, pages } = await layout();
    const good = loadCodecSteps().find((s) => s.vector.id === 'dol_build_kata_gpo');
    if (good === undefined) throw new Error('vector dol_build_kata_gpo missing');
    const flipped = Uint8Array.from(good.output);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    const result = runWast(
      work,
      'negative',
      renderWast(kernelBytes, [{ ...good, output: flipped }], inPtr, pages),
    );
    expect(result.total).toBe(1 + 4);
    expect(result.passed).toBe(1 + 3);
  });
});
