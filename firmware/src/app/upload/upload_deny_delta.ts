// Rebuilds a deny-list image from the installed one and a depot's delta (tokens as hex).
//
// The image layout is deny_list.ts's (version 3): 64-byte header carrying the deny key id,
// 12-byte token records ascending by their three little-endian words. A delta adds and removes
// tokens, never PANs; the rebuilt image keeps the installed one's key id. It goes through the
// full parameter-set validation afterwards, so a wrong delta ends as a hash mismatch against
// the signed manifest, and a key change as a key-id refusal: the manifest decides, never the
// delta.

import {
  DenyList, DENY_LIST_HEADER_BYTES, DENY_LIST_RECORD_BYTES,
} from '../deny_list/deny_list.js';
import { denyListFromTokens } from '../deny_list/deny_list_build.js';
import type { DepotDenyDelta } from './depot_port.js';

/** A rebuilt image, or why the delta cannot apply to the installed image. */
export type DenyDeltaResult =
  | { readonly ok: true; readonly image: Uint8Array }
  | { readonly ok: false; readonly reason: string };

const RECORD_HEX = /^[0-9a-fA-F]{24}$/;

/**
 * Applies `delta` to `installed`: removes, then adds, then sorts. Refusals: a record not 24
 * hex digits (one 12-byte token), an installed image that does not load (short, a foreign
 * or clear-PAN magic, corrupt), more entries than a list may hold.
 */
export function denyDeltaApply(installed: Uint8Array, delta: DepotDenyDelta): DenyDeltaResult {
  const loaded = DenyList.load(installed, 'installed');
  if (!loaded.ok) return { ok: false, reason: loaded.error.message };
  const bad = [...delta.add, ...delta.remove].find((hex) => !RECORD_HEX.test(hex));
  if (bad !== undefined) return { ok: false, reason: `record ${bad.slice(0, 30)} not 12 bytes` };
  const records = new Set<string>();
  const body = Buffer.from(installed.buffer, installed.byteOffset + DENY_LIST_HEADER_BYTES,
    installed.length - DENY_LIST_HEADER_BYTES);
  for (let at = 0; at + DENY_LIST_RECORD_BYTES <= body.length; at += DENY_LIST_RECORD_BYTES) {
    records.add(body.toString('hex', at, at + DENY_LIST_RECORD_BYTES));
  }
  for (const hex of delta.remove) records.delete(hex.toLowerCase());
  for (const hex of delta.add) records.add(hex.toLowerCase());
  const area = Buffer.from([...records].join(''), 'hex');
  const words = new Uint32Array(records.size * 3);
  for (let i = 0; i < words.length; i += 1) words[i] = area.readUInt32LE(4 * i);
  const built = denyListFromTokens(words, records.size, loaded.value.keyIdHex, 'rebuilt');
  if (!built.ok) return { ok: false, reason: built.error.message };
  return { ok: true, image: built.value.image };
}
