// Parameters down: a newer signed set from the depot is installed power-safe and switched to
// between taps; rollbacks, bad signatures and corrupt files are refused and reported in the
// status; signed deny-list deltas rebuild the list through the install path, and a delta that
// does not apply makes the validator fetch the whole set.
// Truth: the parameter store's own validation (paramsBootLoad) of what ends up installed.

import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DepotSim } from '../../host-sim/src/sim/depot_sim.js';
import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { FILE_DENY_LIST } from '../src/app/params/params_files.js';
import { paramsBootLoad } from '../src/app/params/params_boot.js';
import { paramsInstall } from '../src/app/params/params_install.js';
import { DEFAULT_FARES, writeDefaultParams, type ParamSet } from '../src/app/params/params_store.js';
import type { DepotParams, DepotPort } from '../src/app/upload/depot_port.js';
import { denyDeltaBuild } from '../src/app/deny_list/deny_delta.js';
import { ParamsDownload } from '../src/app/upload/upload_params.js';
import type { LogEvent } from '../src/app/validator/validator_ports.js';
import { TEST_DENY_KEY } from './deny_key_fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const VECTORS = join(ROOT, '..', 'shared', 'vectors', 'unionpay_capk.json');

let dir = '';
let keys: { privateKey: KeyObject; publicKey: KeyObject };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-params-down-'));
  keys = generateKeyPairSync('ed25519');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function caKeysTlv(): string[] {
  const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as {
    keys: { index: string; source_tlv: string }[];
  };
  return file.keys.filter((k) => k.index !== '61').map((k) => k.source_tlv);
}

type Deny = { pan: string; psn: number }[];

