// `node bin/shuaka.js run` as a real subprocess on an A/B parameter root whose active slot has
// rotted: a flipped bit in a file, a file gone, a damaged `active` pointer. The validator runs
// the other slot when it is valid and not below the version floor, says so (a params-fallback
// log line and a sentence on stderr) and takes taps; when neither slot may be used it refuses
// to start with exit 1 and names both reasons.
//
// What is real: the process, the A/B root written by paramsInstall (the code behind `shuaka
// params install`), the bit flips and deletions on disk, the socat pty with the PN532
// emulator, the exit codes. The floor below the active set's version (case 1) is what a power
// cut between the switch and the floor write leaves (params/README.md); it is made here by
// installing the second set with its floor kept in another directory.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { population } from '../../host-sim/src/cards/card_population.js';
import { testPki } from '../../host-sim/src/pki/test_pki.js';
import { PN532_SIM_DEFAULT_OPTIONS } from '../../host-sim/src/pn532_sim/pn532_sim.js';
import { externalToolsReady } from '../../host-sim/src/pn532_sim/pty/external_tools.js';
import {
  startPn532SimOnPty,
  type Pn532SimOnPty,
} from '../../host-sim/src/pn532_sim/pty/pn532_sim_pty.js';
import { WallClock } from '../../host-sim/src/pn532_sim/pty/wall_clock.js';
import { paramsFloorRead } from '../src/app/params/params_floor.js';
import { paramsInstall } from '../src/app/params/params_install.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { TEST_DENY_KEY, writeTestDenyKey } from './deny_key_fixture.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 2026);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const GUARD_MS = 60_000;

type LogLine = Record<string, unknown>;

let dir = '';
const live: ChildProcess[] = [];
const rigs: Pn532SimOnPty[] = [];

beforeAll(() => {
  const warm = spawnSync(process.execPath, [BIN, '--help'], { cwd: ROOT, encoding: 'utf8' });
  expect(warm.status, warm.stderr).toBe(0);
}, 300_000);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-slots-'));
});

afterEach(async () => {
  for (const proc of live.splice(0)) proc.kill('SIGKILL');
  for (const rig of rigs.splice(0)) await rig.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A signed set of `version` in its own directory. */
async function signedSet(name: string, version: number, key: KeyObject,
  terminalId = 'BUS00042'): Promise<string> {
  const path = join(dir, name);
  const storage = await FileStorage.open(path, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version,
    terminal: { terminalId, lineId: `L${100 + version}` },
    fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex),
    denyList: [],
    caRevocations: [],
    signingKey: key,
    denyKey: TEST_DENY_KEY,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  return path;
}

interface SlotsRoot {
  readonly root: string;
  readonly journalDir: string;
  readonly argv: string[];
}

/**
 * An A/B root with version 1 in slot_a and version 2 in slot_b (active). `floorAt2` false
 * leaves the journal's floor at 1, as a cut after the switch and before the floor write does.
 */
async function slotsRoot(floorAt2: boolean): Promise<SlotsRoot> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pubPath = join(dir, 'params.pub.pem');
  writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }));
  const root = join(dir, 'root');
  const journalDir = join(dir, 'journal');
  const v1 = await signedSet('v1', 1, privateKey);
  const v2 = await signedSet('v2', 2, privateKey);
  expect((await paramsInstall(v1, root, publicKey, journalDir)).ok).toBe(true);
  const state2 = floorAt2 ? journalDir : join(dir, 'elsewhere');
  const second = await paramsInstall(v2, root, publicKey, state2);
  expect(second.ok && second.slot).toBe('slot_b');
  const argv = ['--params', root, '--params-pub', pubPath, '--journal', journalDir,
    '--deny-key', writeTestDenyKey(dir)];
  return { root, journalDir, argv: [...argv, '--sysfs-root', join(dir, 'no-sys')] };
}

