// The depot of `shuaka sim`'s money loop: the back office's own code on an SQLite file in a
// temporary directory, reached by the validator's uploader over HTTPS with mutual TLS on
// loopback (the fleet's TLS helpers make a CA, the depot's server certificate and the
// terminal's identity), or, when no HTTPS transport is at hand, through the same validation
// and store functions in process.
//
// Why the ingest server runs in this process and not as a `shuaka depot serve` child: the
// server code, the TLS handshake and every byte of the contract are the same, and a child
// would add a Node start-up and a second process to clean up to every `npm start`.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type {
  DepotBatch, DepotBatchAck, DepotParams, DepotPort, DepotResult, DepotStatus,
} from '../../../firmware/src/app/upload/depot_port.js';
import { depotBatchBody } from '../../../firmware/src/app/upload/depot_port.js';
import { FieldError } from '../../../firmware/src/app/params/json_fields.js';
import { BatchError } from '../../../depot/src/ingest/batch_error.js';
import { batchStore } from '../../../depot/src/ingest/batch_store.js';
import { batchValidate } from '../../../depot/src/ingest/batch_validate.js';
import { fleetCaCreate, leafIssue } from '../../../depot/src/ingest/fleet_certs.js';
import { ingestServerCreate, type IngestServer } from '../../../depot/src/ingest/ingest_server.js';
import { statusStore, statusValidate } from '../../../depot/src/ingest/status_route.js';
import { certSha256, terminalAdd } from '../../../depot/src/ingest/terminal_registry.js';
import { DepotStoreError, type DepotDb } from '../../../depot/src/store/depot_db.js';
import { depotMigrate } from '../../../depot/src/store/depot_migrations.js';
import { panVault, type PanVault } from '../../../depot/src/store/pan_vault.js';
import { openSqliteDepotDb } from '../../../depot/src/store/sqlite_db.js';

/**
 * Opens the real depot for one terminal over HTTPS with the identity in `identityDir`
 * (`terminal.key.pem`, `terminal.crt.pem`, `ca.crt.pem`): the board's transport, passed in
 * by bin/shuaka.js (host-sim may not import firmware/src/boards). Throws naming the problem.
 */
export type SimDepotOpener = (
  url: URL,
  identityDir: string,
) => Promise<DepotPort & { close?: () => void }>;

/** The depot of one run: its database, its PAN vault, and how the validator reaches it. */
export interface SimDepot {
  readonly db: DepotDb;
  readonly dbPath: string;
  readonly vault: PanVault;
  readonly port: DepotPort;
  /** `https://127.0.0.1:P (mutual TLS)` or `in process (no HTTPS transport)`. */
  readonly transport: string;
  /** Stops the server, closes the transport and the database. Never throws. */
  close(): Promise<void>;
}

/**
 * The depot's PAN data key of a run with `seed`: deterministic so a replay stores the same
 * tokens (the key never leaves the temporary directory's run).
 */
export function simDepotDataKey(seed: number): Uint8Array {
  return createHash('sha256').update(`shuaka sim depot data key ${seed}`).digest();
}

/**
 * Creates the SQLite depot in `dir` (migrated) and registers `terminalId`. With `openDepot`
 * the terminal reaches it over HTTPS (a fleet CA, server and terminal certificates made in
 * `dir` by openssl); without it, or when openssl fails (its reason in `transport`), in
 * process. Rejects with DepotStoreError when the database cannot be made.
 */
