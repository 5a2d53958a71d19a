// The validator's deny list from the depot's open debts, merged with a base list, in the image
// format firmware reads (firmware/src/app/deny_list/deny_list.ts, version 2).

import { denyListBuild } from '../../../firmware/src/app/deny_list/deny_list_build.js';
import {
  DENY_LIST_HEADER_BYTES,
  DENY_LIST_RECORD_BYTES,
  DenyList,
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
 * `PAN,PSN` lines of every card with a deny entry not removed (an open debt), PAN unsealed
 * from the debt's tap. PSN is the 5F34 byte as two hex digits, as the validator reads it.
 * Rejects with DepotStoreError (database) or DenyPublishError (a PAN that does not unseal).
 */
export async function denyLinesFromDebts(
  db: DepotDb,
  unsealPan: (sealed: string) => string,
): Promise<string[]> {
  const rows = await db.query(
    `SELECT DISTINCT t.pan_sealed, e.psn FROM deny_entries e
     JOIN debts d ON d.id = e.debt_id JOIN taps t ON t.id = d.tap_id
     WHERE e.removed_at_ms IS NULL ORDER BY t.pan_sealed`);
  return rows.map((row) => {
    let pan: string;
    try {
      pan = unsealPan(String(row['pan_sealed'] ?? ''));
    } catch (error) {
      throw new DenyPublishError(`a deny entry's PAN does not unseal: ${String(error)}`);
    }
    const psn = String(row['psn'] ?? '00').padStart(2, '0');
    return `${pan},${psn}`;
  });
}

/** `PAN,PSN` lines of a valid image (the base set's own list). Throws DenyPublishError. */
export function denyLinesOfImage(image: Uint8Array): string[] {
  const loaded = DenyList.load(image, FILE_DENY_LIST);
  if (!loaded.ok) throw new DenyPublishError(`base deny list: ${loaded.error.message}`);
  const lines: string[] = [];
  for (let i = 0; i < loaded.value.count; i += 1) {
    const at = DENY_LIST_HEADER_BYTES + i * DENY_LIST_RECORD_BYTES;
    const view = new DataView(image.buffer, image.byteOffset + at, DENY_LIST_RECORD_BYTES);
    const hex = [0, 4, 8].map((o) => view.getUint32(o, true).toString(16).padStart(8, '0'))
      .join('');
    // 20 PAN nibbles (F-padded), then the PSN byte, then a zero byte.
    lines.push(`${hex.slice(0, 20).replace(/f+$/, '')},${hex.slice(20, 22)}`);
  }
  return lines;
}

/** The image of `lines` (duplicates merged). Throws DenyPublishError naming the bad line. */
export function denyImageOf(lines: readonly string[]): { image: Uint8Array; count: number } {
  const built = denyListBuild(lines.join('\n'), FILE_DENY_LIST);
  if (!built.ok) throw new DenyPublishError(built.error.message);
  return { image: built.value.image, count: built.value.count };
}
