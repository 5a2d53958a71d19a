// The depot's PAN vault: a clear PAN is sealed (AES-256-GCM) for the acquirer and tokenised
// (HMAC-SHA256) for dedupe, debts and reports; the clear PAN is never stored.
// Keys: both derive from one 32-byte depot data key with HKDF-SHA256 (RFC 5869), so a token
// key leak does not open sealed PANs and vice versa.

import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { writeFileSync } from 'node:fs';

import { GCM_BATCH_TEXT_BYTES_MAX, gcmBatchSealer, type GcmBatchSealer } from
  './aes_gcm_batch.js';
import { hmacSha256Hex } from './hmac_sha256.js';
import { PEM_BYTES_MAX, readFileBoundedSync } from '../../../hal/src/fs/read_bounded.js';

export const DATA_KEY_BYTES = 32;
const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const SEAL_VERSION = 'v1';

/** The data key file is bad: missing, unreadable or not 64 hex digits. */
export class DataKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataKeyError';
  }
}

/** Seals and tokenises PANs under one data key. */
export interface PanVault {
  /** Stable token of `pan`: 64 lower-case hex digits. */
  token(pan: string): string;
  /** `v1.IV.TAG.CIPHERTEXT` (base64url parts); a fresh IV each call. */
  seal(pan: string): string;
  /**
   * The token of `pan` and a seal of it: the seal this vault made for the same token lately
   * (a card taps many times a day), else a fresh one. Reusing a whole seal repeats an IV only
   * with the same plaintext, so the output is the same bytes again: GCM's rule (never one IV
   * for two different plaintexts, NIST SP 800-38D, 8) holds, and equal seals tell no more
   * than equal tokens already do. Misses draw a fresh IV as `seal` does.
   */
  sealCard(pan: string): { readonly token: string; readonly sealed: string };
  /**
   * sealCard of every PAN of `pans` in order, the fresh seals made together (one AES call for
   * the whole batch: aes_gcm_batch.ts): `tokens[i]` and `sealed[i]` are PAN i's. A PAN seen
   * earlier in `pans` reuses that seal, as sealCard would.
   */
  sealCards(pans: readonly string[]): CardSeals;
  /** The PAN of a sealed value; throws DataKeyError when it was not sealed by this key. */
  unseal(sealed: string): string;
}

/** The tokens and seals of sealCards, by index of the PAN. */
export interface CardSeals {
  readonly tokens: readonly string[];
  readonly sealed: readonly string[];
}

/**
 * Seals kept per vault for sealCard: 2^16 cards, about 15 MB, a day's riders of a large
 * fleet's busiest hour; the oldest entry goes first.
 */
const SEAL_CACHE_CARDS = 65_536;

/**
 * A map of at most `capacity` entries that forgets the oldest insertion first. The insertion
 * order is a ring of keys: `map.keys().next()` would find the oldest too, but V8 leaves a
 * deleted entry as a hole that every later iterator skips until the table is rebuilt, so at
 * capacity each eviction walked tens of thousands of holes (about 60 us a new card, the
 * whole ingest's budget).
 */
function fifoCache(capacity: number): { get(key: string): string | undefined;
  set(key: string, value: string): void; } {
  const map = new Map<string, string>();
  const ring = new Array<string>(capacity);
  let next = 0;
  return {
    get: (key) => map.get(key),
    set: (key, value) => {
      const oldest = ring[next];
      if (oldest !== undefined) map.delete(oldest);
      ring[next] = key;
      next = (next + 1) % capacity;
      map.set(key, value);
    },
  };
}

/** IVs drawn from one random block at a time: one getrandom call per 512 seals, not each. */
function ivPool(): () => Uint8Array {
  const ivsPerBlock = 512;
  let block = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at >= block.length) {
      block = randomBytes(GCM_IV_BYTES * ivsPerBlock);
      at = 0;
    }
    at += GCM_IV_BYTES;
    return block.subarray(at - GCM_IV_BYTES, at);
  };
}

