// The PAN vault against node:crypto used by hand (HKDF-SHA256 keys, AES-256-GCM, HMAC), and
// refusals of a wrong key or an altered value.

import { createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDataKey, DataKeyError, panVault, readDataKey } from
  '../../src/store/pan_vault.js';

const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  'hex');
const PAN = '6231000000000000123';
const derive = (info: string): Buffer =>
  Buffer.from(hkdfSync('sha256', KEY, new Uint8Array(0), info, 32));

describe('pan vault', () => {
  it('seal_opensWithNodeCryptoByHand_andTokenIsTheHmac', () => {
    const vault = panVault(KEY);
    const sealed = vault.seal(PAN);
    expect(sealed).not.toContain(PAN);
    const [version, iv, tag, body] = sealed.split('.');
    expect(version).toBe('v1');
    const decipher = createDecipheriv('aes-256-gcm', derive('shuaka depot pan seal v1'),
      Buffer.from(iv ?? '', 'base64url'));
    decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
    const clear = Buffer.concat([decipher.update(Buffer.from(body ?? '', 'base64url')),
      decipher.final()]).toString();
    expect(clear).toBe(PAN);
    expect(vault.token(PAN)).toBe(createHmac('sha256', derive('shuaka depot pan token v1'))
      .update(PAN).digest('hex'));
    expect(vault.seal(PAN)).not.toBe(sealed);
  });

  it('sealCard_reusesASealOnlyForTheSameCard_andNeverAnIvForTwoPans', () => {
    const vault = panVault(KEY);
    const open = (sealed: string): { iv: string; pan: string } => {
      const [, iv, tag, body] = sealed.split('.');
      const decipher = createDecipheriv('aes-256-gcm', derive('shuaka depot pan seal v1'),
        Buffer.from(iv ?? '', 'base64url'));
      decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
      return { iv: iv ?? '', pan: Buffer.concat([decipher.update(Buffer.from(body ?? '',
        'base64url')), decipher.final()]).toString() };
    };
    const panOfIv = new Map<string, string>();
    const sealOfPan = new Map<string, string>();
    const wrong: string[] = [];
    // 70,000 distinct cards overflow the cache (2^16) and evict cards 0..6; their next taps
    // get fresh seals (new IVs), which later taps of the same card then reuse.
    for (let i = 0; i < 90_000; i += 1) {
      const pan = `6231${String(i < 70_000 ? i : i % 7).padStart(15, '0')}`;
      const card = vault.sealCard(pan);
      if (i % 97 === 0 && card.token !== vault.token(pan)) wrong.push(`token ${i}`);
      const opened = open(card.sealed);
      if (opened.pan !== pan) wrong.push(`pan ${i}`);
      if ((panOfIv.get(opened.iv) ?? pan) !== pan) wrong.push(`iv of two PANs ${i}`);
      panOfIv.set(opened.iv, pan);
      const before = sealOfPan.get(pan);
      if (i >= 70_000 && i < 70_007 && before === card.sealed) wrong.push(`not evicted ${i}`);
      if (i >= 70_007 && before !== card.sealed) wrong.push(`not reused ${i}`);
      sealOfPan.set(pan, card.sealed);
    }
    expect(wrong).toEqual([]);
    expect(panOfIv.size).toBe(70_007);
  });

  it('sealCards_isSealCardInOrder_madeTogether_withNodeTokensAndSeals', () => {
    const vault = panVault(KEY);
    const open = (sealed: string): string => {
      const [, iv, tag, body] = sealed.split('.');
      const decipher = createDecipheriv('aes-256-gcm', derive('shuaka depot pan seal v1'),
        Buffer.from(iv ?? '', 'base64url'));
      decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body ?? '', 'base64url')),
        decipher.final()]).toString('ascii');
    };
    const hmac = (pan: string): string =>
      createHmac('sha256', derive('shuaka depot pan token v1')).update(pan).digest('hex');
    const earlier = vault.sealCard(`6231${'7'.repeat(15)}`);
    // 8..19 digits, a repeat inside the batch, a card sealed before, and a text longer than
    // the batch sealer takes (sealed one by one).
    const pans = ['12345678', PAN, `6231${'0'.repeat(12)}`, PAN, `6231${'7'.repeat(15)}`,
      '9'.repeat(40), '62310000000000009'];
    const cards = vault.sealCards(pans);
    expect(cards.tokens).toEqual(pans.map(hmac));
    expect(cards.sealed.map(open)).toEqual(pans);
    expect(cards.sealed[3]).toBe(cards.sealed[1]);
    expect(cards.sealed[4]).toBe(earlier.sealed);
    expect(new Set(cards.sealed.map((s) => s.split('.')[1])).size).toBe(pans.length - 1);
    // The batch's fresh seals are the cache's now.
    expect(vault.sealCard(PAN).sealed).toBe(cards.sealed[1]);
    expect(vault.sealCards([])).toEqual({ tokens: [], sealed: [] });
  });

  it('sealCards_over30BatchesOf1000_opensEveryPan_andNeverSharesAnIvBetweenTwoPans', () => {
    const vault = panVault(KEY);
    const key = derive('shuaka depot pan seal v1');
    const panOfIv = new Map<string, string>();
    const sealOfPan = new Map<string, string>();
    const wrong: string[] = [];
    for (let b = 0; b < 30; b += 1) {
      // Every 10th card is one of an earlier batch, every 7th one of this batch again.
      const pans = Array.from({ length: 1_000 }, (_, i) => {
        const n = i % 10 === 9 && b > 0 ? (b - 1) * 1_000 + i : i % 7 === 6 ? b * 1_000 + i - 1
          : b * 1_000 + i;
        return `6231${String(n).padStart(15, '0')}`;
      });
      const cards = vault.sealCards(pans);
      pans.forEach((pan, i) => {
        const [, iv = '', tag, body] = (cards.sealed[i] ?? '').split('.');
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
        const opened = Buffer.concat([decipher.update(Buffer.from(body ?? '', 'base64url')),
          decipher.final()]).toString('ascii');
        if (opened !== pan) wrong.push(`pan ${b}/${i}`);
        if ((panOfIv.get(iv) ?? pan) !== pan) wrong.push(`iv of two PANs ${b}/${i}`);
        panOfIv.set(iv, pan);
        if ((sealOfPan.get(pan) ?? cards.sealed[i]) !== cards.sealed[i]) wrong.push(`${b}/${i}`);
        sealOfPan.set(pan, cards.sealed[i] ?? '');
        if (i % 101 === 0 && cards.tokens[i] !== vault.token(pan)) wrong.push(`token ${b}/${i}`);
      });
    }
    expect(wrong).toEqual([]);
    expect(panOfIv.size).toBe(sealOfPan.size);
  });

  it('token_ofALongOrNonAsciiText_isTheHmacOfItsAsciiBytes', () => {
    const vault = panVault(KEY);
    for (const text of ['', '1'.repeat(64), '2'.repeat(65), '3'.repeat(300)])
      expect(vault.token(text)).toBe(createHmac('sha256', derive('shuaka depot pan token v1'))
        .update(text, 'ascii').digest('hex'));
  });

  it('unseal_refusesAWrongKeyOrAFlippedBit', () => {
    const sealed = panVault(KEY).seal(PAN);
    expect(() => panVault(Buffer.alloc(32, 1)).unseal(sealed)).toThrow(DataKeyError);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3] ?? '', 'base64url');
    body[0] = (body[0] ?? 0) ^ 1;
    parts[3] = body.toString('base64url');
    expect(() => panVault(KEY).unseal(parts.join('.'))).toThrow(/does not open/);
    expect(() => panVault(KEY).unseal('v2.x.y.z')).toThrow(DataKeyError);
  });

  it('dataKeyFile_isCreatedOnce_andMalformedFilesAreRefused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shuaka-key-'));
    try {
      const path = join(dir, 'data.key');
      createDataKey(path);
      expect(readDataKey(path)).toHaveLength(32);
      expect(() => createDataKey(path)).toThrow();
      writeFileSync(path, 'abcd\n');
      expect(() => readDataKey(path)).toThrow(/64 hex digits/);
      expect(() => readDataKey(join(dir, 'none'))).toThrow(DataKeyError);
      expect(() => panVault(Buffer.alloc(16))).toThrow(DataKeyError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
