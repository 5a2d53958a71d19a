// The fleet's certificates, made with the openssl command line: a fleet CA, the depot's
// server certificate and each terminal's client key and certificate (EC P-256, X.509 v3).

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** openssl failed or is missing; `detail` is its stderr. */
export class CertToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertToolError';
  }
}

/** Files of a CA: `ca.pem` (given to every party) and `ca.key` (kept by the depot operator). */
export interface FleetCa {
  readonly certPath: string;
  readonly keyPath: string;
}

export const CERT_DAYS_DEFAULT = 825;
const CA_DAYS = 3650;

/**
 * Runs openssl in our own working directory: the paths it is given are the operator's, and a
 * relative one (`--dir depot`) means what it means to them.
 */
function openssl(args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const err = error as { code?: string; stderr?: Buffer };
    if (err.code === 'ENOENT') throw new CertToolError('openssl is not installed');
    throw new CertToolError(`openssl ${args[0] ?? ''} failed: ${String(err.stderr ?? error)}`);
  }
}

/**
 * Creates `ca.pem` + `ca.key` in `dir` (CN `name`); refuses to overwrite an existing CA.
 * Throws CertToolError.
 */
export function fleetCaCreate(dir: string, name: string): FleetCa {
  const ca = { certPath: join(dir, 'ca.pem'), keyPath: join(dir, 'ca.key') };
  if (existsSync(ca.certPath) || existsSync(ca.keyPath))
    throw new CertToolError(`a CA already exists in ${dir}`);
  openssl(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', ca.keyPath, '-out', ca.certPath, '-days', String(CA_DAYS),
    '-subj', `/CN=${subjectText(name)}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return ca;
}

/** `dir`'s CA files, checked to exist. */
export function fleetCaOpen(dir: string): FleetCa {
  const ca = { certPath: join(dir, 'ca.pem'), keyPath: join(dir, 'ca.key') };
  if (!existsSync(ca.certPath) || !existsSync(ca.keyPath))
    throw new CertToolError(`no fleet CA in ${dir} (ca.pem and ca.key)`);
  return ca;
}

function subjectText(name: string): string {
  if (!/^[A-Za-z0-9 ._-]{1,64}$/.test(name))
    throw new CertToolError(`certificate name must be 1..64 of A-Z a-z 0-9 space . _ -`);
  return name;
}

/** What a leaf certificate is for: the depot's HTTPS server or a terminal's client side. */
export interface LeafRequest {
  readonly role: 'server' | 'client';
  readonly commonName: string;
  /** Server only: DNS names and IP addresses the depot answers on. */
  readonly hosts?: readonly string[];
  readonly days?: number;
}

/**
 * Issues a key and certificate signed by `ca`, written to `keyPath` (mode 0600) and
 * `certPath`. Throws CertToolError.
 */
export function leafIssue(ca: FleetCa, request: LeafRequest, keyPath: string,
  certPath: string): void {
  const work = mkdtempSync(join(tmpdir(), 'shuaka-cert-'));
  try {
    const hosts = request.hosts ?? [];
    const names = hosts.map((h) => (/^[0-9.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`));
    const ext = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature',
      `extendedKeyUsage=${request.role === 'server' ? 'serverAuth' : 'clientAuth'}`,
      ...(names.length > 0 ? [`subjectAltName=${names.join(',')}`] : [])];
    writeFileSync(join(work, 'ext.cnf'), `${ext.join('\n')}\n`);
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(work, 'leaf.key'), '-out', join(work, 'leaf.csr'),
      '-subj', `/CN=${subjectText(request.commonName)}`]);
    openssl(['x509', '-req', '-in', join(work, 'leaf.csr'), '-CA', ca.certPath, '-CAkey',
      ca.keyPath, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      '-days', String(request.days ?? CERT_DAYS_DEFAULT), '-sha256',
      '-extfile', join(work, 'ext.cnf'), '-out', join(work, 'leaf.pem')]);
    writeFileSync(keyPath, readFileSync(join(work, 'leaf.key')), { mode: 0o600 });
    writeFileSync(certPath, readFileSync(join(work, 'leaf.pem')));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
