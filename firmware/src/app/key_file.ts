// Secret key files (the terminal data key, the fleet deny key): raw bytes of a fixed length,
// mode 0600 or stricter, created once and never overwritten. Whoever reads such a file can
// open or test card data, so one readable by group or others is refused, as ssh refuses a
// private key.

import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Why a key file could not be loaded or created. */
export type KeyFileError =
  /** No such file. */
  | 'missing'
  /** The file (or the key to write) is not the expected length. */
  | 'bad-size'
  /** Group or others have access (mode must be 0600 or stricter). */
  | 'too-open'
  /** Any other file system failure (permissions, I/O, already exists on create). */
  | 'io';

export type KeyFileResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: KeyFileError; readonly detail: string };

/**
 * Reads the `length`-byte key at `path`; `missing` is the detail's words when there is no
 * file. Errors: missing, bad-size, too-open, io. Never throws.
 */
export async function keyFileLoad(
  path: string,
  length: number,
  missing: string,
): Promise<KeyFileResult<Uint8Array>> {
  try {
    const info = await stat(path);
    // A FIFO would hold the start at open until someone wrote to it; a device is no key.
    if (!info.isFile()) return keyFileFail('io', `${path}: not a regular file`);
    if ((info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8);
      return keyFileFail('too-open', `${path}: mode ${mode}, must be 600 (chmod 600 ${path})`);
    }
    const handle = await open(path, 'r');
    try {
      const bytes = new Uint8Array(length + 1);
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0);
      if (bytesRead !== length) {
        return keyFileFail('bad-size', `${path}: ${bytesRead} bytes, expected ${length}`);
      }
      return { ok: true, value: bytes.subarray(0, length) };
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return keyFileFail('missing', `${path}: ${missing}`);
    return keyFileFail('io', `${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Writes `key` as a new key file at `path` (mode 0600, never overwriting), durable before it
 * resolves: file and directory are fsynced. Errors: bad-size (not `length` bytes), io
 * (exists, no permission, disk full).
 */
export async function keyFileCreate(
  path: string,
  key: Uint8Array,
  length: number,
): Promise<KeyFileResult<Uint8Array>> {
  if (key.length !== length) {
    return keyFileFail('bad-size', `${key.length} bytes, expected ${length}`);
  }
  try {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
    const handle = await open(path, flags, 0o600);
    try {
      await handle.write(key, 0, key.length, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return { ok: true, value: key };
  } catch (error) {
    return keyFileFail('io', `${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A refusal of `error` with its sentence. */
export function keyFileFail<T>(error: KeyFileError, detail: string): KeyFileResult<T> {
  return { ok: false, error, detail };
}
