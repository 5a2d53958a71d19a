// `shuaka depot init`: a depot directory with a fleet CA, the server certificate, the PAN
// data key and the fleet deny key. The CA key signs terminal certificates (`shuaka depot
// terminal add`); the deny key makes the deny list's tokens (`shuaka depot publish`).

import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { mkdirParentsSync } from '../../../hal/src/fs/mkdir_parents.js';
import { DENY_KEY_FILE_NAME, denyKeyLoadOrCreate } from
  '../../../firmware/src/app/deny_list/deny_key.js';
import { CertToolError, fleetCaCreate, leafIssue } from '../ingest/fleet_certs.js';
import { createDataKey } from '../store/pan_vault.js';
import type { CliIo } from './depot_cli_io.js';
import {
  cliArgsProblem, cliParse, depotFiles, EXIT_FAILED, EXIT_OK, EXIT_USAGE,
} from './depot_cli_io.js';

export const INIT_USAGE = `usage: shuaka depot init --dir DIR [--hosts H1,H2] [--name NAME]
  Creates DIR/ca.pem, ca.key (fleet CA), server.pem, server.key (for --hosts, default
  localhost,127.0.0.1), data.key (PAN sealing) and deny.key (the fleet deny key: give the
  same file to every validator, --deny-key). Refuses to overwrite an existing CA or data key;
  a deny.key already in DIR (the fleet's, copied there first) is kept, not replaced.
exit: 0 created, 1 openssl failed, files exist or a bad deny.key, 2 usage`;

/** Runs `shuaka depot init`. */
export async function runInitCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['dir', 'hosts', 'name'], io);
  const dir = args?.values['dir'];
  if (args === null || dir === undefined || args.positionals.length > 0) {
    const why = args === null ? null : cliArgsProblem(args, ['dir'], []);
    io.err(`${why === null ? '' : `shuaka depot init: ${why}\n`}${INIT_USAGE}`);
    return EXIT_USAGE;
  }
  const files = depotFiles(dir);
  const hosts = (args.values['hosts'] ?? 'localhost,127.0.0.1').split(',').filter(Boolean);
  const denyKeyPath = join(dir, DENY_KEY_FILE_NAME);
  try {
    mkdirParentsSync(dir, 0o700);
    if (existsSync(files.dataKey)) throw new CertToolError(`${files.dataKey} already exists`);
    // The deny key first: a bad one present stops init before a CA is made.
    const denyKey = await denyKeyLoadOrCreate(denyKeyPath);
    if (!denyKey.ok) throw new CertToolError(`deny key ${denyKey.error}: ${denyKey.detail}`);
    const ca = fleetCaCreate(dir, args.values['name'] ?? 'shuaka fleet CA');
    leafIssue(ca, { role: 'server', commonName: 'shuaka depot', hosts }, files.serverKey,
      files.serverCert);
    createDataKey(files.dataKey);
  } catch (error) {
    io.err(`shuaka depot init: ${(error as Error).message}`);
    return EXIT_FAILED;
  }
  io.out(`depot directory ready: ${dir} (fleet deny key ${denyKeyPath}: give the same file `
    + 'to every validator, --deny-key)');
  return EXIT_OK;
}
