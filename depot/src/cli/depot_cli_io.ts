// Exit codes and shared helpers of `shuaka depot`: the depot's own codes continue firmware's
// table (cli_args.ts: 0 ok, 1 failed, 2 usage).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_USAGE, type CliIo } from '../../../firmware/src/cli/cli_args.js';
import type { DepotDb } from '../store/depot_db.js';
import { DepotStoreError } from '../store/depot_db.js';
import { isPostgresUrl, openDepotDb } from '../store/open_depot_db.js';

export type { CliIo };
export {
  EXIT_FAILED, EXIT_OK, EXIT_USAGE, cliArgsProblem, cliInt, cliParse, cliVerb,
} from '../../../firmware/src/cli/cli_args.js';

/** The database (--db) cannot be opened or migrated: bad path, not a database, server down. */
export const EXIT_DATABASE = 10;
/** `serve`: the port is in use or the address cannot be bound. */
export const EXIT_LISTEN = 11;
/** The depot directory lacks its keys and certificates (run `shuaka depot init`). */
export const EXIT_KEYS = 12;

/** Files of a depot directory (`--dir`), made by `shuaka depot init`. */
export function depotFiles(dir: string): {
  caCert: string; caKey: string; serverCert: string; serverKey: string; dataKey: string;
} {
  return {
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    dataKey: join(dir, 'data.key'),
  };
}

/**
 * A URL with its secrets replaced, fit for an error message. The PostgreSQL driver takes a
 * password from the user info (up to the last `@` before the query: a password may hold `@`
 * or `/`) and from the query (`password=`, `sslpassword=`): each is masked.
 */
export function dbShown(target: string): string {
  if (!isPostgresUrl(target)) return target;
  const start = target.indexOf('//') + 2;
  const queryAt = target.slice(start).search(/[?#]|$/) + start;
  const at = target.lastIndexOf('@', queryAt - 1);
  const colon = target.indexOf(':', start);
  const head = at >= start && colon >= start && colon < at
    ? `${target.slice(0, colon)}:***${target.slice(at, queryAt)}` : target.slice(0, queryAt);
  return head + target.slice(queryAt).replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***');
}

/**
 * Opens `--db`; else the exit code after printing the reason: EXIT_USAGE without --db (every
 * command's help lists it), EXIT_DATABASE when it cannot be opened. A SQLite file is created
 * only when `create` (serve, terminal add): a mistyped path elsewhere is an error.
 */
export async function dbOpenOrReport(target: string | undefined, io: CliIo, nowMs: number,
  create = false): Promise<DepotDb | number> {
  if (target === undefined) {
    io.err('shuaka depot: --db FILE or --db postgres://... is required');
    return EXIT_USAGE;
  }
  if (!create && !isPostgresUrl(target) && !existsSync(target)) {
    io.err(`shuaka depot: database ${target} does not exist`);
    return EXIT_DATABASE;
  }
  try {
    return await openDepotDb(target, nowMs);
  } catch (error) {
    const reason = error instanceof DepotStoreError ? error.message : String(error);
    io.err(`shuaka depot: database ${dbShown(target)}: ${reason}`);
    return EXIT_DATABASE;
  }
}
