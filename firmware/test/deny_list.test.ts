// Deny list: 300,000 seeded entries against a JS Set, 2.5 x 10^6 entries (beyond the old cap
// of 2 x 10^6) against their generator, and every malformed image refused.

import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import {
  DENY_LIST_ENTRIES_MAX, DENY_LIST_HEADER_BYTES, DENY_LIST_RECORD_BYTES, DenyList,
} from '../src/app/deny_list/deny_list.js';
import { denyListBuild } from '../src/app/deny_list/deny_list_build.js';

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

  it('beyondTheOldCap_2500000Entries_loadAndAnswer', () => {
    // PAN i = "6200" + i as 12 digits (16 digits), PSN 01: sorted by construction.
    const count = 2_500_000;
    const image = new Uint8Array(HEADER + count * RECORD);
    const view = new DataView(image.buffer);
    image.set(Buffer.from('SHKDENY2', 'latin1'), 0);
    view.setUint32(8, count, true);
    view.setUint16(12, RECORD, true);
    const bcd = (digits: string): number => Number.parseInt(digits, 16);
    for (let i = 0; i < count; i += 1) {
      const digits = `6200${String(3 * i).padStart(12, '0')}`;
      const at = HEADER + i * RECORD;
      view.setUint32(at, bcd(digits.slice(0, 8)), true);
      view.setUint32(at + 4, bcd(digits.slice(8, 16)), true);
      view.setUint32(at + 8, 0xffff0100, true);
    }
    rehash(image);
    const loaded = DenyList.load(image, 'deny_list.bin');
    if (!loaded.ok) throw new Error(loaded.error.message);
    expect(loaded.value.count).toBe(count);
    const prng = new Prng(SEED + 2);
    let wrong = 0;
    for (let probe = 0; probe < 200_000; probe += 1) {
      const n = prng.below(3 * count + 3);
      const pan = `6200${String(n).padStart(12, '0')}`;
      if (loaded.value.contains(pan, 1) !== (n % 3 === 0 && n < 3 * count)) wrong += 1;
      if (loaded.value.contains(pan, 2)) wrong += 1;
    }
    expect(wrong, `seed ${SEED + 2}`).toBe(0);
    expect(DENY_LIST_ENTRIES_MAX).toBeGreaterThanOrEqual(10_000_000);
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
    const first = unsorted.slice(HEADER, HEADER + RECORD);
    unsorted.copyWithin(HEADER, HEADER + RECORD, HEADER + 2 * RECORD);
    unsorted.set(first, HEADER + RECORD);
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
    const v1 = image.slice();
    v1.set(Buffer.from('SHKDENY1', 'latin1'), 0);
    cases.push(['version 1', v1, /magic: version 1 image: rebuild/]);
    const tooMany = image.slice();
    new DataView(tooMany.buffer).setUint32(8, DENY_LIST_ENTRIES_MAX + 1, true);
    cases.push(['count over the bound', tooMany, /count: 20000001 exceeds/]);
    // A pad nibble inside the PAN (digit 12 = F, digit 13 = 0), a PSN 1A, a non-zero last byte.
    const edits: [string, number, number][] = [
      ['pad inside PAN', HEADER + RECORD + 6, 0xf0],
      ['PSN not BCD', HEADER + RECORD + 9, 0x1a],
      ['reserved byte', HEADER + RECORD + 8, 0x01],
      ['digit A', HEADER + RECORD + 3, 0xa2],
    ];
    for (const [label, offset, value] of edits) {
      const edited = image.slice();
      edited[offset] = value;
      rehash(edited);
      cases.push([label, edited, /record\[1\]: PAN or PSN is not valid BCD/]);
    }
    for (const [label, bytes, message] of cases) {
      const loaded = DenyList.load(bytes, 'deny_list.bin');
      expect(loaded.ok, label).toBe(false);
      if (!loaded.ok) expect(loaded.error.message, label).toMatch(message);
    }
  });

  it('badTextLines_areRefusedWithTheLineNumber', () => {
    const spaced = denyListBuild(' 6231000000000001,01\r\n\t#c\r\n\r\n62310000,09 ', 'in.txt');
    expect(spaced.ok && spaced.value.count).toBe(2);
    for (const bad of ['6231000,01', '62310000000000000001,01', '6231000000000001,1',
      '6231000000000001,001', '623100000000000A,01', '6231000000000001 ,01']) {
      const refused = denyListBuild(`6231000000000002,00\n${bad}\n`, 'in.txt');
      expect(refused.ok, bad).toBe(false);
      if (!refused.ok) expect(refused.error.message, bad).toMatch(/^in\.txt: line 2: expected/);
    }
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
