// The fleet against a real depot process: `shuaka depot init`, `terminal add` (one identity per
// bus), `depot serve` on SQLite, then `shuaka sim --fleet 2 --depot URL` as subprocesses over
// mutual TLS on loopback with outages. Truth: the depot's own database holds, per terminal,
// exactly as many taps as that bus's journal exported, and every journal ends acknowledged.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const IDS = ['SIM00001', 'SIM00002'];

let dir = '';
let serve: ChildProcess | null = null;
let port = 0;

function shuaka(...args: string[]): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8',
    timeout: 240_000 });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-fleet-depot-'));
  expect(shuaka('depot', 'init', '--dir', join(dir, 'depot')).code).toBe(0);
  for (const id of IDS) {
    const added = shuaka('depot', 'terminal', 'add', '--db', join(dir, 'depot.db'), '--id', id,
      '--dir', join(dir, 'depot'), '--out', join(dir, 'ids', id));
    expect(added.code, added.err).toBe(0);
    copyFileSync(join(dir, 'depot', 'ca.pem'), join(dir, 'ids', id, 'ca.pem'));
  }
  const child = spawn(process.execPath, [BIN, 'depot', 'serve', '--dir', join(dir, 'depot'),
    '--db', join(dir, 'depot.db'), '--port', '0', '--host', '127.0.0.1'], { cwd: ROOT });
  serve = child;
  port = await new Promise<number>((resolve, reject) => {
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
}, 300_000);

afterAll(async () => {
  if (serve !== null && serve.exitCode === null) {
    const exited = new Promise((resolve) => serve?.once('exit', resolve));
    serve.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('fleet against a real depot process', () => {
  it('twoBusesWithOutages_depotHoldsEveryExportedRecord_journalsAcknowledged', () => {
    const run = shuaka('sim', '--fleet', '2', '--riders', '8', '--seed', '3',
      '--depot', `https://localhost:${port}`, '--depot-identities', join(dir, 'ids'));
    expect(run.code, `${run.out}\n${run.err}`).toBe(0);
    expect(run.out).toContain('backlog left: 0 records');
    const db = new Database(join(dir, 'depot.db'), { readonly: true });
    try {
      for (const id of IDS) {
        const line = run.out.split('\n').find((l) => l.startsWith(`${id}:`)) ?? '';
        const exported = Number(/, (\d+) records to upload/.exec(line)?.[1] ?? -1);
        const row = db.prepare('SELECT count(*) AS n FROM taps WHERE terminal_id = ?')
          .get(id) as { n: number };
        expect(row.n, line).toBe(exported);
        expect(exported).toBeGreaterThan(0);
      }
    } finally {
      db.close();
    }
  }, 300_000);
});
