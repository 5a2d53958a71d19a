// The data directory's lock under contention, from separate processes as in the field (the
// validator and `shuaka journal ack`, or two of either): never two holders at once, also when
// the lock a holder leaves behind is stale (its writer killed) and several takers find it so.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

const DIR_LOCK_JS = resolve(__dirname, '..', '..', '..', 'dist', 'hal', 'src', 'storage',
  'dir_lock.js');

// One taker: ROUNDS times take the lock (BUSY: try again), prove it is alone by creating a
// marker file exclusively, hold it a moment, remove the marker, then release the lock or, when
// DIES is 1, in one round of four exit holding it, as a killed validator would: its lock is
// left behind naming a process that no longer runs, for the next takers to find stale.
const TAKER_JS = `
const { dirLockAcquire } = await import(process.argv[1]);
const { open, unlink } = await import('node:fs/promises');
const [dir, rounds, dies] = [process.argv[2], Number(process.argv[3]), process.argv[4] === '1'];
const marker = dir + '/holder';
const nap = (ms) => new Promise((r) => setTimeout(r, ms));
// A taker that cannot get the lock gives up rather than outlive its test (a lock bug, or the
// test timed out and left it running).
const deadline = Date.now() + 30_000;
let overlaps = 0, busy = 0, round = 0;
const report = () => process.stdout.write(JSON.stringify({ overlaps, busy, rounds: round }));
for (; round < rounds; round += 1) {
  let lock;
  for (;;) {
    lock = await dirLockAcquire(dir);
    if (lock.ok) break;
    if (!/held by|meanwhile/.test(lock.detail)) throw new Error(lock.detail);
    busy += 1;
    if (Date.now() > deadline) throw new Error('no lock within 30 s: ' + lock.detail);
    await nap(Math.random() * 2);
  }
  try {
    const h = await open(marker, 'wx');
    await h.close();
    await nap(Math.random() * 2);
    await unlink(marker);
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
    overlaps += 1;
  }
  if (dies && Math.random() < 0.25) {
    round += 1;
    report();
    process.exit(0);
  }
  await lock.value.release();
}
report();
`;

interface TakerResult {
  readonly overlaps: number;
  readonly busy: number;
  /** Rounds done before it ended (or died). */
  readonly rounds: number;
}

function runTaker(dir: string, rounds: number, dies: boolean): Promise<TakerResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', TAKER_JS,
      pathToFileURL(DIR_LOCK_JS).href, dir, String(rounds), dies ? '1' : '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) fail(new Error(`taker exited ${code}: ${err}`));
      else done(JSON.parse(out) as TakerResult);
    });
  });
}

/** ROUNDS rounds of takers, each killed taker replaced by a new one for the rounds left. */
async function takerLine(dir: string): Promise<TakerResult & { deaths: number }> {
  let [overlaps, busy, done, deaths] = [0, 0, 0, 0];
  while (done < ROUNDS) {
    const r = await runTaker(dir, ROUNDS - done, true);
    [overlaps, busy, done] = [overlaps + r.overlaps, busy + r.busy, done + r.rounds];
    if (done < ROUNDS) deaths += 1;
  }
  return { overlaps, busy, rounds: done, deaths };
}

const TAKERS = 6;
const ROUNDS = 40;

describe('dir_lock under contention (separate processes)', () => {
  let dir = '';
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('lock_neverHasTwoHolders_whenSixProcessesTakeAndReleaseItAtOnce', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shuaka-lock-race-'));
    const results = await Promise.all(
      Array.from({ length: TAKERS }, () => runTaker(dir, ROUNDS, false)));
    // The contention is real: takers did find the lock held.
    expect(results.reduce((n, r) => n + r.busy, 0)).toBeGreaterThan(0);
    expect(results.map((r) => r.overlaps)).toEqual(Array(TAKERS).fill(0));
  }, 60_000);

  it('lock_neverHasTwoHolders_whenTakersDieHoldingItAndOthersFindItStale', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shuaka-lock-stale-race-'));
    const results = await Promise.all(Array.from({ length: TAKERS }, () => takerLine(dir)));
    // Takers did die holding the lock, and others found it held.
    expect(results.reduce((n, r) => n + r.deaths, 0)).toBeGreaterThan(0);
    expect(results.reduce((n, r) => n + r.busy, 0)).toBeGreaterThan(0);
    expect(results.map((r) => r.overlaps)).toEqual(Array(TAKERS).fill(0));
  }, 60_000);
});

describe('dir_lock stale-lock removal', () => {
  let dir = '';
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('breakStale_keepsANewLock_whenAnotherTakersVerdictOfStaleCameBeforeIt', async () => {
    // Taker B read a killed holder's lock and judged it stale; before B acted, taker A removed
    // that lock and took the directory. B's late removal must leave A's lock in place.
    dir = await mkdtemp(join(tmpdir(), 'shuaka-lock-verdict-'));
    const { dirLockAcquire, dirLockBreakStale, DIR_LOCK_NAME } = await import(
      pathToFileURL(DIR_LOCK_JS).href) as typeof import('../../src/storage/dir_lock.js');
    const path = join(dir, DIR_LOCK_NAME);
    const killed = `${await deadPid()}\n`;
    await writeFile(path, killed);
    const a = await dirLockAcquire(dir);
    expect(a.ok).toBe(true);
    const held = await readFile(path, 'utf8');
    expect(held).not.toBe(killed);
    const late = await dirLockBreakStale(path, killed);
    expect(late.ok).toBe(true);
    expect(await readFile(path, 'utf8')).toBe(held);
    // And a real stale lock is removed by it.
    await writeFile(path, killed);
    expect((await dirLockBreakStale(path, killed)).ok).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it('acquire_takesTheLock_whenBothTheLockAndTheBreakLockWereLeftByKilledProcesses', async () => {
    dir = await mkdtemp(join(tmpdir(), 'shuaka-lock-break-left-'));
    const { dirLockAcquire, DIR_LOCK_NAME } = await import(
      pathToFileURL(DIR_LOCK_JS).href) as typeof import('../../src/storage/dir_lock.js');
    const path = join(dir, DIR_LOCK_NAME);
    await writeFile(path, `${await deadPid()}\n`);
    await writeFile(`${path}.break`, `${await deadPid()}\n`);
    const lock = await dirLockAcquire(dir);
    expect(lock.ok).toBe(true);
    if (!lock.ok) return;
    expect((await readFile(path, 'utf8')).split(' ')[0]).toBe(`${process.pid}`);
    await lock.value.release();
    // Nothing left behind: no lock, no break lock, no half-made lock file.
    expect(await readdir(dir)).toEqual([]);
  });
});

/** The pid of a process that has exited (a killed holder's). */
function deadPid(): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'],
      { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.on('error', fail);
    child.on('close', () => done(out));
  });
}
