// A test fleet CA on the fly: the depot's server certificate and one client identity per
// terminal, made with the openssl tool (Node can verify X.509 but not issue it).
//
// The layout matches `shuaka run --depot-identity DIR`: each terminal's directory holds
// terminal.key.pem, terminal.crt.pem and ca.crt.pem. Keys are EC P-256 (fast to make and to
// handshake); certificates carry the usages TLS checks (serverAuth, clientAuth).

import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where a made fleet's files are. */
export interface FleetTls {
  readonly caCertPath: string;
  readonly caKeyPath: string;
  readonly serverKeyPath: string;
  readonly serverCertPath: string;
  /** terminalId → identity directory. */
  readonly terminalDirs: ReadonlyMap<string, string>;
}

const DAYS = '3650';

/**
 * Makes a CA, a server certificate for localhost and 127.0.0.1, and client identities for
 * `terminalIds` under `dir`. Throws when openssl is missing or fails (its stderr included).
 */
export async function fleetTlsCreate(
  dir: string,
  terminalIds: readonly string[],
): Promise<FleetTls> {
  await mkdir(dir, { recursive: true });
  const caKeyPath = join(dir, 'ca.key.pem');
  const caCertPath = join(dir, 'ca.crt.pem');
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', caKeyPath, '-out', caCertPath, '-days', DAYS,
    '-subj', '/CN=shuaka test fleet CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const ca = { caKeyPath, caCertPath };
  const server = await issue(dir, 'server', 'localhost', ca,
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  const terminalDirs = new Map<string, string>();
  for (const terminalId of terminalIds) {
    const terminalDir = join(dir, 'terminals', terminalId);
    await mkdir(terminalDir, { recursive: true });
    const made = await issue(terminalDir, 'terminal', terminalId, ca,
      'extendedKeyUsage=clientAuth\n');
    await run('cp', [caCertPath, join(terminalDir, 'ca.crt.pem')]);
    terminalDirs.set(terminalId, made.dir);
  }
  return { ...ca, serverKeyPath: server.keyPath, serverCertPath: server.certPath, terminalDirs };
}

async function issue(
  dir: string,
  name: string,
  commonName: string,
  ca: { caKeyPath: string; caCertPath: string },
  extensions: string,
): Promise<{ dir: string; keyPath: string; certPath: string }> {
  const keyPath = join(dir, `${name}.key.pem`);
  const certPath = join(dir, `${name}.crt.pem`);
  const csrPath = join(dir, `${name}.csr.pem`);
  const extPath = join(dir, `${name}.ext`);
  await writeFile(extPath, extensions);
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyPath, '-out', csrPath, '-subj', `/CN=${commonName}`]);
  await openssl(['x509', '-req', '-in', csrPath, '-CA', ca.caCertPath, '-CAkey', ca.caKeyPath,
    '-set_serial', `0x${Buffer.from(commonName).toString('hex').slice(0, 30)}`, '-out', certPath,
    '-days', DAYS, '-extfile', extPath]);
  return { dir, keyPath, certPath };
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run('openssl', [...args], { timeout: 30_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0] ?? ''} failed: ${String(error)} ${stderr}`.trim());
  }
}
