// Test-only BER-TLV walker, independent of the card code: parses answers into a tag tree.

/** A parsed TLV node. `children` is set for constructed tags. */
export interface TlvNode {
  readonly tag: number;
  readonly value: Uint8Array;
  readonly children: readonly TlvNode[] | null;
  /** Raw bytes of the whole TLV (tag, length and value). */
  readonly raw: Uint8Array;
}

/** Hex to bytes (test helper). */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
}

/** Bytes to lower-case hex (test helper). */
export function toHexT(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Parses a BER-TLV sequence. Throws an Error on any structural fault (truncated tag or length,
 * length running past the end, indefinite length): the card's answers must be well formed.
 */
export function parseTlv(bytes: Uint8Array): TlvNode[] {
  const nodes: TlvNode[] = [];
  let i = 0;
  while (i < bytes.length) {
    const start = i;
    const first = at(bytes, i++);
    let tag = first;
    if ((first & 0x1f) === 0x1f) {
      let b: number;
      do {
        b = at(bytes, i++);
        tag = tag * 256 + b;
      } while ((b & 0x80) !== 0);
    }
    let length = at(bytes, i++);
    if (length === 0x80 || length > 0x82) throw new Error(`bad length byte at ${i - 1}`);
    if (length === 0x81) length = at(bytes, i++);
    else if (length === 0x82) {
      length = at(bytes, i) * 256 + at(bytes, i + 1);
      i += 2;
    }
    if (i + length > bytes.length) throw new Error(`TLV ${tag.toString(16)} overruns`);
    const value = bytes.slice(i, i + length);
    i += length;
    const constructed = (first & 0x20) !== 0;
    const children = constructed ? parseTlv(value) : null;
    nodes.push({ tag, value, children, raw: bytes.slice(start, i) });
  }
  return nodes;
}

function at(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b === undefined) throw new Error(`truncated TLV at ${i}`);
  return b;
}

/** Depth-first search for the first node with `tag`. */
export function findTag(nodes: readonly TlvNode[], tag: number): TlvNode | undefined {
  for (const n of nodes) {
    if (n.tag === tag) return n;
    if (n.children !== null) {
      const inner = findTag(n.children, tag);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

/** Every primitive node, depth first. */
export function primitives(nodes: readonly TlvNode[]): TlvNode[] {
  const out: TlvNode[] = [];
  for (const n of nodes) {
    if (n.children === null) out.push(n);
    else out.push(...primitives(n.children));
  }
  return out;
}
