// Kernel footprint: .wasm size, linear memory, and the memory a realistic workload touches.
//
// The kernel runs with `--runtime stub` and a fixed memory (asconfig.json), so its size never
// changes; what matters is how much of it the work reaches. The bench instantiates the module
// itself, keeps a copy of the fresh memory, runs taps of every card kind in every mode through
// the production app, and diffs: the highest changed byte is the touched high-water mark.
// Bytes rewritten with their old value do not show, so the figure is a lower bound.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { KernelStatus } from '../assembly/host/abi.gen.js';
import { defaultBuildDir, type Kernel } from '../assembly/host/kernel_loader.js';
import { Prng } from '../host-sim/src/prng.js';
import { createE2eBoard } from './e2e_board.js';
import { BENCH_CARD_KINDS } from './e2e_cards.js';
import { spacedRiders } from './e2e_latency.js';
import { runRiders } from './e2e_taps.js';
import type { FootprintResult } from './report/report_types.js';

interface CoreExports {
  readonly memory: WebAssembly.Memory;
  shuaka_in_ptr(): number;
  shuaka_out_ptr(): number;
  shuaka_out_length(): number;
  shuaka_step(op: number, arg: number, inLength: number): number;
}

/** A core-module kernel whose linear memory the bench can read (no trap recovery: traps throw). */
class InspectableKernel implements Kernel {
  readonly runtime = 'core' as const;
  readonly inCapacity = 8192;
  readonly exports: CoreExports;
  private outLength = 0;

  constructor(module: WebAssembly.Module) {
    const instance = new WebAssembly.Instance(module, {});
    this.exports = instance.exports as unknown as CoreExports;
  }

  memory(): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer);
  }

  step(op: number, arg: number, input: Uint8Array): number {
    if (!this.writeInput(input)) return KernelStatus.ERR_INPUT_TOO_LONG;
    return this.stepInPlace(op, arg, input.length);
  }

  writeInput(input: Uint8Array): boolean {
    if (input.length > this.inCapacity) return false;
    this.memory().set(input, this.exports.shuaka_in_ptr());
    return true;
  }

  stepInPlace(op: number, arg: number, inLength: number): number {
    const status = this.exports.shuaka_step(op >>> 0, arg >>> 0, inLength >>> 0);
    this.outLength = this.exports.shuaka_out_length();
    return status;
  }

  output(): Uint8Array {
    const at = this.exports.shuaka_out_ptr();
    return this.memory().subarray(at, at + this.outLength);
  }

  memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  faultCount(): number {
    return 0;
  }

  lastFault(): null {
    return null;
  }
}

/** Taps per card kind and mode in the workload. */
const WORKLOAD_TAPS = 4;

/** Measures sizes and the touched high-water mark after taps of every card kind and mode. */
export async function runFootprint(seed: number): Promise<FootprintResult> {
  const buildDir = defaultBuildDir();
  const wasm = readFileSync(join(buildDir, 'kernel.wasm'));
  const componentPath = join(buildDir, 'kernel.component.wasm');
  const module = await WebAssembly.compile(wasm);
  const kernel = new InspectableKernel(module);
  const fresh = kernel.memory().slice();
  let runs = 0;
  for (const mode of ['ec', 'oda', 'auto'] as const) {
    const board = await createE2eBoard({
      seed,
      baudRate: 921600,
      rfBitRateKbps: 106,
      mode,
      kernel,
    });
    try {
      const prng = new Prng(seed).fork(`footprint:${mode}`);
      const kinds = (i: number) => BENCH_CARD_KINDS[i % BENCH_CARD_KINDS.length] ?? 'phone';
      const plans = spacedRiders(prng, kinds, WORKLOAD_TAPS * BENCH_CARD_KINDS.length, 0);
      runs += (await runRiders(board, plans)).length;
    } finally {
      board.dispose();
    }
  }
  const after = kernel.memory();
  let highWater = 0;
  let touched = 0;
  for (let i = 0; i < after.length; i += 1) {
    if (after[i] !== fresh[i]) {
      highWater = i + 1;
      touched += 1;
    }
  }
  return {
    wasmBytes: wasm.length,
    wasmGzipBytes: gzipSync(wasm, { level: 9 }).length,
    componentWasmBytes: existsSync(componentPath) ? readFileSync(componentPath).length : null,
    linearMemoryBytes: after.length,
    touchedHighWaterBytes: highWater,
    touchedBytes: touched,
    memoryGrew: after.length !== fresh.length,
    workload: `${runs} app taps: ${BENCH_CARD_KINDS.join(', ')} in EC, ODA and auto mode`,
  };
}
