// Power-safe installation of a downloaded parameter set (A/B slots, switch by rename); the
// start-up load that enforces the version floor is params_boot.ts. See README.md here.
//
// An installed root holds slot_a/ and slot_b/ and a file `active` naming one of them. A new
// set is written into the other slot (every file fsynced, then the slot and the root
// directories), read back and verified, and only then made current by replacing `active`
// (temporary file, fsync, rename, fsync of the root); the floor is raised last. A power cut at
// any point leaves `active` naming the old complete set or the new complete set.

import { join } from 'node:path';

import { FieldError } from './json_fields.js';
import {
  FILE_MANIFEST,
  PARAMS_FILES,
  PARAMS_FILES_OPTIONAL,
  paramsFileBytesMax,
} from './params_files.js';
import {
  durableReplace, durableWrite, fsyncDir, paramsFloorRead, paramsFloorRefusal, paramsFloorVerdict,
  paramsFloorWrite, type WritePointHook,
} from './params_floor.js';
import { PARAMS_DISK, type ParamsDisk, type ParamsReads } from './params_disk.js';
import {
  manifestParse, manifestVerify, sha256Hex, type ParamsManifest,
} from './params_manifest.js';
import {
  paramsValidate, trustParts, type ParamSet, type ParamsTrust,
} from './params_store.js';

/** The pointer file of an installed root and its two slots. */
export const PARAMS_ACTIVE_FILE = 'active';
export const PARAMS_SLOTS = ['slot_a', 'slot_b'] as const;
export type ParamsSlot = (typeof PARAMS_SLOTS)[number];

/** Why a set was refused: its content, a rollback below the floor, or an unreadable floor. */
export type ParamsRefusalKind = 'invalid' | 'rollback' | 'floor-corrupt';

/**
 * The directory of the active set under `root`: root/<slot> when root/active names a slot,
 * else `root` itself (a plain signed set, as `params sign` writes it). Throws FieldError when
 * `active` names something else.
 */
export async function paramsActiveDir(
  root: string,
  reads: ParamsReads = PARAMS_DISK,
): Promise<string> {
  let text: string;
  try {
    text = (await reads.read(join(root, PARAMS_ACTIVE_FILE))).toString('utf8');
  } catch (error) {
    if (isNotFound(error)) return root;
    throw new FieldError(PARAMS_ACTIVE_FILE, '', `cannot read: ${describe(error)}`);
  }
  const slot = PARAMS_SLOTS.find((s) => s === text.trim());
  if (slot === undefined) {
    throw new FieldError(PARAMS_ACTIVE_FILE, '', `names ${JSON.stringify(text.slice(0, 20))}`);
  }
  return join(root, slot);
}

/**
 * Reads a set directory: exactly the set's files plus manifest.json, each within its size
 * bound, then validates it (signature, hashes, content). `reads`: how the files are read
 * (params_disk.ts; asynchronous unless at start-up). Errors: FieldError.
 */
export async function paramsLoadDir(
  dir: string,
  publicKey: ParamsTrust,
  reads: ParamsReads = PARAMS_DISK,
): Promise<ParamSet> {
  const names = await reads.list(dir).catch((error: unknown) => {
    throw new FieldError(dir, '', `cannot list: ${describe(error)}`);
  });
  const optional = PARAMS_FILES_OPTIONAL.filter((name) => names.includes(name));
  const expected = [...PARAMS_FILES, FILE_MANIFEST, ...optional];
  const extra = names.find((name) => !expected.includes(name));
  if (extra !== undefined) {
    throw new FieldError(extra, '', 'extra file: not part of a parameter set');
  }
  const files = new Map<string, Uint8Array>();
  for (const name of expected) {
    if (!names.includes(name)) throw new FieldError(name, '', 'missing file');
    const size = await reads.size(join(dir, name));
    if (size > paramsFileBytesMax(name)) {
      throw new FieldError(name, '', `larger than ${paramsFileBytesMax(name)} bytes`);
    }
    files.set(name, await reads.read(join(dir, name)));
  }
  const loaded = paramsValidate(files, publicKey);
  if (!loaded.ok) throw loaded.error;
  return loaded.value;
}

/** What an install did. */
export type ParamsInstallResult =
  | { readonly ok: true; readonly set: ParamSet; readonly slot: ParamsSlot | null }
  | { readonly ok: false; readonly kind: ParamsRefusalKind; readonly message: string };

/**
 * Installs the signed set in `source` under `root` (A/B, see the file comment) after full
 * validation and the floor check (`stateDir`); the set already active returns ok with slot
 * null and writes nothing. `hook` runs at every write point (power-cut tests). Refusals as
 * paramsBootLoad; I/O errors throw (the active set is unchanged up to the rename). `disk`:
 * where the directories are (params_disk.ts).
 */
