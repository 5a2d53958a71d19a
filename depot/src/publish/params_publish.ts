// Publication of a signed parameter set: a base set's files with the deny list rebuilt from
// open debts, a version above every published one, signed with the params key, stored in
// params_sets for GET /v1/params.

import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';

import {
  FILE_DENY_LIST,
  FILE_MANIFEST,
  PARAMS_FILES,
} from '../../../firmware/src/app/params/params_files.js';
import {
  manifestBuild,
  manifestEncode,
  manifestParse,
  manifestSign,
  manifestVerify,
  PARAMS_VERSION_MAX,
  sha256Hex,
  type ParamsManifest,
} from '../../../firmware/src/app/params/params_manifest.js';
import { paramsValidate } from '../../../firmware/src/app/params/params_store.js';
import type { DepotDb } from '../store/depot_db.js';
import { denyDeltaBuild } from '../../../firmware/src/app/deny_list/deny_delta.js';
import { DenyList } from '../../../firmware/src/app/deny_list/deny_list.js';
import type { DenyKey } from '../../../firmware/src/app/deny_list/deny_key.js';
import {
  denyImageOf,
  denyTokensFromDebts,
  denyTokensOfImage,
  DenyPublishError,
} from './deny_publish.js';

/** What `paramsPublish` did. */
export type PublishResult =
  | { readonly kind: 'published'; readonly version: number; readonly denyCount: number }
  /** The content equals the newest published set's: no new version. */
  | { readonly kind: 'unchanged'; readonly version: number; readonly denyCount: number };

export interface PublishInput {
  /** The base set's content files (PARAMS_FILES; its deny list is merged, its manifest read). */
  readonly base: ReadonlyMap<string, Uint8Array>;
  readonly privateKey: KeyObject;
  readonly unsealPan: (sealed: string) => string;
  /** The fleet deny key: the list's tokens are made with it (validators hold the same). */
  readonly denyKey: DenyKey;
  readonly nowMs: number;
}

/**
 * Builds, signs, self-checks (the validator's own `paramsValidate`, with the deny key) and
 * stores the next set.
 * The version is one above both the newest stored set and the base manifest's, so versions
 * only go up. Rejects with DepotStoreError (database; also a concurrent publisher taking the
 * same version: nothing stored, run again) or DenyPublishError (a bad base or deny entry).
 */
export async function paramsPublish(db: DepotDb, input: PublishInput): Promise<PublishResult> {
  const missing = PARAMS_FILES.find((name) => name !== FILE_DENY_LIST && !input.base.has(name));
  if (missing !== undefined) throw new DenyPublishError(`base set lacks ${missing}`);
  baseSetVerify(input.base, createPublicKey(input.privateKey));
  const baseDeny = input.base.get(FILE_DENY_LIST);
  const deny = denyImageOf([
    baseDeny === undefined ? new Uint32Array(0) : denyTokensOfImage(baseDeny, input.denyKey),
    await denyTokensFromDebts(db, input.unsealPan, input.denyKey),
  ], input.denyKey);
  const files = new Map<string, Uint8Array>();
  for (const name of PARAMS_FILES) files.set(name, input.base.get(name) ?? new Uint8Array(0));
  files.set(FILE_DENY_LIST, deny.image);
  const newest = (await db.query(
    'SELECT version, files_json FROM params_sets ORDER BY version DESC LIMIT 1'))[0];
  const newestVersion = newest === undefined ? 0 : Number(newest['version']);
  if (newest !== undefined && sameContent(String(newest['files_json']), files)) {
    return { kind: 'unchanged', version: newestVersion, denyCount: deny.count };
  }
  const baseManifest = input.base.get(FILE_MANIFEST);
  const baseVersion = baseManifest === undefined ? 0 : manifestParse(baseManifest).version;
  const version = Math.max(newestVersion, baseVersion) + 1;
  if (version > PARAMS_VERSION_MAX) throw new DenyPublishError('no parameter version left');
  const manifest = manifestSign(manifestBuild(files, version), input.privateKey);
  files.set(FILE_MANIFEST, manifestEncode(manifest));
  const trust = { publicKey: createPublicKey(input.privateKey), denyKey: input.denyKey };
  const checked = paramsValidate(files, trust);
  if (!checked.ok) throw new DenyPublishError(`the set would be refused: ${checked.error.message}`);
  const encoded: Record<string, string> = {};
  for (const [name, bytes] of files) encoded[name] = Buffer.from(bytes).toString('base64');
  const delta = newest === undefined ? null
    : denyDeltaFrom(String(newest['files_json']), newestVersion, deny.image, version, input);
  await db.transaction(async (tx) => {
    await tx.run(
      `INSERT INTO params_sets (version, published_at_ms, files_json, deny_count)
       VALUES ($1, $2, $3, $4)`,
      [version, input.nowMs, JSON.stringify(encoded), deny.count]);
    if (delta === null) return;
    await tx.run(
      `INSERT INTO params_deny_deltas (to_version, from_version, delta_base64, delta_bytes)
       VALUES ($1, $2, $3, $4)`,
      [version, newestVersion, Buffer.from(delta).toString('base64'), delta.length]);
  });
  return { kind: 'published', version, denyCount: deny.count };
}

