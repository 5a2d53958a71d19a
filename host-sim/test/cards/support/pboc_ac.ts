// Test-only PBOC cryptogram maths with node:crypto 3DES, structured differently from the card:
// ISO 9797-1 MAC 3 as CBC-MAC under K_L, then D_KR and E_KL on the last block.

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { hex } from './tlv_walk.js';

function ecb3(key24: Uint8Array, block: Uint8Array, decrypt = false): Uint8Array {
  const c = decrypt
    ? createDecipheriv('des-ede3-ecb', key24, null)
    : createCipheriv('des-ede3-ecb', key24, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(block), c.final()]));
}

function triple(k8: Uint8Array): Uint8Array {
  return new Uint8Array([...k8, ...k8, ...k8]);
}

/** ISO 9797-1 MAC algorithm 3 with padding method 2. */
export function retailMac(key16: Uint8Array, data: Uint8Array): Uint8Array {
  const padded = new Uint8Array(Math.floor(data.length / 8) * 8 + 8);
  padded.set(data);
  padded[data.length] = 0x80;
  const kl = key16.subarray(0, 8);
  const kr = key16.subarray(8, 16);
  const cbc = createCipheriv('des-ede3-cbc', triple(kl), new Uint8Array(8));
  cbc.setAutoPadding(false);
  const out = Buffer.concat([cbc.update(padded), cbc.final()]);
  const h = new Uint8Array(out.subarray(out.length - 8));
  return ecb3(triple(kl), ecb3(triple(kr), h, true));
}

/** The ATC session key of domain.md Appendix A. */
export function sessionKey(mk: Uint8Array, atc: number): Uint8Array {
  const k24 = new Uint8Array([...mk, ...mk.subarray(0, 8)]);
  const left = ecb3(k24, hex(`000000000000${atc.toString(16).padStart(4, '0')}`));
  const right = ecb3(k24, hex(`000000000000${(atc ^ 0xffff).toString(16).padStart(4, '0')}`));
  return new Uint8Array([...left, ...right]);
}

/**
 * The CVN 01 cryptogram from terminal values by tag, AIP, ATC and the IAD the card returned
 * (its bytes 3..6 are the CVR part 03 || CVR).
 */
export function cvn01Cryptogram(
  mkAcHex: string,
  values: ReadonlyMap<number, Uint8Array>,
  aip: Uint8Array,
  atc: number,
  iad: Uint8Array,
): Uint8Array {
  const lengths: readonly (readonly [number, number])[] = [
    [0x9f02, 6],
    [0x9f03, 6],
    [0x9f1a, 2],
    [0x95, 5],
    [0x5f2a, 2],
    [0x9a, 3],
    [0x9c, 1],
    [0x9f37, 4],
  ];
  const input: number[] = [];
  for (const [tag, n] of lengths) {
    const v = values.get(tag) ?? new Uint8Array(n);
    input.push(...v.subarray(0, n), ...new Array<number>(Math.max(0, n - v.length)).fill(0));
  }
  input.push(...aip, (atc >> 8) & 0xff, atc & 0xff, ...iad.subarray(3, 7));
  return retailMac(sessionKey(hex(mkAcHex), atc), Uint8Array.from(input));
}
