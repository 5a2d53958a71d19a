// `shuaka sim --fleet 2 --depot URL --params-key PUB` as a process against a real `shuaka depot
// serve` (SQLite): every bus installs the depot's published set at its first contact and
// reports it; with a key that did not sign the set every bus refuses it, keeps running its own,
// and the refusal reaches the depot's terminal management. Truth: the depot's own publication
// (`depot publish` output) and its terminal_status rows read back.

import { spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depotServeStart, depotServeStop } from '../../../test_support/depot_serve_process.js';

import { fleetBaseParamsWrite, fleetDenyKeyBytes } from '../../src/sim/fleet_params.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const SEED = Number(process.env['SHUAKA_SEED'] ?? 4);
const IDS = ['SIM00001', 'SIM00002'];

let dir = '';
let serve: ChildProcess | null = null;
let port = 0;
let published = 0;

function shuaka(...args: string[]): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8',
    timeout: 240_000 });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-fleet-params-'));
  const db = join(dir, 'depot.db');
  expect(shuaka('depot', 'init', '--dir', join(dir, 'depot')).code).toBe(0);
  // The fleet's deny key of the seed, which `sim --fleet --seed SEED` buses hold.
  writeFileSync(join(dir, 'depot', 'deny.key'), fleetDenyKeyBytes(SEED), { mode: 0o600 });
  for (const id of IDS) {
    const added = shuaka('depot', 'terminal', 'add', '--db', db, '--id', id,
      '--dir', join(dir, 'depot'), '--out', join(dir, 'ids', id));
    expect(added.code, added.err).toBe(0);
    copyFileSync(join(dir, 'depot', 'ca.pem'), join(dir, 'ids', id, 'ca.pem'));
  }
  for (const name of ['signer', 'stranger']) {
    const keys = generateKeyPairSync('ed25519');
    writeFileSync(join(dir, `${name}.key.pem`),
      keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, `${name}.pub.pem`),
      keys.publicKey.export({ type: 'spki', format: 'pem' }));
    if (name === 'signer') await fleetBaseParamsWrite(join(dir, 'base'), SEED, 2, keys.privateKey);
  }
  const out = shuaka('depot', 'publish', '--db', db, '--dir', join(dir, 'depot'), '--base',
    join(dir, 'base'), '--key', join(dir, 'signer.key.pem'));
  expect(out.code, out.err).toBe(0);
  published = (JSON.parse(out.out) as { version: number }).version;
  // The depot as published, before any bus: each fleet run gets its own copy. A second run's
  // new journals number from seq 1 again, which a depot holding the first run's records
  // refuses (409 seq-conflict, depot README).
  const clean = new Database(db);
  clean.exec(`VACUUM INTO '${join(dir, 'clean.db')}'`);
  clean.close();
  ({ child: serve, port } = await depotServeStart(BIN, join(dir, 'depot'), db, ROOT));
}, 300_000);

afterAll(async () => {
  await depotServeStop(serve);
  rmSync(dir, { recursive: true, force: true });
});

function fleet(key: string): { code: number | null; out: string; err: string } {
  return shuaka('sim', '--fleet', '2', '--riders', '6', '--seed', String(SEED),
    '--depot', `https://localhost:${port}`, '--depot-identities', join(dir, 'ids'),
    '--params-key', join(dir, key));
}

/** Stops the depot and serves a fresh copy of it as published, at `name`. */
async function depotFresh(name: string): Promise<void> {
  await depotServeStop(serve);
  copyFileSync(join(dir, 'clean.db'), join(dir, name));
  ({ child: serve, port } = await depotServeStart(BIN, join(dir, 'depot'), join(dir, name),
    ROOT));
}

function statusRows(name = 'depot.db'): unknown[] {
  const db = new Database(join(dir, name), { readonly: true });
  try {
    return db.prepare(`SELECT terminal_id, params_version, params_refused_version
      FROM terminal_status ORDER BY terminal_id`).all();
  } finally {
    db.close();
  }
}

describe(`fleet parameters down from a real depot (seed ${SEED})`, () => {
  it('signedSet_isInstalledByEveryBus_andReported', () => {
    const run = fleet('signer.pub.pem');
    expect(run.code, `${run.out}\n${run.err}`).toBe(0);
    for (const id of IDS) {
      expect(run.out.split('\n').find((l) => l.startsWith(`${id}:`))).toContain(
        `; params v${published}`);
    }
    expect(statusRows()).toEqual(IDS.map((id) => ({ terminal_id: id,
      params_version: published, params_refused_version: null })));
  }, 300_000);

  it('setSignedByAnotherKey_isRefusedByEveryBus_andTheRefusalReachesTheDepot', async () => {
    await depotFresh('depot2.db');
    const run = fleet('stranger.pub.pem');
    expect(run.code, `${run.out}\n${run.err}`).toBe(0);
    for (const id of IDS) {
      const line = run.out.split('\n').find((l) => l.startsWith(`${id}:`)) ?? '';
      expect(line).toMatch(new RegExp(`params v1 \\(refused v${published}: invalid`));
    }
    expect(statusRows('depot2.db')).toEqual(IDS.map((id) => ({ terminal_id: id, params_version: 1,
      params_refused_version: published })));
  }, 300_000);
  it('paramsKeyWithoutDepot_orUnreadable_isBadUsage', () => {
    const alone = shuaka('sim', '--fleet', '1', '--params-key', join(dir, 'signer.pub.pem'));
    expect(alone.code).toBe(2);
    expect(alone.err).toContain('--params-key needs --depot');
    const missing = fleet('nothing.pem');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--params-key');
  }, 120_000);
});
