// The fleet's terminals: who may upload, identified by the SHA-256 fingerprint of the client
// certificate the fleet CA issued (depot README, "The validator ↔ depot contract").

import { X509Certificate } from 'node:crypto';
import type { FieldPattern } from '../../../firmware/src/app/params/json_fields.js';
import { ID_PATTERN } from '../../../firmware/src/app/params/field_patterns.js';
import type { DepotDb } from '../store/depot_db.js';

export type TerminalStatus = 'active' | 'revoked';

export interface TerminalRow {
  readonly terminalId: string;
  readonly certSha256: string;
  readonly routeId: string | null;
  readonly status: TerminalStatus;
  readonly registeredAtMs: number;
}

/**
 * A registry change refused: the id or the certificate is already registered, or unknown, or
 * the id is not one a validator can hold (`bad-id`).
 */
export class TerminalRegistryError extends Error {
  constructor(
    readonly code: 'terminal-exists' | 'cert-registered' | 'terminal-unknown' | 'bad-cert'
      | 'bad-id',
    message: string,
  ) {
    super(message);
    this.name = 'TerminalRegistryError';
  }
}

/**
 * Terminal ids: those a validator's terminal.json can hold (ID_PATTERN, 1 to 32 of A-Z a-z
 * 0-9 . - _). The depot once took any 64 printable characters, so it could register a
 * terminal no validator could be configured as.
 */
export const TERMINAL_ID_PATTERN: FieldPattern = ID_PATTERN;

/** SHA-256 of a certificate's DER, lower-case hex without colons. Throws bad-cert. */
export function certSha256(pem: string | Buffer): string {
  try {
    return new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
  } catch (error) {
    throw new TerminalRegistryError('bad-cert', `not a PEM certificate: ${String(error)}`);
  }
}

/** Extended key usage a TLS client certificate needs (RFC 5280 4.2.1.12). */
const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * SHA-256 of a terminal's client certificate (as certSha256), once it is one a terminal can
 * connect with at `nowMs`: inside its validity dates (the TLS handshake refuses it outside
 * them, so registering it would only look done), not a CA certificate, usable as a TLS
 * client, and issued by `fleetCa` when that is given. Throws bad-cert.
 */
export function terminalCertSha256(pem: string | Buffer, nowMs: number,
  fleetCa: X509Certificate | null = null): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (error) {
    throw new TerminalRegistryError('bad-cert', `not a PEM certificate: ${String(error)}`);
  }
  if (Date.parse(cert.validTo) <= nowMs) {
    throw new TerminalRegistryError('bad-cert', `the certificate expired on ${cert.validTo}`);
  }
  if (Date.parse(cert.validFrom) > nowMs) {
    throw new TerminalRegistryError('bad-cert',
      `the certificate is not valid before ${cert.validFrom}`);
  }
  if (cert.ca) {
    throw new TerminalRegistryError('bad-cert', 'a CA certificate, not a terminal\'s');
  }
  // Registered, such a certificate never passes the depot's handshake (the terminal never
  // uploads, and the operator was told 'registered').
  const usages = cert.keyUsage;
  if (usages !== undefined && !usages.includes(EKU_CLIENT_AUTH)) {
    throw new TerminalRegistryError('bad-cert',
      'not a client certificate (its extended key usage lacks clientAuth)');
  }
  if (fleetCa !== null && !(cert.checkIssued(fleetCa) && cert.verify(fleetCa.publicKey))) {
    throw new TerminalRegistryError('bad-cert',
      `not issued by the fleet CA (issuer: ${cert.issuer.replaceAll('\n', ', ')})`);
  }
  return cert.fingerprint256.replaceAll(':', '').toLowerCase();
}

function rowOf(row: Readonly<Record<string, unknown>>): TerminalRow {
  return {
    terminalId: String(row['terminal_id']),
    certSha256: String(row['cert_sha256']),
    routeId: row['route_id'] === null ? null : String(row['route_id']),
    status: row['status'] === 'revoked' ? 'revoked' : 'active',
    registeredAtMs: Number(row['registered_at_ms']),
  };
}

/** The terminal holding certificate `sha256`, or null. Rejects with DepotStoreError. */
export async function terminalByCert(db: DepotDb, sha256: string): Promise<TerminalRow | null> {
  const rows = await db.query('SELECT * FROM terminals WHERE cert_sha256 = $1', [sha256]);
  return rows[0] === undefined ? null : rowOf(rows[0]);
}

/** The terminal `terminalId`, or null. Rejects with DepotStoreError. */
export async function terminalById(db: DepotDb, terminalId: string)
  : Promise<TerminalRow | null> {
  const rows = await db.query('SELECT * FROM terminals WHERE terminal_id = $1', [terminalId]);
  return rows[0] === undefined ? null : rowOf(rows[0]);
}

/** Every terminal, by id. */
export async function terminalList(db: DepotDb): Promise<TerminalRow[]> {
  const rows = await db.query('SELECT * FROM terminals ORDER BY terminal_id');
  return rows.map(rowOf);
}

/**
 * Registers `terminalId` with the certificate fingerprint `sha256`. Rejects with
 * TerminalRegistryError (terminal-exists, cert-registered) or DepotStoreError.
 */
export async function terminalAdd(db: DepotDb, terminal: {
  terminalId: string; certSha256: string; routeId: string | null; nowMs: number;
}): Promise<void> {
  if (!TERMINAL_ID_PATTERN.re.test(terminal.terminalId)) {
    throw new TerminalRegistryError('bad-id', `terminal id must be `
      + `${TERMINAL_ID_PATTERN.says}, got ${JSON.stringify(terminal.terminalId)}`);
  }
  await db.transaction(async (tx) => {
    const byId = await tx.query('SELECT 1 AS x FROM terminals WHERE terminal_id = $1',
      [terminal.terminalId]);
    if (byId.length > 0)
      throw new TerminalRegistryError('terminal-exists', `terminal ${terminal.terminalId} is `
        + 'already registered (revoke it and register a new id)');
    if (await terminalByCert(tx, terminal.certSha256) !== null)
      throw new TerminalRegistryError('cert-registered', 'this certificate is already '
        + 'registered to another terminal');
    await tx.run(`INSERT INTO terminals (terminal_id, cert_sha256, route_id, status,
      registered_at_ms) VALUES ($1, $2, $3, 'active', $4)`,
    [terminal.terminalId, terminal.certSha256, terminal.routeId, terminal.nowMs]);
  });
}

/** Revokes `terminalId`: its certificate is refused from now on. Rejects terminal-unknown. */
export async function terminalRevoke(db: DepotDb, terminalId: string): Promise<void> {
  const changed = await db.run("UPDATE terminals SET status = 'revoked' WHERE terminal_id = $1",
    [terminalId]);
  if (changed === 0)
    throw new TerminalRegistryError('terminal-unknown', `no terminal ${terminalId}`);
}