export async function simDepotOpen(
  dir: string,
  terminalId: string,
  seed: number,
  nowMs: () => number,
  openDepot: SimDepotOpener | null,
): Promise<SimDepot> {
  const dbPath = join(dir, 'depot.sqlite');
  const db = await openSqliteDepotDb(dbPath);
  try {
    await depotMigrate(db, nowMs());
    const vault = panVault(simDepotDataKey(seed));
    let fallback = 'no HTTPS transport';
    if (openDepot !== null) {
      try {
        return await httpsDepot({ dir, dbPath, db, vault, terminalId, nowMs }, openDepot);
      } catch (error) {
        if (error instanceof DepotStoreError) throw error;
        fallback = `HTTPS set-up failed: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    await terminalAdd(db, { terminalId, certSha256: inProcessCertSha256(terminalId),
      routeId: null, nowMs: nowMs() });
    return inProcessDepot(db, dbPath, vault, { terminalId, nowMs, fallback });
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

function inProcessDepot(
  db: DepotDb,
  dbPath: string,
  vault: PanVault,
  how: { terminalId: string; nowMs: () => number; fallback: string },
): SimDepot {
  const { terminalId, nowMs, fallback } = how;
  return {
    db, dbPath, vault, port: new DepotInProcess(db, vault, terminalId, nowMs),
    transport: `in process (${fallback})`,
    close: () => db.close().catch(() => undefined),
  };
}

interface HttpsParts {
  readonly dir: string;
  readonly dbPath: string;
  readonly db: DepotDb;
  readonly vault: PanVault;
  readonly terminalId: string;
  readonly nowMs: () => number;
}

async function httpsDepot(parts: HttpsParts, openDepot: SimDepotOpener): Promise<SimDepot> {
  const { dir, db, terminalId } = parts;
  const ca = fleetCaCreate(dir, 'shuaka sim fleet CA');
  const serverKey = join(dir, 'server.key');
  const serverCert = join(dir, 'server.pem');
  leafIssue(ca, { role: 'server', commonName: 'shuaka sim depot', hosts: ['127.0.0.1'] },
    serverKey, serverCert);
  const identity = join(dir, terminalId);
  mkdirSync(identity, { mode: 0o700 });
  leafIssue(ca, { role: 'client', commonName: terminalId },
    join(identity, 'terminal.key.pem'), join(identity, 'terminal.crt.pem'));
  const caPem = readFileSync(ca.certPath);
  writeFileSync(join(identity, 'ca.crt.pem'), caPem);
  const server: IngestServer = ingestServerCreate({ db, vault: parts.vault, nowMs: parts.nowMs,
    tls: { key: readFileSync(serverKey), cert: readFileSync(serverCert), ca: caPem } });
  const port = await server.listen(0, '127.0.0.1');
  const url = new URL(`https://127.0.0.1:${port}`);
  let transport: (DepotPort & { close?: () => void }) | null = null;
  try {
    transport = await openDepot(url, identity);
    // Registered last: a set-up that fails before leaves the in-process path free to.
    await terminalAdd(db, { terminalId, routeId: null, nowMs: parts.nowMs(),
      certSha256: certSha256(readFileSync(join(identity, 'terminal.crt.pem'))) });
  } catch (error) {
    transport?.close?.();
    await server.close();
    throw error;
  }
  const opened = transport;
  return {
    db, dbPath: parts.dbPath, vault: parts.vault, port: opened,
    transport: `${url.origin} (HTTPS, mutual TLS)`,
    close: async () => {
      opened.close?.();
      await server.close();
      await db.close().catch(() => undefined);
    },
  };
}

/** The fingerprint the in-process terminal is registered with (it has no certificate). */
function inProcessCertSha256(terminalId: string): string {
  return createHash('sha256').update(`in-process terminal ${terminalId}`).digest('hex');
}

/**
 * The contract v1 without HTTP: the body the transport would send, parsed, validated and
 * stored by the ingest server's own functions, errors mapped as the server maps them.
 */
export class DepotInProcess implements DepotPort {
  constructor(
    private readonly db: DepotDb,
    private readonly vault: PanVault,
    private readonly terminalId: string,
    private readonly nowMs: () => number,
  ) {}

  async postBatch(batch: DepotBatch): Promise<DepotResult<DepotBatchAck>> {
    try {
      const body = JSON.parse(depotBatchBody(batch)) as unknown;
      const valid = batchValidate(body, this.terminalId);
      return { ok: true, value: await batchStore(this.db, valid, this.vault, this.nowMs()) };
    } catch (error) {
      return refusal(error);
    }
  }

  async getParams(): Promise<DepotResult<DepotParams | null>> {
    return { ok: true, value: null };
  }

  async postStatus(status: DepotStatus): Promise<DepotResult<void>> {
    try {
      await statusStore(this.db, statusValidate(status, this.terminalId), this.nowMs());
      return { ok: true, value: undefined };
    } catch (error) {
      return refusal(error);
    }
  }
}

function refusal(error: unknown): DepotResult<never> {
  if (error instanceof BatchError) {
    return error.code === 'bad-batch'
      ? { ok: false, error: 'bad-request', httpStatus: 400, detail: error.message }
      : { ok: false, error: 'forbidden', httpStatus: 403, detail: error.message };
  }
  if (error instanceof FieldError) {
    return { ok: false, error: 'bad-request', httpStatus: 400,
      detail: `${error.field}: ${error.reason}` };
  }
  if (error instanceof DepotStoreError) {
    return { ok: false, error: 'unavailable', httpStatus: 503, detail: 'store-unavailable' };
  }
  throw error;
}
