// The installed deny list brought to an offered set's through the depot's chain of signed
// deltas (deny_delta.ts, SHKDDLT1), one per published set from the installed one to the
// offered one. The rebuilt list then goes through the full parameter-set validation and the
// power-safe install like any downloaded file: the signed manifest of the offered set decides.

import type { KeyObject } from 'node:crypto';

import { denyDeltaApply, type DenyDeltaRefusal } from '../deny_list/deny_delta.js';

/** The rebuilt image, or why the chain does not apply to the installed list. */
export type DenyChainResult =
  | { readonly ok: true; readonly image: Uint8Array }
  | { readonly ok: false; readonly refusal: DenyDeltaRefusal | 'chain'; readonly reason: string };

/**
 * Applies `deltas` in order to `installed` (the deny list of set `installedVersion`); the last
 * must produce set `offeredVersion`'s list. Refusals: `chain` (no delta, or the last one ends
 * at another version), and every DenyDeltaRefusal of a link (prefixed with its index).
 */
export function denyDeltaChainApply(installed: Uint8Array, installedVersion: number,
  deltas: readonly Uint8Array[], offeredVersion: number, publicKey: KeyObject): DenyChainResult {
  if (deltas.length === 0) return { ok: false, refusal: 'chain', reason: 'no delta' };
  let image = installed;
  let version = installedVersion;
  for (const [index, delta] of deltas.entries()) {
    const applied = denyDeltaApply(image, version, delta, publicKey);
    if (!applied.ok) {
      return { ok: false, refusal: applied.refusal, reason: `delta ${index}: ${applied.reason}` };
    }
    image = applied.value.image;
    version = applied.value.version;
  }
  if (version !== offeredVersion) {
    const reason = `ends at set ${version}, offered ${offeredVersion}`;
    return { ok: false, refusal: 'chain', reason };
  }
  return { ok: true, image };
}
