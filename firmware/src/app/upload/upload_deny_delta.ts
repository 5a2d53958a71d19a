// Rebuilds a deny-list image from the installed one and a depot's delta (records as hex).
//
// The image layout is deny_list.ts's (version 2): 48-byte header, 12-byte records ascending
// by their three little-endian words. The rebuilt file goes through the full parameter-set
// validation afterwards, so a wrong delta ends as a hash mismatch against the signed
// manifest: the manifest decides, never the delta.

import { createHash } from 'node:crypto';

import {
  DENY_LIST_HEADER_BYTES, DENY_LIST_MAGIC, DENY_LIST_RECORD_BYTES,
} from '../deny_list/deny_list.js';
import type { DepotDenyDelta } from './depot_port.js';

/** A rebuilt image, or why the delta cannot apply to the installed image. */
export type DenyDeltaResult =
  | { readonly ok: true; readonly image: Uint8Array }
  | { readonly ok: false; readonly reason: string };

const RECORD_HEX = /^[0-9a-fA-F]{24}$/;

/**
 * Applies `delta` to `installed`: removes, then adds, then sorts. Refusals: a record not 24
 * hex digits, an installed image too short or with a foreign magic.
 */
export function denyDeltaApply(installed: Uint8Array, delta: DepotDenyDelta): DenyDeltaResult {
  if (installed.length < DENY_LIST_HEADER_BYTES) return { ok: false, reason: 'installed short' };
  const magic = Buffer.from(installed.subarray(0, 8)).toString('latin1');
  if (magic !== DENY_LIST_MAGIC) return { ok: false, reason: `installed magic ${magic}` };
  const bad = [...delta.add, ...delta.remove].find((hex) => !RECORD_HEX.test(hex));
  if (bad !== undefined) return { ok: false, reason: `record ${bad.slice(0, 30)} not 12 bytes` };
  const records = new Set<string>();
  const body = Buffer.from(installed.subarray(DENY_LIST_HEADER_BYTES));
  for (let at = 0; at + DENY_LIST_RECORD_BYTES <= body.length; at += DENY_LIST_RECORD_BYTES) {
    records.add(body.subarray(at, at + DENY_LIST_RECORD_BYTES).toString('hex'));
  }
  for (const hex of delta.remove) records.delete(hex.toLowerCase());
  for (const hex of delta.add) records.add(hex.toLowerCase());
  const sorted = [...records].map((hex) => Buffer.from(hex, 'hex')).sort(recordCompare);
  const area = Buffer.concat(sorted);
  const image = new Uint8Array(DENY_LIST_HEADER_BYTES + area.length);
  image.set(Buffer.from(DENY_LIST_MAGIC, 'latin1'), 0);
  const view = new DataView(image.buffer);
  view.setUint32(8, sorted.length, true);
  view.setUint16(12, DENY_LIST_RECORD_BYTES, true);
  image.set(createHash('sha256').update(area).digest(), 16);
  image.set(area, DENY_LIST_HEADER_BYTES);
  return { ok: true, image };
}

/** Order of records: by word 0, 1, 2, each a little-endian u32 (deny_list.ts layout). */
function recordCompare(a: Buffer, b: Buffer): number {
  for (let word = 0; word < 3; word += 1) {
    const d = a.readUInt32LE(word * 4) - b.readUInt32LE(word * 4);
    if (d !== 0) return d;
  }
  return 0;
}
