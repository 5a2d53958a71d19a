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

import { join } from 'node:path';

import {
  keyFileCreate, keyFileFail, keyFileLoad, type KeyFileError, type KeyFileResult,
} from '../key_file.js';
import { PAN_VAULT_KEY_BYTES, type RandomBytes } from './pan_vault.js';

/** File name of the data key when it sits next to the journal. */
export const DATA_KEY_FILE_NAME = 'data.key';

/** Why the data key could not be loaded or created (key_file.ts). */
export type DataKeyError = KeyFileError;

export type DataKeyResult = KeyFileResult<Uint8Array>;

/** The data key path of a journal directory when no explicit path is given. */
export function dataKeyDefaultPath(journalDir: string): string {
  return join(journalDir, DATA_KEY_FILE_NAME);
}

/** Reads the data key at `path`. Errors: missing, bad-size, too-open, io. Never throws. */
export function dataKeyLoad(path: string): Promise<DataKeyResult> {
  return keyFileLoad(path, PAN_VAULT_KEY_BYTES, 'no data key');
}

/**
 * Creates a new data key at `path` (mode 0600, never overwriting), durable before it
 * resolves: file and directory are fsynced. Errors: io (exists, no permission, disk full).
 */
export function dataKeyCreate(path: string, random: RandomBytes): Promise<DataKeyResult> {
  return keyFileCreate(path, random(PAN_VAULT_KEY_BYTES), PAN_VAULT_KEY_BYTES);
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
    return keyFileFail('missing',
      `${path}: no data key, and the journal holds records sealed under one`);
  }
  return dataKeyCreate(path, random);
}
