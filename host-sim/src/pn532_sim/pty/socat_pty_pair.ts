// Starts and stops a socat pty pair: two linked pseudo-terminals with stable symlink names.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** A running socat with its two ends. */
export interface SocatPtyPair {
  /** Symlink of the end the host (our driver, libnfc) opens. */
  readonly hostPath: string;
  /** Symlink of the end the emulator opens. */
  readonly devicePath: string;
  /** socat's process id (for logs; `close` is the way to stop it). */
  readonly pid: number;
  /** socat's stderr so far (-d -d notices), for diagnostics. */
  log(): string;
  /** Resolves when socat has exited: stopped by `close`, or on its own (killed, crashed). */
  readonly exited: Promise<void>;
  /** Stops socat (SIGTERM, then SIGKILL after `graceMs`) and removes the links. Never throws. */
  close(): Promise<void>;
}

/** Options of `startSocatPtyPair`; every field explicit. */
export interface SocatPtyPairOptions {
  /** Directory for the two symlinks (a per-test temp dir). */
  readonly dir: string;
  /** Give up when socat has not reported its transfer loop within this time, ms. */
  readonly startTimeoutMs: number;
  /** Time between SIGTERM and SIGKILL on close, ms. */
  readonly graceMs: number;
}

/** True when a `socat` binary runs on this machine. */
export function socatAvailable(): boolean {
  const r = spawnSync('socat', ['-V'], { stdio: 'ignore' });
  return r.status === 0;
}

/**
 * Spawns `socat -d -d pty,raw,echo=0,link=<dir>/host pty,raw,echo=0,link=<dir>/device` and
 * waits for "starting data transfer loop", after which both links exist. `raw,echo=0` on both
 * ends keeps every byte value intact (pn532.md §7.5 item 11). Throws when socat is missing,
 * exits early or does not start in time (the process is killed first).
 */
export async function startSocatPtyPair(options: SocatPtyPairOptions): Promise<SocatPtyPair> {
  const hostPath = path.join(options.dir, 'host');
  const devicePath = path.join(options.dir, 'device');
  const child = spawn(
    'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`],
    // Its own process group: a Ctrl-C at the terminal reaches the simulator only, which
    // finishes the tap under way on this pty and then stops socat itself (stop()).
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr += text;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  try {
    await waitForTransferLoop(child, () => stderr, options.startTimeoutMs);
  } catch (err) {
    await stop(child, exited, options.graceMs);
    throw err;
  }
  if (pid === undefined || !fs.existsSync(hostPath) || !fs.existsSync(devicePath)) {
    await stop(child, exited, options.graceMs);
    throw new Error(`socat started without its links: ${stderr}`);
  }
  return {
    hostPath,
    devicePath,
    pid,
    log: () => stderr,
    exited,
    close: async () => {
      await stop(child, exited, options.graceMs);
      for (const p of [hostPath, devicePath]) fs.rmSync(p, { force: true });
    },
  };
}

function waitForTransferLoop(
  child: ChildProcess,
  stderr: () => string,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`socat did not start: ${stderr()}`)),
      timeoutMs,
    );
    const onData = (): void => {
      if (stderr().includes('starting data transfer loop')) finish(undefined);
    };
    const onExit = (code: number | null): void =>
      finish(new Error(`socat exited ${code}: ${stderr()}`));
    const onError = (err: Error): void => finish(err);
    function finish(err: Error | undefined): void {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (err === undefined) resolve();
      else reject(err);
    }
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
    onData();
  });
}

async function stop(child: ChildProcess, exited: Promise<void>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'grace'>((resolve) => {
    timer = setTimeout(() => resolve('grace'), graceMs);
  });
  const outcome = await Promise.race([exited.then(() => 'exited' as const), grace]);
  clearTimeout(timer);
  if (outcome === 'grace') {
    child.kill('SIGKILL');
    await exited;
  }
}
