// PAN protection at rest (PCI DSS v4.0 req. 3.5): a keyed token for matching, AES-256-GCM for
// the PAN itself, both under one terminal data key.
//
// The data key (32 random bytes, pan_vault_file.ts) never leaves the terminal. Two subkeys are
// derived from it with HKDF-SHA-256 (RFC 5869), so the token can never be used to attack the
// cipher and the other way round:
// - token: HMAC-SHA-256(token key, PAN digits), first 16 bytes. Equal PANs give equal tokens,
//   so the journal matches a card (uncertain taps, duplicate taps) without the clear PAN. A
//   keyed hash is what PCI DSS 3.5.1.1 asks for: without the key nobody can test guesses.
// - sealed: 01 | key id (4) | IV (12) | AES-256-GCM(seal key, data) | tag (16), as hex. The IV
//   is random (NIST SP 800-38D 8.2.2); the GCM tag makes any change or a wrong key detectable.

import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';

import { HmacSha256Pads } from '../hmac_sha256_pads.js';
import { maskPan, type CardKey } from './journal_records.js';

/** Bytes of the terminal data key. */
export const PAN_VAULT_KEY_BYTES = 32;
/** Bytes of a PAN token (128 bits of HMAC-SHA-256: collisions are out of reach). */
export const PAN_TOKEN_BYTES = 16;
const SEALED_VERSION = 0x01;
const KEY_ID_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Bytes a sealed value adds to its plaintext. */
export const PAN_SEALED_OVERHEAD_BYTES = 1 + KEY_ID_BYTES + IV_BYTES + TAG_BYTES;
/** Longest PAN tokenHmac takes in its buffer (PANs have 19 digits); longer: createHmac. */
const TOKEN_INPUT_CHARS_MAX = 64;
/** Authenticated data: binds a sealed value to this use (not a sealed something else). */
const SEAL_AAD = Buffer.from('shuaka pan vault v1', 'ascii');

/** Source of random bytes for IVs: the OS CSPRNG on a board, a seeded PRNG in the simulator. */
export type RandomBytes = (length: number) => Uint8Array;

/** Why a sealed value cannot be opened. */
export type PanVaultOpenError =
  /** Not hex, too short, or an unknown version byte. */
  | 'malformed'
  /** Sealed under another data key (the key id differs). */
  | 'other-key'
  /** The GCM tag does not verify: the bytes were changed. */
  | 'tampered';

export type PanVaultOpenResult =
  | { readonly ok: true; readonly value: Uint8Array }
  | { readonly ok: false; readonly error: PanVaultOpenError };

/**
 * The one card a vault remembers, in memory only (never on disk): the card of the tap under
 * way, which asks for its token and its card key several times. Only that one: a validator
 * meets mostly different cards, so remembering earlier riders would rarely spare a seal, and
 * would keep their clear PANs in RAM long after their taps.
 */
interface PanMemo {
  readonly pan: string;
  readonly token: string;
  /** Its sealed form, once a card key was made (null before). */
  sealed: string | null;
  /** The IV its sealed form will have, drawn by panMaskedOf before any seal (else null). */
  ivDrawn: Buffer | null;
}

/** The subkeys of a terminal data key (PanVault.keysOf): opaque to everyone but the vault. */
export interface PanVaultKeys {
  readonly sealKey: Buffer;
  readonly tokenKey: Buffer;
  readonly keyId: Buffer;
}

/** Seals, opens and tokenises card data under one terminal data key. */
export class PanVault {
  /** Key id (hex): names the data key in every sealed value; not secret. */
  readonly keyIdHex: string;
  /** The last card whose token or card key was asked for (see PanMemo). */
  private last: PanMemo | null = null;
  /** The token key's HMAC pads, with room for a PAN (tokenHmac). */
  private readonly tokenPads: HmacSha256Pads;

  private constructor(
    private readonly sealKey: Buffer,
    private readonly tokenKey: Buffer,
    private readonly keyId: Buffer,
    private readonly random: RandomBytes,
  ) {
    this.keyIdHex = keyId.toString('hex').toUpperCase();
    this.tokenPads = new HmacSha256Pads(tokenKey, TOKEN_INPUT_CHARS_MAX);
  }

  /** A vault over `dataKey` (PAN_VAULT_KEY_BYTES bytes). Throws RangeError on another length. */
  static fromKey(dataKey: Uint8Array, random: RandomBytes): PanVault {
    return PanVault.fromKeys(PanVault.keysOf(dataKey), random);
  }

