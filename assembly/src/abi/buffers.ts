// The fixed shared buffers of the kernel ABI: the host writes IN, the kernel writes OUT.

/** ABI version: bumped whenever an op, a buffer size or an output layout changes. */
export const ABI_VERSION: u32 = 2;

/** Input capacity: a full configuration (AID table + CA keys) or an R-APDU with margin. */
export const IN_CAPACITY: u32 = 8192;
/** Output capacity: a TLV entry list, a C-APDU, or an outcome record. */
export const OUT_CAPACITY: u32 = 8192;

// The largest short R-APDU is 256 data bytes + SW1 SW2; the largest short C-APDU is 261.
export const RAPDU_MAX: u32 = 258;
export const CAPDU_MAX: u32 = 261;

/** Host-written input bytes. */
export const IN_BUFFER: usize = memory.data(<i32>IN_CAPACITY, 16);
/** Kernel-written output bytes; `outLength` says how many are valid after a step. */
export const OUT_BUFFER: usize = memory.data(<i32>OUT_CAPACITY, 16);

let outLengthValue: u32 = 0;

/** Length of the valid output of the last step. */
export function outLength(): u32 {
  return outLengthValue;
}

/** Sets the output length; the caller has already checked it against OUT_CAPACITY. */
export function setOutLength(length: u32): void {
  assert(length <= OUT_CAPACITY, 'output length past capacity');
  outLengthValue = length;
}
