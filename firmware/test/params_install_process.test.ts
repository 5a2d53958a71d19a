// `shuaka params install` from the outside, where it could leave a validator worse off:
// - below the active set: the floor can fall behind the root (a data partition restored from
//   a backup brings back an older, valid floor file; a technician removes it; a power cut
//   between the switch and the floor write). The active slot's own signed manifest still
//   names a higher version: installing below it is a rollback (exit 3).
// - another fleet's deny list: a validator refuses a set whose deny list was made with another
//   deny key; an install that let it through would switch `active` to it and raise the floor,
//   so the next start finds a set it refuses and an older one below the floor: out of service
//   until a higher set is signed. The install checks what the validator will check: the key
//   in --deny-key, else STATE_DIR/deny.key (where `shuaka run` looks, docs/install.md).
//
// What is real: `node bin/shuaka.js` for install and run, the files on disk, the exit codes.
// Truth: the manifest in the slot `ROOT/active` names, read from disk here; for "the
// validator accepts it", the real `shuaka run` getting past its parameters to the reader
// (exit 3, --port names no device) instead of refusing (exit 1).

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
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
const EXIT_ROLLBACK = 3;
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
  dir = mkdtempSync(join(tmpdir(), 'shuaka-params-install-'));
  keys = generateKeyPairSync('ed25519');
  pubPath = join(dir, 'vendor.pub.pem');
  writeFileSync(pubPath, keys.publicKey.export({ type: 'spki', format: 'pem' }));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A signed set of `version` whose deny list (one card) is made with `denyKey`. */