function flipBit(path: string, byte: number, bit: number): void {
  const bytes = readFileSync(path);
  const at = byte % bytes.length;
  bytes[at] = (bytes[at] ?? 0) ^ (1 << bit);
  writeFileSync(path, bytes);
}

interface Child {
  readonly lines: LogLine[];
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  next(event: string): Promise<LogLine>;
  readonly proc: ChildProcess;
}

function spawnRun(argv: readonly string[]): Child {
  const proc = spawn(process.execPath, [BIN, 'run', ...argv], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.push(proc);
  let stderr = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (text: string) => {
    stderr += text;
  });
  const lines: LogLine[] = [];
  if (proc.stdout === null) throw new Error('no stdout pipe');
  const reader = createInterface({ input: proc.stdout });
  reader.on('line', (text) => lines.push(JSON.parse(text) as LogLine));
  const exited = new Promise<number | null>((resolve) => proc.once('close', resolve));
  const next = async (event: string): Promise<LogLine> => {
    const endMs = Date.now() + GUARD_MS;
    for (;;) {
      const found = lines.find((l) => l['event'] === event);
      if (found !== undefined) return found;
      if (proc.exitCode !== null || Date.now() > endMs) {
        throw new Error(`no '${event}'; stderr: ${stderr}; lines ${JSON.stringify(lines)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { lines, stderr: () => stderr, exited, next, proc };
}

async function reader(): Promise<Pn532SimOnPty> {
  const ptyDir = join(dir, 'pty');
  mkdirSync(ptyDir, { recursive: true });
  const rig = await startPn532SimOnPty({
    dir: ptyDir,
    clock: new WallClock(),
    pace: false,
    sim: { ...PN532_SIM_DEFAULT_OPTIONS, waitModelledTime: false, commandDelayMs: 0 },
  });
  rigs.push(rig);
  return rig;
}

/** Runs the validator on `slots`, expects a start on `version` and one approved tap. */
async function runsOn(slots: SlotsRoot, version: number): Promise<Child> {
  const rig = await reader();
  const child = spawnRun(['--port', rig.hostPath, ...slots.argv]);
  const start = await child.next('start');
  expect(start['paramsVersion'], child.stderr()).toBe(version);
  expect(start['outOfService']).toBeNull();
  const card = population(SEED, { pki: testPki() }).card('unionpay-debit-ec');
  rig.sim.placeCard(card);
  const tap = await child.next('tap');
  rig.sim.removeCard(card);
  expect(tap['result']).toBe('approved');
  child.proc.kill('SIGTERM');
  expect(await child.exited).toBe(0);
  return child;
}

describe(`shuaka run subprocess: a fleet-wide set keeps the validator's own id (seed ${SEED})`,
  () => {
    it('run_afterAFleetSetNamingAnotherTerminal_restartsAsItself', async () => {
      if (!externalToolsReady(['socat'], 'shuaka run A/B slots')) return;
      // A depot publishes one set for its fleet; its terminal.json names SIM00001. The
      // validator installed it (kept its id in memory), and its next start ran as SIM00001:
      // every record a foreign id, every upload refused terminal-mismatch, for good.
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const pubPath = join(dir, 'params.pub.pem');
      writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }));
      const root = join(dir, 'root');
      const journalDir = join(dir, 'journal');
      const own = await signedSet('own', 1, privateKey);
      expect((await paramsInstall(own, root, publicKey, journalDir)).ok).toBe(true);
      const slots = { root, journalDir, argv: ['--params', root, '--params-pub', pubPath,
        '--journal', journalDir, '--deny-key', writeTestDenyKey(dir),
        '--sysfs-root', join(dir, 'no-sys')] };
      const first = await runsOn(slots, 1);
      expect(first.lines.find((l) => l['event'] === 'start')?.['terminalId']).toBe('BUS00042');
      const fleet = await signedSet('fleet', 2, privateKey, 'SIM00001');
      expect((await paramsInstall(fleet, root, publicKey, journalDir)).ok).toBe(true);
      const second = await runsOn(slots, 2);
      expect(second.lines.find((l) => l['event'] === 'start')?.['terminalId']).toBe('BUS00042');
      const exported = spawnSync(process.execPath, [BIN, 'journal', 'export', '--journal',
        journalDir, '--data-key', join(journalDir, 'data.key')], { encoding: 'utf8' });
      expect(exported.status, exported.stderr).toBe(0);
      const ids = exported.stdout.trim().split('\n')
        .map((l) => (JSON.parse(l) as { terminalId?: string }).terminalId)
        .filter((id) => id !== undefined);
      expect(ids).toEqual(['BUS00042', 'BUS00042']);
    });
  });

describe(`shuaka run subprocess: A/B parameter slot fallback (seed ${SEED})`, () => {
  it('run_activeSlotBitFlipped_otherSlotAtTheFloor_runsItLogsFallback_raisesNothing', async () => {
    if (!externalToolsReady(['socat'], 'shuaka run params slots test')) return;
    const slots = await slotsRoot(false);
    flipBit(join(slots.root, 'slot_b', 'fares.json'), SEED, SEED % 8);
    const child = await runsOn(slots, 1);
    const fallback = child.lines.find((l) => l['event'] === 'params-fallback');
    expect(fallback).toMatchObject({ from: 'slot_b', to: 'slot_a', version: 1 });
    expect(String(fallback?.['reason'])).toMatch(/^slot_b: .*fares\.json/);
    expect(child.stderr()).toMatch(/active set unusable \(slot_b: .*\); running slot_a \(version 1\)/);
    // The floor stays at 1: the fallback is not a rollback and not a raise.
    const floor = await paramsFloorRead(slots.journalDir);
    expect(floor.kind === 'ok' && floor.floor.version).toBe(1);
  }, 120_000);

  it('run_activePointerBitFlipped_takesTheSlotAtTheFloor_notTheOlderOne', async () => {
    if (!externalToolsReady(['socat'], 'shuaka run params slots test')) return;
    const slots = await slotsRoot(true);
    // "slot_b" -> "slot_c": one bit (b = 0x62, c = 0x63).
    flipBit(join(slots.root, 'active'), 5, 0);
    expect(readFileSync(join(slots.root, 'active'), 'utf8').trim()).toBe('slot_c');
    const child = await runsOn(slots, 2);
    const fallback = child.lines.find((l) => l['event'] === 'params-fallback');
    expect(fallback).toMatchObject({ from: null, to: 'slot_b', version: 2 });
    expect(String(fallback?.['reason'])).toContain('active: names "slot_c');
  }, 120_000);

  it('run_activeSlotMissingAFile_otherSlotBelowTheFloor_exits1NamingBoth', async () => {
    const slots = await slotsRoot(true);
    unlinkSync(join(slots.root, 'slot_b', 'deny_list.bin'));
    const child = spawnRun(['--port', join(dir, 'ttyUSB9'), ...slots.argv]);
    expect(await child.exited, child.stderr()).toBe(1);
    const err = child.stderr();
    expect(err).toContain('no usable slot');
    expect(err).toMatch(/active slot_b: deny_list\.bin.*missing file/);
    expect(err).toMatch(/slot_a: version 1 is older than version 2/);
    expect(child.lines.some((l) => l['event'] === 'start')).toBe(false);
  }, 60_000);

  it('run_bothSlotsCorrupt_exits1', async () => {
    const slots = await slotsRoot(false);
    flipBit(join(slots.root, 'slot_b', 'manifest.json'), SEED + 17, 3);
    flipBit(join(slots.root, 'slot_a', 'capk.txt'), SEED + 5, 1);
    const child = spawnRun(['--port', join(dir, 'ttyUSB9'), ...slots.argv]);
    expect(await child.exited, child.stderr()).toBe(1);
    expect(child.stderr()).toMatch(/no usable slot: active slot_b: [\s\S]*; slot_a: capk\.txt/);
  }, 60_000);
});
