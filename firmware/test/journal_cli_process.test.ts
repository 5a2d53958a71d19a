// `node bin/shuaka.js journal ...` as a real subprocess: flipped bits and random bytes are
// CORRUPT (exit 3) and never cut, a new journal verifies as empty, the lock keeps ack out.

import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { JOURNAL_FILE_NAME } from '../src/app/journal/journal.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import {
  card, clearing, newPrng, scriptedEntries, writeJournalDir,
} from './journal_fixtures.js';
import { spawnWithPid } from './pid_reuse_fixture.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const DIR_LOCK_JS = join(ROOT, 'dist', 'hal', 'src', 'storage', 'dir_lock.js');

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shuaka-journal-cli-'));
  // The first run may rebuild dist/; later runs are quick.
  spawnSync(process.execPath, [BIN, 'journal', '--help'], { cwd: ROOT, encoding: 'utf8' });
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** True while a process holds `pid` (signal 0 reaches it; EPERM: someone else's). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function shuaka(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; out: string; err: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env },
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

function writeJournal(name: string, entries: readonly JournalEntry[]): Promise<string> {
  return writeJournalDir(dir, name, entries);
}

describe('shuaka journal as a process', () => {
  it('oneFlippedBitInTheLastCommittedRecord_isCorruptExit3_andNeverCut', async () => {
    const journalDir = await writeJournal('flipped', scriptedEntries().slice(0, 2));
    const path = join(journalDir, JOURNAL_FILE_NAME);
    const image = await readFile(path);
    // A bit inside the last record's payload: its CRC no longer matches.
    const index = image.length - 60;
    image[index] = (image[index] ?? 0) ^ 0x08;
    await writeFile(path, image);
    const verified = shuaka(['journal', 'verify', '--journal', journalDir]);
    expect(verified.code, verified.out + verified.err).toBe(3);
    expect(verified.out).toMatch(/: CORRUPT/);
    expect(verified.err).toMatch(/CORRUPT: journal\.bin at byte \d+ \(seq 2\)/);
    expect(verified.out).not.toMatch(/torn tail: \d+ bytes/);
    // An ack reads the whole journal first and refuses: it cuts nothing and, opening nothing
    // for writing, adds no file either (the validator's open is what quarantines).
    const ack = shuaka(['journal', 'ack', '--through', '1', '--journal', journalDir]);
    expect(ack.code, ack.err).toBe(3);
    expect(ack.err).toMatch(/not acknowledged: .* is CORRUPT: journal\.bin at byte \d+ \(seq 2\)/);
    expect(Buffer.compare(await readFile(path), image)).toBe(0);
    expect((await readdir(journalDir)).filter((name) => name.startsWith('quarantine-')))
      .toEqual([]);
    expect(shuaka(['journal', 'export', '--journal', journalDir]).code).toBe(3);
  }, 300_000);

  it('aFileOfRandomBytes_isCorruptExit3', async () => {
    const journalDir = join(dir, 'random');
    await mkdir(journalDir);
    const prng = newPrng(42);
    const bytes = Uint8Array.from({ length: 4096 }, () => prng.below(256));
    await writeFile(join(journalDir, JOURNAL_FILE_NAME), bytes);
    const verified = shuaka(['journal', 'verify', '--journal', journalDir]);
    expect(verified.code, verified.out + verified.err).toBe(3);
    expect(verified.err).toMatch(/CORRUPT: journal\.bin at byte 0 \(seq 1\)/);
    expect(Buffer.compare(await readFile(join(journalDir, JOURNAL_FILE_NAME)), bytes)).toBe(0);
  }, 300_000);

  it('aSegmentThatIsASymbolicLink_isRefusedByEveryCommand_andItsTargetLeftAsItIs',
    async () => {
      const journalDir = join(dir, 'linked');
      await mkdir(journalDir);
      const prng = newPrng(43);
      const target = join(dir, 'linked-target.bin');
      const bytes = Uint8Array.from({ length: 512 }, () => prng.below(256));
      await writeFile(target, bytes);
      await symlink(target, join(journalDir, JOURNAL_FILE_NAME));
      // Readers passed over the link ('empty', 'exported 0 lines') while the validator's
      // appends wrote through it, onto the end of the file it names.
      for (const args of [['verify'], ['export'], ['ack', '--through', '1'],
        ['init', '--after-seq', '5']]) {
        const [command = '', ...rest] = args;
        const run = shuaka(['journal', command, ...rest, '--journal', journalDir]);
        expect(run.code, `${command}: ${run.out}${run.err}`).toBe(1);
        expect(run.err).toContain('journal.bin is a symbolic link');
      }
      expect(Buffer.compare(await readFile(target), bytes)).toBe(0);
      expect((await readdir(journalDir)).sort()).toEqual([JOURNAL_FILE_NAME]);
    }, 300_000);

  it('aNewEmptyJournal_verifiesAsEmptyExit0', async () => {
    const journalDir = join(dir, 'new');
    await mkdir(journalDir);
    const verified = shuaka(['journal', 'verify', '--journal', journalDir]);
    expect(verified.code, verified.err).toBe(0);
    expect(verified.out).toMatch(/empty \(a new journal, no records yet\)/);
    expect(await readdir(journalDir)).toEqual([]);
    const absent = shuaka(['journal', 'verify', '--journal', join(dir, 'absent')]);
    expect(absent.code).toBe(1);
    // Export needs the data key only to open sealed PANs: a new journal has none to open.
    const exported = shuaka(['journal', 'export', '--journal', journalDir]);
    expect(exported.code, exported.err).toBe(0);
    expect(exported.out).toBe('');
    expect(exported.err).toMatch(/exported 0 lines: nothing after the ack through seq 0/);
    expect(await readdir(journalDir)).toEqual([]);
    // A missing directory is named as such, not as a missing key.
    const gone = shuaka(['journal', 'export', '--journal', join(dir, 'absent')]);
    expect(gone.code).toBe(1);
    expect(gone.err).toMatch(/cannot read .*absent/);
    expect(gone.err).not.toMatch(/data key/);
  }, 300_000);

  it('exportThatCannotBeWrittenWhole_failsExit1_andNeverAdvisesAnAck', async () => {
    const finals: JournalEntry[] = Array.from({ length: 30 }, (_, i) => ({
      kind: 'final', pendingSeq: null, clearing: clearing(card(300 + i), 0x40 + i),
    }));
    const journalDir = await writeJournal('short', [...scriptedEntries(), ...finals]);
    const whole = shuaka(['journal', 'export', '--journal', journalDir]);
    expect(whole.code, whole.err).toBe(0);
    expect(whole.out.length).toBeGreaterThan(2048);
    const shell = (line: string): { code: number | null; err: string } => {
      const r = spawnSync('bash', ['-c', line], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      return { code: r.status, err: r.stderr };
    };
    const bin = `${process.execPath} ${BIN} journal export --journal ${journalDir}`;
    // A file-size limit of 2 KiB (ulimit -f): the writes come back short, then EFBIG; a full
    // device: ENOSPC. Old code: --out kept 2048 bytes and its full text's digest, exit 0;
    // stdout: 'exported ...', the ack advice, then a stack trace.
    for (const [line, file] of [[`ulimit -f 2; ${bin} --out ${dir}/limited.jsonl`, 'limited'],
      [`ulimit -f 2; ${bin} > ${dir}/limited-stdout.jsonl`, null],
      [`${bin} > /dev/full`, null],
      // Any command's stdout: one line, exit 1, no trace (--help printed a stack trace).
      [`${process.execPath} ${BIN} --help > /dev/full`, null]] as const) {
      const run = shell(line);
      expect(run.code, `${line}: ${run.err}`).toBe(1);
      expect(run.err).toMatch(/cannot write .*(EFBIG|ENOSPC)/);
      expect(run.err).not.toMatch(/exported|ack --through|    at /);
      if (file !== null) {
        expect((await readdir(dir)).filter((name) => name.startsWith(file))).toEqual([]);
      }
    }
  }, 300_000);

  it('verifyAndExport_runInABoundedHeapProcess_whoseExitCodePassesThrough', async () => {
    const journalDir = await writeJournal('bounded', scriptedEntries().slice(0, 4));
    // V8's own heap statistics show the options: its default limit is gigabytes.
    const limit = (text: string): number => Number(/V8 heap limit ([0-9.]+) MiB/.exec(text)?.[1]);
    const verified = shuaka(['journal', 'verify', '--stats', '--journal', journalDir]);
    expect(verified.code, verified.err).toBe(0);
    expect(verified.out).toMatch(/: OK/);
    // --max-old-space-size=12 and 1 MiB semi-spaces (bin/shuaka.js JOURNAL_BOUNDED_FLAGS).
    expect(limit(verified.err)).toBeLessThan(16);
    // No TurboFan where V8's Maglev is on (Node.js 24 on); on 20 and 22 it alone optimizes.
    const options = /node options (.*)/.exec(verified.err)?.[1] ?? '';
    expect(options).toContain('--single-threaded');
    const nodeMajor = Number(process.versions.node.split('.')[0]);
    expect(options.includes('--no-turbofan'), options).toBe(nodeMajor >= 24);
    const out = join(dir, 'bounded.jsonl');
    const exportArgs = ['journal', 'export', '--stats', '--journal', journalDir, '--out', out];
    const exported = shuaka(exportArgs);
    expect(exported.code, exported.err).toBe(0);
    expect(limit(exported.err)).toBeLessThan(16);
    expect((await readFile(out, 'utf8')).split('\n').length).toBeGreaterThan(1);
    // Run in this process (what the bounded process does): the default limit.
    const inProcess = shuaka(['journal', 'verify', '--stats', '--journal', journalDir], {
      SHUAKA_JOURNAL_BOUNDED: '1',
    });
    expect(inProcess.code).toBe(0);
    expect(limit(inProcess.err)).toBeGreaterThan(256);
    // Exit codes of the second process pass through: usage 2, unreadable 1.
    expect(shuaka(['journal', 'verify', '--bogus']).code).toBe(2);
    expect(shuaka(['journal', 'export', '--journal', join(dir, 'absent')]).code).toBe(1);
    // Options node refuses: a clear word, node's exit code 9.
    const refused = shuaka(['journal', 'verify', '--journal', journalDir], {
      SHUAKA_JOURNAL_NODE_OPTIONS: '--no-such-v8-option',
    });
    expect(refused.code).toBe(9);
    expect(refused.err).toMatch(/node refused the options --no-such-v8-option/);
    // An option that would end node at once with 0 (a syntax check) is no verify: refused, 2.
    const checkOnly = shuaka(['journal', 'verify', '--journal', journalDir], {
      SHUAKA_JOURNAL_NODE_OPTIONS: '--check',
    });
    expect(checkOnly.code).toBe(2);
    expect(checkOnly.err).toMatch(/SHUAKA_JOURNAL_NODE_OPTIONS may list node and V8 runtime/);
  }, 300_000);

  it('ack_isRefusedExit4WhileALiveProcessHoldsTheLock_andTakesAStaleOne', async () => {
    const journalDir = await writeJournal('locked', scriptedEntries().slice(0, 3));
    const lockPath = join(journalDir, 'journal.lock');
    // This test process is alive: the lock is held.
    await writeFile(lockPath, `${process.pid}\n`);
    const refused = shuaka(['journal', 'ack', '--through', '2', '--journal', journalDir]);
    expect(refused.code, refused.err).toBe(4);
    expect(refused.err).toMatch(new RegExp(`held by running process ${process.pid}`));
    // A process that has exited: its lock is stale and is taken, then released.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    await writeFile(lockPath, `${gone.stdout}\n`);
    const acked = shuaka(['journal', 'ack', '--through', '2', '--journal', journalDir]);
    expect(acked.code, acked.err).toBe(0);
    expect(await readdir(journalDir)).not.toContain('journal.lock');
    const verified = shuaka(['journal', 'verify', '--journal', journalDir]);
    expect(verified.out).toMatch(/acknowledged through 2/);
    const help = shuaka(['journal', '--help']);
    expect(help.out).toMatch(/3 {2}corrupt/);
    expect(help.out).toMatch(/4 {2}locked/);
  }, 300_000);

  it('ack_takesALockWhoseWriterWasKilled_evenWhenItsPidRunsAgainAsAnotherProcess', async () => {
    const journalDir = await writeJournal('reused', scriptedEntries().slice(0, 3));
    // A real holder: the lock code in a process of its own, SIGKILLed while it holds the lock.
    const holder = spawn(process.execPath, ['--input-type=module', '-e',
      'const { dirLockAcquire } = await import(process.argv[1]);' +
      'const lock = await dirLockAcquire(process.argv[2]);' +
      'process.stdout.write(lock.ok ? "locked" : lock.detail); setInterval(() => {}, 1000);',
      pathToFileURL(DIR_LOCK_JS).href, journalDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const said = await new Promise<string>((resolve) => {
      holder.stdout.once('data', (data) => resolve(String(data)));
    });
    expect(said).toBe('locked');
    const pid = holder.pid ?? 0;
    const killed = new Promise((resolve) => holder.once('close', resolve));
    holder.kill('SIGKILL');
    await killed;
    expect(await readdir(journalDir)).toContain('journal.lock');
    // Its pid now runs again, as something else (after a reboot: any daemon of the board).
    // Another process of the machine (a test beside this one) that took the pid meanwhile is
    // the same case: a stranger holds it (the fixture's own spawns then never get it).
    const stranger = await spawnWithPid(pid, () => spawn('sleep', ['60'], { stdio: 'ignore' }))
      .catch((error: unknown) => {
        if (pidAlive(pid)) return null;
        throw error;
      });
    try {
      const acked = shuaka(['journal', 'ack', '--through', '2', '--journal', journalDir]);
      expect(acked.code, acked.err).toBe(0);
      expect(await readdir(journalDir)).not.toContain('journal.lock');
      expect(shuaka(['journal', 'verify', '--journal', journalDir]).out)
        .toMatch(/acknowledged through 2/);
    } finally {
      stranger?.kill('SIGKILL');
    }
  }, 300_000);

  it('ack_takesALockWhoseWriterIsAZombie_killedButNotYetReaped', async () => {
    const journalDir = await writeJournal('zombie', scriptedEntries().slice(0, 3));
    // The holder's parent is `sleep`, which never reaps it: once SIGKILLed it stays a zombie,
    // as a validator does under an init that reaps late (a container's, a minimal board's).
    const holderJs = 'const { dirLockAcquire } = await import(process.argv[1]);' +
      'const lock = await dirLockAcquire(process.argv[2]);' +
      'process.stdout.write(lock.ok ? "locked\\n" : lock.detail); setInterval(() => {}, 1000);';
    const parent = spawn('sh', ['-c',
      `"$0" --input-type=module -e '${holderJs}' "$1" "$2" & echo "$!"; exec sleep 60`,
      process.execPath, pathToFileURL(DIR_LOCK_JS).href, journalDir],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let said = '';
      await new Promise<void>((resolve) => parent.stdout.on('data', (data) => {
        said += String(data);
        if (said.includes('locked')) resolve();
      }));
      const pid = Number(said.split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      const state = (): string => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '';
      while (!state().startsWith('Z')) await new Promise((resolve) => setTimeout(resolve, 10));
      const acked = shuaka(['journal', 'ack', '--through', '2', '--journal', journalDir]);
      expect(acked.code, acked.err).toBe(0);
      expect(state(), 'still a zombie: the ack did not wait for the reaping').toMatch(/^Z/);
      expect(await readdir(journalDir)).not.toContain('journal.lock');
    } finally {
      parent.kill('SIGKILL');
    }
  }, 300_000);
});