/** A vault over `dataKey` (32 bytes). `iv` is injectable so tests are deterministic. */
export function panVault(dataKey: Uint8Array, iv: () => Uint8Array = ivPool()): PanVault {
  if (dataKey.length !== DATA_KEY_BYTES)
    throw new DataKeyError(`data key must be ${DATA_KEY_BYTES} bytes, got ${dataKey.length}`);
  const derive = (info: string): Buffer =>
    Buffer.from(hkdfSync('sha256', dataKey, new Uint8Array(0), info, DATA_KEY_BYTES));
  // KeyObjects once: a raw key Buffer is imported again by every createHmac/createCipheriv.
  const tokenKey = derive('shuaka depot pan token v1');
  const sealKey = createSecretKey(derive('shuaka depot pan seal v1'));
  const seals = fifoCache(SEAL_CACHE_CARDS);
  const token = hmacSha256Hex(tokenKey);
  const seal = (pan: string): string => {
    const nonce = iv();
    const cipher = createCipheriv('aes-256-gcm', sealKey, nonce);
    const body = cipher.update(pan, 'ascii');
    // GCM is a stream mode: final() adds no bytes, it only makes the tag.
    cipher.final();
    return `${SEAL_VERSION}.${Buffer.from(nonce).toString('base64url')}.${
      cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
  };
  let batchSealer: GcmBatchSealer | null = null;
  const sealFresh = (pans: readonly string[]): string[] => {
    batchSealer ??= gcmBatchSealer(sealKey);
    const sealed = batchSealer.seal(pans, pans.map(() => iv()));
    return sealed.map((parts) => `${SEAL_VERSION}.${parts}`);
  };
  return {
    token,
    seal,
    sealCards: (pans) => sealCardsWith(pans, token, seals, seal, sealFresh),
    sealCard: (pan) => {
      const cardToken = token(pan);
      let sealed = seals.get(cardToken);
      if (sealed === undefined) {
        sealed = seal(pan);
        seals.set(cardToken, sealed);
      }
      return { token: cardToken, sealed };
    },
    unseal: (sealed) => unsealWith(sealKey, sealed),
  };
}

/** True when aes_gcm_batch.ts seals `text` (ASCII, at most two blocks). */
function batchSealable(text: string): boolean {
  if (text.length > GCM_BATCH_TEXT_BYTES_MAX) return false;
  for (let i = 0; i < text.length; i += 1) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** PanVault.sealCards: cached seals reused, the rest sealed together (`sealFresh`). */
function sealCardsWith(pans: readonly string[], token: (pan: string) => string,
  seals: ReturnType<typeof fifoCache>, seal: (pan: string) => string,
  sealFresh: (pans: readonly string[]) => string[]): CardSeals {
  const tokens = pans.map(token);
  const sealed = new Array<string>(pans.length);
  // Index in `pans` of each card's first fresh seal, and the PANs the batch sealer takes.
  const firstOf = new Map<string, number>();
  const fresh: number[] = [];
  for (let i = 0; i < pans.length; i += 1) {
    const cardToken = tokens[i] ?? '';
    const cached = seals.get(cardToken);
    if (cached !== undefined) sealed[i] = cached;
    else if (!firstOf.has(cardToken)) {
      firstOf.set(cardToken, i);
      const pan = pans[i] ?? '';
      if (batchSealable(pan)) fresh.push(i);
      else sealed[i] = seal(pan);
    }
  }
  const made = sealFresh(fresh.map((i) => pans[i] ?? ''));
  fresh.forEach((i, k) => {
    sealed[i] = made[k] ?? '';
  });
  for (const [cardToken, i] of firstOf) seals.set(cardToken, sealed[i] ?? '');
  for (let i = 0; i < pans.length; i += 1)
    sealed[i] ??= sealed[firstOf.get(tokens[i] ?? '') ?? i] ?? '';
  return { tokens, sealed };
}

function unsealWith(sealKey: KeyObject, sealed: string): string {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== SEAL_VERSION)
    throw new DataKeyError('not a sealed PAN (expected v1.IV.TAG.DATA)');
  const [nonce, tag, body] = parts.slice(1).map((p) => Buffer.from(p, 'base64url'));
  if (nonce?.length !== GCM_IV_BYTES || tag?.length !== GCM_TAG_BYTES || body === undefined)
    throw new DataKeyError('sealed PAN has a bad IV or tag length');
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealKey, nonce);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('ascii');
  } catch {
    throw new DataKeyError('sealed PAN does not open under this data key (wrong key or '
      + 'altered value)');
  }
}

/** Reads a data key file (64 hex digits, whitespace ignored). Throws DataKeyError. */
export function readDataKey(path: string): Uint8Array {
  let text: string;
  try {
    text = readFileBoundedSync(path, PEM_BYTES_MAX).toString('utf8').trim();
  } catch (error) {
    throw new DataKeyError(`cannot read data key ${path}: ${(error as Error).message}`);
  }
  if (!/^[0-9a-fA-F]{64}$/.test(text))
    throw new DataKeyError(`data key ${path} must hold ${DATA_KEY_BYTES * 2} hex digits`);
  return Buffer.from(text, 'hex');
}

/** Writes a fresh random data key to `path` (mode 0600, refuses to overwrite). */
export function createDataKey(path: string): void {
  writeFileSync(path, `${randomBytes(DATA_KEY_BYTES).toString('hex')}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
}