  /**
   * The subkeys of `dataKey` (PAN_VAULT_KEY_BYTES bytes; RangeError on another length). HKDF
   * is deterministic: a process that makes many vaults of one data key (a simulator's
   * reboots) derives them once and hands them to fromKeys.
   */
  static keysOf(dataKey: Uint8Array): PanVaultKeys {
    if (dataKey.length !== PAN_VAULT_KEY_BYTES) {
      throw new RangeError(`data key is ${dataKey.length} bytes, expected ${PAN_VAULT_KEY_BYTES}`);
    }
    const derive = (info: string, length: number): Buffer =>
      Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), info, length));
    return {
      sealKey: derive('shuaka pan seal', 32),
      tokenKey: derive('shuaka pan token', 32),
      keyId: derive('shuaka key id', KEY_ID_BYTES),
    };
  }

  /** A vault over subkeys keysOf derived (no vault writes them: they may be shared). */
  static fromKeys(keys: PanVaultKeys, random: RandomBytes): PanVault {
    return new PanVault(keys.sealKey, keys.tokenKey, keys.keyId, random);
  }

  /** Keyed token of PAN digits, upper-case hex of PAN_TOKEN_BYTES bytes. */
  token(pan: string): string {
    return this.memoOf(pan).token;
  }

  private tokenOf(pan: string): string {
    if (pan.length <= TOKEN_INPUT_CHARS_MAX) return this.tokenHmac(pan);
    const mac = createHmac('sha256', this.tokenKey).update(pan, 'ascii').digest();
    return mac.subarray(0, PAN_TOKEN_BYTES).toString('hex').toUpperCase();
  }

  /**
   * The same HMAC-SHA-256 as createHmac, over the token key's pads (HmacSha256Pads: a
   * createHmac object per token cost about twice as much). The PAN's characters go in as
   * createHmac's 'ascii' takes them (one byte each, the low byte: Node's 'latin1'); the tests
   * hold it to createHmac.
   */
  private tokenHmac(pan: string): string {
    const pads = this.tokenPads;
    const written = pads.inner.write(pan, HmacSha256Pads.MESSAGE_AT, 'latin1');
    return pads.mac(written).toString('hex', 0, PAN_TOKEN_BYTES).toUpperCase();
  }

  /** Seals `data` (fresh IV each call); upper-case hex. */
  seal(data: Uint8Array): string {
    return this.sealUnder(this.ivDraw(), data);
  }

  /** A fresh IV from the random source. */
  private ivDraw(): Buffer {
    const iv = Buffer.from(this.random(IV_BYTES));
    if (iv.length !== IV_BYTES) throw new RangeError('random source gave a short IV');
    return iv;
  }

  /** Seals `data` under `iv`, drawn for it and for nothing else. */
  private sealUnder(iv: Buffer, data: Uint8Array): string {
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, iv);
    cipher.setAAD(SEAL_AAD);
    const body = cipher.update(data);
    const rest = cipher.final();
    const tag = cipher.getAuthTag();
    // Laid out in one buffer (a seal per tap): version, key id, IV, ciphertext, tag.
    const bodyAt = 1 + KEY_ID_BYTES + IV_BYTES;
    const sealed = Buffer.allocUnsafe(bodyAt + body.length + rest.length + tag.length);
    sealed[0] = SEALED_VERSION;
    this.keyId.copy(sealed, 1);
    iv.copy(sealed, 1 + KEY_ID_BYTES);
    body.copy(sealed, bodyAt);
    rest.copy(sealed, bodyAt + body.length);
    tag.copy(sealed, bodyAt + body.length + rest.length);
    return sealed.toString('hex').toUpperCase();
  }

  /**
   * True when `sealedHex` is a sealed value of this version naming this vault's key (its key
   * id); the GCM tag is not checked (open does). Never throws.
   */
  sealedKeyIdMatches(sealedHex: string): boolean {
    const keyIdEnd = 2 * (1 + KEY_ID_BYTES);
    return sealedHex.length >= 2 * PAN_SEALED_OVERHEAD_BYTES
      && parseInt(sealedHex.slice(0, 2), 16) === SEALED_VERSION
      && sealedHex.slice(2, keyIdEnd).toUpperCase() === this.keyIdHex;
  }

  /** Opens a value `seal` made. Errors: malformed, other-key, tampered. Never throws. */
  open(sealedHex: string): PanVaultOpenResult {
    if (!/^(?:[0-9A-Fa-f]{2})*$/.test(sealedHex)) return { ok: false, error: 'malformed' };
    const sealed = Buffer.from(sealedHex, 'hex');
    if (sealed.length < PAN_SEALED_OVERHEAD_BYTES || sealed[0] !== SEALED_VERSION) {
      return { ok: false, error: 'malformed' };
    }
    const keyIdEnd = 1 + KEY_ID_BYTES;
    if (!sealed.subarray(1, keyIdEnd).equals(this.keyId)) return { ok: false, error: 'other-key' };
    const iv = sealed.subarray(keyIdEnd, keyIdEnd + IV_BYTES);
    const body = sealed.subarray(keyIdEnd + IV_BYTES, sealed.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.sealKey, iv);
    decipher.setAAD(SEAL_AAD);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      return { ok: true, value: Buffer.concat([decipher.update(body), decipher.final()]) };
    } catch {
      return { ok: false, error: 'tampered' };
    }
  }

  /**
   * The PAN digits of a sealed PAN, or the reason it cannot be opened. A sealed value equal,
   * character for character, to the one cardKey made for the card the vault remembers gives
   * its digits without deciphering it again (the same bytes under the same key open the same
   * way).
   */
  openPan(sealedHex: string): { ok: true; value: string } | { ok: false; error: string } {
    const last = this.last;
    if (last !== null && last.sealed === sealedHex) return { ok: true, value: last.pan };
    const opened = this.open(sealedHex);
    if (!opened.ok) return opened;
    const pan = Buffer.from(opened.value).toString('ascii');
    return /^[0-9]{8,19}$/.test(pan) ? { ok: true, value: pan } : { ok: false, error: 'malformed' };
  }

  /**
   * The journal's view of a card: token, sealed PAN, masked PAN; null for an empty PAN. The
   * PAN is sealed once while the vault remembers its card (PanMemo): the records of one tap
   * carry the same sealed value, as they carry the same token. GCM under one IV is safe for
   * the same plaintext (it gives the same bytes); another PAN always gets a fresh IV.
   */
  cardKey(pan: string, psn: number, uidHex: string): CardKey | null {
    if (pan === '') return null;
    const memo = this.memoOf(pan);
    memo.sealed ??= this.sealUnder(memo.ivDrawn ?? this.ivDraw(), Buffer.from(pan, 'ascii'));
    memo.ivDrawn = null;
    return {
      panToken: memo.token,
      panSealed: memo.sealed,
      panMasked: maskPan(pan),
      psn,
      uidHex,
    };
  }

  /**
   * cardKey(pan, ...)?.panMasked for a tap that writes no record (a repeated tap: its report
   * shows the masked PAN, nothing is journalled). The card becomes the one the vault
   * remembers, as with cardKey, and the IV its sealed form will have is drawn now, as cardKey
   * would draw it: every later seal gets the IV it got when this seal was made at once (the
   * simulator's IVs come from a seeded stream, and the journal's bytes stay the same). The
   * cipher itself runs only if a record of the card asks for its key (cardKey).
   */
  panMaskedOf(pan: string): string | null {
    if (pan === '') return null;
    const memo = this.memoOf(pan);
    if (memo.sealed === null) memo.ivDrawn ??= this.ivDraw();
    return maskPan(pan);
  }

  /** The memo of `pan`: the last card's, or a new one (its token made) in its place. */
  private memoOf(pan: string): PanMemo {
    const last = this.last;
    if (last !== null && last.pan === pan) return last;
    const made: PanMemo = { pan, token: this.tokenOf(pan), sealed: null, ivDrawn: null };
    this.last = made;
    return made;
  }
}

/** A sealed PAN of the journal that does not open under the data key given. */
export class PanVaultError extends Error {
  constructor(
    readonly seq: number,
    readonly reason: string,
  ) {
    super(`record seq ${seq}: its PAN does not open with this data key (${reason})`);
    this.name = 'PanVaultError';
  }
}

/**
 * The clear PAN of a journal card key, for the clearing upload only (`journal export`).
 * Throws PanVaultError naming record `seq` when it does not open.
 */
export function panVaultClear(
  vault: PanVault,
  card: Pick<CardKey, 'panSealed' | 'panToken'>,
  seq: number,
): string {
  const opened = vault.openPan(card.panSealed);
  if (!opened.ok) throw new PanVaultError(seq, opened.error);
  if (vault.token(opened.value) !== card.panToken) throw new PanVaultError(seq, 'token differs');
  return opened.value;
}
