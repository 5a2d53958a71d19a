// Parameters down from a real depot process: `shuaka depot publish` a set above the installed
// one, `depot serve`, then the board's HTTPS transport and ParamsDownload fetch, install
// (A/B, floor) and switch to it; the next contact finds nothing newer (204).
// Truth: the depot's own publication (its version) and paramsBootLoad of the installed root.

import { spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { depotServeStart, depotServeStop } from '../../test_support/depot_serve_process.js';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { paramsBootLoad } from '../src/app/params/params_boot.js';
import { paramsInstall } from '../src/app/params/params_install.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { ParamsDownload } from '../src/app/upload/upload_params.js';
import { DepotHttps, depotIdentityRead } from '../src/boards/depot_https.js';
import { TEST_DENY_KEY, writeTestDenyKey } from './deny_key_fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const VECTORS = join(ROOT, '..', 'shared', 'vectors', 'unionpay_capk.json');
const keys = generateKeyPairSync('ed25519');
let dir = '';
let serve: ChildProcess | null = null;
let port = 0;

function shuaka(...args: string[]): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-params-depot-'));
  const capk = (JSON.parse(readFileSync(VECTORS, 'utf8')) as {
    keys: { index: string; source_tlv: string }[] }).keys
    .filter((k) => k.index !== '61').map((k) => k.source_tlv);
  const storage = await FileStorage.open(join(dir, 'base'), { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, { version: 1,
    terminal: { terminalId: 'SIM00001', lineId: 'L1' }, fares: DEFAULT_FARES,
    caKeysTlvHex: capk, caRevocations: [], denyList: [{ pan: '6231000000000000002', psn: 0 }],
    signingKey: keys.privateKey, denyKey: TEST_DENY_KEY });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  writeFileSync(join(dir, 'k.pem'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  expect(shuaka('depot', 'init', '--dir', join(dir, 'depot')).code).toBe(0);
  writeTestDenyKey(join(dir, 'depot'));
  const db = join(dir, 'd.db');
  const ids = join(dir, 'ids');
  expect(shuaka('depot', 'terminal', 'add', '--db', db, '--id', 'SIM00001', '--dir',
    join(dir, 'depot'), '--out', ids).code).toBe(0);
  copyFileSync(join(dir, 'depot', 'ca.pem'), join(ids, 'ca.pem'));
  const published = shuaka('depot', 'publish', '--db', db, '--dir', join(dir, 'depot'),
    '--base', join(dir, 'base'), '--key', join(dir, 'k.pem'));
  expect(published.code, published.err).toBe(0);
  ({ child: serve, port } = await depotServeStart(BIN, join(dir, 'depot'), db, ROOT));
}, 300_000);

afterAll(async () => {
  await depotServeStop(serve);
  rmSync(dir, { recursive: true, force: true });
});

describe('parameters down from a real depot', () => {
  it('publishedSet_isFetchedInstalledAndSwitched_thenNothingNewer', async () => {
    const root = join(dir, 'root');
    const state = join(dir, 'state');
    const first = await paramsInstall(join(dir, 'base'), root,
      { publicKey: keys.publicKey, denyKey: TEST_DENY_KEY }, state);
    if (!first.ok) throw new Error(first.message);
    const identity = await depotIdentityRead(join(dir, 'ids'));
    if (!identity.ok) throw new Error(identity.detail);
    const depot = new DepotHttps({ url: new URL(`https://localhost:${port}/`),
      identity: identity.value, timeoutMs: 10_000 });
    const switched: number[] = [];
    const down = new ParamsDownload({ root, stagingDir: join(dir, 'stage'), stateDir: state,
      publicKey: { publicKey: keys.publicKey, denyKey: TEST_DENY_KEY }, current: first.set,
      activate: async (set) => { switched.push(set.version); }, log: { log: () => undefined } });
    try {
      expect(await down.check(depot)).toEqual({ ok: true });
      expect(down.refused()).toBeNull();
      await down.activatePending();
      expect(switched).toEqual([2]);
      const boot = await paramsBootLoad(root, { publicKey: keys.publicKey, denyKey: TEST_DENY_KEY }, state);
      expect(boot.ok && boot.set.version).toBe(2);
      expect(await depot.getParams(2)).toEqual({ ok: true, value: null });
    } finally {
      depot.close();
    }
  }, 120_000);
});
