// Deny list of card tokens: tokens and key id against node:crypto's HMAC, 50,000 seeded cards
// against a JS Set, 2.5 x 10^6 tokens (beyond the old cap of 2 x 10^6) against a plain
// bisection, every malformed or clear-PAN image refused, and the key file's refusals.

import { execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import { DenyKey, denyKeyCreate, denyKeyLoad } from '../src/app/deny_list/deny_key.js';
import {
  DENY_LIST_ENTRIES_MAX, DENY_LIST_HEADER_BYTES, DENY_LIST_RECORD_BYTES, DenyList,
} from '../src/app/deny_list/deny_list.js';
import { denyListBuild, denyListFromTokens } from '../src/app/deny_list/deny_list_build.js';
import { TEST_DENY_KEY, TEST_DENY_KEY_BYTES } from './deny_key_fixture.js';

const HEADER = DENY_LIST_HEADER_BYTES;
const RECORD = DENY_LIST_RECORD_BYTES;
const SEED = Number(process.env['SHUAKA_SEED'] ?? 20240501);
const dir = mkdtempSync(join(tmpdir(), 'shuaka-deny-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function randomPan(prng: Prng): string {
  const length = prng.between(16, 19);
  let pan = '62';
  while (pan.length < length) pan += String(prng.below(10));
  return pan;
}

/** The token by node:crypto's HMAC (RFC 2104 as OpenSSL computes it), as hex. */
function hmacToken(key: Uint8Array, pan: string, psn: number): string {
  const message = Buffer.concat([Buffer.from(pan, 'latin1'), Buffer.from([psn])]);
  return createHmac('sha256', key).update(message).digest().subarray(0, 12).toString('hex');
}

/** Re-signs the record area after a test edits it, so the edit reaches the later checks. */
function rehash(image: Uint8Array): void {
  image.set(createHash('sha256').update(image.subarray(HEADER)).digest(), 16);
}

function bound(image: Uint8Array, key: DenyKey = TEST_DENY_KEY): DenyList {
  const loaded = DenyList.load(image, 'deny_list.bin');
  if (!loaded.ok) throw new Error(loaded.error.message);
  const list = loaded.value.bind(key, 'deny_list.bin');
  if (!list.ok) throw new Error(list.error.message);
  return list.value;
}

describe('deny tokens', () => {
  it('tokensAndKeyId_equalNodeCryptoHmac_andTheImageHoldsExactlyThem', () => {
    const prng = new Prng(SEED);
    const cards = Array.from({ length: 500 }, () => ({ pan: randomPan(prng), psn: prng.below(0x100) }));
    for (const { pan, psn } of cards) {
      const token = TEST_DENY_KEY.token(pan, psn);
      expect(Buffer.from(token ?? []).toString('hex'), `seed ${SEED}`)
        .toBe(hmacToken(TEST_DENY_KEY_BYTES, pan, psn));
    }
    const id = createHmac('sha256', TEST_DENY_KEY_BYTES).update('shuaka deny key id v1').digest();
    expect(TEST_DENY_KEY.idHex).toBe(id.subarray(0, 8).toString('hex').toUpperCase());
    const text = cards.map((c) => `${c.pan},${c.psn.toString(16).padStart(2, '0')}`);
    const bcdCards = cards.filter((c) => (c.psn & 0x0f) <= 9 && c.psn <= 0x99);
    const built = denyListBuild(bcdCards.map((c) => text[cards.indexOf(c)]).join('\n'), 'in.csv',
      TEST_DENY_KEY);
    if (!built.ok) throw new Error(built.error.message);
    const image = Buffer.from(built.value.image);
    // Read back by the documented layout, independently of the loader.
    expect(image.toString('latin1', 0, 8)).toBe('SHKDENY3');
    expect(image.subarray(48, 56).equals(id.subarray(0, 8))).toBe(true);
    const records: string[] = [];
    for (let at = HEADER; at < image.length; at += RECORD) {
      records.push(image.toString('hex', at, at + RECORD));
    }
    const expected = new Set(bcdCards.map((c) => hmacToken(TEST_DENY_KEY_BYTES, c.pan, c.psn)));
    expect(new Set(records)).toEqual(expected);
    expect(records).toHaveLength(expected.size);
    const words = (hex: string): number[] =>
      [0, 8, 16].map((o) => Buffer.from(hex.slice(o, o + 8), 'hex').readUInt32LE(0));
    const order = [...records].sort((a, b) => {
      const [x, y] = [words(a), words(b)];
      for (let i = 0; i < 3; i += 1) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
      return 0;
    });
    expect(records).toEqual(order);
    expect(image.includes(Buffer.from(cards[0]?.pan ?? '', 'latin1'))).toBe(false);
  });

  it('fromTokens_sortsAndMergesEveryCount_asAPlainSort_acrossBothSortPaths', () => {
    // Up to 64 entries are sorted by insertion, more by the radix sort: the image must be the
    // plainly sorted, de-duplicated tokens either way (small words and shared digits too).
    const prng = new Prng(SEED);
    for (const count of [0, 1, 2, 3, 5, 17, 63, 64, 65, 66, 130, 1000]) {
      const words = new Uint32Array(count * 3);
      for (let i = 0; i < words.length; i += 1) {
        const kind = prng.below(4);
        words[i] = kind === 0 ? prng.below(4)
          : kind === 1 ? 0x10000 * prng.below(3) : prng.nextU32();
      }
      // Some exact duplicates, as a list with a card twice has.
      for (let i = 0; i + 6 <= words.length && prng.chance(0.5); i += 9) {
        words.copyWithin(i + 3, i, i + 3);
      }
      const hexes = new Set<string>();
      for (let i = 0; i < count; i += 1) {
        hexes.add(Buffer.from(words.slice(i * 3, i * 3 + 3).buffer).toString('hex'));
      }
      const key = (hex: string): bigint => {
        const b = Buffer.from(hex, 'hex');
        return (BigInt(b.readUInt32LE(0)) << 64n) | (BigInt(b.readUInt32LE(4)) << 32n)
          | BigInt(b.readUInt32LE(8));
      };
      const expected = [...hexes].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
      const built = denyListFromTokens(words, count, TEST_DENY_KEY.idHex, 'deny_list.bin');
      if (!built.ok) throw new Error(built.error.message);
      const records: string[] = [];
      const image = Buffer.from(built.value.image);
      for (let at = HEADER; at < image.length; at += RECORD) {
        records.push(image.toString('hex', at, at + RECORD));
      }
      expect(records, `seed ${SEED} count ${count}`).toEqual(expected);
      expect(built.value.duplicates, `seed ${SEED} count ${count}`).toBe(count - hexes.size);
    }
  });

  it('50kSeededCards_lookupsMatchASet', () => {
    const prng = new Prng(SEED);
    const truth = new Set<string>();
    const lines: string[] = ['pan,psn', '# generated, seed ' + String(SEED)];
    const listed: [string, number][] = [];
    for (let i = 0; i < 50_000; i += 1) {
      const pan = randomPan(prng);
      // PSN is BCD n2: 00..09 mostly, sometimes 10..99.
      const psn = prng.chance(0.9) ? prng.below(10) : (prng.between(1, 9) << 4) | prng.below(10);
      truth.add(`${pan},${psn}`);
      listed.push([pan, psn]);
      lines.push(`${pan},${psn.toString(16).padStart(2, '0')}`);
    }
    lines.push(lines[2] ?? '', '');
    const built = denyListBuild(lines.join('\n'), 'deny.csv', TEST_DENY_KEY);
    if (!built.ok) throw new Error(built.error.message);
    expect(built.value.count, `seed ${SEED}`).toBe(truth.size);
    expect(built.value.image.length).toBe(HEADER + truth.size * RECORD);
    const list = bound(built.value.image);
    let found = 0;
    for (const [pan, psn] of listed) if (list.contains(pan, psn)) found += 1;
    expect(found, `seed ${SEED}`).toBe(listed.length);
    const probe = new Prng(SEED + 1);
    for (let i = 0; i < 50_000; i += 1) {
      const pan = randomPan(probe);
      const psn = probe.below(10);
      const expected = truth.has(`${pan},${psn}`);
      if (list.contains(pan, psn) !== expected) {
        throw new Error(`seed ${SEED}: card ${i} expected ${String(expected)}`);
      }
    }
    const [pan0, psn0] = listed[0] ?? ['', 0];
    expect(list.contains(pan0, psn0 === 0 ? 1 : 0)).toBe(truth.has(`${pan0},${psn0 === 0 ? 1 : 0}`));
    expect(list.contains(pan0.slice(0, -1), psn0)).toBe(truth.has(`${pan0.slice(0, -1)},${psn0}`));
    expect(list.contains('62A1000000000000', 1)).toBe(false);
  });

  it('beyondTheOldCap_2500000Tokens_answerAsPlainBisection', () => {
    const count = 2_500_000;
    const prng = new Prng(SEED + 2);
    const words = new Uint32Array(count * 3);
    for (let i = 0; i < words.length; i += 1) words[i] = prng.below(0x10000) * 0x10000 + prng.below(0x10000);
    const built = denyListFromTokens(words, count, TEST_DENY_KEY.idHex, 'big');
    if (!built.ok) throw new Error(built.error.message);
    const image = Buffer.from(built.value.image);
    const n = built.value.count;
    const list = bound(image);
    const bisect = (token: Buffer): boolean => {
      let [low, high] = [0, n - 1];
      while (low <= high) {
        const middle = (low + high) >>> 1;
        const at = HEADER + middle * RECORD;
        let order = 0;
        for (let w = 0; w < 3 && order === 0; w += 1) {
          order = Math.sign(image.readUInt32LE(at + 4 * w) - token.readUInt32LE(4 * w));
        }
        if (order === 0) return true;
        if (order < 0) low = middle + 1;
        else high = middle - 1;
      }
      return false;
    };
    let wrong = 0;
    for (let probe = 0; probe < 100_000; probe += 1) {
      const at = HEADER + prng.below(n) * RECORD;
      const token = Buffer.from(image.subarray(at, at + RECORD));
      // A listed token, a neighbour (one bit of its low word flipped), a random one.
      if (!list.containsToken(token)) wrong += 1;
      token[8] = (token[8] ?? 0) ^ 1;
      if (list.containsToken(token) !== bisect(token)) wrong += 1;
      const random = Buffer.from(prng.bytes(RECORD));
      if (list.containsToken(random) !== bisect(random)) wrong += 1;
    }
    expect(wrong, `seed ${SEED + 2}`).toBe(0);
    expect(DENY_LIST_ENTRIES_MAX).toBeGreaterThanOrEqual(10_000_000);
  });
});

describe('deny list validation', () => {
  const lines = '6231000000000001,01\n6231000000000002,00\n6231000000000003,00\n';
  const built = denyListBuild(lines, 'in.txt', TEST_DENY_KEY);
  if (!built.ok) throw new Error(built.error.message);
  const image = built.value.image;

  it('malformedAndClearPanImages_areRefusedNamingTheField', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated', image.subarray(0, image.length - 1), /count: 3 records need/],
      ['short header', image.subarray(0, 20), /header: truncated/],
      ['bad magic', Uint8Array.from(image, (b, i) => (i === 0 ? 0x41 : b)), /magic/],
      ['flipped record byte', Uint8Array.from(image, (b, i) => (i === 70 ? b ^ 1 : b)), /sha256/],
      ['reserved', Uint8Array.from(image, (b, i) => (i === 60 ? 1 : b)), /reserved/],
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
    for (const magic of ['SHKDENY1', 'SHKDENY2']) {
      const clear = image.slice();
      clear.set(Buffer.from(magic, 'latin1'), 0);
      cases.push([magic, clear, /magic: SHKDENY\d holds clear PANs, refused.*denylist-build/]);
    }
    const tooMany = image.slice();
    new DataView(tooMany.buffer).setUint32(8, DENY_LIST_ENTRIES_MAX + 1, true);
    cases.push(['count over the bound', tooMany, /count: 20000001 exceeds/]);
    for (const [label, bytes, message] of cases) {
      const loaded = DenyList.load(bytes, 'deny_list.bin');
      expect(loaded.ok, label).toBe(false);
      if (!loaded.ok) expect(loaded.error.message, label).toMatch(message);
    }
  });

  it('orderCheck_comparesTheThreeWordsAsUnsignedNumbers_asBigIntsDo', () => {
    // Records as (w0, w1, w2) little-endian u32 words; the truth: w0·2^64 + w1·2^32 + w2 as a
    // BigInt must rise strictly. Words on both sides of 2^31, and ties on w0 and on w0 w1.
    const H = 0x80000000;
    const lists: [number, number, number][][] = [
      [[H - 1, 0, 0], [H, 0, 0], [0xffffffff, 0, 0]],
      [[5, 1, 0xffffffff], [5, 2, 0], [5, 2, 1]],
      [[1, H - 1, 9], [1, H, 0], [2, 0, 0]],
      [[H, 0, 0], [H - 1, 0, 0], [0xffffffff, 0, 0]],
      [[5, 1, 0], [5, 2, 0], [5, 1, 9]],
      [[5, 1, 0], [5, 2, 7], [5, 2, 7]],
      [[1, 0, 0], [5, 2, H], [5, 2, H - 1]],
      [[0xffffffff, 0xffffffff, 0xfffffffe], [0xffffffff, 0xffffffff, 0xffffffff], [0, 0, 0]],
    ];
    for (const words of lists) {
      const crafted = image.slice();
      const view = new DataView(crafted.buffer, crafted.byteOffset + HEADER);
      words.forEach((record, i) => record.forEach((w, k) => view.setUint32(12 * i + 4 * k, w, true)));
      rehash(crafted);
      const key = ([w0, w1, w2]: [number, number, number]): bigint =>
        (BigInt(w0) << 64n) + (BigInt(w1) << 32n) + BigInt(w2);
      const firstBad = words.findIndex((r, i) => {
        const before = words[i - 1];
        return before !== undefined && key(r) <= key(before);
      });
      const loaded = DenyList.load(crafted, 'deny_list.bin');
      const label = JSON.stringify(words);
      expect(loaded.ok, label).toBe(firstBad < 0);
      if (!loaded.ok) {
        expect(loaded.error.message, label).toContain(`record[${firstBad}]: not strictly ascending`);
      }
    }
  });

  it('anotherDenyKey_isRefusedAtBind_andAnUnboundListNeverAnswers', () => {
    const loaded = DenyList.load(image, 'deny_list.bin');
    if (!loaded.ok) throw new Error(loaded.error.message);
    expect(loaded.value.keyIdHex).toBe(TEST_DENY_KEY.idHex);
    const other = DenyKey.fromBytes(new Uint8Array(32).fill(7));
    const refused = loaded.value.bind(other, 'deny_list.bin');
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.message).toBe(`deny_list.bin: keyId: made with deny key `
        + `${TEST_DENY_KEY.idHex}, this validator holds deny key ${other.idHex}: provision `
        + 'the fleet\'s deny key or rebuild the list with it');
    }
    expect(() => loaded.value.contains('6231000000000001', 1)).toThrow(/without its deny key/);
    expect(bound(image).contains('6231000000000001', 1)).toBe(true);
    expect(bound(image).contains('6231000000000001', 0)).toBe(false);
  });

  it('badTextLines_areRefusedWithTheLineNumber_neverThePan', () => {
    const spaced = denyListBuild(' 6231000000000001,01\r\n\t#c\r\n\r\n62310000,09 ', 'in.txt',
      TEST_DENY_KEY);
    expect(spaced.ok && spaced.value.count).toBe(2);
    for (const bad of ['6231000,01', '62310000000000000001,01', '6231000000000001,1',
      '6231000000000001,001', '623100000000000A,01', '6231000000000001 ,01']) {
      const refused = denyListBuild(`6231000000000002,00\n${bad}\n`, 'in.txt', TEST_DENY_KEY);
      expect(refused.ok, bad).toBe(false);
      if (!refused.ok) expect(refused.error.message, bad).toMatch(/^in\.txt: line 2: expected/);
    }
    const header = denyListBuild('6231000000000002,00\npan,psn\n', 'in.txt', TEST_DENY_KEY);
    expect(header.ok).toBe(false);
    const empty = denyListBuild('', 'in.txt', TEST_DENY_KEY);
    expect(empty.ok && empty.value.count).toBe(0);
    if (empty.ok) expect(bound(empty.value.image).contains('6231000000000001', 1)).toBe(false);
  });
});

