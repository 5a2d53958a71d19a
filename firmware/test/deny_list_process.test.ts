// The fleet deny key from the outside (issue 11 item 2): the real `node bin/shuaka.js run`
// refuses a set whose deny list was made with another key, a missing or too open key file and
// a clear-PAN (version 2) list; `params sign` refuses the clear list too; the files of a set
// hold no footprint of the listed cards' PANs.

import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { FILE_DENY_LIST, FILE_MANIFEST, PARAMS_FILES } from '../src/app/params/params_files.js';
import { manifestBuild, manifestEncode, manifestSign } from '../src/app/params/params_manifest.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { TEST_DENY_KEY, writeTestDenyKey } from './deny_key_fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const VECTORS = join(ROOT, '..', 'shared', 'vectors', 'unionpay_capk.json');
const CARDS = [{ pan: '6231000000000000017', psn: 1 }, { pan: '6217991234567890', psn: 0 }];

let dir = '';
let keys: { privateKey: KeyObject; publicKey: KeyObject };
let pubPath = '';

beforeAll(() => {
  // The bin rebuilds dist/ when a source is newer; later spawns then start at once.
  const warm = spawnSync(process.execPath, [BIN, 'params', '--help'], { cwd: ROOT });
  expect(warm.status, warm.stderr.toString()).toBe(0);
}, 300_000);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-denykey-'));
  keys = generateKeyPairSync('ed25519');
  pubPath = join(dir, 'vendor.pub.pem');
  writeFileSync(pubPath, keys.publicKey.export({ type: 'spki', format: 'pem' }));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function caKeysTlv(): string[] {
  const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as {
    keys: { index: string; source_tlv: string }[];
  };
  return file.keys.filter((k) => k.index !== '61').map((k) => k.source_tlv);
}

async function writeSet(name: string): Promise<string> {
  const path = join(dir, name);
  const storage = await FileStorage.open(path, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version: 1, terminal: { terminalId: 'T0001', lineId: 'L42' }, fares: DEFAULT_FARES,
    caKeysTlvHex: caKeysTlv(), caRevocations: [], denyList: CARDS, signingKey: keys.privateKey,
    denyKey: TEST_DENY_KEY,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  return path;
}

/** A version 2 image (clear BCD PANs, as before tokens) of CARDS, by its old layout. */
function clearImage(): Uint8Array {
  const records = CARDS.map(({ pan, psn }) => {
    const nibbles = pan.padEnd(20, 'F');
    const record = Buffer.alloc(12);
    record.writeUInt32LE(Number.parseInt(nibbles.slice(0, 8), 16), 0);
    record.writeUInt32LE(Number.parseInt(nibbles.slice(8, 16), 16), 4);
    record.writeUInt32LE(((Number.parseInt(nibbles.slice(16, 20), 16) << 16) | (psn << 8)) >>> 0, 8);
    return record;
  }).sort((a, b) => a.readUInt32LE(0) - b.readUInt32LE(0));
  const header = Buffer.alloc(48);
  header.write('SHKDENY2', 0, 'latin1');
  header.writeUInt32LE(records.length, 8);
  header.writeUInt16LE(12, 12);
  return Buffer.concat([header, ...records]);
}

/** The PAN as ASCII digits and as packed BCD (whole, and its first word in either order). */
function footprints(pan: string): Buffer[] {
  const bcd = Buffer.from(pan.length % 2 === 0 ? pan : `${pan}F`, 'hex');
  return [Buffer.from(pan, 'latin1'), bcd.subarray(0, 6), Buffer.from(bcd.subarray(0, 4)).reverse()];
}

function shuaka(...args: string[]): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

function run(set: string, denyKeyPath: string): { code: number | null; err: string } {
  return shuaka('run', '--port', join(dir, 'no-tty'), '--params', set, '--params-pub', pubPath,
    '--journal', join(dir, 'journal'), '--deny-key', denyKeyPath);
}

describe('fleet deny key (subprocess)', () => {
  it('setFiles_holdNoPanOfTheListedCards', async () => {
    const set = await writeSet('set');
    const files = readdirSync(set).map((name) => readFileSync(join(set, name)));
    for (const { pan } of CARDS) {
      for (const footprint of footprints(pan)) {
        expect(files.some((f) => f.includes(footprint)), footprint.toString('hex')).toBe(false);
      }
    }
    // Positive control: the old layout is caught by the same footprints.
    const clear = Buffer.from(clearImage());
    expect(CARDS.every(({ pan }) => footprints(pan).slice(2).some((f) => clear.includes(f))))
      .toBe(true);
  });

  it('run_refusesAnotherKey_aMissingOrOpenKey_andStartsWithTheRightOne', async () => {
    const set = await writeSet('set');
    const otherDir = join(dir, 'other');
    const other = writeTestDenyKey(join(dir), new Uint8Array(32).fill(9));
    const wrong = run(set, other);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/deny_list\.bin: keyId: made with deny key [0-9A-F]{16}, this /);
    const missing = run(set, join(otherDir, 'deny.key'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/deny key missing: .*no deny key/);
    chmodSync(other, 0o640);
    const open = run(set, other);
    expect(open.code).toBe(1);
    expect(open.err).toMatch(/deny key too-open: .*mode 640, must be 600/);
    rmSync(other);
    const right = run(set, writeTestDenyKey(dir));
    // Past the parameters: it stops at the absent reader (exit 3), not at the set.
    expect(right.code, right.err).toBe(3);
    expect(right.err).toMatch(/cannot open serial port/);
  });

  it('clearPanList_isRefusedBySignAndByRun', async () => {
    const set = await writeSet('set');
    writeFileSync(join(set, FILE_DENY_LIST), clearImage());
    const keyPath = join(dir, 'vendor.key.pem');
    writeFileSync(keyPath, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const signed = shuaka('params', 'sign', '--key', keyPath, set);
    expect(signed.code).toBe(1);
    expect(signed.err).toMatch(/deny_list\.bin: magic: SHKDENY2 holds clear PANs, refused/);
    // Signed anyway (by hand): the validator refuses it at start.
    const files = new Map(PARAMS_FILES.map((name) => [name, readFileSync(join(set, name))]));
    const manifest = manifestSign(manifestBuild(files, 9), keys.privateKey);
    writeFileSync(join(set, FILE_MANIFEST), manifestEncode(manifest));
    const refused = run(set, writeTestDenyKey(dir));
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/SHKDENY2 holds clear PANs, refused \(PCI DSS 3\.5\.1\)/);
    for (const { pan } of CARDS) expect(refused.err).not.toContain(pan);
  });
});
