// `shuaka depot publish`: the next signed parameter set with the deny list from open debts.

import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import {
  type DenyKey, denyKeyLoad, DENY_KEY_FILE_NAME,
} from '../../../firmware/src/app/deny_list/deny_key.js';
import { FILE_MANIFEST, PARAMS_FILES } from '../../../firmware/src/app/params/params_files.js';
import { DenyPublishError } from '../publish/deny_publish.js';
import { paramsPublish } from '../publish/params_publish.js';
import { DepotStoreError } from '../store/depot_db.js';
import { DataKeyError, panVault, readDataKey } from '../store/pan_vault.js';
import type { CliIo } from './depot_cli_io.js';
import {
  cliArgsProblem, cliParse, dbOpenOrReport, depotFiles, EXIT_DATABASE, EXIT_FAILED, EXIT_KEYS,
  EXIT_OK, EXIT_USAGE,
} from './depot_cli_io.js';
import { PEM_BYTES_MAX, readFileBoundedSync } from '../../../hal/src/fs/read_bounded.js';
import { PARAMS_READ_BYTES_MAX } from '../../../firmware/src/app/params/params_disk.js';

export const PUBLISH_USAGE = `usage: shuaka depot publish --db DB --dir DIR --base SET_DIR \
--key KEY.pem [--deny-key FILE]
  Builds the next parameter set: SET_DIR's files (a set as \`shuaka params sign\` makes it,
  signed with KEY.pem: a base whose signature does not verify, or with a file changed since
  it was signed, is refused, exit 1),
  its deny list merged with every card holding an open debt, a version above every published
  one and SET_DIR's, signed with KEY.pem (Ed25519, \`shuaka params keygen\`), checked as a
  validator would, stored for GET /v1/params. Same content as the newest set: nothing new.
  The deny list holds tokens made with the fleet deny key (--deny-key, default DIR/deny.key,
  mode 600, \`shuaka params denykey-new\`), the one every validator holds; never a PAN.
exit: 0 published or unchanged, 1 bad base set or deny entry, 2 usage, 10 database,
  12 data key, deny key or signing key unreadable`;

/** Runs `shuaka depot publish`. */
export async function runPublishCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['db', 'dir', 'base', 'key', 'deny-key'], io);
  const [dir, baseDir, keyPath] = [args?.values['dir'], args?.values['base'], args?.values['key']];
  if (args === null || args.positionals.length > 0 || dir === undefined
    || baseDir === undefined || keyPath === undefined) {
    const why = args === null ? null : cliArgsProblem(args, ['dir', 'base', 'key'], []);
    io.err(`${why === null ? '' : `shuaka depot publish: ${why}\n`}${PUBLISH_USAGE}`);
    return EXIT_USAGE;
  }
  let privateKey: KeyObject;
  let unsealPan: (sealed: string) => string;
  try {
    privateKey = createPrivateKey(readFileBoundedSync(keyPath, PEM_BYTES_MAX));
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    unsealPan = panVault(readDataKey(depotFiles(dir).dataKey)).unseal;
  } catch (error) {
    const reason = error instanceof DataKeyError ? error.message : (error as Error).message;
    io.err(`shuaka depot publish: ${reason}`);
    return EXIT_KEYS;
  }
  const denyKeyPath = args.values['deny-key'] ?? join(dir, DENY_KEY_FILE_NAME);
  const deny = await denyKeyLoad(denyKeyPath);
  if (!deny.ok) {
    io.err(`shuaka depot publish: deny key ${deny.error}: ${deny.detail}`);
    return EXIT_KEYS;
  }
  const denyKey: DenyKey = deny.value;
  const base = new Map<string, Uint8Array>();
  for (const name of [...PARAMS_FILES, FILE_MANIFEST]) {
    const path = join(baseDir, name);
    if (existsSync(path)) base.set(name, readFileBoundedSync(path, PARAMS_READ_BYTES_MAX));
  }
  const db = await dbOpenOrReport(args.values['db'], io, Date.now());
  if (typeof db === 'number') return db;
  try {
    const result = await paramsPublish(db, {
      base, privateKey, unsealPan, denyKey, nowMs: Date.now(),
    });
    io.out(JSON.stringify({ event: result.kind, version: result.version,
      denyCount: result.denyCount }));
    return EXIT_OK;
  } catch (error) {
    if (error instanceof DenyPublishError) {
      io.err(`shuaka depot publish: ${error.message}`);
      return EXIT_FAILED;
    }
    if (!(error instanceof DepotStoreError)) throw error;
    io.err(`shuaka depot publish: ${error.message}`);
    return EXIT_DATABASE;
  } finally {
    await db.close();
  }
}
