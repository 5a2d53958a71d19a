// ParamsDiskSim against node:fs as the truth: the same operations give the same results and
// error codes, and the firmware's install, cut at every write point, leaves the same files
// and boots the same set on both.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DenyKey } from '../../firmware/src/app/deny_list/deny_key.js';
import { paramsBootLoad, type ParamsBootResult } from '../../firmware/src/app/params/params_boot.js';
import { PARAMS_DISK, type ParamsDisk } from '../../firmware/src/app/params/params_disk.js';
import { paramsInstall } from '../../firmware/src/app/params/params_install.js';
import {
  DEFAULT_FARES, writeDefaultParams, type ParamsTrust,
} from '../../firmware/src/app/params/params_store.js';
import { ParamsDiskSim } from '../src/params_disk_sim.js';
import { Prng } from '../src/prng.js';
import { StorageSim } from '../src/storage_sim.js';

const VECTORS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared',
  'vectors', 'unionpay_capk.json');

let base = '';
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'shuaka-params-disk-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** The outcome of an operation: its value, or its error code. */
async function outcome<T>(run: () => Promise<T>): Promise<{ ok: T } | { code: unknown }> {
  try {
    return { ok: await run() };
  } catch (error) {
    return { code: (error as { code?: unknown }).code };
  }
}

/** Every file under `dir` (relative name -> hex bytes) and every directory, in name order. */
async function tree(disk: ParamsDisk, dir: string, at = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of [...(await disk.list(join(dir, at)))].sort()) {
    const rel = join(at, name);
    if (await disk.isDir(join(dir, rel))) {
      out.push(`${rel}/`, ...(await tree(disk, dir, rel)));
    } else {
      out.push(`${rel} ${(await disk.read(join(dir, rel))).toString('hex')}`);
    }
  }
  return out;
}

describe('ParamsDiskSim', () => {
  it('answersEachOperationAsNodeFsDoes', async () => {
    const sim = new ParamsDiskSim();
    await sim.mkdirs(base);
    const steps: [string, (disk: ParamsDisk) => Promise<unknown>][] = [
      ['list missing', (d) => d.list(join(base, 'a'))],
      ['read missing', (d) => d.read(join(base, 'a', 'f'))],
      ['create in missing dir', (d) => d.create(join(base, 'a', 'f')).then(() => 'made')],
      ['mkdirs', (d) => d.mkdirs(join(base, 'a', 'b'))],
      ['mkdirs again', (d) => d.mkdirs(join(base, 'a', 'b'))],
      ['write', async (d) => {
        const h = await d.create(join(base, 'a', 'f'));
        await h.write(Uint8Array.of(1, 2, 3, 4, 5), 1, 3);
        await h.write(Uint8Array.of(9), 0, 1);
        await h.sync();
        await h.close();
      }],
      ['read', (d) => d.read(join(base, 'a', 'f')).then((b) => b.toString('hex'))],
      ['size', (d) => d.size(join(base, 'a', 'f'))],
      ['list', (d) => d.list(join(base, 'a')).then((n) => n.sort())],
      ['isDir dir', (d) => d.isDir(join(base, 'a', 'b'))],
      ['isDir file', (d) => d.isDir(join(base, 'a', 'f'))],
      ['isDir missing', (d) => d.isDir(join(base, 'zz'))],
      ['read a dir', (d) => d.read(join(base, 'a', 'b'))],
      ['list a file', (d) => d.list(join(base, 'a', 'f'))],
      ['mkdirs over a file', (d) => d.mkdirs(join(base, 'a', 'f'))],
      ['mkdirs under a file', (d) => d.mkdirs(join(base, 'a', 'f', 'g'))],
      ['create over a dir', (d) => d.create(join(base, 'a', 'b')).then(() => 'made')],
      ['rename', (d) => d.rename(join(base, 'a', 'f'), join(base, 'a', 'b', 'g'))],
      ['read renamed', (d) => d.read(join(base, 'a', 'b', 'g')).then((b) => b.toString('hex'))],
      ['read old name', (d) => d.read(join(base, 'a', 'f'))],
      ['rename missing', (d) => d.rename(join(base, 'a', 'f'), join(base, 'a', 'h'))],
      ['rename into missing dir', (d) => d.rename(join(base, 'a', 'b', 'g'), join(base, 'q', 'g'))],
      ['truncate', (d) => d.create(join(base, 'a', 'b', 'g')).then((h) => h.close())],
      ['size truncated', (d) => d.size(join(base, 'a', 'b', 'g'))],
      ['syncDir', (d) => d.syncDir(join(base, 'a'))],
      ['syncDir missing', (d) => d.syncDir(join(base, 'nope'))],
      ['removeTree', (d) => d.removeTree(join(base, 'a'))],
      ['removeTree missing', (d) => d.removeTree(join(base, 'a'))],
      ['list after remove', (d) => d.list(base)],
    ];
    for (const [name, step] of steps) {
      const real = await outcome(() => step(PARAMS_DISK));
      const simulated = await outcome(() => step(sim));
      expect(simulated, name).toEqual(real);
    }
  });
});

