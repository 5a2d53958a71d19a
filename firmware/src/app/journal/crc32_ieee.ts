// CRC-32/IEEE 802.3 (the zlib/PNG CRC) for journal record integrity: zlib's (native) for long
// ranges, table-driven for short ones and on a Node without zlib.crc32.

import * as zlib from 'node:zlib';

/** Reflected polynomial of CRC-32/IEEE (0x04C11DB7 bit-reversed). */
const CRC32_POLYNOMIAL_REFLECTED = 0xedb88320;
const TABLE_SIZE = 256;

/** One entry per byte value, built once at module load (no allocation per call). */
const CRC32_TABLE: Uint32Array = crc32BuildTable();

function crc32BuildTable(): Uint32Array {
  const table = new Uint32Array(TABLE_SIZE);
  for (let n = 0; n < TABLE_SIZE; n += 1) {
    let c = n;
    for (let bit = 0; bit < 8; bit += 1) {
      c = (c & 1) !== 0 ? CRC32_POLYNOMIAL_REFLECTED ^ (c >>> 1) : c >>> 1;
    }
    table[n] = c >>> 0;
  }
  return table;
}

/**
 * zlib's CRC-32 (the same function: its check value is asserted by the tests), present from
 * Node 20.15 and 22.2; undefined on an older Node (package.json allows 20.12).
 */
const zlibCrc32: ((data: Uint8Array) => number) | undefined = (
  zlib as { readonly crc32?: (data: Uint8Array) => number }
).crc32;

/**
 * Below this many bytes the table loop is faster than the call into zlib (~0.2 us for a
 * 12-byte frame header); above it zlib's folding CRC wins (a 500-byte record: ~0.8 us against
 * ~6.6 us), which is most of what a journal open or `journal verify` spends per record.
 */
const CRC32_NATIVE_BYTES_MIN = 64;

/**
 * CRC-32/IEEE of `bytes[start, end)`: init 0xFFFFFFFF, reflected, final XOR 0xFFFFFFFF
 * (check value 0xCBF43926 for "123456789"). Returns an unsigned 32-bit integer. Throws
 * RangeError on a range outside `bytes`.
 */
export function crc32Ieee(bytes: Uint8Array, start = 0, end: number = bytes.length): number {
  if (!(start >= 0 && start <= end && end <= bytes.length)) {
    throw new RangeError(`crc32 range ${start}..${end} of ${bytes.length}`);
  }
  if (zlibCrc32 !== undefined && end - start >= CRC32_NATIVE_BYTES_MIN) {
    return zlibCrc32(bytes.subarray(start, end)) >>> 0;
  }
  return crc32IeeeTable(bytes, start, end);
}

/**
 * The table-driven CRC-32/IEEE of `bytes[start, end)` (what crc32Ieee computes for short
 * ranges), exported so tests hold the two ways to each other. The range must be valid.
 */
export function crc32IeeeTable(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i += 1) {
    // `?? 0` never applies: i is in range; it satisfies noUncheckedIndexedAccess.
    crc = (CRC32_TABLE[(crc ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
