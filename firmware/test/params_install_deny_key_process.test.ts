// `shuaka params install` and the fleet deny key, from the outside. A validator refuses a set
// whose deny list was made with another deny key; an install that let such a set through
// would switch `active` to it and raise the floor, so the next start finds a set it refuses
// and an older one below the floor: out of service until a higher set is signed. The install
// must check what the validator will check: the key in --deny-key, else STATE_DIR/deny.key
// (where `shuaka run` looks by default, docs/install.md).
//
// What is real: `node bin/shuaka.js` for install and run, the files on disk, the exit codes;
// the truth for "the validator accepts it" is the real `shuaka run` getting past its
// parameters to the reader (exit 3, --port names no device) instead of refusing (exit 1).

import { spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { testPki } from '../../host-sim/src/pki/test_pki.js';
import { DenyKey } from '../src/app/deny_list/deny_key.js';
import { PARAMS_FLOOR_FILE } from '../src/app/params/params_floor.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { TEST_DENY_KEY, writeTestDenyKey } from './deny_key_fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const EXIT_READER = 3;

/** Another fleet's deny key (a second depot, or a key rotated on one side only). */
const OTHER_DENY_KEY = DenyKey.fromBytes(
  new Uint8Array(createHash('sha256').update('another fleet deny key').digest()));

let dir = '';
let keys: { privateKey: KeyObject; publicKey: KeyObject };
let pubPath = '';

beforeAll(() => {
  const warm = spawnSync(process.execPath, [BIN, 'params', '--help'], { cwd: ROOT });
  expect(warm.status, warm.stderr.toString()).toBe(0);
}, 300_000);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-install-deny-'));
  keys = generateKeyPairSync('ed25519');
  pubPath = join(dir, 'vendor.pub.pem');
  writeFileSync(pubPath, keys.publicKey.export({ type: 'spki', format: 'pem' }));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A signed set of `version` whose deny list (one card) is made with `denyKey`. */
async function writeSet(name: string, version: number, denyKey: DenyKey): Promise<string> {
  const path = join(dir, name);
  const storage = await FileStorage.open(path, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version,
    terminal: { terminalId: 'BUS00042', lineId: 'L42' },
    fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex),
    caRevocations: [],
    denyList: [{ pan: '6231000000000000002', psn: 0 }],
    signingKey: keys.privateKey,
    denyKey,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  return path;
}

function shuaka(...args: string[]): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

/** The real validator's start on `root` with the fleet key in `state`: 3 = reached the reader. */
function validatorStart(root: string, state: string): { code: number | null; err: string } {
  return shuaka('run', '--port', join(dir, 'no-tty'), '--params', root,
    '--params-pub', pubPath, '--journal', state);
}

describe('params install checks the fleet deny key as the validator does', () => {
  it('withoutDenyKeyFlag_usesStateDirDenyKey_refusesAnotherFleetsList_exit1', async () => {
    const state = join(dir, 'journal');
    mkdirSync(state);
    writeTestDenyKey(state);
    const root = join(dir, 'params');
    const v1 = await writeSet('v1', 1, TEST_DENY_KEY);
    expect(shuaka('params', 'install', '--pub', pubPath, '--floor', state, v1, root).code)
      .toBe(0);
    expect(validatorStart(root, state).code).toBe(EXIT_READER);
    const floorBefore = readFileSync(join(state, PARAMS_FLOOR_FILE));
    const v2 = await writeSet('v2', 2, OTHER_DENY_KEY);
    const install = shuaka('params', 'install', '--pub', pubPath, '--floor', state, v2, root);
    expect(install.code, install.out).toBe(1);
    expect(install.err).toMatch(/deny_list\.bin: keyId: made with deny key [0-9A-F]{16}/);
    // Nothing switched, the floor not raised: the validator still starts with version 1.
    expect(readFileSync(join(root, 'active'), 'utf8').trim()).toBe('slot_a');
    expect(readFileSync(join(state, PARAMS_FLOOR_FILE))).toEqual(floorBefore);
    const start = validatorStart(root, state);
    expect(start.code, start.err).toBe(EXIT_READER);
  }, 120_000);

  it('withoutDenyKeyFlagOrStateDirKey_isRefusedExit1_andWritesNothing', async () => {
    const state = join(dir, 'journal');
    const root = join(dir, 'params');
    const v1 = await writeSet('v1', 1, TEST_DENY_KEY);
    const install = shuaka('params', 'install', '--pub', pubPath, '--floor', state, v1, root);
    expect(install.code).toBe(1);
    expect(install.err).toMatch(/deny key .*deny\.key.*missing/i);
    expect(install.err).toMatch(/--deny-key/);
    expect(() => readFileSync(join(root, 'active'))).toThrow(/ENOENT/);
    expect(() => readFileSync(join(state, PARAMS_FLOOR_FILE))).toThrow(/ENOENT/);
    // With the key named explicitly the same set installs.
    const keyed = shuaka('params', 'install', '--pub', pubPath, '--floor', state,
      '--deny-key', writeTestDenyKey(dir), v1, root);
    expect(keyed.code, keyed.err).toBe(0);
  }, 120_000);
});
