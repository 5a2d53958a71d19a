// tlvTagsFind (journal_records.ts) reads BER-TLV as the kernel host's decodeTlv does: checked
// against a walk of decodeTlv's tree on made-up and mangled records.

import { describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import { decodeTlv, tlvEncode, type TlvObject } from '../../assembly/host/qpboc_session.js';
import {
  CARD_TAGS_NOT_STORED, tlvHexTagsFind, tlvTagsFind,
} from '../src/app/journal/journal_records.js';

/** The first tag of `tags` in decodeTlv's tree (pre-order), null, or undefined if it throws. */
function reference(bytes: Uint8Array, tags: readonly number[]): number | null | undefined {
  let objects: TlvObject[];
  try {
    objects = decodeTlv(bytes);
  } catch {
    return undefined;
  }
  const walk = (list: readonly TlvObject[]): number | null => {
    for (const object of list) {
      if (tags.includes(object.tag)) return object.tag;
      const inner = object.children === null ? null : walk(object.children);
      if (inner !== null) return inner;
    }
    return null;
  };
  return walk(objects);
}

const TAGS = [0x57, 0x5a, 0x9f6b, 0x82, 0x9f26, 0xdf8104, 0x5f20, 0x94, 0x9f36];

function record(prng: Prng, depth: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const count = prng.between(0, 4);
  for (let i = 0; i < count; i += 1) {
    if (depth < 3 && prng.between(0, 3) === 0) {
      parts.push(tlvEncode(prng.between(0, 1) === 0 ? 0xe1 : 0x70, record(prng, depth + 1)));
    } else {
      const tag = TAGS[prng.between(0, TAGS.length - 1)] ?? 0x82;
      const value = new Uint8Array(prng.between(0, prng.between(0, 1) === 0 ? 8 : 300));
      for (let k = 0; k < value.length; k += 1) value[k] = prng.between(0, 255);
      parts.push(tlvEncode(tag, value));
    }
  }
  return Uint8Array.from(Buffer.concat(parts));
}

describe('tlvTagsFind', () => {
  it('answers as a walk of decodeTlv on records, mangled records and noise', () => {
    const prng = new Prng(20_260_501);
    const answers = new Set<string>();
    for (let round = 0; round < 4000; round += 1) {
      const bytes = record(prng, 0);
      const mangle = prng.between(0, 3);
      if (mangle === 1 && bytes.length > 0) bytes[prng.between(0, bytes.length - 1)] = prng.between(0, 255);
      const cut = mangle === 2 ? bytes.subarray(0, prng.between(0, bytes.length)) : bytes;
      const noise = new Uint8Array(prng.between(0, 12)).map(() => prng.between(0, 255));
      for (const input of [cut, noise]) {
        for (const tags of [CARD_TAGS_NOT_STORED, TAGS, [0x9f26]]) {
          const found = tlvTagsFind(input, tags);
          expect(found).toBe(reference(input, tags));
          const hex = Buffer.from(input).toString('hex');
          expect(tlvHexTagsFind(hex.toUpperCase(), tags)).toBe(found);
          expect(tlvHexTagsFind(hex, tags)).toBe(found);
          answers.add(String(found));
        }
      }
    }
    // Every kind of answer came up: none, a tag, and not BER-TLV.
    expect(answers.has('null') && answers.has('undefined') && answers.has(String(0x57))).toBe(true);
  });
});

describe('tlvHexTagsFind', () => {
  it('headerNotHexDigits_isNotBerTlv', () => {
    expect(tlvHexTagsFind('9F0200', [0x57])).toBeNull();
    expect(tlvHexTagsFind('9F0200GG', [0x57])).toBeUndefined();
    expect(tlvHexTagsFind('9F0G00', [0x57])).toBeUndefined();
    expect(tlvHexTagsFind('57019', [0x57])).toBeUndefined();
    expect(tlvHexTagsFind('5701AA', [0x57])).toBe(0x57);
  });
});
