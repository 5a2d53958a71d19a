// A signed default parameter set on disk, for tests that start `shuaka run`: the test PKI's
// CA keys, an empty deny list made with the test deny key, a fresh Ed25519 signing key.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { testPki } from '../../host-sim/src/pki/test_pki.js';
import type { AidParams, FareParams } from '../src/app/params/params_files.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { TEST_DENY_KEY, writeTestDenyKey } from './deny_key_fixture.js';

/** What a test changes of the default set: its fares, the AIDs beyond the default ones. */
export interface SignedParamsChanges {
  readonly fares?: FareParams;
  readonly extraAids?: readonly AidParams[];
}

/** Writes the set under a new directory in `parent`; returns run's flags for it. */
export async function writeSignedDefaultParams(
  parent: string,
  changes: SignedParamsChanges = {},
): Promise<string[]> {
  const dir = mkdtempSync(join(parent, 'params-'));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pubPath = join(dir, 'params.pub.pem');
  writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }));
  const storage = await FileStorage.open(join(dir, 'params'), { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version: 1, terminal: { terminalId: 'BUS00042', lineId: 'L101' },
    fares: changes.fares ?? DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex), denyList: [], caRevocations: [],
    signingKey: privateKey, denyKey: TEST_DENY_KEY,
    ...(changes.extraAids === undefined ? {} : { extraAids: changes.extraAids }),
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  return ['--params', join(dir, 'params'), '--params-pub', pubPath,
    '--deny-key', writeTestDenyKey(dir)];
}
