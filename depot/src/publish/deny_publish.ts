// The validators' deny list from the depot's open debts, merged with a base list, in the image
// format firmware reads (firmware/src/app/deny_list/deny_list.ts, version 3): tokens made with
// the fleet deny key, never a PAN. A debt's PAN is unsealed in memory only to make its token.

import type { DenyKey } from '../../../firmware/src/app/deny_list/deny_key.js';
import { denyListFromTokens } from '../../../firmware/src/app/deny_list/deny_list_build.js';
import {
  DENY_LIST_HEADER_BYTES,
  DENY_LIST_RECORD_WORDS,
  DenyList,
  tokenWord,
} from '../../../firmware/src/app/deny_list/deny_list.js';
import { FILE_DENY_LIST } from '../../../firmware/src/app/params/params_files.js';
import type { DepotDb } from '../store/depot_db.js';

/** The deny list could not be built (a bad base image, a PAN that does not unseal...). */
export class DenyPublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DenyPublishError';
  }
}

/**
 * The token of every card with a deny entry not removed (an open debt), each as three record
 * words: PAN unsealed from the debt's tap, PSN the 5F34 byte stored with the entry (two hex
 * digits). Rejects with DepotStoreError (database) or DenyPublishError (a PAN that does not
 * unseal or of which no token can be made; the message never holds the PAN).
 */
export async function denyTokensFromDebts(
  db: DepotDb,
  unsealPan: (sealed: string) => string,
  denyKey: DenyKey,
): Promise<Uint32Array> {
  const rows = await db.query(
    `SELECT DISTINCT t.pan_sealed, e.psn FROM deny_entries e
     JOIN debts d ON d.id = e.debt_id JOIN taps t ON t.id = d.tap_id
     WHERE e.removed_at_ms IS NULL ORDER BY t.pan_sealed`);
  const words = new Uint32Array(rows.length * DENY_LIST_RECORD_WORDS);
  rows.forEach((row, i) => {
    let pan: string;
    try {
      pan = unsealPan(String(row['pan_sealed'] ?? ''));
    } catch (error) {
      throw new DenyPublishError(`a deny entry's PAN does not unseal: ${String(error)}`);
    }
    const psnHex = String(row['psn'] ?? '00').padStart(2, '0');
    const token = /^[0-9a-fA-F]{2}$/.test(psnHex) ? denyKey.token(pan, parseInt(psnHex, 16)) : null;
    if (token === null) throw new DenyPublishError(`deny entry ${i}: no token (bad PAN or PSN)`);
    for (let w = 0; w < DENY_LIST_RECORD_WORDS; w += 1) {
      words[i * DENY_LIST_RECORD_WORDS + w] = tokenWord(token, 4 * w);
    }
  });
  return words;
}

/**
 * The token words of a valid base image (the base set's own list), which must have been made
 * with `denyKey`. Throws DenyPublishError (a bad image, another deny key).
 */
export function denyTokensOfImage(image: Uint8Array, denyKey: DenyKey): Uint32Array {
  const loaded = DenyList.load(image, FILE_DENY_LIST);
  if (!loaded.ok) throw new DenyPublishError(`base deny list: ${loaded.error.message}`);
  const bound = loaded.value.bind(denyKey, FILE_DENY_LIST);
  if (!bound.ok) throw new DenyPublishError(`base deny list: ${bound.error.message}`);
  const words = new Uint32Array(loaded.value.count * DENY_LIST_RECORD_WORDS);
  const view = new DataView(image.buffer, image.byteOffset + DENY_LIST_HEADER_BYTES);
  for (let i = 0; i < words.length; i += 1) words[i] = view.getUint32(4 * i, true);
  return words;
}

/** The image of the union of token word lists (duplicates merged). Throws DenyPublishError. */
export function denyImageOf(
  parts: readonly Uint32Array[],
  denyKey: DenyKey,
): { image: Uint8Array; count: number } {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const words = new Uint32Array(total);
  let at = 0;
  for (const part of parts) {
    words.set(part, at);
    at += part.length;
  }
  const count = total / DENY_LIST_RECORD_WORDS;
  const built = denyListFromTokens(words, count, denyKey.idHex, FILE_DENY_LIST);
  if (!built.ok) throw new DenyPublishError(built.error.message);
  return { image: built.value.image, count: built.value.count };
}
