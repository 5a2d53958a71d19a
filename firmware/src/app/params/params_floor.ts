// The parameter version floor: the highest set ever installed, kept durably outside the
// parameter directory so that putting an older signed set back (an old deny list, a revoked CA
// key) is refused. See README.md in this folder for what it does and does not stop.

import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { FieldError, JsonFields } from './json_fields.js';
import { PARAMS_VERSION_MAX } from './params_manifest.js';
import { PARAMS_DISK, type ParamsDisk, type ParamsReads } from './params_disk.js';

/** File name of the floor inside its state directory (the validator's data partition). */
export const PARAMS_FLOOR_FILE = 'params_version_floor.json';
const FLOOR_FORMAT = 'shuaka-params-floor/1';

/** The highest installed set: its version and manifest SHA-256 (names the exact set). */
export interface ParamsFloor {
  readonly version: number;
  readonly manifestSha256Hex: string;
}

/** What the state directory holds. */
export type ParamsFloorRead =
  | { readonly kind: 'absent' }
  | { readonly kind: 'ok'; readonly floor: ParamsFloor }
  | { readonly kind: 'corrupt'; readonly detail: string };

/** How a set compares with the floor. */
export type ParamsFloorVerdict =
  | 'newer' // above the floor: accept and raise the floor
  | 'same' // the very set of the floor: accept
  | 'older' // below the floor: a rollback, refused
  | 'conflict'; // the floor's version with other content: refused

/**
 * Reads the floor of `stateDir`. A missing file is 'absent' (a new validator, or one whose
 * data partition was wiped: callers log it loudly); a file that does not parse or whose check
 * value does not match is 'corrupt' and must be refused, never reset. `reads`: how the file
 * is read (params_disk.ts). Never throws.
 */
export async function paramsFloorRead(
  stateDir: string,
  reads: ParamsReads = PARAMS_DISK,
): Promise<ParamsFloorRead> {
  let bytes: Buffer;
  try {
    bytes = await reads.read(join(stateDir, PARAMS_FLOOR_FILE));
  } catch (error) {
    if (isNotFound(error)) return { kind: 'absent' };
    return { kind: 'corrupt', detail: `cannot read: ${describe(error)}` };
  }
  try {
    const fields = JsonFields.of(
      JsonFields.parse(bytes.toString('utf8'), PARAMS_FLOOR_FILE), PARAMS_FLOOR_FILE, '');
    fields.str('format', { re: /^shuaka-params-floor\/1$/, says: "'shuaka-params-floor/1'" }, 40);
    const floor = {
      version: fields.int('version', 1, PARAMS_VERSION_MAX),
      manifestSha256Hex: fields.hex('manifestSha256Hex', 32, 32).toUpperCase(),
    };
    const check = fields.hex('checkSha256Hex', 32, 32).toUpperCase();
    fields.finish();
    if (check !== floorCheck(floor)) return { kind: 'corrupt', detail: 'check value mismatch' };
    return { kind: 'ok', floor };
  } catch (error) {
    if (error instanceof FieldError) return { kind: 'corrupt', detail: error.message };
    throw error;
  }
}

/** Compares a set (version, manifest SHA-256) with the floor. */
export function paramsFloorVerdict(
  floor: ParamsFloor | null,
  version: number,
  manifestSha256Hex: string,
): ParamsFloorVerdict {
  if (floor === null || version > floor.version) return 'newer';
  if (version < floor.version) return 'older';
  return manifestSha256Hex.toUpperCase() === floor.manifestSha256Hex ? 'same' : 'conflict';
}

/** The operator's sentence for a refused verdict. */
export function paramsFloorRefusal(floor: ParamsFloor, version: number): string {
  return version < floor.version
    ? `version ${version} is older than version ${floor.version}, already installed `
      + '(a rollback to an older set is refused)'
    : `version ${version} is already installed with different content `
      + `(manifest ${floor.manifestSha256Hex.slice(0, 16)}...): `
      + 'sign the new set with a higher version';
}

/** Called at each durable write step of a floor or install write (tests cut power there). */
export type WritePointHook = (point: string) => void;

/**
 * Writes the floor power-safely: a temporary file written and fsynced, renamed over the
 * floor, then the directory fsynced, so a cut leaves the old floor or the new one, never a
 * torn file. The caller never lowers it (paramsFloorVerdict first). Throws on I/O errors.
 * `disk`: where (params_disk.ts).
 */
export async function paramsFloorWrite(
  stateDir: string,
  floor: ParamsFloor,
  hook: WritePointHook = () => undefined,
  disk: ParamsDisk = PARAMS_DISK,
): Promise<void> {
  await disk.mkdirs(stateDir);
  const record = {
    format: FLOOR_FORMAT,
    version: floor.version,
    manifestSha256Hex: floor.manifestSha256Hex.toUpperCase(),
    checkSha256Hex: floorCheck(floor),
  };
  const path = join(stateDir, PARAMS_FLOOR_FILE);
  const bytes = Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
  await durableReplace(disk, path, bytes, hook, 'floor');
  await fsyncDir(disk, stateDir, hook, 'floor dir');
}

/**
 * Writes `bytes` to `path` through `path.tmp` + fsync + rename. The hook runs before the
 * temporary file is written, after it is fsynced (`.synced`) and after the rename.
 */
export async function durableReplace(
  disk: ParamsDisk,
  path: string,
  bytes: Uint8Array,
  hook: WritePointHook,
  point: string,
): Promise<void> {
  const temp = `${path}.tmp`;
  hook(`${point}: write`);
  await durableWrite(disk, temp, bytes, hook, point);
  hook(`${point}: rename`);
  await disk.rename(temp, path);
}

/** Creates or truncates `path`, writes `bytes`, fsyncs and closes; the hook may cut midway. */
export async function durableWrite(
  disk: ParamsDisk,
  path: string,
  bytes: Uint8Array,
  hook: WritePointHook,
  point: string,
): Promise<void> {
  const handle = await disk.create(path);
  try {
    const half = bytes.length >>> 1;
    await handle.write(bytes, 0, half);
    // A cut here leaves a torn file of `half` bytes: what a real power cut can leave.
    hook(`${point}: torn`);
    await handle.write(bytes, half, bytes.length - half);
    await handle.sync();
  } finally {
    await handle.close();
  }
  hook(`${point}: synced`);
}

/** fsync of a directory (ParamsDisk.syncDir), then the hook. */
export async function fsyncDir(
  disk: ParamsDisk,
  dir: string,
  hook: WritePointHook,
  point: string,
): Promise<void> {
  await disk.syncDir(dir);
  hook(`${point}: fsynced`);
}

function floorCheck(floor: ParamsFloor): string {
  const text = `${FLOOR_FORMAT}|${floor.version}|${floor.manifestSha256Hex.toUpperCase()}`;
  return createHash('sha256').update(text).digest('hex').toUpperCase();
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