describe('deny key file', () => {
  it('missingTooOpenBadSize_areRefused_createNeverOverwrites', async () => {
    const path = join(dir, 'deny.key');
    const missing = await denyKeyLoad(path);
    expect(!missing.ok && missing.error).toBe('missing');
    const created = await denyKeyCreate(path, TEST_DENY_KEY_BYTES);
    expect(created.ok && created.value.idHex).toBe(TEST_DENY_KEY.idHex);
    const again = await denyKeyCreate(path, new Uint8Array(32));
    expect(!again.ok && again.error).toBe('io');
    const loaded = await denyKeyLoad(path);
    expect(loaded.ok && loaded.value.idHex).toBe(TEST_DENY_KEY.idHex);
    chmodSync(path, 0o644);
    const open = await denyKeyLoad(path);
    expect(!open.ok && open.detail).toMatch(/mode 644, must be 600/);
    for (const size of [31, 33, 0]) {
      const short = join(dir, `k${size}`);
      writeFileSync(short, new Uint8Array(size), { mode: 0o600 });
      const refused = await denyKeyLoad(short);
      expect(!refused.ok && refused.error, String(size)).toBe('bad-size');
    }
    expect(() => DenyKey.fromBytes(new Uint8Array(16))).toThrow(RangeError);
  });

  it('aFifoOrDevice_isRefusedAtOnce_notWaitedOn', async () => {
    // A FIFO of mode 600 passed the mode check, then open waited for a writer: the
    // validator's start hung without a word.
    const fifo = join(dir, 'deny.fifo');
    execFileSync('mkfifo', ['-m', '600', fifo]);
    for (const path of [fifo, '/dev/zero']) {
      const refused = await denyKeyLoad(path);
      expect(!refused.ok && refused.detail, path).toBe(`${path}: not a regular file`);
    }
  });
});