async function writeSet(name: string, version: number, denyList: Deny, key = keys.privateKey) {
  const path = join(dir, name);
  const storage = await FileStorage.open(path, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version, terminal: { terminalId: 'SIM00001', lineId: 'L42' }, fares: DEFAULT_FARES,
    caKeysTlvHex: caKeysTlv(), caRevocations: [], denyList, signingKey: key, denyKey: TEST_DENY_KEY,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  return path;
}

function offer(path: string, version: number, omit: string[] = []): DepotParams {
  const files = new Map<string, Uint8Array>();
  for (const name of readdirSync(path)) {
    if (!omit.includes(name)) files.set(name, new Uint8Array(readFileSync(join(path, name))));
  }
  return { version, files, denyDeltas: null };
}

/** The signed delta between the deny lists of two set directories. */
function deltaOf(from: string, fromVersion: number, to: string, toVersion: number,
  key = keys.privateKey): Uint8Array {
  return denyDeltaBuild(readFileSync(join(from, FILE_DENY_LIST)),
    readFileSync(join(to, FILE_DENY_LIST)), fromVersion, toVersion, key);
}

/** A depot that offers `deltas` and, asked for the full set, `whole`; it counts full asks. */
function deltaDepot(deltas: DepotParams, whole: DepotParams): DepotPort & { fullAsks: number } {
  const port = {
    fullAsks: 0,
    postBatch: () => Promise.reject(new Error('not used')),
    postStatus: () => Promise.resolve({ ok: true as const, value: undefined }),
    getParams: (have: number, full = false) => {
      if (full) port.fullAsks += 1;
      const set = full ? whole : deltas;
      return Promise.resolve({ ok: true as const, value: set.version > have ? set : null });
    },
  };
  return port;
}

interface Rig { down: ParamsDownload; active: ParamSet[]; logs: LogEvent[]; root: string }

async function rig(deny: Deny): Promise<Rig> {
  const root = join(dir, 'root');
  const state = join(dir, 'journal');
  const first = await paramsInstall(await writeSet('v1', 1, deny), root, { publicKey: keys.publicKey, denyKey: TEST_DENY_KEY },
    state);
  if (!first.ok) throw new Error(first.message);
  const active: ParamSet[] = [];
  const logs: LogEvent[] = [];
  const down = new ParamsDownload({
    root, stagingDir: join(dir, 'staging'), stateDir: state,
    publicKey: { publicKey: keys.publicKey, denyKey: TEST_DENY_KEY },
    current: first.set, activate: async (set) => { active.push(set); },
    log: { log: (e) => logs.push(e) },
  });
  return { down, active, logs, root };
}

const CARD_A = { pan: '6231000000000000002', psn: 0 };
const CARD_B = { pan: '6231000000000000119', psn: 1 };

describe('parameters down', () => {
  it('newerSet_isInstalled_andSwitchedOnlyBetweenTaps', async () => {
    const r = await rig([CARD_A]);
    const depot = new DepotSim();
    depot.params = offer(await writeSet('v2', 2, [CARD_A, CARD_B]), 2);
    expect(await r.down.check(depot)).toEqual({ ok: true });
    expect(r.down.installedVersion()).toBe(2);
    expect(r.active).toEqual([]);
    await r.down.activatePending();
    expect(r.active.map((s) => s.version)).toEqual([2]);
    expect(r.active[0]?.denyList.contains(CARD_B.pan, CARD_B.psn)).toBe(true);
    const boot = await paramsBootLoad(r.root, { publicKey: keys.publicKey, denyKey: TEST_DENY_KEY },
      join(dir, 'journal'));
    expect(boot.ok && boot.set.version).toBe(2);
    // Nothing newer: nothing happens.
    expect(await r.down.check(depot)).toEqual({ ok: true });
    await r.down.activatePending();
    expect(r.active).toHaveLength(1);
  });

  it('badSignature_corruptFile_andRollback_areRefused_andReported', async () => {
    const r = await rig([CARD_A]);
    const depot = new DepotSim();
    const forged = generateKeyPairSync('ed25519').privateKey;
    depot.params = offer(await writeSet('v2f', 2, [CARD_B], forged), 2);
    await r.down.check(depot);
    expect(r.down.refused()).toMatchObject({ version: 2 });
    expect(r.down.refused()?.reason).toMatch(/^invalid: /);
    const good = offer(await writeSet('v3', 3, [CARD_B]), 3);
    const flipped = new Uint8Array(good.files.get(FILE_DENY_LIST) ?? []);
    flipped[50] = (flipped[50] ?? 0) ^ 1;
    depot.params = { ...good, files: new Map([...good.files, [FILE_DENY_LIST, flipped]]) };
    await r.down.check(depot);
    expect(r.down.refused()).toMatchObject({ version: 3 });
    expect(r.down.installedVersion()).toBe(1);
    // A good set clears the refusal; an older one after it is a rollback.
    depot.params = good;
    await r.down.check(depot);
    expect(r.down.installedVersion()).toBe(3);
    expect(r.down.refused()).toBeNull();
    const older = offer(await writeSet('v2b', 2, [CARD_A]), 4);
    depot.params = older;
    await r.down.check(depot);
    expect(r.down.refused()?.reason).toMatch(/^(rollback|invalid)/);
    expect(r.logs.filter((e) => e['event'] === 'params-refused')).toHaveLength(3);
  });

  it('denyDeltas_rebuildTheListThroughTheInstallPath_chainedOverTwoSets', async () => {
    const r = await rig([CARD_A]);
    const v1 = join(dir, 'v1');
    const v2 = await writeSet('v2', 2, [CARD_A, CARD_B]);
    const v3 = await writeSet('v3', 3, [CARD_B]);
    const chain = { ...offer(v3, 3, [FILE_DENY_LIST]),
      denyDeltas: [deltaOf(v1, 1, v2, 2), deltaOf(v2, 2, v3, 3)] };
    const depot = deltaDepot(chain, offer(v3, 3));
    expect(await r.down.check(depot)).toEqual({ ok: true });
    expect(depot.fullAsks).toBe(0);
    expect(r.down.refused()).toBeNull();
    expect(r.down.installedVersion()).toBe(3);
    await r.down.activatePending();
    expect(r.active[0]?.denyList.contains(CARD_B.pan, CARD_B.psn)).toBe(true);
    expect(r.active[0]?.denyList.contains(CARD_A.pan, CARD_A.psn)).toBe(false);
    const boot = await paramsBootLoad(r.root, { publicKey: keys.publicKey,
      denyKey: TEST_DENY_KEY }, join(dir, 'journal'));
    expect(boot.ok && boot.set.version).toBe(3);
    expect(r.logs.some((e) => e['event'] === 'params-delta-refused')).toBe(false);
  });

  it('deltaOfAnotherBase_orForged_fallsBackToTheFullSet', async () => {
    const r = await rig([CARD_A]);
    const other = await writeSet('v1other', 1, [CARD_B]);
    const forger = generateKeyPairSync('ed25519').privateKey;
    // Each against the installed set (v1, then the set the previous case fell back to).
    const cases: [(set: string, v: number) => Uint8Array, RegExp][] = [
      [(set, v) => deltaOf(other, 1, set, v), /wrong-base: delta 0: base deny list SHA-256/],
      [(set, v) => deltaOf(join(dir, 'c2'), 2, set, v, forger), /signature: delta 0/],
      [(set, v) => deltaOf(join(dir, 'c3'), 1, set, v), /wrong-base: .*made for set 1, inst/],
    ];
    let version = 1;
    for (const [make, reason] of cases) {
      version += 1;
      const set = await writeSet(`c${version}`, version, version % 2 === 0 ? [CARD_B] : []);
      const bad = { ...offer(set, version, [FILE_DENY_LIST]), denyDeltas: [make(set, version)] };
      const depot = deltaDepot(bad, offer(set, version));
      expect(await r.down.check(depot)).toEqual({ ok: true });
      expect(depot.fullAsks).toBe(1);
      expect(r.down.refused()).toBeNull();
      expect(r.down.installedVersion()).toBe(version);
      expect(r.logs.at(-2)).toMatchObject({ event: 'params-delta-refused', version });
      expect(String(r.logs.at(-2)?.['reason'])).toMatch(reason);
    }
    // A depot that answers the full ask with deltas again: the set is refused and reported.
    const v5 = await writeSet('v5', 5, [CARD_A]);
    const stubborn = { ...offer(v5, 5, [FILE_DENY_LIST]),
      denyDeltas: [deltaOf(join(dir, 'c4'), 4, v5, 5, forger)] };
    await r.down.check(deltaDepot(stubborn, stubborn));
    expect(r.down.refused()).toMatchObject({ version: 5 });
    expect(r.down.installedVersion()).toBe(4);
  });
});
