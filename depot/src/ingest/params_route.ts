// GET /v1/params?have=N: the newest published parameter set, or 204 when the terminal has it.
// `params_sets.files_json` holds `{"<file name>": BASE64, ...}` as publication wrote it.

import {
  DENY_LIST_HEADER_BYTES, DENY_LIST_RECORD_BYTES,
} from '../../../firmware/src/app/deny_list/deny_list.js';
import { FILE_DENY_LIST } from '../../../firmware/src/app/params/params_files.js';
import type { DepotDb } from '../store/depot_db.js';
import { DepotStoreError } from '../store/depot_db.js';

export type ParamsAnswer =
  | { readonly kind: 'none-newer' }
  | {
    readonly kind: 'set';
    readonly version: number;
    readonly files: Record<string, string>;
    /** Signed deltas (base64 SHKDDLT1) from `have` to `version`; `files` then lacks the list. */
    readonly denyDeltas?: readonly string[];
  };

/** `have` from the query string: a decimal integer >= 0, else null. */
export function paramsHaveParse(search: URLSearchParams): number | null {
  const text = search.get('have');
  if (text === null || !/^[0-9]{1,10}$/.test(text)) return null;
  return Number(text);
}

/** `full` from the query string: `full=1` asks for every file whole (no deltas). */
export function paramsFullParse(search: URLSearchParams): boolean {
  return search.get('full') === '1';
}

/**
 * The newest set when newer than `have`. Unless `full`, a large deny list is replaced by the
 * chain of stored deltas from `have` to the newest set when the chain is unbroken and at
 * most half the list's size (a small list, or a validator many sets behind, gets the list
 * whole). Rejects with DepotStoreError when the database is down or the stored files are not
 * a JSON object of base64 strings.
 */
export async function paramsNewest(db: DepotDb, have: number, full = false):
  Promise<ParamsAnswer> {
  const rows = await db.query(`SELECT version, files_json, deny_count FROM params_sets
    ORDER BY version DESC LIMIT 1`);
  const row = rows[0];
  if (row === undefined || Number(row['version']) <= have) return { kind: 'none-newer' };
  let files: unknown = null;
  try {
    files = JSON.parse(String(row['files_json']));
  } catch {
    // Damaged in the store (a hand edit, a bad restore): the store's failure, not a bug here.
  }
  if (typeof files !== 'object' || files === null || Array.isArray(files)
    || !Object.values(files).every((v) => typeof v === 'string'))
    throw new DepotStoreError(`params_sets version ${String(row['version'])} has bad files_json`);
  const version = Number(row['version']);
  const whole = files as Record<string, string>;
  const listBytes = DENY_LIST_HEADER_BYTES + Number(row['deny_count']) * DENY_LIST_RECORD_BYTES;
  const deltas = full || have === 0 ? null : await denyDeltaChain(db, have, version, listBytes);
  if (deltas === null) return { kind: 'set', version, files: whole };
  const rest = Object.fromEntries(Object.entries(whole).filter(([n]) => n !== FILE_DENY_LIST));
  return { kind: 'set', version, files: rest, denyDeltas: deltas };
}

/** The stored deltas from `have` to `version` when unbroken and at most half of `listBytes`. */
async function denyDeltaChain(db: DepotDb, have: number, version: number, listBytes: number):
  Promise<string[] | null> {
  const sizes = await db.query(`SELECT to_version, from_version, delta_bytes
    FROM params_deny_deltas WHERE to_version > $1 AND to_version <= $2 ORDER BY to_version`,
  [have, version]);
  let at = have;
  let bytes = 0;
  for (const link of sizes) {
    if (Number(link['from_version']) !== at) return null;
    at = Number(link['to_version']);
    bytes += Number(link['delta_bytes']);
  }
  if (at !== version || 2 * bytes > listBytes) return null;
  const chain = await db.query(`SELECT delta_base64 FROM params_deny_deltas
    WHERE to_version > $1 AND to_version <= $2 ORDER BY to_version`, [have, version]);
  return chain.map((link) => String(link['delta_base64']));
}
