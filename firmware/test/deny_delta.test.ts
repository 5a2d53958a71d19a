// Signed deny-list deltas (SHKDDLT1): a delta built from two lists and applied to the first
// gives, byte for byte, the second as denyListFromTokens builds it whole; the adds and removes
// are the set differences a JS Set computes; the bytes follow the documented layout (an
// encoder written here from the README); every forged, truncated, foreign or misapplied delta
// is refused with its reason; 10^6 entries apply exactly.

import { createHash, generateKeyPairSync, sign } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import {
  DENY_DELTA_HEADER_BYTES, denyDeltaApply, denyDeltaBuild, denyDeltaHeader,
} from '../src/app/deny_list/deny_delta.js';
import { DENY_LIST_HEADER_BYTES, DENY_LIST_RECORD_BYTES } from '../src/app/deny_list/deny_list.js';
import { denyListFromTokens } from '../src/app/deny_list/deny_list_build.js';
import { TEST_DENY_KEY } from './deny_key_fixture.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 20261203);
const RECORD = DENY_LIST_RECORD_BYTES;
const keys = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');

/** `n` distinct random tokens as hex (the seed's). */
function tokens(prng: Prng, n: number): string[] {
  const out = new Set<string>();
  while (out.size < n) out.add(Buffer.from(prng.bytes(RECORD)).toString('hex'));
  return [...out];
}

/** The image of `hexes`, built whole (radix sort, duplicates merged) with the test key id. */
function imageOf(hexes: readonly string[], keyIdHex = TEST_DENY_KEY.idHex): Uint8Array {
  const bytes = Buffer.from(hexes.join(''), 'hex');
  const words = new Uint32Array(hexes.length * 3);
  for (let i = 0; i < words.length; i += 1) words[i] = bytes.readUInt32LE(4 * i);
  const built = denyListFromTokens(words, hexes.length, keyIdHex, 'test');
  if (!built.ok) throw new Error(built.error.message);
  return built.value.image;
}

/** The records of an image as hex, in image order. */
function recordsOf(image: Uint8Array): string[] {
  const body = Buffer.from(image).subarray(DENY_LIST_HEADER_BYTES);
  const out: string[] = [];
  for (let at = 0; at < body.length; at += RECORD) out.push(body.toString('hex', at, at + RECORD));
  return out;
}

/** A delta encoded from the README's layout, independently of deny_delta.ts. */
function readmeDelta(base: Uint8Array, result: Uint8Array, from: number, to: number,
  add: readonly string[], remove: readonly string[], key = keys.privateKey): Uint8Array {
  const head = Buffer.alloc(DENY_DELTA_HEADER_BYTES);
  head.write('SHKDDLT1', 0, 'latin1');
  head.writeUInt32LE(from, 8);
  head.writeUInt32LE(to, 12);
  createHash('sha256').update(base).digest().copy(head, 16);
  createHash('sha256').update(result).digest().copy(head, 48);
  Buffer.from(base).copy(head, 80, 48, 56);
  head.writeUInt32LE(add.length, 88);
  head.writeUInt32LE(remove.length, 92);
  const body = Buffer.concat([head, Buffer.from([...add, ...remove].join(''), 'hex')]);
  return new Uint8Array(Buffer.concat([body, sign(null, body, key)]));
}

/** A base, a target and what changed between them: records in deny_list.ts order. */
function pair(seed: number, n: number, removed: number, added: number): {
  base: Uint8Array; target: Uint8Array; add: string[]; remove: string[];
} {
  const prng = new Prng(seed);
  const all = tokens(prng, n + added);
  const baseTokens = all.slice(0, n);
  const gone = new Set(baseTokens.filter((_, i) => i % Math.max(1, Math.floor(n / removed)) === 0)
    .slice(0, removed));
  const targetTokens = [...baseTokens.filter((t) => !gone.has(t)), ...all.slice(n)];
  const base = imageOf(baseTokens);
  const target = imageOf(targetTokens);
  const inBase = new Set(recordsOf(base));
  const inTarget = new Set(recordsOf(target));
  return { base, target, add: recordsOf(target).filter((t) => !inBase.has(t)),
    remove: recordsOf(base).filter((t) => !inTarget.has(t)) };
}

