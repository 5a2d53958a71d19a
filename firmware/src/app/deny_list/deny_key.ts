// The fleet deny key: the HMAC key that turns a card (PAN + PSN) into its deny-list token.
//
// PCI DSS v4.0 req. 3.5.1 lets a PAN be stored only unreadable, e.g. as a keyed cryptographic
// hash of the entire PAN; the deny list on every validator's flash and in every depot
// publication therefore holds HMAC-SHA-256(denyKey, PAN || PSN) truncated to 96 bits, never
// the PAN. Unlike the terminal data key (one per validator, so its seals never match across
// the fleet) this key is one for the whole fleet, known to the depot that builds the list and
// provisioned to every validator as a 0600 file. Its id (HMAC of a fixed label) is written in
// the list's header: a validator holding another key refuses the set instead of silently
// matching nothing. See README.md in this folder.

import { createHmac, randomBytes } from 'node:crypto';
import { join } from 'node:path';

import { HmacSha256Pads } from '../hmac_sha256_pads.js';
import { keyFileCreate, keyFileLoad, type KeyFileError, type KeyFileResult } from '../key_file.js';

/** Bytes of a deny key (HMAC-SHA-256 key of the hash's output size, RFC 2104 section 3). */
export const DENY_KEY_BYTES = 32;
/** Bytes of a token kept in the list: 96 of HMAC-SHA-256's 256 bits (NIST SP 800-107 5.3.3). */
export const DENY_TOKEN_BYTES = 12;
/** Bytes of the key id written in the list header. */
export const DENY_KEY_ID_BYTES = 8;
/** File name of the deny key when it sits next to the journal. */
export const DENY_KEY_FILE_NAME = 'deny.key';
/** The message whose HMAC names the key (never a possible token message: not PAN digits). */
const KEY_ID_LABEL = 'shuaka deny key id v1';
const PAN_DIGITS_MIN = 8;
const PAN_DIGITS_MAX = 19;
/** Digits of a T-Union application serial number (file 0015 bytes 11-20, BCD). */
export const TUNION_SERIAL_DIGITS = 20;
/**
 * The first byte of a T-Union token message: 'T' (0x54), never an ASCII digit, so no
 * T-Union message is a PAN message (those start with the PAN's first digit).
 */
const TUNION_MESSAGE_TAG = 0x54;

/**
 * A deny key ready to make tokens: its HMAC's padded key blocks laid out once
 * (HmacSha256Pads), a token's message written after the inner one.
 */
export class DenyKey {
  private readonly pads: HmacSha256Pads;

  private constructor(
    key: Uint8Array,
    /** The key id (16 hex digits, upper case) the list header must carry. */
    readonly idHex: string,
  ) {
    this.pads = new HmacSha256Pads(key, 1 + TUNION_SERIAL_DIGITS);
  }

  /** A key of exactly DENY_KEY_BYTES bytes; any other size throws RangeError. */
  static fromBytes(key: Uint8Array): DenyKey {
    if (key.length !== DENY_KEY_BYTES) {
      throw new RangeError(`deny key must be ${DENY_KEY_BYTES} bytes, got ${key.length}`);
    }
    const id = createHmac('sha256', key).update(KEY_ID_LABEL, 'latin1').digest();
    const idHex = id.subarray(0, DENY_KEY_ID_BYTES).toString('hex').toUpperCase();
    return new DenyKey(key, idHex);
  }

  /**
   * The token of a card: the first 12 bytes of HMAC-SHA-256(key, PAN || PSN), the PAN as its
   * ASCII digits (8..19, no F pad) and the PSN as the one raw 5F34 byte. The PAN's length
   * fixes where the PSN starts, so no two cards share a message. Returns null for a PAN that
   * is not 8..19 digits or a PSN that is not one byte (such a card cannot be listed).
   */
  token(pan: string, psn: number): Uint8Array | null {
    const n = pan.length;
    if (n < PAN_DIGITS_MIN || n > PAN_DIGITS_MAX) return null;
    if (!Number.isInteger(psn) || psn < 0 || psn > 0xff) return null;
    const message = this.pads.inner;
    const at = HmacSha256Pads.MESSAGE_AT;
    for (let i = 0; i < n; i += 1) {
      const c = pan.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return null;
      message[at + i] = c;
    }
    message[at + n] = psn;
    return this.mac(n + 1);
  }

