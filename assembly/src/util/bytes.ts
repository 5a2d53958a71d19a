// Byte helpers over raw linear-memory pointers: no allocation, explicit lengths everywhere.

/** Copies `length` bytes; the ranges may overlap. */
export function bytesCopy(target: usize, source: usize, length: u32): void {
  memory.copy(target, source, <usize>length);
}

/** Fills `length` bytes with `value`. */
export function bytesFill(target: usize, value: u8, length: u32): void {
  memory.fill(target, value, <usize>length);
}

/** True when the two ranges hold the same bytes. */
export function bytesEqual(a: usize, b: usize, length: u32): bool {
  for (let i: u32 = 0; i < length; i++) {
    if (load<u8>(a + <usize>i) != load<u8>(b + <usize>i)) return false;
  }
  return true;
}

/** Reads a big-endian u16. */
export function readU16Be(p: usize): u32 {
  return ((<u32>load<u8>(p)) << 8) | (<u32>load<u8>(p + 1));
}

/** Writes a big-endian u16. */
export function writeU16Be(p: usize, value: u32): void {
  store<u8>(p, <u8>(value >> 8));
  store<u8>(p + 1, <u8>value);
}

/** Writes a big-endian u32. */
export function writeU32Be(p: usize, value: u32): void {
  store<u8>(p, <u8>(value >> 24));
  store<u8>(p + 1, <u8>(value >> 16));
  store<u8>(p + 2, <u8>(value >> 8));
  store<u8>(p + 3, <u8>value);
}

/**
 * `x` with its four bytes reversed (big-endian <-> little-endian). Written out and inlined by
 * the compiler: at binaryen's shrinkLevel 1 the standard library's bswap<u32> polyfill stays a
 * call, and SHA-1 calls it 16 times per block (1.4x slower).
 */
@inline
export function bytesSwap32(x: u32): u32 {
  return (rotl<u32>(x, 8) & 0x00ff00ff) | (rotr<u32>(x, 8) & 0xff00ff00);
}
