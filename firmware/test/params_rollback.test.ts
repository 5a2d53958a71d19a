// Parameter rollback and power-safe install (issue 11 item 3), from the outside: the real
// `node bin/shuaka.js` for sign / verify / install / run exit codes, a power cut at every
// write point of an install, and the semantic refusals of a set's content.

import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { FieldError } from '../src/app/params/json_fields.js';
import { paramsContentParse } from '../src/app/params/params_files.js';
import { PARAMS_FLOOR_FILE, paramsFloorRead } from '../src/app/params/params_floor.js';
import { paramsBootLoad, type ParamsBootResult } from '../src/app/params/params_boot.js';
import { PARAMS_DISK } from '../src/app/params/params_disk.js';
import { paramsInstall } from '../src/app/params/params_install.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import type { FareParams, TerminalParams } from '../src/app/params/params_files.js';
import { TEST_DENY_KEY, writeTestDenyKey } from './deny_key_fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const VECTORS = join(ROOT, '..', 'shared', 'vectors', 'unionpay_capk.json');

let dir = '';
let keys: { privateKey: KeyObject; publicKey: KeyObject };
let keyPath = '';
let pubPath = '';

beforeAll(() => {
  // The bin rebuilds dist/ when a source is newer; later spawns then start at once.
  const warm = spawnSync(process.execPath, [BIN, 'params', '--help'], { cwd: ROOT });
  expect(warm.status, warm.stderr.toString()).toBe(0);
}, 300_000);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-rollback-'));
  keys = generateKeyPairSync('ed25519');
  keyPath = join(dir, 'vendor.key.pem');
  pubPath = join(dir, 'vendor.pub.pem');
  writeFileSync(keyPath, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(pubPath, keys.publicKey.export({ type: 'spki', format: 'pem' }));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function caKeysTlv(): string[] {
  const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as {
    keys: { index: string; source_tlv: string }[];
  };
  return file.keys.filter((k) => k.index !== '61').map((k) => k.source_tlv);
}

/** A complete signed set of `version` in a new directory `name`. */
async function writeSet(
  name: string,
  version: number,
  terminal: TerminalParams = { terminalId: 'T0001', lineId: 'L42' },
  fares: FareParams = DEFAULT_FARES,
): Promise<string> {
  const path = join(dir, name);
  const storage = await FileStorage.open(path, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version, terminal, fares, caKeysTlvHex: caKeysTlv(), caRevocations: [],
    denyList: [{ pan: '6231000000000000002', psn: 0 }], signingKey: keys.privateKey, denyKey: TEST_DENY_KEY,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  return path;
}

/** `shuaka params install` of `source` into `root`, with the test fleet's deny key. */
function install(state: string, source: string, root: string): ReturnType<typeof shuaka> {
  return shuaka('params', 'install', '--pub', pubPath, '--deny-key', writeTestDenyKey(dir),
    '--floor', state, source, root);
}

function shuaka(...args: string[]): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

describe('params rollback (subprocess)', () => {
  it('install_ofAnOlderSetAfterANewerOne_isRefusedExit3_andVerifyFloorToo', async () => {
    const v2 = await writeSet('v2', 2);
    const v1 = await writeSet('v1', 1);
    const root = join(dir, 'root');
    const state = join(dir, 'journal');
    const first = install(state, v2, root);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/installed version 2: active in slot_a/);
    const older = install(state, v1, root);
    expect(older.code).toBe(3);
    expect(older.err).toMatch(/version 1 is older than version 2, already installed/);
    const verify = shuaka('params', 'verify', '--pub', pubPath, '--floor', state, v1);
    expect(verify.code).toBe(3);
    // Deleting or replacing the parameter root does not reset the floor (it lives in state).
    rmSync(root, { recursive: true });
    const afresh = install(state, v1, root);
    expect(afresh.code).toBe(3);
    // Same version, other content: refused too; the very same set is a no-op.
    const other = await writeSet('v2b', 2, { terminalId: 'T0002', lineId: 'L42' });
    expect(shuaka('params', 'verify', '--pub', pubPath, '--floor', state, other).code).toBe(3);
    expect(shuaka('params', 'verify', '--pub', pubPath, '--floor', state, v2).code).toBe(0);
    // A mistyped floor directory is no "floor not set yet": the older set is not passed.
    const typo = shuaka('params', 'verify', '--pub', pubPath, '--floor', `${state}x`, v1);
    expect(typo.code).toBe(1);
    expect(typo.err).toBe(`REFUSED: --floor ${state}x is not a directory (a validator's `
      + 'journal directory)\n');
    // A missing source names it once, with nothing empty before it.
    const missing = install(state, join(dir, 'no-such-set'), root);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(new RegExp(`^REFUSED: ${join(dir, 'no-such-set')}: cannot list: `));
  });

  it('run_withAnOlderSetThanTheFloor_refusesToStart_andWritesNothing', async () => {
    const v3 = await writeSet('v3', 3);
    const v2 = await writeSet('v2', 2);
    const state = join(dir, 'journal');
    expect(install(state, v3, join(dir, 'root')).code).toBe(0);
    const floorBefore = readFileSync(join(state, PARAMS_FLOOR_FILE));
    const run = shuaka('run', '--port', join(dir, 'no-tty'), '--params', v2,
      '--params-pub', pubPath, '--journal', state, '--deny-key', writeTestDenyKey(dir));
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/refused: rollback: version 2 is older than version 3/);
    expect(readdirSync(state)).toEqual([PARAMS_FLOOR_FILE]);
    expect(readFileSync(join(state, PARAMS_FLOOR_FILE))).toEqual(floorBefore);
    // A newer set whose start fails later (no reader: exit 3) does not raise the floor either.
    const v4 = await writeSet('v4', 4);
    const later = shuaka('run', '--port', join(dir, 'no-tty'), '--params', v4,
      '--params-pub', pubPath, '--journal', state, '--deny-key', writeTestDenyKey(dir));
    expect(later.code).toBe(3);
    expect(later.err).toMatch(/cannot open serial port/);
    expect(readFileSync(join(state, PARAMS_FLOOR_FILE))).toEqual(floorBefore);
  });

  it('corruptFloor_isRefusedExit4_neverResetSilently', async () => {
    const v1 = await writeSet('v1', 1);
    const state = join(dir, 'journal');
    expect(install(state, v1, join(dir, 'root')).code).toBe(0);
    const path = join(state, PARAMS_FLOOR_FILE);
    writeFileSync(path, readFileSync(path, 'utf8').replace('"version": 1', '"version": 0'));
    expect(shuaka('params', 'verify', '--pub', pubPath, '--floor', state, v1).code).toBe(4);
    const flipped = readFileSync(path);
    // The last hex digit of the check value.
    flipped.writeUInt8(flipped.readUInt8(flipped.length - 5) ^ 0x01, flipped.length - 5);
    writeFileSync(path, flipped);
    const run = shuaka('run', '--port', join(dir, 'no-tty'), '--params', join(dir, 'root'),
      '--params-pub', pubPath, '--journal', state, '--deny-key', writeTestDenyKey(dir));
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/refused: floor-corrupt/);
    // The page it names is in the installed package (docs/; params/README.md is not) and
    // tells what to do (it pointed to a README that no installed validator has).
    const page = /\(([a-z/]+\.md): the version floor\)/.exec(run.err)?.[1] ?? '';
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files.some((f) => page.startsWith(f)), page).toBe(true);
    expect(readFileSync(join(ROOT, page), 'utf8')).toMatch(/## The version floor[^]*remove it/);
  });

  it('sign_refusesAVersionNotAboveThePreviousOne', async () => {
    const set = await writeSet('set', 5);
    const lower = shuaka('params', 'sign', '--key', keyPath, '--version', '4', set);
    expect(lower.code).toBe(1);
    expect(lower.err).toMatch(/version: 4 is not above the previous set's version 5/);
    expect(shuaka('params', 'sign', '--key', keyPath, '--version', '5', set).code).toBe(1);
    const published = await writeSet('published', 9);
    const fresh = await writeSet('fresh', 1);
    rmSync(join(fresh, 'manifest.json'));
    const belowPrevious = shuaka('params', 'sign', '--key', keyPath, '--version', '7',
      '--previous', published, fresh);
    expect(belowPrevious.code).toBe(1);
    expect(belowPrevious.err).toMatch(/7 is not above the previous set's version 9/);
    const next = shuaka('params', 'sign', '--key', keyPath, '--previous', published, fresh);
    expect(next.code, next.err).toBe(0);
    expect(next.out).toMatch(/version 10/);
    const missing = shuaka('params', 'sign', '--key', keyPath, '--previous', join(dir, 'nope'),
      fresh);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/--previous .*cannot read its manifest/);
  });
});

