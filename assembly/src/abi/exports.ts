// The kernel's exports: the ONLY file exporting to the host (core ABI and component ABI).
//
// Core ABI (normative, used by the host loader and spectest-interp): the host writes IN
// (shuaka_in_ptr), calls shuaka_step(op, arg, inLength) for an i32 status, and reads
// shuaka_out_length bytes at shuaka_out_ptr. Component ABI (WIT world assembly/wit/kernel.wit,
// lowered by the canonical ABI): step(op, arg, input) returns a step-result record of status
// and output; cabi_realloc hands out the IN buffer itself, so the component copies no more
// than the core path does.

import { IN_BUFFER, OUT_BUFFER, IN_CAPACITY, ABI_VERSION, outLength } from './buffers';
import { dispatchStep } from './dispatch';

/** Address of the host-written input buffer (IN_CAPACITY bytes). */
export function shuaka_in_ptr(): usize {
  return IN_BUFFER;
}

/** Address of the kernel-written output buffer. */
export function shuaka_out_ptr(): usize {
  return OUT_BUFFER;
}

/** Valid output bytes after the last shuaka_step. */
export function shuaka_out_length(): u32 {
  return outLength();
}

/** Runs one operation; see ops.ts for op codes and status.ts for the result. */
export function shuaka_step(op: u32, arg: u32, inLength: u32): i32 {
  return dispatchStep(op, arg, inLength);
}

/** ABI version (the same as OP_INFO's first word). */
export function version(): u32 {
  return ABI_VERSION;
}

// The canonical ABI return area of `step`: status, output pointer, output length.
const STEP_RESULT = memory.data(12, 4);

/** Component export `step`: the canonical-ABI lowering of shuaka_step. */
export function step(op: u32, arg: u32, input: usize, inLength: u32): usize {
  // cabi_realloc returned IN_BUFFER, so the input is already in place unless it was empty.
  if (input != IN_BUFFER && inLength > 0 && inLength <= IN_CAPACITY) {
    memory.copy(IN_BUFFER, input, <usize>inLength);
  }
  const status = dispatchStep(op, arg, inLength);
  store<i32>(STEP_RESULT, status);
  store<u32>(STEP_RESULT, <u32>OUT_BUFFER, 4);
  store<u32>(STEP_RESULT, outLength(), 8);
  return STEP_RESULT;
}

/** Nothing to free: the result lives in the static OUT buffer. */
export function cabi_post_step(result: usize): void {
  assert(result == STEP_RESULT, 'foreign step result');
}

/**
 * Canonical-ABI allocator: the only allocation it serves is the `step` input list, which goes
 * straight into IN. A larger request is a host bug (the loader checks sizes first): trap.
 */
export function cabi_realloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  assert(oldPtr == 0 && oldSize == 0, 'cabi_realloc cannot grow');
  assert(align <= 16, 'cabi_realloc alignment');
  assert(newSize <= <usize>IN_CAPACITY, 'cabi_realloc past IN capacity');
  return IN_BUFFER;
}

/**
 * The fault record read by the host after a trap: message, file (AS string pointers), line,
 * column. A function rather than a global because abort may run before globals are set up.
 */
function faultRecord(): usize {
  return memory.data(16, 4);
}

/** Address of the fault record written by the abort handler before it traps. */
export function shuaka_fault_ptr(): usize {
  return faultRecord();
}

/** Abort handler named by `--use abort=`: record where, then trap (no host import). */
export function kernelAbort(message: usize, file: usize, line: u32, column: u32): void {
  const fault = faultRecord();
  store<u32>(fault, <u32>message);
  store<u32>(fault, <u32>file, 4);
  store<u32>(fault, line, 8);
  store<u32>(fault, column, 12);
  unreachable();
}
