// `shuaka depot terminal add|revoke|list`: the fleet's terminal identities.

import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { mkdirParentsSync } from '../../../hal/src/fs/mkdir_parents.js';
import { CertToolError, fleetCaOpen, leafIssue } from '../ingest/fleet_certs.js';
import {
  terminalAdd, terminalCertSha256, terminalList, terminalRevoke, TerminalRegistryError,
  TERMINAL_ID_PATTERN,
} from '../ingest/terminal_registry.js';
import { storedThroughSeq } from '../ingest/seq_conflict.js';
import { DepotStoreError } from '../store/depot_db.js';
import type { CliIo } from './depot_cli_io.js';
import {
  cliParse, cliVerb, dbOpenOrReport, EXIT_DATABASE, EXIT_FAILED, EXIT_OK, EXIT_USAGE,
} from './depot_cli_io.js';
import { PEM_BYTES_MAX, readFileBoundedSync } from '../../../hal/src/fs/read_bounded.js';

export const TERMINAL_USAGE = `usage:
  shuaka depot terminal add --db DB --id ID [--route R]
      (--cert FILE [--ca CA.pem] | --dir DIR [--out DIR])
      registers --cert (a TLS client certificate; with --ca, one that CA issued: the fleet CA
      the depot serves with, DIR/ca.pem), or issues ID.key + ID.pem under DIR's CA into --out
      (default DIR) with the CA's ca.pem: the terminal's --depot-identity directory
  shuaka depot terminal revoke --db DB --id ID
  shuaka depot terminal list --db DB        (JSON lines; heldThroughSeq: the highest seq
      the depot holds for the terminal, 0 when none)
exit: 0 done, 1 refused (id or certificate taken, unknown id, a certificate expired, not yet
  valid, a CA's, not a client's or not --ca's, openssl), 2 usage, 10 database`;

/** Runs `shuaka depot terminal ...`. */
export async function runTerminalCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [action, rest] = cliVerb(argv);
  const args = cliParse(rest, ['db', 'id', 'route', 'cert', 'ca', 'dir', 'out'], io);
  const id = args?.values['id'];
  const valid = args !== null && args.positionals.length === 0 && (action === 'list'
    || (action === 'revoke' && id !== undefined) || (action === 'add' && id !== undefined
      && (args.values['cert'] !== undefined) !== (args.values['dir'] !== undefined)
      && (args.values['ca'] === undefined || args.values['cert'] !== undefined)));
  if (!valid || args === null) {
    const known = action === 'add' || action === 'revoke' || action === 'list';
    const why = args === null ? null : action === undefined
      ? 'a command is required (add, revoke, list)'
      : !known ? `unknown command '${action}' (add, revoke, list)`
        : args.positionals.length > 0 ? `unexpected argument '${args.positionals[0] ?? ''}'`
          : id === undefined ? '--id is required'
            : args.values['ca'] !== undefined && args.values['dir'] !== undefined
              ? '--ca goes with --cert (an issued certificate comes from DIR\'s own CA)'
              : 'give one of --cert FILE (a certificate made elsewhere) or --dir DIR (issue one)';
    const who = known ? `shuaka depot terminal ${action}` : 'shuaka depot terminal';
    io.err(`${why === null ? '' : `${who}: ${why}\n`}${TERMINAL_USAGE}`);
    return EXIT_USAGE;
  }
  const db = await dbOpenOrReport(args.values['db'], io, Date.now(),
    action === 'add');
  if (typeof db === 'number') return db;
  try {
    if (action === 'list') {
      // The highest seq held: a replaced journal starts after it (journal init --after-seq).
      for (const row of await terminalList(db)) {
        const heldThroughSeq = await storedThroughSeq(db, row.terminalId);
        io.out(JSON.stringify({ ...row, heldThroughSeq }));
      }
    } else if (action === 'revoke') {
      await terminalRevoke(db, id ?? '');
      io.out(`terminal ${id ?? ''} revoked`);
    } else {
      const cert = certFor(args.values, id ?? '');
      const nowMs = Date.now();
      const certSha256 = terminalCertSha256(cert.pem, nowMs, fleetCaOf(args.values['ca']));
      await terminalAdd(db, { terminalId: id ?? '', certSha256,
        routeId: args.values['route'] ?? null, nowMs });
      io.out(`terminal ${id ?? ''} registered${cert.path === null ? ''
        : `: key and certificate in ${cert.path}`}`);
    }
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof TerminalRegistryError || error instanceof CertToolError
      || error instanceof DepotStoreError)) throw error;
    io.err(`shuaka depot terminal ${action ?? ''}: ${error.message}`);
    return error instanceof DepotStoreError ? EXIT_DATABASE : EXIT_FAILED;
  } finally {
    await db.close();
  }
}

/** The CA a given certificate must come from (--ca), or null when none was named. */
function fleetCaOf(path: string | undefined): X509Certificate | null {
  if (path === undefined) return null;
  try {
    return new X509Certificate(readFileBoundedSync(path, PEM_BYTES_MAX));
  } catch (error) {
    throw new CertToolError(`--ca ${path}: not a readable PEM certificate `
      + `(${(error as Error).message})`);
  }
}

function certFor(values: Readonly<Record<string, string | undefined>>, id: string):
  { pem: Buffer; path: string | null } {
  const given = values['cert'];
  if (given !== undefined) {
    try {
      return { pem: readFileBoundedSync(given, PEM_BYTES_MAX), path: null };
    } catch (error) {
      throw new CertToolError(`cannot read ${given}: ${(error as Error).message}`);
    }
  }
  const dir = values['dir'] ?? '';
  const out = values['out'] ?? dir;
  if (!TERMINAL_ID_PATTERN.re.test(id)) {
    throw new CertToolError(`terminal id must be ${TERMINAL_ID_PATTERN.says}, got `
      + JSON.stringify(id));
  }
  mkdirParentsSync(out);
  leafIssue(fleetCaOpen(dir), { role: 'client', commonName: id }, join(out, `${id}.key`),
    join(out, `${id}.pem`));
  // The fleet CA beside them: --out is then a whole identity for `run --depot-identity`
  // (it held the key and certificate only, and run refused it naming another file).
  if (resolve(out) !== resolve(dir)) copyFileSync(join(dir, 'ca.pem'), join(out, 'ca.pem'));
  return { pem: readFileSync(join(out, `${id}.pem`)), path: out };
}
