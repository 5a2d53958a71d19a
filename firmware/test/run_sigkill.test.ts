// SIGKILL of a real `shuaka run` process at every journal write point and at random moments.
//
// The validator is a child process on a socat pty; the PN532 emulator and the virtual cards
// live in this process, so they outlive every kill. After each kill the validator restarts on
// the same journal directory, the interrupted rider taps again and the line goes on. The
// cards' own ledgers are the independent truth: each rider paid exactly once, every debit has
// exactly one clearing record, nothing uncertain is left and `journal verify` passes.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  FileStorage,
  fileStorageCrashPointParse,
} from '../../hal/src/storage/file_storage.js';
import { population, type PopulationName } from '../../host-sim/src/cards/card_population.js';
import type { QpbocCard } from '../../host-sim/src/cards/qpboc_card.js';
import { testPki } from '../../host-sim/src/pki/test_pki.js';
import { PN532_SIM_DEFAULT_OPTIONS } from '../../host-sim/src/pn532_sim/pn532_sim.js';
import { externalToolsReady } from '../../host-sim/src/pn532_sim/pty/external_tools.js';
import {
  startPn532SimOnPty,
  type Pn532SimOnPty,
} from '../../host-sim/src/pn532_sim/pty/pn532_sim_pty.js';
import { WallClock } from '../../host-sim/src/pn532_sim/pty/wall_clock.js';
import { Prng } from '../../host-sim/src/prng.js';
import { maskPan } from '../src/app/journal/journal_records.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { CRASH_AT_ENV, crashPointFromEnv } from '../src/boards/bus_validator_parts.js';
import { runJournalCommand } from '../src/cli/journal_cmd.js';
import { TEST_DENY_KEY, writeTestDenyKey } from './deny_key_fixture.js';
import { spawnWithPid } from './pid_reuse_fixture.js';

const SEED = seedFromEnv(2026);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const CLI_DIST = join(ROOT, 'dist', 'firmware', 'src', 'cli', 'shuaka_cli.js');
/**
 * The child runs the built CLI the way bin/shuaka.js does, minus its rebuild-when-stale check:
 * other edits in the tree during the test must not turn a child's start into a build.
 * beforeAll runs the bin once, so dist/ matches the sources.
 */
const CHILD_MAIN =
  'const { runCli } = await import(process.argv[1]);' +
  'process.exitCode = await runCli(process.argv.slice(2));';
/** Hang guard for one wait on the child (a start or a tap takes well under a second). */
const WAIT_GUARD_MS = 30_000;
/** The scripted line of the write-point sweep: three EC riders. */
const SWEEP_CARDS: readonly PopulationName[] = [
  'unionpay-debit-ec',
  'unionpay-credit-ec',
  'unionpay-quasi-credit-ec',
];
const TOOLS_CONTEXT = 'shuaka run SIGKILL crash test';

type LogLine = Record<string, unknown>;
type ChildExit = { readonly code: number | null; readonly signal: NodeJS.Signals | null };

/** One `shuaka run` child process and its JSON log. */
interface ValidatorChild {
  readonly proc: ChildProcess;
  readonly stderr: string[];
  /** Settles once the process is gone and its stdout fully read. */
  readonly exited: Promise<ChildExit>;
  /** The next log line with this event, or null when the process ends first. */
  next(event: string): Promise<LogLine | null>;
}

/** The emulator on its own pty, and the flags of `shuaka run` that reach it. */
interface Rig {
  readonly pty: Pn532SimOnPty;
  readonly runFlags: readonly string[];
}

let dir = '';
const liveChildren = new Set<ValidatorChild>();
const liveRigs = new Set<Pn532SimOnPty>();

/** SHUAKA_SEED overrides the seed (as in the simulator's tests). */
function seedFromEnv(fallback: number): number {
  const text = process.env['SHUAKA_SEED'];
  if (text === undefined || text === '') return fallback;
  const seed = Number(text);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`SHUAKA_SEED=${text}`);
  return seed;
}

beforeAll(() => {
  if (!externalToolsReady(['socat'], TOOLS_CONTEXT)) return;
  // The bin rebuilds dist/ when a source is newer (npm test has already built it).
  const warm = spawnSync(process.execPath, [BIN, '--help'], { cwd: ROOT, encoding: 'utf8' });
  expect(warm.status, warm.stderr).toBe(0);
}, 180_000);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-sigkill-'));
});