  /**
   * The token of a T-Union (JT/T 978) card: the first 12 bytes of HMAC-SHA-256(key, "T" ||
   * serial), the serial as the 20 ASCII digits of its application serial number (file 0015
   * bytes 11-20, the card number printed on the card). A PAN message starts with a digit, a
   * T-Union one with 'T' (README.md, Format): the two never share a message. Returns null
   * for a serial that is not exactly 20 digits (such a card cannot be listed).
   */
  tokenTunion(serialDigits: string): Uint8Array | null {
    if (serialDigits.length !== TUNION_SERIAL_DIGITS) return null;
    const message = this.pads.inner;
    const at = HmacSha256Pads.MESSAGE_AT;
    message[at] = TUNION_MESSAGE_TAG;
    for (let i = 0; i < TUNION_SERIAL_DIGITS; i += 1) {
      const c = serialDigits.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return null;
      message[at + 1 + i] = c;
    }
    return this.mac(1 + TUNION_SERIAL_DIGITS);
  }

  /** HMAC of the `length` message bytes after the inner pad, truncated to a token. */
  private mac(length: number): Uint8Array {
    const mac = this.pads.mac(length);
    return new Uint8Array(mac.buffer, mac.byteOffset, DENY_TOKEN_BYTES);
  }
}

/** Why the deny key could not be loaded or created (key_file.ts). */
export type DenyKeyError = KeyFileError;

export type DenyKeyResult = KeyFileResult<DenyKey>;

/** The deny key path of a journal directory when no explicit path is given. */
export function denyKeyDefaultPath(journalDir: string): string {
  return join(journalDir, DENY_KEY_FILE_NAME);
}

/**
 * Reads the deny key at `path`: 32 raw bytes, mode 0600 or stricter (whoever reads the key
 * can test a guessed PAN against the list, so it is refused when group or others may read
 * it, as ssh refuses a private key). Errors: missing, bad-size, too-open, io. Never throws.
 */
export async function denyKeyLoad(path: string): Promise<DenyKeyResult> {
  const loaded = await keyFileLoad(path, DENY_KEY_BYTES,
    'no deny key (provision the fleet\'s deny key here)');
  return loaded.ok ? { ok: true, value: DenyKey.fromBytes(loaded.value) } : loaded;
}

/**
 * Writes `key` (32 bytes) as a new deny key file at `path`: mode 0600, never overwriting,
 * file and directory fsynced. Errors: io (exists, no permission, disk full), bad-size.
 */
export async function denyKeyCreate(path: string, key: Uint8Array): Promise<DenyKeyResult> {
  const created = await keyFileCreate(path, key, DENY_KEY_BYTES);
  return created.ok ? { ok: true, value: DenyKey.fromBytes(created.value) } : created;
}

/**
 * The fleet's deny key at `path`, or a new one (32 bytes from the OS CSPRNG, written as
 * denyKeyCreate writes) when there is no file. An existing key is never replaced: a file
 * that is there but unreadable, too open or of the wrong size is an error, not overwritten.
 * Errors: bad-size, too-open, io. Never throws.
 */
export async function denyKeyLoadOrCreate(path: string): Promise<DenyKeyResult> {
  const loaded = await denyKeyLoad(path);
  if (loaded.ok || loaded.error !== 'missing') return loaded;
  return denyKeyCreate(path, new Uint8Array(randomBytes(DENY_KEY_BYTES)));
}
