// `node bin/shuaka.js run` as a real subprocess with its journal on a small tmpfs: real ENOSPC
// and real EROFS, at start and while running. The validator must refuse to start with exit 4
// (documented in `shuaka run --help`), or, once running, take no tap it cannot record (the
// rider sees out of service) and lose no committed record.
//
// What is real: the process, a tmpfs of a few MiB mounted for the test (root only: mount(2)
// needs CAP_SYS_ADMIN; without it these tests say so and end), the disk filled by another
// file (ENOSPC at the start probe; at the GPO, between the space check and the pending
// record), `mount -o remount,ro` (EROFS), the PN532 emulator on a socat pty, `journal
// verify`/`export`. Not covered here: EFBIG (`ulimit -f` kills Node with SIGXFSZ before any
// error reaches JS), an eMMC that fails fsync with EIO (no fault-injecting block device
// without dm-flakey), and a read-only remount while the validator runs (tmpfs refuses
// `remount,ro` while a file is open for writing: EBUSY).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync,
} from 'node:fs';
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
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { runJournalCommand } from '../src/cli/journal_cmd.js';
import { TEST_DENY_KEY, writeTestDenyKey } from './deny_key_fixture.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 2026);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const GUARD_MS = 60_000;

type LogLine = Record<string, unknown>;

let dir = '';
let mounted: string | null = null;
const live: ChildProcess[] = [];
const rigs: Pn532SimOnPty[] = [];

beforeAll(() => {
  const warm = spawnSync(process.execPath, [BIN, '--help'], { cwd: ROOT, encoding: 'utf8' });
  expect(warm.status, warm.stderr).toBe(0);
}, 300_000);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-tmpfs-'));
});

afterEach(async () => {
  for (const proc of live.splice(0)) proc.kill('SIGKILL');
  for (const rig of rigs.splice(0)) await rig.close();
  if (mounted !== null) spawnSync('umount', [mounted]);
  mounted = null;
  rmSync(dir, { recursive: true, force: true });
});

/** Mounts a tmpfs of `sizeBytes` at dir/mnt; null (with a notice) when this user cannot. */
function tmpfs(sizeBytes: number): string | null {
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', mnt], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    console.warn(`tmpfs storage test not run: cannot mount a tmpfs (${r.stderr.trim()})`);
    return null;
  }
  mounted = mnt;
  return mnt;
}

function remount(mode: 'ro' | 'rw'): void {
  if (mounted === null) throw new Error('nothing mounted');
  const r = spawnSync('mount', ['-o', `remount,${mode}`, mounted], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`remount ${mode}: ${r.stderr}`);
}

/** Writes zeros into `path` until the file system says ENOSPC; returns the bytes written. */
function fillUp(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = new Uint8Array(4096);
  let total = 0;
  try {
    for (;;) total += writeSync(fd, chunk);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  return total;
}

async function paramsFlags(): Promise<string[]> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pubPath = join(dir, 'params.pub.pem');
  writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }));
  const paramsDir = join(dir, 'params');
  const storage = await FileStorage.open(paramsDir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version: 1,
    terminal: { terminalId: 'BUS00042', lineId: 'L101' },
    fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex),
    denyList: [],
    caRevocations: [],
    signingKey: privateKey,
    denyKey: TEST_DENY_KEY,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  return ['--params', paramsDir, '--params-pub', pubPath, '--sysfs-root', join(dir, 'no-sys'),
    '--deny-key', writeTestDenyKey(dir)];
}