afterEach(async () => {
  for (const child of liveChildren) {
    child.proc.kill('SIGKILL');
    await child.exited;
  }
  for (const rig of liveRigs) await rig.close();
  liveRigs.clear();
  rmSync(dir, { recursive: true, force: true });
});

/** A signed default parameter set and its public key on disk; returns their flags. */
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
  return ['--params', paramsDir, '--params-pub', pubPath, '--deny-key', writeTestDenyKey(dir)];
}

/** The emulator on a fresh socat pty pair (closed in afterEach at the latest). */
async function startRig(paramsFlags: readonly string[], mode: 'ec' | 'oda' = 'ec'): Promise<Rig> {
  const pty = await startPn532SimOnPty({
    dir: mkdtempSync(join(dir, 'pty-')),
    clock: new WallClock(),
    pace: false,
    sim: { ...PN532_SIM_DEFAULT_OPTIONS, waitModelledTime: false, commandDelayMs: 0 },
  });
  liveRigs.add(pty);
  const runFlags = [
    ...['--port', pty.hostPath, ...paramsFlags],
    ...['--mode', mode, '--sysfs-root', join(dir, 'no-sys')],
  ];
  return { pty, runFlags };
}

async function closeRig(rig: Rig): Promise<void> {
  liveRigs.delete(rig.pty);
  await rig.pty.close();
}

/** Starts `shuaka run` on `journalDir`, with the crash hook when `crashAt` is set. */
function spawnValidator(rig: Rig, journalDir: string, crashAt: string | null): ValidatorChild {
  const env = { ...process.env };
  delete env[CRASH_AT_ENV];
  if (crashAt !== null) env[CRASH_AT_ENV] = crashAt;
  const argv = ['run', ...rig.runFlags, '--journal', journalDir];
  const proc = spawn(
    process.execPath,
    ['--input-type=module', '-e', CHILD_MAIN, pathToFileURL(CLI_DIST).href, ...argv],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (text: string) => stderr.push(text));
  let waiter: { event: string; resolve: (line: LogLine | null) => void } | null = null;
  let gone = false;
  if (proc.stdout === null) throw new Error('spawned without a stdout pipe');
  createInterface({ input: proc.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as LogLine;
    if (waiter !== null && line['event'] === waiter.event) {
      const { resolve } = waiter;
      waiter = null;
      resolve(line);
    }
  });
  // 'close', not 'exit': a line the validator wrote just before it died is still read.
  const exited = new Promise<ChildExit>((resolve) => {
    proc.once('close', (code, signal) => {
      gone = true;
      waiter?.resolve(null);
      waiter = null;
      resolve({ code, signal });
    });
  });
  const child: ValidatorChild = {
    proc,
    stderr,
    exited,
    next: (event) => {
      if (gone) return Promise.resolve(null);
      const wanted = new Promise<LogLine | null>((resolve) => {
        waiter = { event, resolve };
      });
      return guarded(wanted, () => `no '${event}' from the validator; stderr: ${stderr.join('')}`);
    },
  };
  void exited.then(() => liveChildren.delete(child));
  liveChildren.add(child);
  return child;
}

/** Fails (instead of hanging until the test timeout) when `promise` never settles. */
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

/** A validator that boots to its `start` line; fails the test when it does not. */
async function startValidator(
  rig: Rig,
  journalDir: string,
  crashAt: string | null,
): Promise<ValidatorChild> {
  const child = spawnValidator(rig, journalDir, crashAt);
  const started = await child.next('start');
  expect(started, `validator did not start: ${child.stderr.join('')}`).not.toBeNull();
  expect(started?.['outOfService']).toBeNull();
  return child;
}

/** A rider holds the card in the field until the validator answers (or dies), then leaves. */
async function tap(rig: Rig, child: ValidatorChild, card: QpbocCard): Promise<LogLine | null> {
  const answered = child.next('tap');
  rig.pty.sim.placeCard(card);
  const line = await answered;
  rig.pty.sim.removeCard(card);
  return line;
}

/**
 * SIGTERM: resolves once the validator logged that it stopped; the returned promise then
 * settles with the exit and, after it, frees the rig. The wait for the exit is left to the
 * caller because the process lingers up to 1.5 s after its last line (the reader's transceive
 * deadline timers keep the event loop alive), which would otherwise dominate the test.
 */
