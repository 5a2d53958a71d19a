// `node bin/shuaka.js run` as a real subprocess, against devices that come and go and
// journal directories it cannot use: every path ends with its documented exit code and a
// sentence, and a reader unplugged mid-run comes back by itself.
//
// What is real here: the process, its exit codes, the socat pty (killed to "unplug" the
// reader and started again at the same path to "plug it back", as a USB adapter's udev
// symlink would reappear), the PN532 emulator on it, EACCES from a 0555 directory (the
// validator runs as uid 65534 when the test runs as root, since root ignores modes), and
// statfs. Not real here: a full or tiny disk; the size check is exercised by raising the
// required free space (--journal-min-free-mb) above what this machine's disk has. Real ENOSPC
// and EROFS on a mounted tmpfs: run_storage_tmpfs.test.ts.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { population } from '../../host-sim/src/cards/card_population.js';
import type { QpbocCard } from '../../host-sim/src/cards/qpboc_card.js';
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
const TOOLS_CONTEXT = 'shuaka run devices test';
/** Hang guard of one wait on the child; a reopen takes at most ~12 s of backoff. */
const WAIT_GUARD_MS = 60_000;
const NOBODY = 65534;

type LogLine = Record<string, unknown>;
type ChildExit = { readonly code: number | null; readonly signal: NodeJS.Signals | null };

interface ValidatorChild {
  readonly proc: ChildProcess;
  readonly stderr: () => string;
  readonly lines: LogLine[];
  readonly exited: Promise<ChildExit>;
  /** The next log line with this event (from now on), or null when the process ends first. */
  next(event: string): Promise<LogLine | null>;
}

let dir = '';
const live: ChildProcess[] = [];
const rigs = new Set<Pn532SimOnPty>();

beforeAll(() => {
  // The bin rebuilds dist/ when a source is newer; do it once, outside any timed wait.
  const warm = spawnSync(process.execPath, [BIN, '--help'], { cwd: ROOT, encoding: 'utf8' });
  expect(warm.status, warm.stderr).toBe(0);
}, 300_000);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-devices-'));
});

afterEach(async () => {
  for (const proc of live.splice(0)) proc.kill('SIGKILL');
  for (const rig of rigs) await rig.close();
  rigs.clear();
  rmSync(dir, { recursive: true, force: true });
});

async function writeParams(): Promise<string[]> {
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

/** The emulator on a socat pty whose host end is `<ptyDir>/host` (the same every time). */
async function plugIn(
  ptyDir: string,
  log: ((line: string) => void) | undefined = undefined,
): Promise<Pn532SimOnPty> {
  const rig = await startPn532SimOnPty({
    dir: ptyDir,
    clock: new WallClock(),
    pace: false,
    sim: { ...PN532_SIM_DEFAULT_OPTIONS, waitModelledTime: false, commandDelayMs: 0, log },
  });
  rigs.add(rig);
  return rig;
}

/** Kills socat (the pty pair disappears, as a USB adapter's tty does when pulled). */
async function unplug(rig: Pn532SimOnPty): Promise<void> {
  rigs.delete(rig);
  await rig.close();
}

function spawnRun(argv: readonly string[], asUid: number | null = null): ValidatorChild {
  const proc = spawn(process.execPath, [BIN, 'run', ...argv], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asUid === null ? {} : { uid: asUid, gid: asUid }),
  });
  live.push(proc);
  let stderr = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (text: string) => {
    stderr += text;
  });
  const lines: LogLine[] = [];
  const waiters: { event: string; resolve: (line: LogLine | null) => void }[] = [];
  if (proc.stdout === null) throw new Error('no stdout pipe');
  createInterface({ input: proc.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as LogLine;
    lines.push(line);
    const at = waiters.findIndex((w) => w.event === line['event']);
    if (at >= 0) waiters.splice(at, 1)[0]?.resolve(line);
  });
  const exited = new Promise<ChildExit>((resolve) => {
    proc.once('close', (code, signal) => {
      for (const w of waiters.splice(0)) w.resolve(null);
      resolve({ code, signal });
    });
  });
  return {
    proc,
    stderr: () => stderr,
    lines,
    exited,
    next: (event) =>
      guarded(
        new Promise<LogLine | null>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) resolve(null);
          else waiters.push({ event, resolve });
        }),
        () => `no '${event}'; stderr: ${stderr}; last lines: ${JSON.stringify(lines.slice(-8))}`,
      ),
  };
}