async function writeSet(name: string, version: number, denyKey = TEST_DENY_KEY)
  : Promise<string> {
  const path = join(dir, name);
  const storage = await FileStorage.open(path, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version,
    terminal: { terminalId: 'BUS00042', lineId: `L${version}` },
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

/** Install with the fleet's deny key named. */
function install(state: string, source: string, root: string)
  : { code: number | null; out: string; err: string } {
  return shuaka('params', 'install', '--pub', pubPath, '--deny-key', writeTestDenyKey(dir),
    '--floor', state, source, root);
}

/** The version of the set `root/active` names, from its manifest on disk. */
function activeVersion(root: string): number {
  const slot = readFileSync(join(root, 'active'), 'utf8').trim();
  const manifest = JSON.parse(readFileSync(join(root, slot, 'manifest.json'), 'utf8')) as {
    version: number;
  };
  return manifest.version;
}

/** The real validator's start on `root` with the fleet key in `state`: 3 = reached the reader. */
function validatorStart(root: string, state: string): { code: number | null; err: string } {
  return shuaka('run', '--port', join(dir, 'no-tty'), '--params', root,
    '--params-pub', pubPath, '--journal', state);
}

describe('the validator takes only a public key as --params-pub', () => {
  it('privateSigningKeyGivenAsPub_startRefusedExit1_saysWhy', async () => {
    const v1 = await writeSet('v1', 1);
    const state = join(dir, 'journal-private-pub');
    const root = join(dir, 'params-private-pub');
    expect(install(state, v1, root).code).toBe(0);
    writeTestDenyKey(state);
    // The control: the public key reaches the reader (exit 3: no such port).
    const control = validatorStart(root, state);
    expect(control.code, control.err).toBe(3);
    const privatePath = join(dir, 'vendor.key.pem');
    writeFileSync(privatePath, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const started = shuaka('run', '--port', join(dir, 'no-tty'), '--params', root,
      '--params-pub', privatePath, '--journal', state);
    expect(started.code, started.err).toBe(1);
    expect(started.err).toContain(`parameter public key ${privatePath}: a private key, not `
      + 'the public key');
  }, 120_000);
});

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

  it('aRootUnderProc_endsAtOnce_exit1_insteadOfSpinning', async () => {
    // mkdir answers ENOENT under an existing /proc parent; node's recursive mkdir retried it
    // for ever at full CPU (hal/src/fs/mkdir_parents.ts).
    const v1 = await writeSet('v1', 1);
    const refused = install(join(dir, 'journal'), v1, '/proc/shuaka-x/root');
    expect(refused.code, refused.err).toBe(1);
    expect(refused.err).toMatch(/ENOENT/);
  }, 60_000);
});

describe('a set file that is a device or a pipe', () => {
  // readFile on a link to /dev/zero grew `params verify` to 6.9 GB in 30 s; on a FIFO it
  // waited for a writer for ever. A downloaded set or an SD card can hold either.
  it('linkToDevZero_orFifo_isRefusedAtOnce_byVerifyInstallAndTheValidator_exit1', async () => {
    const state = join(dir, 'journal');
    const root = join(dir, 'params');
    expect(install(state, await writeSet('v1', 1), root).code).toBe(0);
    for (const kind of ['zero', 'fifo'] as const) {
      const bad = await writeSet(`v2-${kind}`, 2);
      rmSync(join(bad, 'fares.json'));
      if (kind === 'zero') symlinkSync('/dev/zero', join(bad, 'fares.json'));
      else execFileSync('mkfifo', [join(bad, 'fares.json')]);
      const started = Date.now();
      const verified = shuaka('params', 'verify', '--pub', pubPath, bad);
      expect(verified.code, kind).toBe(1);
      expect(verified.out + verified.err, kind).toMatch(/not a regular file.*fares\.json/);
      const installed = install(state, bad, root);
      expect(installed.code, kind).toBe(1);
      expect(installed.err, kind).toMatch(/not a regular file/);
      expect(activeVersion(root)).toBe(1);
      expect(Date.now() - started, kind).toBeLessThan(20_000);
    }
    // The validator's start-up load, on an active slot whose file became such a link.
    writeTestDenyKey(state);
    const active = join(root, readFileSync(join(root, 'active'), 'utf8').trim(), 'fares.json');
    rmSync(active);
    symlinkSync('/dev/zero', active);
    const start = validatorStart(root, state);
    expect(start.code, start.err).toBe(1);
    expect(start.err).toMatch(/not a regular file/);
  }, 120_000);
});

describe('params install checks the fleet deny key as the validator does', () => {
  it('withoutDenyKeyFlag_usesStateDirDenyKey_refusesAnotherFleetsList_exit1', async () => {
    const state = join(dir, 'journal');
    mkdirSync(state);
    writeTestDenyKey(state);
    const root = join(dir, 'params');
    const v1 = await writeSet('v1', 1);
    expect(shuaka('params', 'install', '--pub', pubPath, '--floor', state, v1, root).code)
      .toBe(0);
    expect(validatorStart(root, state).code).toBe(EXIT_READER);
    const floorBefore = readFileSync(join(state, PARAMS_FLOOR_FILE));
    const v2 = await writeSet('v2', 2, OTHER_DENY_KEY);
    const refused = shuaka('params', 'install', '--pub', pubPath, '--floor', state, v2, root);
    expect(refused.code, refused.out).toBe(1);
    expect(refused.err).toMatch(/deny_list\.bin: keyId: made with deny key [0-9A-F]{16}/);
    // Nothing switched, the floor not raised: the validator still starts with version 1.
    expect(readFileSync(join(root, 'active'), 'utf8').trim()).toBe('slot_a');
    expect(readFileSync(join(state, PARAMS_FLOOR_FILE))).toEqual(floorBefore);
    const start = validatorStart(root, state);
    expect(start.code, start.err).toBe(EXIT_READER);
  }, 120_000);

  it('withoutDenyKeyFlagOrStateDirKey_isRefusedExit1_andWritesNothing', async () => {
    const state = join(dir, 'journal');
    const root = join(dir, 'params');
    const v1 = await writeSet('v1', 1);
    const refused = shuaka('params', 'install', '--pub', pubPath, '--floor', state, v1, root);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/deny key .*deny\.key.*missing/i);
    expect(refused.err).toMatch(/--deny-key/);
    expect(() => readFileSync(join(root, 'active'))).toThrow(/ENOENT/);
    expect(() => readFileSync(join(state, PARAMS_FLOOR_FILE))).toThrow(/ENOENT/);
    // With the key named explicitly the same set installs.
    expect(install(state, v1, root).code).toBe(0);
  }, 120_000);
});
