// The terminal data key file: 32 random bytes, mode 0600, created once at provisioning.
//
// Key handling (PCI DSS v4.0 req. 3.6-3.7): the key is made on the terminal from the OS CSPRNG
// the first time a validator starts on an empty journal, and never leaves it. Whoever can read
// the file can read the PANs of the journal, so it is refused when group or others may read
// it, as ssh refuses a private key. By default it sits next to the journal, as DIR/data.key:
// `--data-key FILE` puts it elsewhere, e.g. on a partition that is not copied with the
// journal or that a TPM unseals at boot. Losing it makes the sealed PANs of records not yet
// exported unrecoverable: export before replacing a key. Replacing it on a journal that holds
// records is refused at start (records sealed under the old key would be stranded).

import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { PAN_VAULT_KEY_BYTES, type RandomBytes } from './pan_vault.js';

/** File name of the data key when it sits next to the journal. */
export const DATA_KEY_FILE_NAME = 'data.key';

/** Why the data key could not be loaded or created. */
export type DataKeyError =
  /** No such file. */
  | 'missing'
  /** The file exists but is not PAN_VAULT_KEY_BYTES bytes. */
  | 'bad-size'
  /** Group or others have access (mode must be 0600 or stricter). */
  | 'too-open'
  /** Any other file system failure (permissions, I/O, already exists on create). */
  | 'io';

export type DataKeyResult =
  | { readonly ok: true; readonly value: Uint8Array }
  | { readonly ok: false; readonly error: DataKeyError; readonly detail: string };

/** The data key path of a journal directory when no explicit path is given. */
export function dataKeyDefaultPath(journalDir: string): string {
  return join(journalDir, DATA_KEY_FILE_NAME);
}

/** Reads the data key at `path`. Errors: missing, bad-size, too-open, io. Never throws. */
export async function dataKeyLoad(path: string): Promise<DataKeyResult> {
  try {
    const info = await stat(path);
    if ((info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8);
      return fail('too-open', `${path}: mode ${mode}, must be 600 (chmod 600 ${path})`);
    }
    const handle = await open(path, 'r');
    try {
      const bytes = new Uint8Array(PAN_VAULT_KEY_BYTES + 1);
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0);
      if (bytesRead !== PAN_VAULT_KEY_BYTES) {
        return fail('bad-size', `${path}: ${bytesRead} bytes, expected ${PAN_VAULT_KEY_BYTES}`);
      }
      return { ok: true, value: bytes.subarray(0, PAN_VAULT_KEY_BYTES) };
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return fail('missing', `${path}: no data key`);
    return fail('io', `${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Creates a new data key at `path` (mode 0600, never overwriting), durable before it
 * resolves: file and directory are fsynced. Errors: io (exists, no permission, disk full).
 */
export async function dataKeyCreate(path: string, random: RandomBytes): Promise<DataKeyResult> {
  const key = random(PAN_VAULT_KEY_BYTES);
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
    return fail('io', `${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The data key of a validator: loaded, or created when missing and the journal is still
 * empty (`journalEmpty`). A missing key for a journal with records is refused.
 */
export async function dataKeyProvision(
  path: string,
  journalEmpty: boolean,
  random: RandomBytes,
): Promise<DataKeyResult> {
  const loaded = await dataKeyLoad(path);
  if (loaded.ok || loaded.error !== 'missing') return loaded;
  if (!journalEmpty) {
    return fail('missing', `${path}: no data key, and the journal holds records sealed under one`);
  }
  return dataKeyCreate(path, random);
}

function fail(error: DataKeyError, detail: string): DataKeyResult {
  return { ok: false, error, detail };
}