async function stopValidator(
  child: ValidatorChild,
  rig: Rig,
  signal: 'SIGTERM' | 'SIGHUP' = 'SIGTERM',
): Promise<{ readonly exit: Promise<ChildExit> }> {
  const stopped = child.next('stopped');
  child.proc.kill(signal);
  const line = await stopped;
  expect(line?.['reason'], child.stderr.join('')).toBe(`signal ${signal}`);
  const exit = child.exited.then(async (ended) => {
    await closeRig(rig);
    return ended;
  });
  return { exit };
}

function panOf(card: QpbocCard): string {
  const pan = card.profile.applications[0]?.pan;
  if (pan === undefined) throw new Error('card without an application');
  return pan;
}

/** The CLI's output lines of `shuaka journal <argv>` (run in this process) and its exit code. */
async function journalCli(argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await runJournalCommand(argv, { out: (l) => out.push(l), err: () => undefined });
  return { code, out };
}

/**
 * The end state every run must reach, checked against the cards: the journal verifies, each
 * card was debited exactly once and that debit has exactly one clearing record (same ATC,
 * amount and TC), no clearing record lacks a debit, nothing is left uncertain, and torn or
 * reconciled records exist only for cards that were in the field at a kill.
 */
async function expectLedgersMatchJournal(
  journalDir: string,
  cards: readonly QpbocCard[],
  interrupted: ReadonlySet<QpbocCard>,
  where: string,
): Promise<void> {
  const verify = await journalCli(['verify', '--journal', journalDir]);
  expect(verify.code, `journal verify: ${where}\n${verify.out.join('\n')}`).toBe(0);
  expect(verify.out, where).toContain('  uncertain taps 0');
  const exported = await journalCli(['export', '--journal', journalDir]);
  expect(exported.code, where).toBe(0);
  const lines = exported.out.map((text) => JSON.parse(text) as LogLine);
  const clearing = new Map<string, LogLine[]>();
  for (const line of lines.filter((l) => l['type'] === 'clearing')) {
    const key = `${String(line['pan'])}/${String(line['atc'])}`;
    clearing.set(key, [...(clearing.get(key) ?? []), line]);
  }
  const debited = new Set<string>();
  for (const card of cards) {
    const ledger = card.ledger();
    expect(ledger.length, `${card.label} debits: ${where}`).toBe(1);
    for (const entry of ledger) {
      const key = `${panOf(card)}/${entry.atc}`;
      debited.add(key);
      const records = clearing.get(key) ?? [];
      expect(records.length, `clearing records of ${card.label} atc ${entry.atc}: ${where}`)
        .toBe(1);
      expect(records[0]?.['amountMinor'], where).toBe(entry.amountMinor);
      expect(String(records[0]?.['iccDataHex']).toUpperCase(), where)
        .toContain(entry.cryptogramHex.toUpperCase());
    }
  }
  expect([...clearing.keys()].filter((key) => !debited.has(key)), where).toEqual([]);
  const masked = new Set([...interrupted].map((card) => maskPan(panOf(card))));
  for (const line of lines.filter((l) => l['type'] === 'torn' || l['type'] === 'pending_open')) {
    expect(line['type'], where).toBe('torn');
    expect(line['stillUncertain'], where).toBe(false);
    expect(masked.has(String(line['panMasked'])), `torn record of ${line['panMasked']}: ${where}`)
      .toBe(true);
  }
}

/** A kill point of the crash hook, as `SHUAKA_CRASH_AT` spells it. */
interface KillPoint {
  readonly when: 'before' | 'after';
  readonly write: number;
}

/**
 * Both sides of every write. One journal record is one append then one sync with nothing in
 * between, so after an append and before its sync are the same file and the same card: the
 * pair checks that the hook counts as the test thinks. Before an append and after the sync
 * before it differ by the card exchange in between.
 */
function killPoints(writes: number): KillPoint[] {
  const points: KillPoint[] = [];
  for (let write = 1; write <= writes; write += 1) {
    points.push({ when: 'before', write }, { when: 'after', write });
  }
  return points;
}

/** Writes of one approved tap: pending append, its sync, final append, its sync. */
const WRITES_PER_TAP = 4;