class PowerCut extends Error {}

/** What a boot decided, without the loaded objects. */
function bootSummary(boot: ParamsBootResult): unknown {
  if (!boot.ok) return { kind: boot.kind, message: boot.message };
  const { version, manifestSha256Hex } = boot.set;
  return { version, manifestSha256Hex, floorRaise: boot.floorRaise, fallback: boot.fallback };
}

describe('params install power cut', () => {
  it('cutAtEveryWritePoint_leavesTheOldOrTheNewSetActive', async () => {
    const v1 = await writeSet('v1', 1);
    const v2 = await writeSet('v2', 2);
    const points: string[] = [];
    const probeRoot = join(dir, 'probe');
    const probeState = join(dir, 'probe-state');
    expect((await paramsInstall(v1, probeRoot, keys.publicKey, probeState)).ok).toBe(true);
    const probed = await paramsInstall(v2, probeRoot, keys.publicKey, probeState,
      (p) => void points.push(p));
    expect(probed.ok).toBe(true);
    expect(points.length).toBeGreaterThan(20);
    for (const [k, point] of points.entries()) {
      const root = join(dir, `root${k}`);
      const state = join(dir, `state${k}`);
      expect((await paramsInstall(v1, root, keys.publicKey, state)).ok).toBe(true);
      let seen = 0;
      const cut = (): void => {
        if (seen++ === k) throw new PowerCut(point);
      };
      await expect(paramsInstall(v2, root, keys.publicKey, state, cut)).rejects.toThrow(PowerCut);
      const boot = await paramsBootLoad(root, keys.publicKey, state);
      // The start-up's blocking reads and the thread pool's find the same (params_disk.ts).
      const viaPool = await paramsBootLoad(root, keys.publicKey, state, PARAMS_DISK);
      expect(bootSummary(viaPool), `cut at ${point}`).toEqual(bootSummary(boot));
      if (!boot.ok) throw new Error(`cut at ${point}: ${boot.message}`);
      const afterSwitch = points.indexOf('active: rename') < k;
      expect(boot.set.version, `cut at ${point}`).toBe(afterSwitch ? 2 : 1);
      const floor = await paramsFloorRead(state);
      expect(floor.kind === 'ok' && floor.floor.version <= boot.set.version, point).toBe(true);
      // The next attempt completes.
      const retry = await paramsInstall(v2, root, keys.publicKey, state);
      expect(retry.ok, point).toBe(true);
      const again = await paramsBootLoad(root, keys.publicKey, state);
      expect(again.ok && again.set.version, point).toBe(2);
    }
    expect(existsSync(join(probeRoot, 'slot_b', 'manifest.json'))).toBe(true);
  }, 120_000);
});