interface Child {
  readonly lines: LogLine[];
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  readonly proc: ChildProcess;
  /** The `n`-th (1-based) line with this event, waited for. */
  nth(event: string, n: number): Promise<LogLine>;
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
  createInterface({ input: proc.stdout }).on('line', (t) => lines.push(JSON.parse(t) as LogLine));
  const exited = new Promise<number | null>((resolve) => proc.once('close', resolve));
  const nth = async (event: string, n: number): Promise<LogLine> => {
    const endMs = Date.now() + GUARD_MS;
    for (;;) {
      const found = lines.filter((l) => l['event'] === event)[n - 1];
      if (found !== undefined) return found;
      if (proc.exitCode !== null || Date.now() > endMs) {
        throw new Error(`no '${event}' #${n}; stderr: ${stderr}; lines ${JSON.stringify(lines)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { lines, stderr: () => stderr, exited, proc, nth };
}

async function reader(): Promise<Pn532SimOnPty> {
  const ptyDir = join(dir, 'pty');
  mkdirSync(ptyDir);
  const rig = await startPn532SimOnPty({
    dir: ptyDir,
    clock: new WallClock(),
    pace: false,
    sim: { ...PN532_SIM_DEFAULT_OPTIONS, waitModelledTime: false, commandDelayMs: 0 },
  });
  rigs.push(rig);
  return rig;
}

/** Clearing records of the journal, via `shuaka journal export`. */
async function clearingRecords(journalDir: string): Promise<LogLine[]> {
  const out: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
  expect(await runJournalCommand(['export', '--journal', journalDir], io), out.join('\n')).toBe(0);
  return out
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine)
    .filter((l) => l['type'] === 'clearing');
}

async function verifies(journalDir: string): Promise<string[]> {
  const out: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
  expect(await runJournalCommand(['verify', '--journal', journalDir], io), out.join('\n')).toBe(0);
  return out;
}

describe('shuaka run subprocess: journal on a real tmpfs (ENOSPC, EROFS)', () => {
  it('run_tmpfsAlreadyFull_probeGetsENOSPC_exits4DiskFull', async () => {
    const mnt = tmpfs(1 << 20);
    if (mnt === null) return;
    expect(fillUp(join(mnt, 'filler'))).toBeGreaterThan(0);
    const flags = await paramsFlags();
    const journalDir = join(mnt, 'journal');
    // Free-space threshold 0: the real ENOSPC of the probe write, not statfs, refuses.
    const argv = ['--port', join(dir, 'ttyUSB9'), '--journal', journalDir, ...flags];
    const child = spawnRun([...argv, '--journal-min-free-mb', '0']);
    expect(await child.exited, child.stderr()).toBe(4);
    expect(child.stderr()).toMatch(/disk full \(ENOSPC/);
    // It exits: it said 'the validator stays out of service', as if it kept running.
    expect(child.stderr()).toContain('the validator does not start (exit 4)');
    expect(existsSync(journalDir), 'the directory the check made is removed').toBe(false);
  }, 60_000);

  it('run_tmpfsRemountedReadOnly_exits4ReadOnly_committedRecordsIntact', async () => {
    if (!externalToolsReady(['socat'], 'shuaka run tmpfs test')) return;
    const mnt = tmpfs(8 << 20);
    if (mnt === null) return;
    const flags = await paramsFlags();
    const journalDir = join(mnt, 'journal');
    const rig = await reader();
    const argv = ['--port', rig.hostPath, '--journal', journalDir, '--journal-min-free-mb', '1'];
    const first = spawnRun([...argv, ...flags]);
    await first.nth('start', 1);
    const card = population(SEED, { pki: testPki() }).card('unionpay-debit-ec');
    rig.sim.placeCard(card);
    expect((await first.nth('tap', 1))['result']).toBe('approved');
    rig.sim.removeCard(card);
    first.proc.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    remount('ro');
    const second = spawnRun([...argv, ...flags]);
    expect(await second.exited, second.stderr()).toBe(4);
    expect(second.stderr()).toMatch(/read-only file system \(EROFS/);
    expect(second.lines.some((l) => l['event'] === 'start')).toBe(false);
    remount('rw');
    await verifies(journalDir);
    const clearing = await clearingRecords(journalDir);
    expect(clearing.map((l) => l['atc'])).toEqual(card.ledger().map((e) => e.atc));
  }, 120_000);

  it('run_diskFillsWhileRunning_noTapWithoutARecord_outOfService_noRecordLost', async () => {
    if (!externalToolsReady(['socat'], 'shuaka run tmpfs test')) return;
    const mnt = tmpfs(8 << 20);
    if (mnt === null) return;
    const flags = await paramsFlags();
    const journalDir = join(mnt, 'journal');
    const rig = await reader();
    const argv = ['--port', rig.hostPath, '--journal', journalDir, '--journal-min-free-mb', '1'];
    const child = spawnRun([...argv, ...flags]);
    await child.nth('start', 1);
    const pop = population(SEED, { pki: testPki() });
    const first = pop.card('unionpay-debit-ec');
    const second = pop.card('unionpay-credit-ec');
    rig.sim.placeCard(first);
    expect((await child.nth('tap', 1))['result']).toBe('approved');
    rig.sim.removeCard(first);

    fillUp(join(mnt, 'filler'));
    // Seen between riders, before anyone taps: an error line an operator's alert sees.
    const down = await child.nth('out-of-service', 1);
    expect(down).toMatchObject({ level: 'error', reason: 'journal-full' });
    rig.sim.placeCard(second);
    const refused = await child.nth('tap', 2);
    rig.sim.removeCard(second);
    // The journal measured the full disk before the card was touched: out of service, and
    // the idle screen had already turned to out of service after the disk filled.
    expect(refused['result'], JSON.stringify(child.lines.slice(-10))).toBe('outOfService');
    expect(refused['reason']).toBe('journal-full-or-failed');
    expect(second.ledger()).toHaveLength(0);
    const afterFirst = child.lines.slice(child.lines.indexOf(await child.nth('tap', 1)));
    const shown = afterFirst.filter((l) => l['event'] === 'screen').map((l) => l['kind']);
    expect(shown).toContain('outOfService');
    rmSync(join(mnt, 'filler'));
    expect(await child.nth('in-service', 1)).toMatchObject({ level: 'info', cause: 'journal' });
    // Full again with no rider and no card to watch: the idle check sees it within 5 s.
    const screens = child.lines.filter((l) => l['event'] === 'screen').length;
    fillUp(join(mnt, 'filler'));
    expect(await child.nth('out-of-service', 2)).toMatchObject({ reason: 'journal-full' });
    // The screen follows its log line (a write to the display after it, a line of its own).
    const shownAgain = (): boolean => child.lines.filter((l) => l['event'] === 'screen')
      .slice(screens).some((l) => l['kind'] === 'outOfService');
    for (let waited = 0; !shownAgain() && waited < 5_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(shownAgain(), JSON.stringify(child.lines.slice(-10))).toBe(true);
    rmSync(join(mnt, 'filler'));
    child.proc.kill('SIGTERM');
    const code = await child.exited;
    expect(code, child.stderr()).toBe(0);

    await verifies(journalDir);
    const clearing = await clearingRecords(journalDir);
    // Every debit a card made is in the journal, and nothing else: no lost record, no
    // debit without one.
    const debits = [...first.ledger(), ...second.ledger()].map((e) => e.atc);
    expect(clearing.map((l) => l['atc']).sort()).toEqual(debits.sort());
    expect(first.ledger()).toHaveLength(1);
  }, 120_000);

  it('run_diskFillsAtTheGpo_pendingRecordRefused_noDebit_outOfService', async () => {
    if (!externalToolsReady(['socat'], 'shuaka run tmpfs test')) return;
    const mnt = tmpfs(8 << 20);
    if (mnt === null) return;
    const flags = await paramsFlags();
    const journalDir = join(mnt, 'journal');
    const ptyDir = join(dir, 'pty');
    mkdirSync(ptyDir);
    let armed = false;
    // The disk fills the moment the GPO (InDataExchange 80 A8) reaches the reader: after the
    // validator checked its space, before the card debits and the record is appended.
    const onFrame = (line: string): void => {
      if (!armed || !/^H>P .*d4 40 01 80 a8/.test(line)) return;
      armed = false;
      fillUp(join(mnt, 'filler'));
    };
    const rig = await startPn532SimOnPty({
      dir: ptyDir,
      clock: new WallClock(),
      pace: false,
      sim: {
        ...PN532_SIM_DEFAULT_OPTIONS,
        waitModelledTime: false,
        commandDelayMs: 0,
        log: onFrame,
      },
    });
    rigs.push(rig);
    const argv = ['--port', rig.hostPath, '--journal', journalDir, '--journal-min-free-mb', '1'];
    const child = spawnRun([...argv, ...flags]);
    await child.nth('start', 1);
    const card = population(SEED, { pki: testPki() }).card('unionpay-debit-ec');
    armed = true;
    rig.sim.placeCard(card);
    const tap = await child.nth('tap', 1);
    rig.sim.removeCard(card);
    // The pending record (written before the card may commit) met the full disk: the host
    // refused the commit, the card kept its money, the rider saw out of service.
    const why = JSON.stringify(child.lines.slice(-10));
    expect(tap['result'], why).toBe('outOfService');
    expect(tap['reason'], why).toBe('host-refused');
    const journalErrors = child.lines.filter((l) => l['event'] === 'journal-error');
    expect(journalErrors.map((l) => `${String(l['kind'])}:${String(l['error'])}`)).toContain(
      'pending:FULL',
    );
    expect(card.ledger()).toHaveLength(0);
    child.proc.kill('SIGTERM');
    expect(await child.exited, child.stderr()).toBe(0);
    rmSync(join(mnt, 'filler'));
    await verifies(journalDir);
    expect(await clearingRecords(journalDir)).toEqual([]);
  }, 120_000);
});
