// The test fleet's deny key: fixed bytes (a label's SHA-256), and its file as a validator
// keeps it (DIR/deny.key, mode 600).

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { DenyKey, DENY_KEY_FILE_NAME } from '../src/app/deny_list/deny_key.js';

/** 32 bytes, the same in every test run. */
export const TEST_DENY_KEY_BYTES: Uint8Array =
  new Uint8Array(createHash('sha256').update('shuaka test fleet deny key').digest());

/** The test fleet's deny key. */
export const TEST_DENY_KEY: DenyKey = DenyKey.fromBytes(TEST_DENY_KEY_BYTES);

/** Writes the test deny key as DIR/deny.key (mode 600, creating DIR); returns its path. */
export function writeTestDenyKey(dir: string, bytes: Uint8Array = TEST_DENY_KEY_BYTES): string {
  const path = join(dir, DENY_KEY_FILE_NAME);
  writeFileSync(path, bytes, { mode: 0o600 });
  return path;
}