describe('params install on ParamsDiskSim', () => {
  it('cutAtEveryWritePoint_leavesTheSameFilesAndBootsTheSameSetAsNodeFs', async () => {
    const prng = new Prng(7);
    const keys = generateKeyPairSync('ed25519');
    const denyKey = DenyKey.fromBytes(prng.bytes(32));
    const trust: ParamsTrust = { publicKey: keys.publicKey, denyKey };
    const capks = JSON.parse(readFileSync(VECTORS, 'utf8')) as {
      keys: { index: string; source_tlv: string }[];
    };
    const image = async (version: number): Promise<Map<string, Uint8Array>> => {
      const scratch = new StorageSim({ totalBytes: 1 << 24, prng, tornModes: ['prefix'] });
      const written = await writeDefaultParams(scratch, {
        version, terminal: { terminalId: 'T0001', lineId: 'L42' }, fares: DEFAULT_FARES,
        caKeysTlvHex: capks.keys.filter((k) => k.index !== '61').map((k) => k.source_tlv),
        caRevocations: [], denyList: [{ pan: '6231000000000000002', psn: 0 }],
        signingKey: keys.privateKey, denyKey,
      });
      if (!written.ok) throw new Error(written.error.message);
      const files = new Map<string, Uint8Array>();
      const names = await scratch.list();
      for (const name of names.ok ? names.value : []) {
        const read = await scratch.read(name);
        if (read.ok) files.set(name, read.value);
      }
      return files;
    };
    const sets = [await image(1), await image(2)];
    /** A fresh world on `disk` under `dir`: v1 and v2 downloaded, v1 installed. */
    const world = async (disk: ParamsDisk, dir: string) => {
      const at = { v1: join(dir, 'v1'), v2: join(dir, 'v2'), root: join(dir, 'root'),
        state: join(dir, 'state') };
      for (const [k, files] of [[at.v1, sets[0]], [at.v2, sets[1]]] as const) {
        await disk.mkdirs(k);
        for (const [name, bytes] of files ?? []) {
          const h = await disk.create(join(k, name));
          await h.write(bytes, 0, bytes.length);
          await h.close();
        }
      }
      const first = await paramsInstall(at.v1, at.root, trust, at.state, undefined, disk);
      expect(first.ok).toBe(true);
      return at;
    };
    const summary = (boot: ParamsBootResult): unknown => boot.ok
      ? { version: boot.set.version, raise: boot.floorRaise, fallback: boot.fallback }
      : { kind: boot.kind, message: boot.message.replaceAll(base, '') };
    let points = 0;
    for (let k = 0; ; k += 1) {
      const cut = (): void => {
        points = Math.max(points, k);
        throw new Error('cut');
      };
      const runs = await Promise.all([PARAMS_DISK, new ParamsDiskSim()].map(async (disk, i) => {
        const dir = join(base, `k${k}-${i}`);
        const at = await world(disk, dir);
        let seen = 0;
        const hook = (): void => {
          if (seen++ === k) cut();
        };
        const done = await outcome(() => paramsInstall(at.v2, at.root, trust, at.state, hook,
          disk).then((r) => r.ok));
        const boot = summary(await paramsBootLoad(at.root, trust, at.state, disk));
        return { done, boot, files: await tree(disk, dir) };
      }));
      expect(runs[1], `cut at write point ${k}`).toEqual(runs[0]);
      if ('ok' in runs[0]!.done) break;
    }
    expect(points).toBeGreaterThan(20);
  }, 120_000);
});