async function guarded<T>(promise: Promise<T>, why: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why())), WAIT_GUARD_MS);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

async function tap(rig: Pn532SimOnPty, child: ValidatorChild, card: QpbocCard): Promise<LogLine> {
  const answered = child.next('tap');
  rig.sim.placeCard(card);
  const line = await answered;
  rig.sim.removeCard(card);
  if (line === null) throw new Error(`validator died: ${child.stderr()}`);
  return line;
}

function cards(): QpbocCard[] {
  const pop = population(SEED, { pki: testPki() });
  return [pop.card('unionpay-debit-ec'), pop.card('unionpay-credit-ec')];
}

/** `run` on the emulator's pty with a fresh journal, after one approved tap of `first`. */
async function runAfterAPaidTap(): Promise<{ ptyDir: string; rig: Pn532SimOnPty;
  journalDir: string; child: ValidatorChild; first: QpbocCard; second: QpbocCard }> {
  const flags = await writeParams();
  const ptyDir = join(dir, 'pty');
  mkdirSync(ptyDir);
  const rig = await plugIn(ptyDir);
  const journalDir = join(dir, 'journal');
  const child = spawnRun(['--port', rig.hostPath, '--journal', journalDir, ...flags]);
  expect((await child.next('start'))?.['outOfService'], child.stderr()).toBeNull();
  const [first, second] = cards();
  if (first === undefined || second === undefined) throw new Error('cards');
  expect((await tap(rig, child, first))['result']).toBe('approved');
  return { ptyDir, rig, journalDir, child, first, second };
}

