// DES/3DES blocks and the ISO 9797-1 retail MAC (padding 2, algorithm 3), on the PSAM's DES.

import { concatBytes } from '../pki/emv_bytes.js';
import { des3EncryptEcb, desCbcLastBlock } from '../psam/pboc_epurse_crypto.js';

/** DES block size in bytes. */
export const DES_BLOCK_BYTES = 8;

/**
 * Two-key 3DES (EDE) encryption of one block, through the cipher des3EncryptEcb keeps for
 * the key. Throws RangeError on a key that is not 16 bytes or a block that is not 8 bytes.
 */
export function des3EncryptBlock(key16: Uint8Array, block: Uint8Array): Uint8Array {
  if (key16.length !== 16 || block.length !== DES_BLOCK_BYTES) {
    throw new RangeError(`3DES key ${key16.length} / block ${block.length}`);
  }
  return des3EncryptEcb(key16, block);
}

/**
 * Two-key 3DES (EDE) encryption of whole blocks in ECB mode, each block on its own (the same
 * as des3EncryptBlock on each), in one call to the cipher des3EncryptEcb keeps for the key.
 * Throws RangeError on a key that is not 16 bytes or data that is not whole blocks.
 */
export function des3EncryptBlocks(key16: Uint8Array, blocks: Uint8Array): Uint8Array {
  if (key16.length !== 16 || blocks.length % DES_BLOCK_BYTES !== 0) {
    throw new RangeError(`3DES key ${key16.length} / data ${blocks.length}`);
  }
  return des3EncryptEcb(key16, blocks);
}

/**
 * Single-DES encryption of one block, as EDE with K1 = K2 (E_K(D_K(E_K(x))) = E_K(x)).
 * Throws RangeError on a key that is not 8 bytes.
 */
export function desEncryptBlock(key8: Uint8Array, block: Uint8Array): Uint8Array {
  if (key8.length !== 8) throw new RangeError(`DES key ${key8.length}`);
  return des3EncryptBlock(concatBytes(key8, key8), block);
}

/** ISO 9797-1 padding method 2: append 80, then 00 up to a multiple of 8 bytes. */
export function iso9797Pad2(data: Uint8Array): Uint8Array {
  const padded = new Uint8Array((Math.floor(data.length / DES_BLOCK_BYTES) + 1) * DES_BLOCK_BYTES);
  padded.set(data);
  padded[data.length] = 0x80;
  return padded;
}

/**
 * ISO 9797-1 MAC algorithm 3 (retail MAC) with padding method 2: single-DES CBC under the left
 * key half, then 3DES on the last block. Returns the full 8-byte MAC (callers truncate).
 * Throws RangeError on a key that is not 16 bytes or an IV that is not 8 bytes.
 */
export function retailMac(
  key16: Uint8Array,
  data: Uint8Array,
  iv: Uint8Array = new Uint8Array(DES_BLOCK_BYTES),
): Uint8Array {
  if (key16.length !== 16 || iv.length !== DES_BLOCK_BYTES) throw new RangeError('MAC key/IV size');
  const padded = iso9797Pad2(data);
  const lastAt = padded.length - DES_BLOCK_BYTES;
  const chain = desCbcLastBlock(key16.subarray(0, DES_BLOCK_BYTES), padded, iv, lastAt);
  const x = new Uint8Array(DES_BLOCK_BYTES);
  for (let j = 0; j < DES_BLOCK_BYTES; j += 1) x[j] = (chain[j] ?? 0) ^ (padded[lastAt + j] ?? 0);
  return des3EncryptBlock(key16, x);
}
