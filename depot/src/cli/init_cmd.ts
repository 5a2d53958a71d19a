// `shuaka depot init`: a depot directory with a fleet CA, the server certificate and the PAN
// data key. The CA key signs terminal certificates (`shuaka depot terminal add`).

import { existsSync, mkdirSync } from 'node:fs';
import { CertToolError, fleetCaCreate, leafIssue } from '../ingest/fleet_certs.js';
import { createDataKey } from '../store/pan_vault.js';
import type { CliIo } from './depot_cli_io.js';
import { cliParse, depotFiles, EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './depot_cli_io.js';

export const INIT_USAGE = `usage: shuaka depot init --dir DIR [--hosts H1,H2] [--name NAME]
  Creates DIR/ca.pem, ca.key (fleet CA), server.pem, server.key (for --hosts, default
  localhost,127.0.0.1) and data.key (PAN sealing). Refuses to overwrite an existing CA.
exit: 0 created, 1 openssl failed or files exist, 2 usage`;

/** Runs `shuaka depot init`. */
export function runInitCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['dir', 'hosts', 'name']);
  const dir = args?.values['dir'];
  if (args === null || dir === undefined || args.positionals.length > 0) {
    io.err(INIT_USAGE);
    return Promise.resolve(EXIT_USAGE);
  }
  const files = depotFiles(dir);
  const hosts = (args.values['hosts'] ?? 'localhost,127.0.0.1').split(',').filter(Boolean);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (existsSync(files.dataKey)) throw new CertToolError(`${files.dataKey} already exists`);
    const ca = fleetCaCreate(dir, args.values['name'] ?? 'shuaka fleet CA');
    leafIssue(ca, { role: 'server', commonName: 'shuaka depot', hosts }, files.serverKey,
      files.serverCert);
    createDataKey(files.dataKey);
  } catch (error) {
    io.err(`shuaka depot init: ${(error as Error).message}`);
    return Promise.resolve(EXIT_FAILED);
  }
  io.out(`depot directory ready: ${dir}`);
  return Promise.resolve(EXIT_OK);
}
