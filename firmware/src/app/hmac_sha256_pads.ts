// HMAC-SHA-256 (RFC 2104) of many short messages under one key, as a tap makes them (PAN
// tokens, deny-list tokens): H(K ^ opad || H(K ^ ipad || text)) as two one-shot hashes over
// buffers laid out once per key. A createHmac per message costs about twice as much, copies
// of hash objects that took the pads in (RFC 2104 section 4) a third more.

import { hash } from 'node:crypto';

/** SHA-256's block: HMAC pads its key to one (RFC 2104 section 2). */
const SHA256_BLOCK_BYTES = 64;
const SHA256_BYTES = 32;

/** The padded key blocks of one HMAC-SHA-256 key, with room for a message of up to N bytes. */
export class HmacSha256Pads {
  /** Where a message starts in `inner`. */
  static readonly MESSAGE_AT = SHA256_BLOCK_BYTES;
  /** Key XOR ipad, then the message (written by the caller at MESSAGE_AT): the inner input. */
  readonly inner: Buffer;
  /** Key XOR opad, then the inner digest: the outer hash's input. */
  private readonly outer = Buffer.alloc(SHA256_BLOCK_BYTES + SHA256_BYTES);

  /** `key` of at most a block (longer: RangeError); `messageBytesMax`: the room after it. */
  constructor(key: Uint8Array, messageBytesMax: number) {
    if (key.length > SHA256_BLOCK_BYTES) throw new RangeError('HMAC key longer than a block');
    this.inner = Buffer.alloc(SHA256_BLOCK_BYTES + messageBytesMax);
    // A key shorter than a block is zero-padded, as HMAC pads it.
    for (let i = 0; i < SHA256_BLOCK_BYTES; i += 1) {
      this.inner[i] = (key[i] ?? 0) ^ 0x36;
      this.outer[i] = (key[i] ?? 0) ^ 0x5c;
    }
  }

  /** The HMAC of the `length` message bytes at MESSAGE_AT in `inner` (32 bytes). */
  mac(length: number): Buffer {
    const innerInput = this.inner.subarray(0, SHA256_BLOCK_BYTES + length);
    this.outer.set(hash('sha256', innerInput, 'buffer'), SHA256_BLOCK_BYTES);
    return hash('sha256', this.outer, 'buffer');
  }
}
