// A flat BER-TLV scan of ISO 8583 field 55 (ICC data): the depot reads a few tags to check a
// clearing line against its own ICC data, and strips the PAN-bearing ones before storing.
// See EMV 4.4 Book 3, Annex B (BER-TLV coding of tags and lengths).

/** One top-level data object: its tag as a number and its bytes' [start, end) in the input. */
export interface TlvSpan {
  readonly tag: number;
  readonly start: number;
  readonly valueStart: number;
  readonly end: number;
}

/** Tags longer than 3 bytes do not occur in EMV (Book 3, Annex B1). */
const TAG_BYTES_MAX = 3;

/** Top-level objects of `bytes`, or null when the coding is broken (truncated, bad length). */
export function berTlvScan(bytes: Uint8Array): TlvSpan[] | null {
  const spans: TlvSpan[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    // 0x00 and 0xFF between objects are padding (Book 3, Annex B).
    if (bytes[at] === 0x00 || bytes[at] === 0xff) {
      at += 1;
      continue;
    }
    let tag = bytes[at] ?? 0;
    at += 1;
    if ((tag & 0x1f) === 0x1f) {
      let more = true;
      while (more) {
        const next = bytes[at];
        if (next === undefined || at - start >= TAG_BYTES_MAX) return null;
        tag = tag * 256 + next;
        more = (next & 0x80) !== 0;
        at += 1;
      }
    }
    // The length (Book 3, B2): one byte below 0x80, else 0x81 or 0x82 and one or two bytes.
    // Lengths above 65535 do not fit field 55 (at most 4096 bytes here).
    const first = bytes[at];
    if (first === undefined) return null;
    let length = first;
    let valueStart = at + 1;
    if (first >= 0x80) {
      const count = first & 0x7f;
      if (count === 0 || count > 2 || at + count >= bytes.length) return null;
      length = 0;
      for (let i = 1; i <= count; i += 1) length = length * 256 + (bytes[at + i] ?? 0);
      valueStart = at + 1 + count;
    }
    const end = valueStart + length;
    if (end > bytes.length) return null;
    spans.push({ tag, start, valueStart, end });
    at = end;
  }
  return spans;
}

/** The value of the first object with `tag`, or null. */
export function tlvValue(bytes: Uint8Array, spans: readonly TlvSpan[], tag: number):
  Uint8Array | null {
  const span = spans.find((s) => s.tag === tag);
  return span === undefined ? null : bytes.subarray(span.valueStart, span.end);
}
