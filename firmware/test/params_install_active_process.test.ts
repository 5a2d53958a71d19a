// `shuaka params install` never puts a set below the one already active, whatever the floor
// file says. The floor can fall behind the root: a data partition restored from a backup
// brings back an older floor file (valid, its check value matches), a technician removes it,
// or a power cut fell between the switch and the floor write. The active slot's own signed
// manifest still names a higher version; installing below it is a rollback (exit 3).
//
// What is real: `node bin/shuaka.js params install` as a subprocess, the floor file copied
// back on disk as a restore would, the exit codes. The truth for what is active is the
// manifest in the slot `ROOT/active` names, read from disk here.

import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { testPki } from '../../host-sim/src/pki/test_pki.js';
import { PARAMS_FLOOR_FILE } from '../src/app/params/params_floor.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { TEST_DENY_KEY, writeTestDenyKey } from './deny_key_fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const EXIT_ROLLBACK = 3;

let dir = '';
let keys: { privateKey: KeyObject; publicKey: KeyObject };
let pubPath = '';

beforeAll(() => {
  const warm = spawnSync(process.execPath, [BIN, 'params', '--help'], { cwd: ROOT });
  expect(warm.status, warm.stderr.toString()).toBe(0);
}, 300_000);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-install-active-'));
  keys = generateKeyPairSync('ed25519');
  pubPath = join(dir, 'vendor.pub.pem');
  writeFileSync(pubPath, keys.publicKey.export({ type: 'spki', format: 'pem' }));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function writeSet(name: string, version: number): Promise<string> {
  const path = join(dir, name);
  const storage = await FileStorage.open(path, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version,
    terminal: { terminalId: 'BUS00042', lineId: `L${version}` },
    fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex),
    caRevocations: [],
    denyList: [],
    signingKey: keys.privateKey,
    denyKey: TEST_DENY_KEY,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  return path;
}

function install(state: string, source: string, root: string): {
  code: number | null; out: string; err: string;
} {
  const run = spawnSync(process.execPath, [BIN, 'params', 'install', '--pub', pubPath,
    '--deny-key', writeTestDenyKey(dir), '--floor', state, source, root],
  { cwd: dir, encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

/** The version of the set `root/active` names, from its manifest on disk. */
function activeVersion(root: string): number {
  const slot = readFileSync(join(root, 'active'), 'utf8').trim();
  const manifest = JSON.parse(readFileSync(join(root, slot, 'manifest.json'), 'utf8')) as {
    version: number;
  };
  return manifest.version;
}

describe('params install refuses a set below the active one', () => {
  it('restoredOlderFloorFile_olderSet_isRefusedExit3_activeKept', async () => {
    const v1 = await writeSet('v1', 1);
    const v2 = await writeSet('v2', 2);
    const state = join(dir, 'journal');
    const root = join(dir, 'params');
    expect(install(state, v1, root).code).toBe(0);
    const backup = join(dir, 'floor-backup.json');
    copyFileSync(join(state, PARAMS_FLOOR_FILE), backup);
    expect(install(state, v2, root).code).toBe(0);
    copyFileSync(backup, join(state, PARAMS_FLOOR_FILE));
    const older = install(state, v1, root);
    expect(older.code, older.out).toBe(EXIT_ROLLBACK);
    expect(older.err).toMatch(/version 1 is older than version 2, active in slot_b/);
    expect(activeVersion(root)).toBe(2);
  }, 120_000);

  it('floorFileRemoved_olderSet_isRefusedExit3_activeKept', async () => {
    const v1 = await writeSet('v1', 1);
    const v2 = await writeSet('v2', 2);
    const state = join(dir, 'journal');
    const root = join(dir, 'params');
    expect(install(state, v2, root).code).toBe(0);
    rmSync(join(state, PARAMS_FLOOR_FILE));
    const older = install(state, v1, root);
    expect(older.code, older.out).toBe(EXIT_ROLLBACK);
    expect(older.err).toMatch(/version 1 is older than version 2, active in slot_a/);
    expect(activeVersion(root)).toBe(2);
    // A higher set still installs.
    const v3 = await writeSet('v3', 3);
    expect(install(state, v3, root).code).toBe(0);
    expect(activeVersion(root)).toBe(3);
  }, 120_000);
});
