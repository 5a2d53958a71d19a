// GET /v1/params?have=N: the newest published parameter set, or 204 when the terminal has it.
// `params_sets.files_json` holds `{"<file name>": BASE64, ...}` as publication wrote it.

import type { DepotDb } from '../store/depot_db.js';
import { DepotStoreError } from '../store/depot_db.js';

export type ParamsAnswer =
  | { readonly kind: 'none-newer' }
  | { readonly kind: 'set'; readonly version: number; readonly files: Record<string, string> };

/** `have` from the query string: a decimal integer >= 0, else null. */
export function paramsHaveParse(search: URLSearchParams): number | null {
  const text = search.get('have');
  if (text === null || !/^[0-9]{1,10}$/.test(text)) return null;
  return Number(text);
}

/**
 * The newest set when newer than `have`. Rejects with DepotStoreError when the database is
 * down or the stored files are not a JSON object of base64 strings.
 */
export async function paramsNewest(db: DepotDb, have: number): Promise<ParamsAnswer> {
  const rows = await db.query(`SELECT version, files_json FROM params_sets
    ORDER BY version DESC LIMIT 1`);
  const row = rows[0];
  if (row === undefined || Number(row['version']) <= have) return { kind: 'none-newer' };
  const files: unknown = JSON.parse(String(row['files_json']));
  if (typeof files !== 'object' || files === null || Array.isArray(files)
    || !Object.values(files).every((v) => typeof v === 'string'))
    throw new DepotStoreError(`params_sets version ${String(row['version'])} has bad files_json`);
  return { kind: 'set', version: Number(row['version']), files: files as Record<string, string> };
}
