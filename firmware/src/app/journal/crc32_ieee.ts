// CRC-32/IEEE 802.3 (the zlib/PNG CRC), table-driven, for journal record integrity.

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
 * CRC-32/IEEE of `bytes[start, end)`: init 0xFFFFFFFF, reflected, final XOR 0xFFFFFFFF
 * (check value 0xCBF43926 for "123456789"). Returns an unsigned 32-bit integer. Never fails.
 */
export function crc32Ieee(bytes: Uint8Array, start = 0, end: number = bytes.length): number {
  if (!(start >= 0 && start <= end && end <= bytes.length)) {
    throw new RangeError(`crc32 range ${start}..${end} of ${bytes.length}`);
  }
  let crc = 0xffffffff;
  for (let i = start; i < end; i += 1) {
    // `?? 0` never applies: i is in range; it satisfies noUncheckedIndexedAccess.
    crc = (CRC32_TABLE[(crc ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