/**
 * The base set as its author signed it: a manifest whose signature verifies with the
 * publishing key's public half, and every file it lists unchanged since. Publication re-signs
 * the base's files for the whole fleet, so a base changed after signing (fares, AIDs, CA keys
 * edited in place, its manifest removed) was published as if signed: anyone able to write the
 * base directory could change what every validator trusts. Throws DenyPublishError.
 */
function baseSetVerify(base: ReadonlyMap<string, Uint8Array>, publicKey: KeyObject): void {
  const bytes = base.get(FILE_MANIFEST);
  if (bytes === undefined) {
    throw new DenyPublishError('base set has no manifest.json: sign it (shuaka params sign)');
  }
  let manifest: ParamsManifest;
  try {
    manifest = manifestParse(bytes);
  } catch (error) {
    throw new DenyPublishError(`base manifest.json: ${(error as Error).message}`);
  }
  if (!manifestVerify(manifest, publicKey)) {
    throw new DenyPublishError('base manifest.json: its signature does not verify with the '
      + 'publishing key (sign the base with the same key: shuaka params sign --key KEY.pem)');
  }
  for (const file of manifest.files) {
    const content = base.get(file.name);
    if (content === undefined || sha256Hex(content) !== file.sha256Hex) {
      throw new DenyPublishError(`base ${file.name}: ${content === undefined ? 'missing'
        : 'changed'} since the base was signed (its SHA-256 is not the manifest's)`);
    }
  }
}

/**
 * The signed delta from the previous set's deny list to `image`, or null when there is none
 * to make: the previous set has no deny list, or it was made with another deny key (a key
 * change is published whole).
 */
function denyDeltaFrom(previousFilesJson: string, previousVersion: number, image: Uint8Array,
  version: number, input: PublishInput): Uint8Array | null {
  const stored = JSON.parse(previousFilesJson) as Record<string, string>;
  const base64 = stored[FILE_DENY_LIST];
  if (base64 === undefined) return null;
  const previous = new Uint8Array(Buffer.from(base64, 'base64'));
  const loaded = DenyList.load(previous, FILE_DENY_LIST);
  if (!loaded.ok || loaded.value.keyIdHex !== input.denyKey.idHex) return null;
  return denyDeltaBuild(previous, image, previousVersion, version, input.privateKey);
}

/** True when a stored set holds exactly `files` (every content file byte for byte). */
function sameContent(filesJson: string, files: ReadonlyMap<string, Uint8Array>): boolean {
  const stored = JSON.parse(filesJson) as Record<string, string>;
  return [...files].every(([name, bytes]) =>
    stored[name] === Buffer.from(bytes).toString('base64'));
}