describe(`shuaka run subprocess: reader unplugged and plugged back (seed ${SEED})`, () => {
  it('run_socatKilledThenRecreatedAtTheSamePath_reportsLoss_reopens_takesATap_exits0', async () => {
    if (!externalToolsReady(['socat'], TOOLS_CONTEXT)) return;
    const started = await runAfterAPaidTap();
    let rig = started.rig;
    const { ptyDir, journalDir, child, first, second } = started;

    const lost = child.next('reader-lost');
    await unplug(rig);
    expect(existsSync(join(ptyDir, 'host')), 'the device path is gone').toBe(false);
    expect(await lost).not.toBeNull();
    await guarded(
      waitFor(() => child.lines.some((l) => l['event'] === 'reader-reopen')),
      () => `no failed reopen while unplugged: ${child.stderr()}`,
    );
    expect(child.stderr()).toMatch(/reader on .* lost \(.*\); out of service, reopening/);

    const back = child.next('reader-back');
    rig = await plugIn(ptyDir);
    const backLine = await back;
    expect(backLine?.['tries']).toBeGreaterThanOrEqual(2);
    // Shown out of service between the loss and the return, idle again after it.
    const events = child.lines.map((l) => `${String(l['event'])}:${String(l['kind'] ?? '')}`);
    const lostAt = events.indexOf('reader-lost:');
    const backAt = events.indexOf('reader-back:');
    expect(events.slice(lostAt, backAt)).toContain('screen:outOfService');
    await guarded(
      waitFor(() => child.lines.slice(backAt).some((l) => l['kind'] === 'idle')),
      () => 'no idle screen after the reader came back',
    );
    expect((await tap(rig, child, second))['result']).toBe('approved');

    const stopped = child.next('stopped');
    child.proc.kill('SIGTERM');
    expect((await stopped)?.['reason']).toBe('signal SIGTERM');
    expect(await guarded(child.exited, () => 'no exit')).toEqual({ code: 0, signal: null });
    const verify: string[] = [];
    const io = { out: (l: string) => verify.push(l), err: (l: string) => verify.push(l) };
    expect(await runJournalCommand(['verify', '--journal', journalDir], io)).toBe(0);
    expect(first.ledger()).toHaveLength(1);
    expect(second.ledger()).toHaveLength(1);
  }, 90_000);

  it('run_journalFileDeletedWhileRunning_nextTapRefused_outOfServiceSaysWhy_noChargeLost',
    async () => {
      // Appends went on through the cached handle into the deleted file: the rider was charged
      // and the record was gone. The validator stays up (uploads go on) and out of service.
      if (!externalToolsReady(['socat'], TOOLS_CONTEXT)) return;
      const { rig, journalDir, child, second } = await runAfterAPaidTap();
      rmSync(join(journalDir, 'journal.bin'));
      expect((await tap(rig, child, second))['result']).not.toBe('approved');
      expect(second.ledger()).toHaveLength(0);
      await guarded(waitFor(() => child.lines.some((l) => l['event'] === 'out-of-service'
        && /removed or replaced while open/.test(String(l['detail'])))),
      () => `no out-of-service naming the file: ${JSON.stringify(child.lines.slice(-6))}`);
      const stopped = child.next('stopped');
      child.proc.kill('SIGTERM');
      expect(await stopped).not.toBeNull();
      expect(await guarded(child.exited, () => 'no exit')).toEqual({ code: 0, signal: null });
    });

  const name = 'run_unpluggedMidTapAtGpo_tapEndsLinkLost_reTapAfterReplugPaysExactlyOnce';
  it(name, { timeout: 90_000 }, async () => {
    if (!externalToolsReady(['socat'], TOOLS_CONTEXT)) return;
    const flags = await writeParams();
    const ptyDir = join(dir, 'pty');
    mkdirSync(ptyDir);
    let armed = false;
    let pulled: Promise<void> | null = null;
    const rigs: Pn532SimOnPty[] = [];
    // The plug is pulled the moment a GPO command (InDataExchange 80 A8) reaches the reader:
    // the emulator is detached at once, so the card never sees it, and socat dies right after.
    const onFrame = (line: string): void => {
      if (!armed || !/^H>P .*d4 40 01 80 a8/.test(line)) return;
      armed = false;
      const rig = rigs[0];
      if (rig !== undefined) {
        rig.sim.detach();
        pulled = unplug(rig);
      }
    };
    rigs.push(await plugIn(ptyDir, onFrame));
    const journalDir = join(dir, 'journal');
    const hostPath = join(ptyDir, 'host');
    const child = spawnRun(['--port', hostPath, '--journal', journalDir, ...flags]);
    expect(await child.next('start'), child.stderr()).not.toBeNull();
    const [card] = cards();
    if (card === undefined) throw new Error('cards');
    armed = true;
    const torn = child.next('tap');
    const lost = child.next('reader-lost');
    // Awaited below; marked handled so a failed attempt does not leave a stray rejection.
    lost.catch(() => undefined);
    rigs[0]?.sim.placeCard(card);
    const tornLine = await torn;
    expect(pulled, 'the GPO was seen and the plug pulled').not.toBeNull();
    expect(tornLine?.['result']).toBe('tryAgain');
    expect(await lost).not.toBeNull();
    await pulled;

    const back = child.next('reader-back');
    const rig = await plugIn(ptyDir);
    expect(await back).not.toBeNull();
    // The rider took the card away meanwhile (the new field is empty) and taps again once the
    // validator has seen the empty field: until then the card counts as never removed.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const again = await tap(rig, child, card);
    expect(['approved', 'alreadyPaid']).toContain(again['result']);

    const stopped = child.next('stopped');
    child.proc.kill('SIGTERM');
    expect(await stopped).not.toBeNull();
    expect(await guarded(child.exited, () => 'no exit')).toEqual({ code: 0, signal: null });
    // The card's own ledger is the truth: one debit, one clearing record for it, nothing
    // left uncertain.
    const out: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
    expect(await runJournalCommand(['verify', '--journal', journalDir], io)).toBe(0);
    expect(out).toContain('  uncertain taps 0');
    out.length = 0;
    expect(await runJournalCommand(['export', '--journal', journalDir], io)).toBe(0);
    const clearing = out
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine)
      .filter((l) => l['type'] === 'clearing');
    expect(card.ledger()).toHaveLength(1);
    expect(clearing.map((l) => l['atc'])).toEqual(card.ledger().map((e) => e.atc));
    // The interrupted tap ended as the kernel's link-loss outcome and debited nothing (the
    // card never saw the GPO): the one debit is the re-tap's, in the card's second presentation.
    expect(tornLine?.['reason']).toBe('try-again: link-lost');
    expect(card.ledger().map((e) => e.presentation)).toEqual([2]);
  });

  it('run_unpluggedAndNeverBack_sigtermStillEndsWithExit0', async () => {
    if (!externalToolsReady(['socat'], TOOLS_CONTEXT)) return;
    const flags = await writeParams();
    const ptyDir = join(dir, 'pty');
    mkdirSync(ptyDir);
    const rig = await plugIn(ptyDir);
    const child = spawnRun(['--port', rig.hostPath, '--journal', join(dir, 'journal'), ...flags]);
    expect(await child.next('start')).not.toBeNull();
    const lost = child.next('reader-lost');
    await unplug(rig);
    expect(await lost).not.toBeNull();
    // Today's defect: the process ended here by itself with Node's code 13 and no word.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(child.proc.exitCode, child.stderr()).toBeNull();
    child.proc.kill('SIGTERM');
    expect(await guarded(child.exited, () => 'no exit')).toEqual({ code: 0, signal: null });
  }, 60_000);
});

