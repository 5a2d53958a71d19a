// Field 55 as the issuer reads it: a flat BER-TLV list (EMV 4.4 Book 3, Annex B), own parser.

/** Tag (as a number, `0x9F26`) to value; null when the bytes are not a well-formed list. */
export function issuerTlvParse(bytes: Uint8Array): Map<number, Uint8Array> | null {
  const out = new Map<number, Uint8Array>();
  let at = 0;
  while (at < bytes.length) {
    let tag = bytes[at] ?? 0;
    at += 1;
    if ((tag & 0x1f) === 0x1f) {
      // Subsequent tag bytes while b8 is set (EMV Book 3, B1); at most 3 bytes in EMV.
      for (let more = true, n = 0; more; n += 1) {
        if (at >= bytes.length || n === 2) return null;
        const next = bytes[at] ?? 0;
        tag = tag * 256 + next;
        at += 1;
        more = (next & 0x80) !== 0;
      }
    }
    if (at >= bytes.length) return null;
    let length = bytes[at] ?? 0;
    at += 1;
    if (length > 0x80) {
      const count = length & 0x7f;
      if (count > 2 || at + count > bytes.length) return null;
      length = 0;
      for (let i = 0; i < count; i += 1) length = length * 256 + (bytes[at + i] ?? 0);
      at += count;
    } else if (length === 0x80) {
      return null;
    }
    if (at + length > bytes.length) return null;
    out.set(tag, bytes.subarray(at, at + length));
    at += length;
  }
  return out;
}
