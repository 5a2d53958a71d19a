// nfcpy-style frame builders for wire-exact PN532 tests, written independently of the codec.

/** Bytes from hex (spaces ignored). */
export function HEX(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  if (clean.length % 2 !== 0) throw new Error(`odd hex ${hex}`);
  return Uint8Array.from(clean.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Lower-case spaced hex, for readable assertion diffs. */
export function hexOf(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Information frame straight from UM0701-02 §6.2.1.1/§6.2.1.3: normal when TFI+data <= 255
 * bytes, else extended. Checksums by plain arithmetic: LEN + LCS = 0 and
 * TFI + data + DCS = 0 (mod 256).
 */
function frame(tfi: number, dataHex: string): Uint8Array {
  const data = [tfi, ...HEX(dataHex)];
  const len = data.length;
  const dcs = (256 - (data.reduce((a, b) => a + b, 0) % 256)) % 256;
  if (len <= 255) {
    return Uint8Array.from([0x00, 0x00, 0xff, len, (256 - len) % 256, ...data, dcs, 0x00]);
  }
  const lenm = len >> 8;
  const lenl = len & 0xff;
  const lcs = (256 - ((lenm + lenl) % 256)) % 256;
  return Uint8Array.from([0x00, 0x00, 0xff, 0xff, 0xff, lenm, lenl, lcs, ...data, dcs, 0x00]);
}

/** Host-to-PN532 command frame (TFI D4) carrying `hex` (command code first). */
export function CMD(hex: string): Uint8Array {
  return frame(0xd4, hex);
}

/** PN532-to-host response frame (TFI D5) carrying `hex` (response code first). */
export function RSP(hex: string): Uint8Array {
  return frame(0xd5, hex);
}

export function ACK(): Uint8Array {
  return HEX('00 00 FF 00 FF 00');
}

export function NACK(): Uint8Array {
  return HEX('00 00 FF FF 00 00');
}

/** The syntax error frame. */
export function ERR(): Uint8Array {
  return HEX('00 00 FF 01 FF 7F 81 00');
}

/** `bytes` with its DCS (second-to-last byte) off by one. */
export function withBadDcs(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const at = out.length - 2;
  out[at] = ((out[at] ?? 0) + 1) & 0xff;
  return out;
}

/** Concatenation. */
export function cat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

/** "00 01 02 ..." of `length` bytes starting at `from`. */
export function seq(length: number, from: number): string {
  return Array.from({ length }, (_, i) => ((from + i) & 0xff).toString(16).padStart(2, '0')).join(
    '',
  );
}
