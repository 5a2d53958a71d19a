// `shuaka depot serve` as a subprocess for tests: started on a free loopback port (it prints
// "listening https://HOST:PORT" once ready), stopped with SIGTERM, its documented graceful stop.

import { spawn, type ChildProcess } from 'node:child_process';

/** A running depot process and the port it bound. */
export interface DepotServeProcess {
  readonly child: ChildProcess;
  readonly port: number;
}

/** Starts `node BIN depot serve --dir DEPOTDIR --db DB --port 0` on 127.0.0.1 in `cwd`. */
export async function depotServeStart(
  bin: string,
  depotDir: string,
  db: string,
  cwd: string,
): Promise<DepotServeProcess> {
  const child = spawn(process.execPath, [bin, 'depot', 'serve', '--dir', depotDir, '--db', db,
    '--port', '0', '--host', '127.0.0.1'], { cwd });
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const match = /listening https:\/\/[^:]+:(\d+)/.exec(text);
      if (match !== null) resolve(Number(match[1]));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`depot serve exited ${code}: ${text}`)));
  });
  return { child, port };
}

/** Stops a depot started by depotServeStart (nothing when it never started or has exited). */
export async function depotServeStop(child: ChildProcess | null): Promise<void> {
  if (child === null || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}