export async function paramsInstall(
  source: string,
  root: string,
  publicKey: ParamsTrust,
  stateDir: string,
  hook: WritePointHook = () => undefined,
  disk: ParamsDisk = PARAMS_DISK,
): Promise<ParamsInstallResult> {
  let set: ParamSet;
  try {
    set = await paramsLoadDir(source, publicKey, disk);
  } catch (error) {
    return { ok: false, kind: 'invalid', message: refusalText(error) };
  }
  const read = await paramsFloorRead(stateDir, disk);
  if (read.kind === 'corrupt') {
    const message = `version floor unreadable: ${read.detail}`;
    return { ok: false, kind: 'floor-corrupt', message };
  }
  const floor = read.kind === 'ok' ? read.floor : null;
  const verdict = paramsFloorVerdict(floor, set.version, set.manifestSha256Hex);
  if (floor !== null && (verdict === 'older' || verdict === 'conflict')) {
    return { ok: false, kind: 'rollback', message: paramsFloorRefusal(floor, set.version) };
  }
  const current = await activeSlot(root, disk);
  const belowActive = await activeRefusal(root, current, set, publicKey, disk);
  if (belowActive !== null) return { ok: false, kind: 'rollback', message: belowActive };
  if (verdict === 'same' && current !== null) return { ok: true, set, slot: null };
  const slot: ParamsSlot = current === 'slot_a' ? 'slot_b' : 'slot_a';
  await slotWrite(disk, source, root, slot, hook);
  try {
    await paramsLoadDir(join(root, slot), publicKey, disk);
  } catch (error) {
    return { ok: false, kind: 'invalid', message: `read back: ${refusalText(error)}` };
  }
  const pointer = Buffer.from(`${slot}\n`);
  await durableReplace(disk, join(root, PARAMS_ACTIVE_FILE), pointer, hook, 'active');
  await fsyncDir(disk, root, hook, 'root');
  const raised = { version: set.version, manifestSha256Hex: set.manifestSha256Hex };
  await paramsFloorWrite(stateDir, raised, hook, disk);
  return { ok: true, set, slot };
}

/** Rewrites `slot` from scratch with the files of `source`, every step durable. */
async function slotWrite(
  disk: ParamsDisk,
  source: string,
  root: string,
  slot: ParamsSlot,
  hook: WritePointHook,
): Promise<void> {
  const dir = join(root, slot);
  await disk.mkdirs(root);
  hook(`${slot}: clear`);
  await disk.removeTree(dir);
  await disk.mkdirs(dir);
  const present = await disk.list(source);
  const optional = PARAMS_FILES_OPTIONAL.filter((name) => present.includes(name));
  for (const name of [...PARAMS_FILES, FILE_MANIFEST, ...optional]) {
    const bytes = await disk.read(join(source, name));
    await durableWrite(disk, join(dir, name), bytes, hook, `${slot}/${name}`);
  }
  await fsyncDir(disk, dir, hook, slot);
  await fsyncDir(disk, root, hook, `${slot} entry`);
}

/**
 * The refusal when the set in the active slot is signed and newer than `set`, or has its
 * version with other content. The floor can lag the root (a floor file restored from a backup
 * or removed, a cut before the floor write); the active slot's signed manifest does not. A
 * manifest that does not read or verify is rot, left to the start-up fallback (null).
 */
async function activeRefusal(
  root: string,
  slot: ParamsSlot | null,
  set: ParamSet,
  trust: ParamsTrust,
  reads: ParamsReads,
): Promise<string | null> {
  if (slot === null) return null;
  let bytes: Buffer;
  let manifest: ParamsManifest;
  try {
    bytes = await reads.read(join(root, slot, FILE_MANIFEST));
    manifest = manifestParse(bytes);
  } catch {
    return null;
  }
  const { publicKey, checked } = trustParts(trust);
  if (!manifestVerify(manifest, publicKey, checked) || manifest.version < set.version) return null;
  if (manifest.version > set.version) {
    return `version ${set.version} is older than version ${manifest.version}, active in ${slot} `
      + '(a rollback to an older set is refused)';
  }
  if (sha256Hex(bytes) === set.manifestSha256Hex) return null;
  return `version ${set.version} is active in ${slot} with different content `
    + `(manifest ${sha256Hex(bytes).slice(0, 16)}...): sign the new set with a higher version`;
}

/** The slot `active` names, or null when the root has none yet (or is a plain set). */
async function activeSlot(root: string, reads: ParamsReads): Promise<ParamsSlot | null> {
  try {
    const text = (await reads.read(join(root, PARAMS_ACTIVE_FILE))).toString('utf8').trim();
    return PARAMS_SLOTS.find((s) => s === text) ?? null;
  } catch {
    return null;
  }
}

function refusalText(error: unknown): string {
  if (error instanceof FieldError) return error.message;
  return describe(error);
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