/**
 * What a kill point implies, from the write-ahead rule alone: the card is debited only once
 * its pending record is durable, and the final record is written after the debit. Bytes
 * handed to the kernel survive SIGKILL, so a record is durable once its append returned.
 * The re-tap then finds nothing (a fresh approval), an open pending (finished by the GPO-less
 * re-read: approved, recovered), or the final record (already paid: no second fare).
 */
function expectedAtKill(point: KillPoint): {
  readonly debitedAtKill: boolean;
  readonly reTap: { readonly result: string; readonly recovered: boolean };
} {
  const step = (point.write - 1) % WRITES_PER_TAP;
  const pendingDurable = step > 0 || point.when === 'after';
  const finalDurable = step === 3 || (step === 2 && point.when === 'after');
  let reTap = { result: 'approved', recovered: false };
  if (finalDurable) reTap = { result: 'alreadyPaid', recovered: false };
  else if (pendingDurable) reTap = { result: 'approved', recovered: true };
  return { debitedAtKill: step >= 2, reTap };
}

/** The riders tap in turn until the validator dies; returns their tap lines and who was in. */
async function tapLine(
  rig: Rig,
  child: ValidatorChild,
  cards: readonly QpbocCard[],
): Promise<{ lines: LogLine[]; killedAt: number | null }> {
  const lines: LogLine[] = [];
  for (const [i, card] of cards.entries()) {
    const line = await tap(rig, child, card);
    if (line === null) return { lines, killedAt: i };
    lines.push(line);
  }
  return { lines, killedAt: null };
}

/** Fresh cards of the sweep's riders (same PANs every time, empty ledgers). */
function sweepCards(): QpbocCard[] {
  const pop = population(SEED, { pki: testPki() });
  return SWEEP_CARDS.map((name) => pop.card(name));
}

