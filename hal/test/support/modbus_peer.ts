// Test support: an independent pymodbus RTU slave on one end of a socat pty pair.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import {
  externalToolsReady,
} from '../../../host-sim/src/pn532_sim/pty/external_tools.js';

const SCRIPT = fileURLToPath(new URL('./modbus_gate_slave.py', import.meta.url));
/** Debian's interpreter: python3-pymodbus installs into /usr/lib/python3/dist-packages. */
export const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * True when socat and Debian's pymodbus are here; under CI=true throws when they are not (a
 * skipped conformance test would hide a broken pipeline), elsewhere warns loudly.
 */
export function modbusPeerReady(context: string): boolean {
  if (!externalToolsReady(['socat'], context)) return false;
  const probe = spawnSync(DEBIAN_PYTHON, ['-c', 'import pymodbus, serial'], { stdio: 'ignore' });
  if (probe.status === 0) return true;
  const message = `${context}: SKIPPED because python3-pymodbus is missing (apt-get install ` +
    'python3-pymodbus)';
  if (process.env['CI'] === 'true') throw new Error(`${message}; CI requires it`);
  console.warn(`\n!!!!!!!! ${message}\n`);
  return false;
}

/** The running slave: send it commands, read the coils it holds. */
export interface PymodbusSlave {
  setDiscreteInput(address: number, value: 0 | 1): void;
  setInputRegister(address: number, value: number): void;
  /** The coils 0..2 as the slave holds them (its own view: the independent truth). */
  coils(): Promise<number[]>;
  stop(): Promise<void>;
}

/** Starts the slave on `path` with `unitId`; resolves once it prints "ready". */
export async function startPymodbusSlave(path: string, unitId: number): Promise<PymodbusSlave> {
  const child = spawn(DEBIAN_PYTHON, [SCRIPT, path, String(unitId)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  let partial = '';
  child.stdout?.on('data', (b: Buffer) => {
    partial += b.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  const nextLine = (prefix: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`pymodbus slave: no ${prefix}: ${stderr}`)),
        10_000);
      const look = (): void => {
        const at = lines.findIndex((l) => l.startsWith(prefix));
        if (at >= 0) {
          clearTimeout(timer);
          resolve(lines.splice(at, 1)[0] ?? '');
        } else waiters.push(look);
      };
      look();
    });
  await nextLine('ready');
  const send = (line: string): void => {
    child.stdin?.write(`${line}\n`);
  };
  return {
    setDiscreteInput: (a, v) => send(`di ${a} ${v}`),
    setInputRegister: (a, v) => send(`ir ${a} ${v}`),
    coils: async () => {
      send('co?');
      const line = await nextLine('co ');
      return line.slice(3).trim().split(' ').map(Number);
    },
    stop: () => stopChild(child),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