describe('params semantic checks', () => {
  async function files(name: string): Promise<Map<string, Uint8Array>> {
    const path = await writeSet(name, 1);
    const map = new Map<string, Uint8Array>();
    for (const file of readdirSync(path)) map.set(file, readFileSync(join(path, file)));
    return map;
  }

  function withJson(map: Map<string, Uint8Array>, file: string, value: unknown): typeof map {
    const copy = new Map(map);
    copy.set(file, Buffer.from(JSON.stringify(value)));
    return copy;
  }

  it('inconsistentFaresAndLimits_areRefusedNamingTheField', async () => {
    const base = await files('base');
    const cases: [string, string, unknown, RegExp][] = [
      ['discount above the concession fare', 'fares.json',
        { ...DEFAULT_FARES, transfer: { discountMinor: 150, windowSec: 5400 } },
        /transfer\.discountMinor: 150 exceeds the fare categories\[0\]\.fareMinor = 100/],
      ['discount above the flat fare', 'fares.json',
        { ...DEFAULT_FARES, categories: [], transfer: { discountMinor: 201, windowSec: 60 } },
        /transfer\.discountMinor: 201 exceeds the fare flatFareMinor = 200/],
      ['overlapping ranges', 'fares.json', {
        ...DEFAULT_FARES,
        categories: [
          { name: 'concession', fareMinor: 100, panRanges: [{ low: '621799', high: '621799' }] },
          { name: 'student', fareMinor: 120, panRanges: [{ low: '6217', high: '6218' }] },
        ],
      }, /categories\[1\]\.panRanges\[0\]: overlaps categories\[0\]\.panRanges\[0\]/],
      ['fare at the contactless limit', 'terminal.json', {
        terminalId: 'T1', lineId: 'L1',
        limits: { contactlessFloorLimitMinor: 0, contactlessTransactionLimitMinor: 200,
          cvmLimitMinor: 10000 },
      }, /limits\.contactlessTransactionLimitMinor: 200 does not exceed .*flatFareMinor = 200/],
      ['fare above the CVM limit', 'terminal.json', {
        terminalId: 'T1', lineId: 'L1',
        limits: { contactlessFloorLimitMinor: 0, contactlessTransactionLimitMinor: 100000,
          cvmLimitMinor: 150 },
      }, /limits\.cvmLimitMinor: 150 does not exceed/],
      ['floor limit above the transaction limit', 'terminal.json', {
        terminalId: 'T1', lineId: 'L1',
        limits: { contactlessFloorLimitMinor: 200000, contactlessTransactionLimitMinor: 100000,
          cvmLimitMinor: 50000 },
      }, /contactlessFloorLimitMinor: above the contactless transaction limit/],
    ];
    for (const [label, file, value, message] of cases) {
      expect(() => paramsContentParse(withJson(base, file, value)), label).toThrow(FieldError);
      expect(() => paramsContentParse(withJson(base, file, value)), label).toThrow(message);
    }
    const sane = withJson(base, 'terminal.json', {
      terminalId: 'T1', lineId: 'L1',
      limits: { contactlessFloorLimitMinor: 0, contactlessTransactionLimitMinor: 100000,
        cvmLimitMinor: 30000 },
    });
    expect(paramsContentParse(sane).terminal.limits?.cvmLimitMinor).toBe(30000);
  });
});
