// The fleet against a real depot process: `shuaka depot init`, `terminal add` (one identity per
// bus), `depot serve` on SQLite, then `shuaka sim --fleet 2 --depot URL` as subprocesses over
// mutual TLS on loopback with outages. Truth: the depot's own database holds, per terminal,
// exactly as many taps as that bus's journal exported, and every journal ends acknowledged.

import { spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depotServeStart, depotServeStop } from '../../../test_support/depot_serve_process.js';

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
  ({ child: serve, port } = await depotServeStart(BIN, join(dir, 'depot'), join(dir, 'depot.db'), ROOT));
}, 300_000);

afterAll(async () => {
  await depotServeStop(serve);
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
