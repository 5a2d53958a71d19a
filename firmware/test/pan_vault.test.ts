// PAN vault and data key file: checked against node:crypto run independently on the documented
// layout (HKDF-SHA-256 subkeys, HMAC-SHA-256 token, 01 | key id | IV | AES-256-GCM | tag).

import { createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import {
  PanVault,
  PanVaultError,
  PAN_SEALED_OVERHEAD_BYTES,
  panVaultClear,
} from '../src/app/journal/pan_vault.js';
import {
  dataKeyCreate,
  dataKeyLoad,
  dataKeyProvision,
} from '../src/app/journal/pan_vault_file.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 31);

function vaultOf(seed: number): { vault: PanVault; key: Uint8Array } {
  const prng = new Prng(seed);
  const key = prng.bytes(32);
  const ivs = prng.fork('iv');
  return { vault: PanVault.fromKey(key, (n) => ivs.bytes(n)), key };
}

function subkey(key: Uint8Array, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), info, length));
}

describe('PanVault', () => {
  it('seal_isAes256GcmUnderTheHkdfKey_asNodeCryptoDecryptsIt', () => {
    const prng = new Prng(SEED);
    for (let i = 0; i < 200; i += 1) {
      const { vault, key } = vaultOf(SEED * 1000 + i);
      const pan = `62${String(prng.below(1e9)).padStart(9, '0')}${String(i).padStart(6, '0')}`;
      const sealed = Buffer.from(vault.seal(Buffer.from(pan, 'ascii')), 'hex');
      expect(sealed.length, `seed ${SEED}`).toBe(pan.length + PAN_SEALED_OVERHEAD_BYTES);
      expect(sealed[0]).toBe(1);
      expect(sealed.subarray(1, 5).toString('hex').toUpperCase()).toBe(vault.keyIdHex);
      const decipher = createDecipheriv(
        'aes-256-gcm',
        subkey(key, 'shuaka pan seal', 32),
        sealed.subarray(5, 17),
      );
      decipher.setAAD(Buffer.from('shuaka pan vault v1'));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      const plain = Buffer.concat([decipher.update(sealed.subarray(17, -16)), decipher.final()]);
      expect(plain.toString('ascii')).toBe(pan);
      const token = createHmac('sha256', subkey(key, 'shuaka pan token', 32)).update(pan).digest();
      expect(vault.token(pan)).toBe(token.subarray(0, 16).toString('hex').toUpperCase());
      expect(vault.openPan(sealed.toString('hex'))).toEqual({ ok: true, value: pan });
    }
  });

  it('token_isCreateHmacOfTheTextAsAscii_forAnyText_shortOrLong', () => {
    const { vault, key } = vaultOf(SEED);
    const tokenKey = subkey(key, 'shuaka pan token', 32);
    const texts = ['', '0', '62310000000000000171', 'x'.repeat(64), '9'.repeat(65),
      '1'.repeat(300), 'caf\u00e9 \u4e2d 123', '\ud83d\ude00'];
    for (const text of [...texts, ...texts.map((t) => `${t}${t}`)]) {
      const mac = createHmac('sha256', tokenKey).update(text, 'ascii').digest();
      // Twice: the second call reuses the vault's buffers.
      for (let round = 0; round < 2; round += 1) {
        expect(vault.token(text), text).toBe(mac.subarray(0, 16).toString('hex').toUpperCase());
        vault.token('6231000000000000017');
      }
    }
  });

  it('open_refusesEveryFlippedBit_anotherKey_andGarbage', () => {
    const { vault } = vaultOf(SEED);
    const pan = '6231000000000000017';
    const sealed = vault.seal(Buffer.from(pan, 'ascii'));
    const bytes = Buffer.from(sealed, 'hex');
    for (let bit = 0; bit < bytes.length * 8; bit += 1) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      const opened = vault.open(flipped.toString('hex'));
      expect(opened.ok, `bit ${bit}`).toBe(false);
    }
    expect(vaultOf(SEED + 1).vault.open(sealed)).toEqual({ ok: false, error: 'other-key' });
    expect(vault.open('zz')).toEqual({ ok: false, error: 'malformed' });
    expect(vault.open(sealed.slice(0, 40))).toEqual({ ok: false, error: 'malformed' });
    // Two seals of one PAN differ (fresh IV), the token does not.
    expect(vault.seal(Buffer.from(pan))).not.toBe(sealed);
    expect(vault.token(pan)).toBe(vault.token(pan));
    expect(vault.token(pan)).not.toBe(vaultOf(SEED + 1).vault.token(pan));
  });

  it('clearForExport_namesTheRecord_whenTheKeyTheBytesOrTheTokenDoNotMatch', () => {
    const { vault } = vaultOf(SEED);
    const card = vault.cardKey('6231000000000000017', 1, '');
    if (card === null) throw new Error('card');
    expect(panVaultClear(vault, card, 5)).toBe('6231000000000000017');
    expect(vault.sealedKeyIdMatches(card.panSealed)).toBe(true);
    const other = vaultOf(SEED + 1).vault;
    // The export's quick check: the key id alone tells another key, before any line.
    expect(other.sealedKeyIdMatches(card.panSealed)).toBe(false);
    expect(other.sealedKeyIdMatches('zz')).toBe(false);
    const reasonOf = (v: PanVault, c: typeof card): string => {
      try {
        panVaultClear(v, c, 7);
      } catch (error) {
        if (!(error instanceof PanVaultError)) throw error;
        expect(error.seq).toBe(7);
        expect(error.message).toMatch(/^record seq 7: /);
        return error.reason;
      }
      return 'opened';
    };
    expect(reasonOf(other, card)).toBe('other-key');
    // The last hex digit is in the GCM tag: the key id still matches, the tag does not.
    const last = card.panSealed.at(-1) === '0' ? '1' : '0';
    const tampered = { ...card, panSealed: `${card.panSealed.slice(0, -1)}${last}` };
    expect(vault.sealedKeyIdMatches(tampered.panSealed)).toBe(true);
    expect(reasonOf(vault, tampered)).toBe('tampered');
    // A sealed PAN moved to another card's token is refused too.
    const moved = { ...card, panToken: vault.token('6231000000000000025') };
    expect(reasonOf(vault, moved)).toBe('token differs');
  });

  it('cardKey_holdsNoDigitRunOfThePan', () => {
    const { vault } = vaultOf(SEED);
    const pan = '6231000000000000017';
    const card = vault.cardKey(pan, 1, '04AABBCC');
    expect(card?.panMasked).toBe('623100*********0017');
    expect(JSON.stringify(card)).not.toContain(pan);
    expect(JSON.stringify(card)).not.toContain(pan.slice(6, 15));
    expect(vault.cardKey('', 0, '')).toBeNull();
  });

  it('cardKey_sealsTheTapsCardOnce_theNextCardForgetsIt_freshIvPerPan', () => {
    const { vault, key } = vaultOf(SEED);
    const pan = '6231000000000000017';
    const token = vault.token(pan);
    const first = vault.cardKey(pan, 1, '04AABBCC');
    const again = vault.cardKey(pan, 2, '');
    expect(first?.panToken).toBe(token);
    expect(again?.panSealed).toBe(first?.panSealed);
    expect(again?.panToken).toBe(first?.panToken);
    expect(again?.psn).toBe(2);
    // Opened independently of the vault: the memo hands out what the cipher made.
    const sealed = Buffer.from(first?.panSealed ?? '', 'hex');
    const body = sealed.subarray(1 + 4 + 12, sealed.length - 16);
    const decipher = createDecipheriv('aes-256-gcm', subkey(key, 'shuaka pan seal', 32),
      sealed.subarray(5, 17));
    decipher.setAAD(Buffer.from('shuaka pan vault v1', 'ascii'));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    expect(Buffer.concat([decipher.update(body), decipher.final()]).toString('ascii')).toBe(pan);
    // The next card: another IV, and the first card is forgotten (its clear PAN too).
    const other = vault.cardKey('6231000000000000025', 1, '');
    expect(other?.panSealed.slice(10, 34)).not.toBe(first?.panSealed.slice(10, 34));
    expect(JSON.stringify(vault)).not.toContain(pan);
    // The same card on a later tap: sealed again with a fresh IV, the same token.
    const later = vault.cardKey(pan, 1, '');
    expect(later?.panSealed).not.toBe(first?.panSealed);
    expect(later?.panToken).toBe(first?.panToken);
    expect(vault.openPan(first?.panSealed ?? '')).toEqual({ ok: true, value: pan });
  });

  it('panMaskedOf_drawsTheIvCardKeyWould_andTheSealLaterIsTheSameBytes', () => {
    const pans = ['6231000000000000017', '6231000000000000025', '6231000000000000017'];
    // One vault makes every card key at once; the other first says the masked PAN only (a
    // repeated tap), then makes the key of some cards, then of the next cards at once.
    const eager = vaultOf(SEED).vault;
    const lazy = vaultOf(SEED).vault;
    const keys: string[] = [];
    for (const [i, pan] of pans.entries()) {
      const key = eager.cardKey(pan, 1, '');
      expect(lazy.panMaskedOf(pan)).toBe(key?.panMasked);
      expect(lazy.panMaskedOf(pan)).toBe(key?.panMasked);
      if (i !== 1) expect(lazy.cardKey(pan, 1, '')).toEqual(key);
      keys.push(key?.panSealed ?? '');
    }
    expect(new Set(keys).size).toBe(pans.length);
    expect(lazy.cardKey('6231000000000000033', 1, '')).toEqual(
      eager.cardKey('6231000000000000033', 1, ''));
    expect(lazy.panMaskedOf('')).toBeNull();
  });

  it('openPan_ofAValueOpenedBefore_stillRefusesEveryChangedCharacter', () => {
    const { vault } = vaultOf(SEED);
    const pan = '6231000000000000017';
    const sealed = vault.seal(Buffer.from(pan, 'ascii'));
    expect(vault.openPan(sealed)).toEqual({ ok: true, value: pan });
    expect(vault.openPan(sealed)).toEqual({ ok: true, value: pan });
    for (let at = 0; at < sealed.length; at += 1) {
      const digit = sealed[at] === '0' ? '1' : '0';
      const changed = `${sealed.slice(0, at)}${digit}${sealed.slice(at + 1)}`;
      expect(vault.openPan(changed).ok, `hex digit ${at}`).toBe(false);
    }
    expect(vaultOf(SEED + 1).vault.openPan(sealed)).toEqual({ ok: false, error: 'other-key' });
  });

  it('fromKeys_ofKeysDerivedOnce_isFromKey_andVaultsSharingThemRememberNothingOfEachOther', () => {
    const prng = new Prng(SEED);
    const key = prng.bytes(32);
    const keys = PanVault.keysOf(key);
    expect(keys.sealKey).toEqual(subkey(key, 'shuaka pan seal', 32));
    expect(keys.tokenKey).toEqual(subkey(key, 'shuaka pan token', 32));
    expect(keys.keyId).toEqual(subkey(key, 'shuaka key id', 4));
    const ivsOf = (label: string): ((n: number) => Uint8Array) => {
      const ivs = prng.fork(label);
      return (n) => ivs.bytes(n);
    };
    const whole = PanVault.fromKey(key, ivsOf('a'));
    const shared = [PanVault.fromKeys(keys, ivsOf('a')), PanVault.fromKeys(keys, ivsOf('b'))];
    const pan = '6231000000000000017';
    const first = shared[0]?.cardKey(pan, 1, '01020304');
    expect(first).toEqual(whole.cardKey(pan, 1, '01020304'));
    expect(shared[0]?.keyIdHex).toBe(whole.keyIdHex);
    // The second vault has not seen the card: it seals it afresh (its own IV).
    const second = shared[1]?.cardKey(pan, 1, '01020304');
    expect(second?.panToken).toBe(first?.panToken);
    expect(second?.panSealed).not.toBe(first?.panSealed);
    expect(whole.openPan(second?.panSealed ?? '')).toEqual({ ok: true, value: pan });
    expect(keys).toEqual(PanVault.keysOf(key));
    expect(() => PanVault.keysOf(key.subarray(1))).toThrow(RangeError);
  });
});

