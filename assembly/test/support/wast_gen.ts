// Writes a .wast script that runs codec steps on the unmodified release kernel under wabt.
//
// The kernel module is embedded as `(module binary ...)`; one small helper module per step
// imports the kernel's memory, places the input in IN with a data segment, and exposes the
// status, the output length and an FNV-1a 64 hash of the output for assert_return.

import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One step to run and what it must give. */
export interface WastStep {
  op: number;
  arg: number;
  input: Uint8Array;
  status: number;
  output: Uint8Array;
}

/** FNV-1a 64 of `bytes`, the same function the helper module computes in wasm. */
export function fnv1a64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h;
}

function wastString(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) out += `\\${b.toString(16).padStart(2, '0')}`;
  return `${out}"`;
}

function helperModule(step: WastStep, inPtr: number, memoryPages: number): string {
  return `(module
  (import "kernel" "memory" (memory ${memoryPages} ${memoryPages}))
  (import "kernel" "shuaka_step" (func $step (param i32 i32 i32) (result i32)))
  (import "kernel" "shuaka_out_ptr" (func $outPtr (result i32)))
  (import "kernel" "shuaka_out_length" (func $outLength (result i32)))
  (data (i32.const ${inPtr}) ${wastString(step.input)})
  (func (export "run") (result i32)
    (call $step (i32.const ${step.op}) (i32.const ${step.arg}) (i32.const ${step.input.length})))
  (func (export "out_length") (result i32) (call $outLength))
  (func (export "out_hash") (result i64)
    (local $p i32) (local $end i32) (local $h i64)
    (local.set $p (call $outPtr))
    (local.set $end (i32.add (local.get $p) (call $outLength)))
    (local.set $h (i64.const 0xcbf29ce484222325))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load8_u (local.get $p)))
          (i64.const 0x100000001b3)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $h)))`;
}

/** The whole script: kernel, then per step a helper and three assertions. */
export function renderWast(
  kernel: Uint8Array,
  steps: readonly WastStep[],
  inPtr: number,
  memoryPages: number,
): string {
  const parts = [`(module $kernel binary ${wastString(kernel)})`, '(register "kernel" $kernel)'];
  for (const step of steps) {
    parts.push(helperModule(step, inPtr, memoryPages));
    parts.push(`(assert_return (invoke "run") (i32.const ${step.status}))`);
    parts.push(`(assert_return (invoke "out_length") (i32.const ${step.output.length}))`);
    parts.push(
      `(assert_return (invoke "out_hash") (i64.const 0x${fnv1a64(step.output).toString(16)}))`,
    );
  }
  return `${parts.join('\n')}\n`;
}

/** Runs `text` through wast2json + spectest-interp in `work`; passed and total assertions. */
export function runWast(
  work: string,
  name: string,
  text: string,
): { passed: number; total: number; output: string } {
  const wast = join(work, `${name}.wast`);
  const json = join(work, `${name}.json`);
  writeFileSync(wast, text);
  execFileSync('wast2json', [wast, '-o', json], { cwd: work });
  const result = spawnSync('spectest-interp', [json], { cwd: work, encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`;
  const match = /(\d+)\/(\d+) tests passed/.exec(output);
  if (match === null) throw new Error(`spectest-interp said: ${output.slice(0, 2000)}`);
  return { passed: Number(match[1]), total: Number(match[2]), output };
}