function waitFor(condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = (): void => {
      if (condition()) resolve();
      else setTimeout(poll, 20);
    };
    poll();
  });
}

describe('shuaka run subprocess: documented exit codes on every refusal', () => {
  it('run_missingSerialPort_exits3', async () => {
    const flags = await writeParams();
    const journalDir = join(dir, 'journal');
    const child = spawnRun(['--port', join(dir, 'ttyUSB9'), '--journal', journalDir, ...flags]);
    expect(await guarded(child.exited, () => 'no exit')).toEqual({ code: 3, signal: null });
    expect(child.stderr()).toContain(`cannot open serial port ${join(dir, 'ttyUSB9')}`);
    expect(existsSync(journalDir), 'a refused start leaves no journal directory').toBe(false);
  });

  it('run_badFlag_exits2WithUsage', async () => {
    const child = spawnRun(['--port', '/dev/null', '--journal-min-free-mb', 'lots']);
    expect(await guarded(child.exited, () => 'no exit')).toEqual({ code: 2, signal: null });
    expect(child.stderr()).toContain('Exit codes:');
  });

  it('run_journalPathIsAFile_exits4NotADirectory', async () => {
    const flags = await writeParams();
    const journalPath = join(dir, 'journal');
    writeFileSync(journalPath, 'not a directory');
    const child = spawnRun(['--port', join(dir, 'ttyUSB9'), '--journal', journalPath, ...flags]);
    expect(await guarded(child.exited, () => 'no exit')).toEqual({ code: 4, signal: null });
    expect(child.stderr()).toContain('not a directory');
  });

  it('run_journalUnderProc_mkdirSaysENOENT_exits4AtOnce_notASpinForEver', async () => {
    // procfs answers mkdir with ENOENT under a directory that exists: node's recursive mkdir
    // retried that for ever at full CPU, deaf to SIGTERM (a mistyped path on a board).
    const flags = await writeParams();
    const journalDir = join('/proc', `shuaka-journal-${process.pid}`, 'journal');
    const child = spawnRun(['--port', join(dir, 'ttyUSB9'), '--journal', journalDir, ...flags]);
    const spin = new Promise((resolve) => setTimeout(() => resolve('still running'), 15_000));
    expect(await Promise.race([child.exited, spin]), child.stderr())
      .toEqual({ code: 4, signal: null });
    expect(child.stderr()).toContain(`journal ${journalDir}: cannot create it`);
    expect(child.stderr()).toContain('ENOENT');
  });

  it('run_journalFsBelowTheRequiredFreeSpace_exits4 (real statfs, threshold above this disk)', async () => {
    const flags = await writeParams();
    const journalDir = join(dir, 'journal');
    const argv = ['--port', join(dir, 'ttyUSB9'), '--journal', journalDir, ...flags];
    const child = spawnRun([...argv, '--journal-min-free-mb', String(2 ** 30)]);
    expect(await guarded(child.exited, () => 'no exit')).toEqual({ code: 4, signal: null });
    expect(child.stderr()).toMatch(/MiB free, below the required 1073741824\.0 MiB/);
    expect(child.stderr()).toContain('the validator does not start (exit 4)');
    expect(child.stderr()).not.toContain('in service');
    expect(existsSync(journalDir), 'the directory the check made is removed').toBe(false);
  });

  it('run_journalDirNotWritable_exits4 (real EACCES: mode 0555, run as uid 65534 if root)', async () => {
    const flags = await writeParams();
    const journalDir = join(dir, 'journal');
    mkdirSync(journalDir);
    chmodSync(journalDir, 0o555);
    // The child, as another user, must reach the parameters through the temp dir.
    chmodSync(dir, 0o755);
    const asRoot = process.getuid?.() === 0;
    const argv = ['--port', join(dir, 'ttyUSB9'), '--journal', journalDir, ...flags];
    const child = spawnRun(argv, asRoot ? NOBODY : null);
    expect(await guarded(child.exited, () => 'no exit'), child.stderr()).toEqual({
      code: 4,
      signal: null,
    });
    expect(child.stderr()).toMatch(/journal .*: not writable \(EACCES/);
    expect(readdirSync(journalDir)).toEqual([]);
  });

  it('run_journalFileNotWritable_dirWritable_exits4 (a journal.bin left by a run as root)',
    async () => {
      // The directory passed the probe, the start said "in service", and the first rider's
      // tap failed with EACCES: out of service until someone came.
      const flags = await writeParams();
      const journalDir = join(dir, 'journal');
      mkdirSync(journalDir);
      writeFileSync(join(journalDir, 'journal.bin'), new Uint8Array(0));
      chmodSync(join(journalDir, 'journal.bin'), 0o444);
      chmodSync(journalDir, 0o777);
      chmodSync(dir, 0o755);
      const asRoot = process.getuid?.() === 0;
      if (!asRoot) chmodSync(journalDir, 0o755);
      const argv = ['--port', join(dir, 'ttyUSB9'), '--journal', journalDir, ...flags];
      const child = spawnRun(argv, asRoot ? NOBODY : null);
      expect(await guarded(child.exited, () => 'no exit'), child.stderr()).toEqual({
        code: 4,
        signal: null,
      });
      expect(child.stderr()).toMatch(/journal .*: not writable \(EACCES.*journal\.bin/);
      expect(readdirSync(journalDir)).toEqual(['journal.bin']);
    });

  it('twin: an older gate ledger day it may not write is only read: the check passes (exit 3, '
    + 'no reader)', async () => {
    const flags = await writeParams();
    const journalDir = join(dir, 'journal');
    mkdirSync(journalDir);
    writeFileSync(join(journalDir, 'gate-2020-01-01.log'), '');
    chmodSync(join(journalDir, 'gate-2020-01-01.log'), 0o444);
    writeFileSync(join(journalDir, 'gate-2020-01-02.log'), '');
    chmodSync(join(journalDir, 'gate-2020-01-02.log'), 0o666);
    chmodSync(journalDir, 0o777);
    chmodSync(dir, 0o755);
    const asRoot = process.getuid?.() === 0;
    // The deny key is the service user's own (a key open to others is refused).
    if (asRoot) chownSync(join(dir, 'deny.key'), NOBODY, NOBODY);
    const argv = ['--port', join(dir, 'ttyUSB9'), '--journal', journalDir, ...flags];
    const child = spawnRun(argv, asRoot ? NOBODY : null);
    expect(await guarded(child.exited, () => 'no exit'), child.stderr()).toEqual({
      code: 3,
      signal: null,
    });
  });
});