describe(`deny delta (seed ${SEED})`, () => {
  it('builtFromTwoLists_isTheReadmeLayout_andAppliesToTheSecondByteForByte', () => {
    const p = pair(SEED, 5_000, 300, 200);
    const delta = denyDeltaBuild(p.base, p.target, 4, 5, keys.privateKey);
    expect(p.add).toHaveLength(200);
    expect(p.remove).toHaveLength(300);
    const expected = readmeDelta(p.base, p.target, 4, 5, p.add, p.remove);
    expect(Buffer.from(delta).equals(Buffer.from(expected))).toBe(true);
    expect(denyDeltaHeader(delta)).toMatchObject({ ok: true, value: { fromVersion: 4,
      toVersion: 5, addCount: 200, removeCount: 300, keyIdHex: TEST_DENY_KEY.idHex } });
    const applied = denyDeltaApply(p.base, 4, delta, keys.publicKey);
    if (!applied.ok) throw new Error(applied.reason);
    expect(applied.value.version).toBe(5);
    expect(Buffer.from(applied.value.image).equals(Buffer.from(p.target))).toBe(true);
  });

  it('forgedForeignTruncatedOrMisapplied_isRefusedWithItsReason', () => {
    const p = pair(SEED + 1, 2_000, 50, 50);
    const delta = denyDeltaBuild(p.base, p.target, 7, 8, keys.privateKey);
    const refusal = (base: Uint8Array, version: number, bytes: Uint8Array,
      key = keys.publicKey): string | null => {
      const r = denyDeltaApply(base, version, bytes, key);
      return r.ok ? null : `${r.refusal}: ${r.reason}`;
    };
    for (const at of [0, 9, 20, 60, 85, DENY_DELTA_HEADER_BYTES + 3, delta.length - 1]) {
      const flipped = delta.slice();
      flipped[at] = (flipped[at] ?? 0) ^ 0x10;
      expect(refusal(p.base, 7, flipped), `bit flipped at ${at}`).toMatch(
        at < 8 ? /^malformed/ : at >= 88 && at < 96 ? /^malformed/ : /^signature/);
    }
    expect(refusal(p.base, 7, delta, stranger.publicKey)).toMatch(/^signature/);
    expect(refusal(p.base, 7, delta.subarray(0, delta.length - 12))).toMatch(/^malformed/);
    expect(refusal(p.base, 6, delta)).toMatch(/^wrong-base: made for set 7, installed 6/);
    expect(refusal(p.target, 7, delta)).toMatch(/^wrong-base: base deny list SHA-256/);
    // Signed by the right key but not consistent with its base: refused, nothing rebuilt.
    const [listed] = recordsOf(p.base);
    const [unlisted] = p.add;
    if (listed === undefined || unlisted === undefined) throw new Error('empty lists');
    expect(refusal(p.base, 7, readmeDelta(p.base, p.target, 7, 8, [listed], [])))
      .toMatch(/^inconsistent: added token 0 is already listed/);
    expect(refusal(p.base, 7, readmeDelta(p.base, p.target, 7, 8, [], [unlisted])))
      .toMatch(/^inconsistent: removed token 0 is not listed/);
    expect(refusal(p.base, 7, readmeDelta(p.base, p.base, 7, 8, p.add.slice(0, 1), [])))
      .toMatch(/^result-mismatch/);
    expect(refusal(p.base, 7, readmeDelta(p.base, p.target, 7, 8, [...p.add].reverse(), [])))
      .toMatch(/^malformed: add\[1\] not ascending/);
    const otherKey = imageOf(recordsOf(p.target), '0011223344556677');
    expect(() => denyDeltaBuild(p.base, otherKey, 7, 8, keys.privateKey)).toThrow(/deny key/);
    expect(() => denyDeltaBuild(p.base, p.target, 8, 8, keys.privateKey)).toThrow(/versions/);
  });

  it('tenToTheSixEntries_aThousandChangesEachWay_applyExactly', () => {
    const p = pair(SEED + 2, 1_000_000, 1_000, 1_000);
    const delta = denyDeltaBuild(p.base, p.target, 1, 2, keys.privateKey);
    expect(delta.length).toBe(DENY_DELTA_HEADER_BYTES + 2_000 * RECORD + 64);
    const applied = denyDeltaApply(p.base, 1, delta, keys.publicKey);
    if (!applied.ok) throw new Error(applied.reason);
    expect(Buffer.from(applied.value.image).equals(Buffer.from(p.target))).toBe(true);
  }, 120_000);
});
