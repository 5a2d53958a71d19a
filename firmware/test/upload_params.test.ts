// Parameters down: a newer signed set from the depot is installed power-safe and switched to
// between taps; rollbacks, bad signatures and corrupt files are refused and reported in the
// status; a deny-list delta is rebuilt and accepted only when the signed manifest agrees.
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
import type { DepotParams } from '../src/app/upload/depot_port.js';
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
  return { version, files, denyDelta: null };
}

/** The deny-list records (hex) of a set directory, as the depot's delta names them. */
function denyRecords(path: string): string[] {
  const image = readFileSync(join(path, FILE_DENY_LIST));
  const out: string[] = [];
  for (let at = 64; at < image.length; at += 12) out.push(image.subarray(at, at + 12)
    .toString('hex'));
  return out;
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

  it('denyDelta_rebuildsTheList_andTheManifestDecides', async () => {
    const r = await rig([CARD_A]);
    const depot = new DepotSim();
    const v2 = await writeSet('v2', 2, [CARD_B]);
    const added = denyRecords(v2);
    const removed = denyRecords(join(dir, 'v1'));
    // A wrong delta (CARD_A kept) gives a list the signed manifest does not match.
    depot.params = { ...offer(v2, 2, [FILE_DENY_LIST]),
      denyDelta: { fromVersion: 1, add: added, remove: [] } };
    await r.down.check(depot);
    expect(r.down.refused()?.reason).toMatch(/deny_list/);
    expect(r.down.installedVersion()).toBe(1);
    const v3 = await writeSet('v3', 3, [CARD_B]);
    depot.params = { ...offer(v3, 3, [FILE_DENY_LIST]),
      denyDelta: { fromVersion: 1, add: added, remove: removed } };
    await r.down.check(depot);
    expect(r.down.refused()).toBeNull();
    await r.down.activatePending();
    const set = r.active[0];
    expect(set?.version).toBe(3);
    expect(set?.denyList.contains(CARD_B.pan, CARD_B.psn)).toBe(true);
    expect(set?.denyList.contains(CARD_A.pan, CARD_A.psn)).toBe(false);
  });
});