/** The clean line: three approvals; returns the journal's write count W. */
async function cleanRun(paramsFlags: readonly string[]): Promise<number> {
  const where = `clean run, seed ${SEED}`;
  const rig = await startRig(paramsFlags);
  const journalDir = join(dir, 'journal-clean');
  const cards = sweepCards();
  const child = await startValidator(rig, journalDir, null);
  const line = await tapLine(rig, child, cards);
  // SIGHUP (a technician's ssh session closing) stops as SIGTERM does: old code, exit 129 at
  // once with no 'stopped' line.
  const { exit } = await stopValidator(child, rig, 'SIGHUP');
  expect(await exit, child.stderr.join('')).toEqual({ code: 0, signal: null });
  expect(line.killedAt, where).toBeNull();
  expect(line.lines.map((l) => l['result']), where).toEqual(['approved', 'approved', 'approved']);
  await expectLedgersMatchJournal(journalDir, cards, new Set(), where);
  const verify = await journalCli(['verify', '--journal', journalDir]);
  const counts = verify.out.find((l) => l.startsWith('  records '));
  // Each approval is a pending record then its final: one append and one sync each.
  expect(counts, where).toMatch(/^ {2}records 6 \(pending 3, final 3, declined 0, torn 0,/);
  return WRITES_PER_TAP * SWEEP_CARDS.length;
}

/**
 * One kill point: a validator with the hook taps the line until it dies, a plain one restarts
 * on the same journal, the interrupted rider taps again, then the rest. Returns the restarted
 * validator's exit, wrapped (it lingers; the caller collects it).
 */
async function killAndRecover(
  paramsFlags: readonly string[],
  point: KillPoint,
  writes: number,
): Promise<{ readonly exit: Promise<ChildExit> }> {
  const where = `SIGKILL ${point.when} write ${point.write} of ${writes}, seed ${SEED}`;
  const rig = await startRig(paramsFlags);
  const journalDir = join(dir, `journal-${point.when}-${point.write}`);
  const cards = sweepCards();
  const doomed = await startValidator(rig, journalDir, `${point.when}:${point.write}`);
  const first = await tapLine(rig, doomed, cards);
  const killedAt = Math.floor((point.write - 1) / WRITES_PER_TAP);
  expect(first.killedAt, `the rider in the field at the kill: ${where}`).toBe(killedAt);
  expect(await doomed.exited, where).toEqual({ code: null, signal: 'SIGKILL' });
  expect(first.lines.map((l) => l['result']), where).toEqual(first.lines.map(() => 'approved'));
  const expected = expectedAtKill(point);
  const debitsAtKill = cards[killedAt]?.ledger().length;
  expect(debitsAtKill, `debits at the kill: ${where}`).toBe(expected.debitedAtKill ? 1 : 0);
  const restarted = await startValidator(rig, journalDir, null);
  const rest = await tapLine(rig, restarted, cards.slice(killedAt));
  const { exit } = await stopValidator(restarted, rig);
  expect(rest.killedAt, where).toBeNull();
  const [reTap, ...others] = rest.lines;
  expect({ result: reTap?.['result'], recovered: reTap?.['recovered'] }, `re-tap: ${where}`)
    .toEqual(expected.reTap);
  expect(others.map((l) => l['result']), where).toEqual(others.map(() => 'approved'));
  const interrupted = cards[killedAt];
  if (interrupted === undefined) throw new Error(where);
  await expectLedgersMatchJournal(journalDir, cards, new Set([interrupted]), where);
  return { exit };
}

describe(`shuaka run killed at every journal write point (seed ${SEED})`, () => {
  it('run_sigkilledAtEachJournalWrite_restartAndReTapAccountForEveryDebitOnce', async () => {
    if (!externalToolsReady(['socat'], TOOLS_CONTEXT)) return;
    const paramsFlags = await writeParams();
    const writes = await cleanRun(paramsFlags);
    const exits: Promise<ChildExit>[] = [];
    for (const point of killPoints(writes)) {
      exits.push((await killAndRecover(paramsFlags, point, writes)).exit);
    }
    const clean = { code: 0, signal: null };
    expect(await Promise.all(exits)).toEqual(exits.map(() => clean));
  }, 120_000);
});

describe(`shuaka run in ODA mode killed between the pending and the final (seed ${SEED})`, () => {
  it('run_odaKilledAfterThePending_sameCardReTapReconcilesIt', async () => {
    if (!externalToolsReady(['socat'], TOOLS_CONTEXT)) return;
    const where = `ODA, SIGKILL after write 2, seed ${SEED}`;
    const paramsFlags = await writeParams();
    const rig = await startRig(paramsFlags, 'oda');
    const journalDir = join(dir, 'journal-oda');
    const phone = population(SEED, { pki: testPki() }).card('phone-wallet');
    // Write 2 is the sync of the pending record: killed before the final record is written.
    const doomed = await startValidator(rig, journalDir, 'after:2');
    expect(await tap(rig, doomed, phone), where).toBeNull();
    expect(await doomed.exited, where).toEqual({ code: null, signal: 'SIGKILL' });
    const atKill = await journalCli(['verify', '--journal', journalDir]);
    expect(atKill.out, where).toContain('  uncertain taps 1');
    const restarted = await startValidator(rig, journalDir, null);
    const reTap = await tap(rig, restarted, phone);
    const { exit } = await stopValidator(restarted, rig);
    expect(reTap?.['result'], where).toBe('admitted');
    expect(await exit, restarted.stderr.join('')).toEqual({ code: 0, signal: null });
    const verify = await journalCli(['verify', '--journal', journalDir]);
    expect(verify.code, where).toBe(0);
    expect(verify.out, where).toContain('  uncertain taps 0');
    const exported = await journalCli(['export', '--journal', journalDir]);
    const lines = exported.out.map((text) => JSON.parse(text) as LogLine);
    expect(lines.map((l) => [l['type'], l['outcome'] ?? l['cryptogramType']]), where).toEqual([
      ['clearing', 'ARQC'],
      ['reconciled', 'not_debited'],
    ]);
    expect(lines[0]?.['pan'], where).toBe(panOf(phone));
    expect(lines[1]?.['targetSeq'], where).toBe(1);
    expect(phone.ledger(), where).toEqual([]);
  }, 60_000);
});

describe(`shuaka run on a journal that journal init started after 5000 (seed ${SEED})`, () => {
  it('run_onAStartedJournal_numbersFrom5001_9F41Too_andAKillRecoversThere', async () => {
    if (!externalToolsReady(['socat'], TOOLS_CONTEXT)) return;
    const where = `journal init --after-seq 5000, SIGKILL before write 3, seed ${SEED}`;
    const rig = await startRig(await writeParams());
    const journalDir = join(dir, 'journal-started');
    const init = await journalCli(['init', '--after-seq', '5000', '--journal', journalDir]);
    expect(init.code, init.out.join('\n')).toBe(0);
    const cards = sweepCards();
    // Write 3 is the final record's append of the first tap: its pending 5001 is durable.
    const doomed = await startValidator(rig, journalDir, 'before:3');
    expect((await tapLine(rig, doomed, cards)).killedAt, where).toBe(0);
    expect(await doomed.exited, where).toEqual({ code: null, signal: 'SIGKILL' });
    const restarted = await startValidator(rig, journalDir, null);
    const line = await tapLine(rig, restarted, cards);
    const { exit } = await stopValidator(restarted, rig);
    expect(await exit, restarted.stderr.join('')).toEqual({ code: 0, signal: null });
    expect(line.lines.map((l) => [l['result'], l['recovered']]), where).toEqual(
      [['approved', true], ['approved', false], ['approved', false]]);
    await expectLedgersMatchJournal(journalDir, cards, new Set(cards.slice(0, 1)), where);
    const verify = await journalCli(['verify', '--journal', journalDir]);
    expect(verify.out, where).toContain('  segments 1, retained from seq 5001');
    // The recovery writes its own grey record (5002) before the re-read, then the final (5003).
    expect(verify.out, where).toContain('  last seq 5007, acknowledged through 5000');
    const exported = await journalCli(['export', '--journal', journalDir]);
    const clearing = exported.out.map((text) => JSON.parse(text) as LogLine)
      .filter((l) => l['type'] === 'clearing');
    // Each tap's 9F41 is the seq of its transaction's first pending record: 5001 (recovered,
    // the same card transaction), 5004, 5006.
    expect(clearing.map((l) => [l['pendingSeq'], /9F4104([0-9]{8})/i
      .exec(String(l['iccDataHex']))?.[1]]), where).toEqual(
      [[5001, '00005001'], [5004, '00005004'], [5006, '00005006']]);
  }, 60_000);
});

/** The random run: ten riders, five kills at a drawn delay after a drawn rider's card lands. */
const RANDOM_RIDERS = 10;
const RANDOM_KILLS = 5;
/**
 * Upper bound of a kill's delay after the card lands. A tap on the pty takes 10-30 ms, so
 * about half the kills land mid-tap and the rest in the removal wait right after it.
 */
const KILL_DELAY_MS_MAX = 40;

/** Ten EC cards with distinct PANs (populations of neighbouring seeds). */
function randomLineCards(): QpbocCard[] {
  return Array.from({ length: RANDOM_RIDERS }, (_, i) => {
    const pop = population(SEED + 1 + Math.floor(i / SWEEP_CARDS.length), { pki: testPki() });
    return pop.card(SWEEP_CARDS[i % SWEEP_CARDS.length] ?? 'unionpay-debit-ec');
  });
}

/** Rider index -> kill delay, drawn from the seed. */
function killPlan(): Map<number, number> {
  const prng = new Prng(SEED).fork('sigkill-random');
  const plan = new Map<number, number>();
  while (plan.size < RANDOM_KILLS) {
    const rider = prng.below(RANDOM_RIDERS);
    if (!plan.has(rider)) plan.set(rider, prng.between(0, KILL_DELAY_MS_MAX));
  }
  return plan;
}

describe(`shuaka run killed at random moments of a line (seed ${SEED})`, () => {
  it('run_sigkilledFiveTimesAtRandom_everyRiderPaysOnceAndTheJournalMatches', async () => {
    if (!externalToolsReady(['socat'], TOOLS_CONTEXT)) return;
    const rig = await startRig(await writeParams());
    const journalDir = join(dir, 'journal');
    const cards = randomLineCards();
    const plan = killPlan();
    const kills: string[] = [];
    const where = (): string => `kills ${kills.join('; ')}, seed ${SEED}`;
    const interrupted = new Set<QpbocCard>();
    let child = await startValidator(rig, journalDir, null);
    for (const [i, card] of cards.entries()) {
      const delayMs = plan.get(i);
      const doomed = child;
      if (delayMs !== undefined) setTimeout(() => doomed.proc.kill('SIGKILL'), delayMs);
      let line = await tap(rig, child, card);
      if (delayMs !== undefined) {
        // The kill comes whether or not the tap finished; then the validator restarts.
        const killed = await guarded(doomed.exited, () => `kill missed: ${where()}`);
        expect(killed.signal, where()).toBe('SIGKILL');
        kills.push(`rider ${i} +${delayMs} ms ${line === null ? 'mid-tap' : 'after its tap'}`);
        child = await startValidator(rig, journalDir, null);
      }
      if (line === null) {
        interrupted.add(card);
        line = await tap(rig, child, card);
        expect(['approved', 'alreadyPaid'], `re-tap of rider ${i}: ${where()}`)
          .toContain(line?.['result']);
      } else {
        expect(line['result'], `rider ${i}: ${where()}`).toBe('approved');
      }
    }
    const { exit } = await stopValidator(child, rig);
    expect(await exit, child.stderr.join('')).toEqual({ code: 0, signal: null });
    expect(kills, where()).toHaveLength(RANDOM_KILLS);
    await expectLedgersMatchJournal(journalDir, cards, interrupted, where());
  }, 60_000);
});

describe(`shuaka run restarted with the pid of the validator it replaces (seed ${SEED})`, () => {
  it('run_sigkilledThenRestartedUnderTheSamePid_takesItsOwnStaleLockAndServes', async () => {
    if (!externalToolsReady(['socat'], TOOLS_CONTEXT)) return;
    const where = `SIGKILL, restart under the same pid, seed ${SEED}`;
    const rig = await startRig(await writeParams());
    const journalDir = join(dir, 'journal');
    const [first, second] = sweepCards();
    if (first === undefined || second === undefined) throw new Error(where);
    const doomed = await startValidator(rig, journalDir, null);
    expect((await tap(rig, doomed, first))?.['result'], where).toBe('approved');
    const pid = doomed.proc.pid ?? 0;
    doomed.proc.kill('SIGKILL');
    expect(await doomed.exited, where).toEqual({ code: null, signal: 'SIGKILL' });
    // After a power cut a board boots the same way: the validator often gets its old pid.
    const missed = new Map<ChildProcess, ValidatorChild>();
    const proc = await spawnWithPid(pid, () => {
      const child = spawnValidator(rig, journalDir, null);
      missed.set(child.proc, child);
      return child.proc;
    });
    const restarted = missed.get(proc);
    if (restarted === undefined) throw new Error(where);
    const started = await restarted.next('start');
    expect(started, `restart under pid ${pid}: ${restarted.stderr.join('')}`).not.toBeNull();
    expect((await tap(rig, restarted, second))?.['result'], where).toBe('approved');
    const { exit } = await stopValidator(restarted, rig);
    expect(await exit, restarted.stderr.join('')).toEqual({ code: 0, signal: null });
    await expectLedgersMatchJournal(journalDir, [first, second], new Set(), where);
  }, 60_000);
});

describe('the crash-test hook', () => {
  it('crashPoint_parsesBeforeOrAfterAPositiveWrite_elseRefuses', () => {
    expect(fileStorageCrashPointParse('before:3')).toEqual({ when: 'before', write: 3 });
    expect(fileStorageCrashPointParse('after:12')).toEqual({ when: 'after', write: 12 });
    for (const bad of ['', 'after', 'after:0', 'after:01', 'during:1', 'after:1 ', 'AFTER:1']) {
      expect(fileStorageCrashPointParse(bad), bad).toBeNull();
    }
    expect(crashPointFromEnv({})).toBeNull();
    expect(crashPointFromEnv({ [CRASH_AT_ENV]: '' })).toBeNull();
    expect(crashPointFromEnv({ [CRASH_AT_ENV]: 'after:2' })).toEqual({ when: 'after', write: 2 });
    expect(crashPointFromEnv({ [CRASH_AT_ENV]: 'after:two' })).toBe('bad');
  });

  it('run_withAMalformedCrashHook_refusesToStartAndCreatesNoJournal', async () => {
    if (!externalToolsReady(['socat'], TOOLS_CONTEXT)) return;
    const rig = await startRig(await writeParams());
    const journalDir = join(dir, 'journal');
    const child = spawnValidator(rig, journalDir, 'after:0');
    const exit = await guarded(child.exited, () => 'a refused validator did not exit');
    expect(exit, child.stderr.join('')).toEqual({ code: 1, signal: null });
    expect(child.stderr.join('')).toContain(`${CRASH_AT_ENV}='after:0': expected before:K`);
    expect(existsSync(journalDir)).toBe(false);
  });
});
