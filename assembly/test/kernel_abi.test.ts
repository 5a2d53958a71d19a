// The kernel boundary: zero imports, fixed memory, the generated ABI, trap recovery, component.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus } from '../host/abi.gen.js';
import { loadKernel, type KernelRuntime } from '../host/kernel_loader.js';
import { REPO_ROOT, hex, toHex } from './support/codec_vectors.js';
// @ts-expect-error: a plain .mjs build tool without type declarations
import { renderAbi, GENERATED_PATH } from '../tools/gen_abi.mjs';

const RELEASE = join(REPO_ROOT, 'build', 'kernel.wasm');

/** Raw sections of a core module: id -> payload bytes (the last one of each id). */
function sections(bytes: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  let p = 8;
  while (p < bytes.length) {
    const id = bytes[p] ?? 0;
    p += 1;
    let size = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[p] ?? 0;
      p += 1;
      size += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    out.set(id, bytes.subarray(p, p + size));
    p += size;
  }
  return out;
}

describe('release kernel module', () => {
  const bytes = new Uint8Array(readFileSync(RELEASE));
  const module = new WebAssembly.Module(bytes);

  it('has zero imports', () => {
    expect(WebAssembly.Module.imports(module)).toEqual([]);
  });

  it('exports the core ABI and the canonical ABI of the WIT world', () => {
    const names = WebAssembly.Module.exports(module)
      .map((e) => e.name)
      .sort();
    for (const name of [
      'memory',
      'shuaka_step',
      'shuaka_in_ptr',
      'shuaka_out_ptr',
      'shuaka_out_length',
      'shuaka_fault_ptr',
      'step',
      'version',
      'cabi_realloc',
      'cabi_post_step',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('has a fixed linear memory of at most 256 KiB that cannot grow', () => {
    const instance = new WebAssembly.Instance(module, {});
    const memory = instance.exports['memory'] as WebAssembly.Memory;
    expect(memory.buffer.byteLength).toBeLessThanOrEqual(256 * 1024);
    expect(() => memory.grow(1)).toThrow(RangeError);
  });

  it('is at most 64 KiB', () => {
    expect(bytes.length).toBeLessThanOrEqual(64 * 1024);
  });

  it('is the same code inside the component', () => {
    const inner = new Uint8Array(
      readFileSync(join(REPO_ROOT, 'build', 'component', 'kernel.core.wasm')),
    );
    const a = sections(bytes);
    const b = sections(inner);
    // Code (10) and data (11) sections are the kernel itself; custom sections may differ.
    expect(toHex(b.get(10) ?? new Uint8Array())).toBe(toHex(a.get(10) ?? new Uint8Array(1)));
    expect(toHex(b.get(11) ?? new Uint8Array())).toBe(toHex(a.get(11) ?? new Uint8Array(1)));
  });
});

describe('generated ABI', () => {
  it('assembly/host/abi.gen.ts is current with assembly/src/abi', () => {
    const current = readFileSync(GENERATED_PATH as string, 'utf8');
    expect(current, 'stale: run npm run gen:abi').toBe(renderAbi() as string);
  });

  it('OP_INFO reports the ABI version and capacities', async () => {
    const kernel = await loadKernel();
    expect(kernel.step(KernelOp.OP_INFO, 0, new Uint8Array(0))).toBe(KernelStatus.STATUS_OK);
    expect(toHex(kernel.output())).toBe('000000020000200000002000');
  });
});

describe.each<KernelRuntime>(['core', 'component'])(
  'trap recovery on the %s runtime',
  (runtime) => {
    it('reports ERR_KERNEL_FAULT, replaces the instance and keeps working', async () => {
      const kernel = await loadKernel({ runtime });
      const ppse = hex('6F0A840E');
      expect(kernel.step(KernelOp.OP_FAULT_INJECT, 0, new Uint8Array(0))).toBe(
        KernelStatus.ERR_KERNEL_FAULT,
      );
      expect(kernel.faultCount()).toBe(1);
      if (runtime === 'core') {
        expect(kernel.lastFault()?.message).toContain('OP_FAULT_INJECT');
        expect(kernel.lastFault()?.file).toContain('dispatch.ts');
      }
      expect(kernel.step(KernelOp.OP_TLV_PARSE, 0, ppse)).toBe(
        KernelStatus.ERR_TLV_LENGTH_OVERFLOW,
      );
      expect(kernel.step(KernelOp.OP_APDU_PARSE_RESPONSE, 0, hex('9000'))).toBe(
        KernelStatus.STATUS_OK,
      );
      expect(toHex(kernel.output())).toBe('9000000000');
    });

    it('refuses input beyond the IN buffer without calling the kernel', async () => {
      const kernel = await loadKernel({ runtime });
      const status = kernel.step(KernelOp.OP_TLV_PARSE, 0, new Uint8Array(kernel.inCapacity + 1));
      expect(status).toBe(KernelStatus.ERR_INPUT_TOO_LONG);
      expect(kernel.faultCount()).toBe(0);
    });

    it('answers ERR_UNKNOWN_OP for an op it does not have', async () => {
      const kernel = await loadKernel({ runtime });
      expect(kernel.step(0xffff, 0, new Uint8Array(0))).toBe(KernelStatus.ERR_UNKNOWN_OP);
    });
  },
);