describe('data key file', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shuaka-key-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('create_writes32Bytes0600_andNeverOverwrites', async () => {
    const path = join(dir, 'data.key');
    const prng = new Prng(SEED);
    const created = await dataKeyCreate(path, (n) => prng.bytes(n));
    expect(created.ok).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const loaded = await dataKeyLoad(path);
    expect(loaded.ok && Buffer.from(loaded.value).equals(await readFile(path))).toBe(true);
    const again = await dataKeyCreate(path, (n) => prng.bytes(n));
    expect(again.ok ? null : again.error).toBe('io');
  });

  it('load_refusesMissingOpenAndShortKeys', async () => {
    const path = join(dir, 'data.key');
    expect(await dataKeyLoad(path)).toMatchObject({ ok: false, error: 'missing' });
    await writeFile(path, new Uint8Array(31), { mode: 0o600 });
    expect(await dataKeyLoad(path)).toMatchObject({ ok: false, error: 'bad-size' });
    await writeFile(path, new Uint8Array(32));
    await chmod(path, 0o644);
    expect(await dataKeyLoad(path)).toMatchObject({ ok: false, error: 'too-open' });
  });

  it('provision_createsOnlyForAnEmptyJournal', async () => {
    const path = join(dir, 'data.key');
    const prng = new Prng(SEED);
    const refused = await dataKeyProvision(path, false, (n) => prng.bytes(n));
    expect(refused).toMatchObject({ ok: false, error: 'missing' });
    const made = await dataKeyProvision(path, true, (n) => prng.bytes(n));
    expect(made.ok).toBe(true);
    const kept = await dataKeyProvision(path, false, (n) => prng.bytes(n));
    expect(kept.ok && made.ok && Buffer.from(kept.value).equals(made.value)).toBe(true);
  });
});
