// The batch AES-256-GCM sealer against node:crypto's own aes-256-gcm: for seeded keys, IVs and
// texts of every length it takes (0..32 bytes: one and two blocks, full and partial), the same
// IV, tag and ciphertext bytes as createCipheriv, and node's decipher opens every seal.
// SHUAKA_SEED=N replays a failure.

import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { Prng } from '../../../host-sim/src/prng.js';
import { GCM_BATCH_TEXT_BYTES_MAX, gcmBatchSealer } from '../../src/store/aes_gcm_batch.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 3880);

function nodeSeal(key: Uint8Array, iv: Uint8Array, text: string): string {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(text, 'ascii'), cipher.final()]);
  return [iv, cipher.getAuthTag(), body].map((b) => Buffer.from(b).toString('base64url'))
    .join('.');
}

function nodeOpen(key: Uint8Array, sealed: string): string {
  const [iv, tag, body] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  const decipher = createDecipheriv('aes-256-gcm', key, iv ?? Buffer.alloc(0));
  decipher.setAuthTag(tag ?? Buffer.alloc(0));
  return Buffer.concat([decipher.update(body ?? Buffer.alloc(0)), decipher.final()])
    .toString('ascii');
}

/** Printable ASCII of `length` characters. */
function textOf(prng: Prng, length: number): string {
  return Array.from({ length }, () => String.fromCharCode(0x20 + prng.below(95))).join('');
}

describe('aes-256-gcm batch sealer', () => {
  it('everyLength_0to32_matchesNodeCrypto_underSeededKeysAndIvs', () => {
    const prng = new Prng(SEED);
    const wrong: string[] = [];
    for (let k = 0; k < 8; k += 1) {
      const key = prng.bytes(32);
      const sealer = gcmBatchSealer(createSecretKey(key));
      const texts = Array.from({ length: 4 * (GCM_BATCH_TEXT_BYTES_MAX + 1) },
        (_, i) => textOf(prng, i % (GCM_BATCH_TEXT_BYTES_MAX + 1)));
      const ivs = texts.map(() => prng.bytes(12));
      const sealed = sealer.seal(texts, ivs);
      texts.forEach((text, i) => {
        const iv = ivs[i] ?? new Uint8Array(12);
        if (sealed[i] !== nodeSeal(key, iv, text)) wrong.push(`key ${k} text ${i}`);
        else if (nodeOpen(key, sealed[i] ?? '') !== text) wrong.push(`open ${k} ${i}`);
      });
      // The same sealer again (its ECB cipher carries no state between batches).
      const again = sealer.seal(texts.slice(0, 3), ivs.slice(0, 3));
      expect(again).toEqual(sealed.slice(0, 3));
    }
    expect(wrong, `seed ${SEED}`).toEqual([]);
  });

  it('aPanOfDigits_matchesNodeCrypto_andEmptyBatchesAreEmpty', () => {
    const key = new Uint8Array(32).fill(0xa5);
    const sealer = gcmBatchSealer(createSecretKey(key));
    const iv = new Uint8Array(12).fill(1);
    expect(sealer.seal(['6231000000000000123'], [iv]))
      .toEqual([nodeSeal(key, iv, '6231000000000000123')]);
    expect(sealer.seal([], [])).toEqual([]);
  });

  it('aTextTooLongOrNotAscii_orABadIv_isARangeError', () => {
    const sealer = gcmBatchSealer(createSecretKey(new Uint8Array(32)));
    const iv = new Uint8Array(12);
    expect(() => sealer.seal(['x'.repeat(GCM_BATCH_TEXT_BYTES_MAX + 1)], [iv]))
      .toThrow(RangeError);
    expect(() => sealer.seal(['6231\u00e9'], [iv])).toThrow(RangeError);
    expect(() => sealer.seal(['6231'], [new Uint8Array(16)])).toThrow(RangeError);
    expect(() => sealer.seal(['6231'], [])).toThrow(RangeError);
  });
});
