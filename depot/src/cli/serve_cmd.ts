// `shuaka depot serve`: the ingest API until SIGTERM/SIGINT, then a graceful stop (requests in
// flight finish and commit, the database closes).

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { batchPreparePool } from '../ingest/batch_prepare_pool.js';
import { ingestServerCreate } from '../ingest/ingest_server.js';
import { DataKeyError, panVault, readDataKey } from '../store/pan_vault.js';
import type { CliIo } from './depot_cli_io.js';
import {
  cliInt, cliParse, dbOpenOrReport, dbShown, depotFiles, EXIT_DATABASE, EXIT_KEYS, EXIT_LISTEN,
  EXIT_OK, EXIT_USAGE,
} from './depot_cli_io.js';
import { depotIntegrityProblems } from '../store/open_depot_db.js';

export const SERVE_USAGE = `usage: shuaka depot serve --dir DIR --db FILE|postgres://... \
[--port P] [--host H]
  --dir   depot directory from \`shuaka depot init\` (ca.pem, server.pem, server.key, data.key)
  --db    SQLite file (created) or PostgreSQL URL; migrated to the newest schema
  --port  TCP port (default 8443; 0 picks a free one)   --host  bind address (default 0.0.0.0)
Prints "listening https://HOST:PORT" once ready; SIGTERM, SIGINT or SIGHUP stops it
gracefully.
exit: 0 stopped by a signal, 2 usage, 10 database (cannot open, migrate, or damaged),
      11 port in use or bad address,
      12 keys or certificates missing, unreadable or not matching (the server's key and
         certificate, the certificate issued by ca.pem)`;

/** Resolves when SIGTERM, SIGINT or SIGHUP arrives (injectable for tests). */
export type StopSignal = () => Promise<string>;

/** SIGHUP too: the session that started it closing killed it silently (exit 129). */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

function processStop(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      for (const s of STOP_SIGNALS) process.off(s, stop);
      resolve(signal);
    };
    for (const s of STOP_SIGNALS) process.on(s, stop);
  });
}

function tlsRead(dir: string, io: CliIo):
  { key: Buffer; cert: Buffer; ca: Buffer; dataKey: Uint8Array } | null {
  const files = depotFiles(dir);
  let read: { key: Buffer; cert: Buffer; ca: Buffer; dataKey: Uint8Array };
  try {
    read = { key: readFileSync(files.serverKey), cert: readFileSync(files.serverCert),
      ca: readFileSync(files.caCert), dataKey: readDataKey(files.dataKey) };
  } catch (error) {
    const reason = error instanceof DataKeyError ? error.message : (error as Error).message;
    io.err(`shuaka depot serve: ${reason} (run \`shuaka depot init --dir ${dir}\`)`);
    return null;
  }
  // Checked before listening: another depot's key crashed it with a stack trace, and a
  // damaged ca.pem served, refusing every terminal's handshake.
  const problem = tlsProblem(read, files);
  if (problem !== null) {
    io.err(`shuaka depot serve: ${problem}`);
    return null;
  }
  return read;
}

function tlsProblem(read: { key: Buffer; cert: Buffer; ca: Buffer },
  files: ReturnType<typeof depotFiles>): string | null {
  let ca: X509Certificate;
  let cert: X509Certificate;
  try {
    ca = new X509Certificate(read.ca);
  } catch (error) {
    return `${files.caCert} is not a certificate (${(error as Error).message})`;
  }
  try {
    cert = new X509Certificate(read.cert);
    createSecureContext({ key: read.key, cert: read.cert, ca: read.ca });
  } catch (error) {
    return `${files.serverKey} and ${files.serverCert} are not a key and its certificate `
      + `(${(error as Error).message})`;
  }
  if (!cert.checkIssued(ca)) return `${files.serverCert} was not issued by ${files.caCert}`;
  return null;
}

/** Runs `shuaka depot serve`; resolves with the exit code once stopped. */
export async function runServeCommand(argv: readonly string[], io: CliIo,
  stop: StopSignal = processStop): Promise<number> {
  const args = cliParse(argv, ['dir', 'db', 'port', 'host'], io);
  const port = cliInt(args?.values['port'] ?? '8443', 0, 65535);
  if (args === null || args.positionals.length > 0 || port === null
    || args.values['dir'] === undefined) {
    const why = args === null ? null : args.positionals.length > 0
      ? `unexpected argument '${args.positionals[0] ?? ''}'`
      : port === null ? `--port must be an integer in 0..65535, got '${args.values['port'] ?? ''}'`
        : '--dir DIR is required';
    io.err(`${why === null ? '' : `shuaka depot serve: ${why}\n`}${SERVE_USAGE}`);
    return EXIT_USAGE;
  }
  const tls = tlsRead(args.values['dir'], io);
  if (tls === null) return EXIT_KEYS;
  const db = await dbOpenOrReport(args.values['db'], io, Date.now(), true);
  if (typeof db === 'number') return db;
  // A damaged file is refused before the first batch is acknowledged into it.
  const problems = await depotIntegrityProblems(db);
  if (problems.length > 0) {
    io.err(`shuaka depot serve: database ${dbShown(args.values['db'] ?? '')} is damaged `
      + `(SQLite quick_check: ${problems.join('; ')}): nothing was served; restore it from a `
      + 'backup (depot/README.md)');
    await db.close();
    return EXIT_DATABASE;
  }
  const host = args.values['host'] ?? '0.0.0.0';
  // Batches are parsed, validated and sealed on a worker thread while this one stores.
  const pool = batchPreparePool(tls.dataKey);
  const server = ingestServerCreate({ db, vault: panVault(tls.dataKey), tls,
    nowMs: () => Date.now(), log: (line) => io.err(line), prepare: pool.prepare });
  const stopped = stop();
  let bound: number;
  try {
    bound = await server.listen(port, host);
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'error';
    io.err(`shuaka depot serve: cannot listen on ${host}:${port}: ${code === 'EADDRINUSE'
      ? 'port in use' : code}`);
    await pool.close();
    await db.close();
    return EXIT_LISTEN;
  }
  io.out(`listening https://${host}:${bound}`);
  const signal = await stopped;
  io.err(`shuaka depot serve: ${signal}: stopping`);
  await server.close();
  await pool.close();
  await db.close();
  return EXIT_OK;
}
