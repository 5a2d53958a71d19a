// A private pcscd with vsmartcard's vpcd driver, for tests and `shuaka emu --psam`: its own
// reader.conf.d, its own vpcd ports and its own client socket, so runs in parallel never meet.
//
// pcscd 1.9 always puts its socket at /run/pcscd/pcscd.comm (PCSCLITE_CSOCK_NAME is read by the
// client library only), so the daemon runs in a private mount namespace (`unshare --mount`, or
// `--map-root-user` as well when we are not root) with a temporary directory bound over
// /run/pcscd (or over /run where /run/pcscd does not exist). Clients reach it with
// PCSCLITE_CSOCK_NAME set to the socket's real path.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's vsmartcard-vpcd puts the driver. */
export const VPCD_DRIVER_PATHS = [
  '/usr/lib/pcsc/drivers/serial/libifdvpcd.so',
  '/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so',
];
const PCSCD_PATHS = ['/usr/sbin/pcscd', '/usr/local/sbin/pcscd'];

/** What a private pcscd needs, or why it cannot run here. */
export type PcscStackCheck =
  | { readonly ok: true; readonly pcscd: string; readonly vpcdDriver: string }
  | { readonly ok: false; readonly missing: string };

/** Finds pcscd and the vpcd driver (Debian packages pcscd and vsmartcard-vpcd). */
export function checkPcscStack(): PcscStackCheck {
  const pcscd = PCSCD_PATHS.find((p) => existsSync(p));
  if (pcscd === undefined) return { ok: false, missing: 'pcscd (Debian package pcscd)' };
  const vpcdDriver = VPCD_DRIVER_PATHS.find((p) => existsSync(p));
  if (vpcdDriver === undefined) {
    return { ok: false, missing: 'libifdvpcd.so (Debian package vsmartcard-vpcd)' };
  }
  const unshare = spawnSync('unshare', ['--version'], { encoding: 'utf8' });
  if (unshare.status !== 0) return { ok: false, missing: 'unshare (util-linux)' };
  return { ok: true, pcscd, vpcdDriver };
}

/** A running private pcscd. */
export interface PrivatePcscd {
  /** The vpcd port of slot 0 (slot 1 listens on port + 1). */
  readonly port: number;
  /** Reader names of slot 0 and slot 1 as PC/SC lists them. */
  readonly readerNames: readonly [string, string];
  /** PCSCLITE_CSOCK_NAME for clients (pcsc_scan, scriptor, our binding). */
  readonly socketPath: string;
  /** process.env plus PCSCLITE_CSOCK_NAME. */
  readonly env: NodeJS.ProcessEnv;
  /** pcscd's log so far (stdout and stderr). */
  log(): string;
  /** Stops pcscd (SIGTERM, then SIGKILL after 3 s) and removes the temporary directory. */
  stop(): Promise<void>;
  /**
   * Stops pcscd, waits `downMs`, starts it again on the same socket and ports (the reader
   * vanishes from PC/SC and comes back). Throws Error when it is not ready within 10 s.
   */
  restart(downMs: number): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** Two free consecutive TCP ports (vpcd opens one per slot). Throws Error after 50 tries. */
async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    if ((await portFree(port)) && (await portFree(port + 1))) return port;
  }
  throw new Error('no two free consecutive TCP ports for vpcd');
}

function unshareArgs(): string[] {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return root ? ['--mount'] : ['--mount', '--map-root-user'];
}

function waitReady(child: ChildProcess, logs: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`pcscd not ready after ${timeoutMs} ms:\n${logs.join('')}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      logs.push(chunk.toString('utf8'));
      if (logs.join('').includes('daemon ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pcscd exited (${String(code)}) before ready:\n${logs.join('')}`));
    });
  });
}

/**
 * Starts pcscd with one vpcd reader named `friendlyName` (two slots). Throws Error when the
 * stack is missing (see `checkPcscStack`), when the namespace cannot be made, or when pcscd is
 * not ready within 10 s; the message carries pcscd's log.
 */
export async function startPrivatePcscd(friendlyName = 'Shuaka vpcd'): Promise<PrivatePcscd> {
  const stack = checkPcscStack();
  if (!stack.ok) throw new Error(`cannot start pcscd: missing ${stack.missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'shuaka-pcscd-'));
  const port = await freePortPair();
  const confDir = join(dir, 'reader.conf.d');
  const runDir = join(dir, 'run');
  mkdirSync(confDir);
  mkdirSync(runDir);
  writeFileSync(
    join(confDir, 'vpcd'),
    [
      `FRIENDLYNAME "${friendlyName}"`,
      `DEVICENAME   /dev/null:${port}`,
      `LIBPATH      ${stack.vpcdDriver}`,
      `CHANNELID    ${port}`,
      '',
    ].join('\n'),
  );
  const target = existsSync('/run/pcscd') ? '/run/pcscd' : '/run';
  const socketPath =
    target === '/run' ? join(runDir, 'pcscd', 'pcscd.comm') : join(runDir, 'pcscd.comm');
  const script = 'mount --bind "$0" "$1" || exit 97; exec "$2" --foreground --info -c "$3"';
  const spawnDaemon = (): ChildProcess =>
    spawn('unshare', [...unshareArgs(), 'sh', '-c', script, runDir, target, stack.pcscd, confDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  let child = spawnDaemon();
  const logs: string[] = [];
  const kill = async (): Promise<void> => {
    const running = child;
    if (running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((r) => running.once('exit', () => r()));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  const stop = async (): Promise<void> => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(child, logs, 10_000);
  } catch (error) {
    await stop();
    throw error;
  }
  const restart = async (downMs: number): Promise<void> => {
    await kill();
    await new Promise((r) => setTimeout(r, downMs));
    child = spawnDaemon();
    logs.length = 0;
    await waitReady(child, logs, 10_000);
  };
  return {
    port,
    readerNames: [`${friendlyName} 00 00`, `${friendlyName} 00 01`],
    socketPath,
    env: { ...process.env, PCSCLITE_CSOCK_NAME: socketPath },
    log: () => logs.join(''),
    stop,
    restart,
  };
}
