// Deny list: 300,000 seeded entries against a JS Set, and every malformed image refused.

import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import {
  DENY_LIST_HEADER_BYTES, DENY_LIST_RECORD_BYTES, DenyList, denyListBuild,
} from '../src/app/deny_list/deny_list.js';

const HEADER = DENY_LIST_HEADER_BYTES;
const RECORD = DENY_LIST_RECORD_BYTES;

const SEED = 20240501;

function randomPan(prng: Prng): string {
  const length = prng.between(16, 19);
  let pan = '62';
  while (pan.length < length) pan += String(prng.below(10));
  return pan;
}

function psnText(psn: number): string {
  return psn.toString(16).padStart(2, '0');
}

/** Re-signs the record area after a test edits it, so the edit reaches the later checks. */
function rehash(image: Uint8Array): void {
  image.set(createHash('sha256').update(image.subarray(DENY_LIST_HEADER_BYTES)).digest(), 16);
}

describe('deny list', () => {
  it('300kSeededEntries_lookupsMatchASet', () => {
    const prng = new Prng(SEED);
    const truth = new Set<string>();
    const lines: string[] = ['# generated, seed ' + String(SEED)];
    const listed: [string, number][] = [];
    for (let i = 0; i < 300_000; i += 1) {
      const pan = randomPan(prng);
      // PSN is BCD n2: 00..09 mostly, sometimes 10..99.
      const psn = prng.chance(0.9) ? prng.below(10) : (prng.between(1, 9) << 4) | prng.below(10);
      truth.add(`${pan},${psn}`);
      listed.push([pan, psn]);
      lines.push(`${pan},${psnText(psn)}`);
    }
    lines.push(lines[1] ?? '', '');
    const built = denyListBuild(lines.join('\n'), 'deny.txt');
    if (!built.ok) throw new Error(built.error.message);
    expect(built.value.count, `seed ${SEED}`).toBe(truth.size);
    expect(built.value.image.length).toBe(HEADER + truth.size * RECORD);
    const loaded = DenyList.load(built.value.image, 'deny_list.bin');
    if (!loaded.ok) throw new Error(loaded.error.message);
    const list = loaded.value;
    // Plain loops: an expect() per lookup would cost more than the lookups.
    let found = 0;
    for (const [pan, psn] of listed) if (list.contains(pan, psn)) found += 1;
    expect(found, `seed ${SEED}`).toBe(listed.length);
    const probe = new Prng(SEED + 1);
    let misses = 0;
    for (let i = 0; i < 100_000; i += 1) {
      const pan = randomPan(probe);
      const psn = probe.below(10);
      const expected = truth.has(`${pan},${psn}`);
      if (list.contains(pan, psn) !== expected) {
        throw new Error(`seed ${SEED}: ${pan},${psn} expected ${String(expected)}`);
      }
      if (!expected) misses += 1;
    }
    expect(misses).toBeGreaterThan(90_000);
    // Neighbours of a listed PAN: another PSN, one digit more or less.
    const [pan0, psn0] = listed[0] ?? ['', 0];
    const otherPsn = psn0 === 0 ? 1 : 0;
    expect(list.contains(pan0, otherPsn)).toBe(truth.has(`${pan0},${otherPsn}`));
    expect(list.contains(pan0.slice(0, -1), psn0)).toBe(truth.has(`${pan0.slice(0, -1)},${psn0}`));
    expect(list.contains(pan0, 0x1a)).toBe(false);
  });

});

describe('deny list validation', () => {
  it('malformedImages_areRefusedNamingTheField', () => {
    const lines = '6231000000000001,01\n6231000000000002,00\n6231000000000003,00\n';
    const built = denyListBuild(lines, 'in.txt');
    if (!built.ok) throw new Error(built.error.message);
    const image = built.value.image;
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated', image.subarray(0, image.length - 1), /count: 3 records need/],
      ['short header', image.subarray(0, 20), /header: truncated/],
      ['bad magic', Uint8Array.from(image, (b, i) => (i === 0 ? 0x41 : b)), /magic/],
      ['flipped record byte', Uint8Array.from(image, (b, i) => (i === 50 ? b ^ 1 : b)), /sha256/],
    ];
    const unsorted = image.slice();
    const first = unsorted.slice(DENY_LIST_HEADER_BYTES, DENY_LIST_HEADER_BYTES + 11);
    unsorted.copyWithin(HEADER, HEADER + RECORD, HEADER + 2 * RECORD);
    unsorted.set(first, DENY_LIST_HEADER_BYTES + 11);
    rehash(unsorted);
    cases.push(['unsorted', unsorted, /record\[1\]: not strictly ascending/]);
    const duplicate = image.slice();
    duplicate.copyWithin(HEADER + RECORD, HEADER, HEADER + RECORD);
    rehash(duplicate);
    cases.push(['duplicate', duplicate, /record\[1\]: not strictly ascending/]);
    const badBcd = image.slice();
    badBcd[DENY_LIST_HEADER_BYTES + 2] = 0xa1;
    rehash(badBcd);
    cases.push(['bad BCD', badBcd, /record\[0\]: PAN or PSN is not valid BCD/]);
    for (const [label, bytes, message] of cases) {
      const loaded = DenyList.load(bytes, 'deny_list.bin');
      expect(loaded.ok, label).toBe(false);
      if (!loaded.ok) expect(loaded.error.message, label).toMatch(message);
    }
  });

  it('badTextLines_areRefusedWithTheLineNumber', () => {
    const built = denyListBuild('# header\n6231000000000001,01\n6231000000000001;01\n', 'in.txt');
    expect(built.ok).toBe(false);
    if (!built.ok) expect(built.error.message).toMatch(/^in\.txt: line 3: /);
    const empty = denyListBuild('', 'in.txt');
    expect(empty.ok && empty.value.count).toBe(0);
    if (empty.ok) {
      const loaded = DenyList.load(empty.value.image, 'x');
      expect(loaded.ok && loaded.value.contains('6231000000000001', 1)).toBe(false);
    }
  });
});
