// `node bin/shuaka.js journal init` as a real subprocess: the replacement journal of a
// terminal whose depot holds seqs through 5000 verifies, exports nothing, and the validator's
// boot (the path of `shuaka run`: bootJournal, bootDataKey) appends seq 5001 to it.

import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { journalStartCheckpoint } from '../src/app/journal/journal_start.js';
import { PanVault } from '../src/app/journal/pan_vault.js';
import type { LogEvent } from '../src/app/validator/validator_ports.js';
import { bootDataKey, bootJournal } from '../src/boards/bus_validator_parts.js';
import { clearing, newClock, panOf, recovery } from './journal_fixtures.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const CHECKPOINT = 'journal-0000005001.ckpt';

let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shuaka-journal-init-'));
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function shuaka(args: string[]): { code: number | null; out: string; err: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 120_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

/** The validator's start on `journalDir` as `shuaka run` does it: journal, then data key. */
async function validatorBoot(
  journalDir: string,
  events: LogEvent[],
  dataKey: string | null = null,
) {
  const log = { log: (event: LogEvent) => events.push(event) };
  const booted = await bootJournal(journalDir, newClock(), log);
  if (!booted.ok) throw new Error(booted.message);
  const vault = await bootDataKey(dataKey, journalDir, booted.value.part);
  return { journal: booted.value.part, close: booted.value.close, vault };
}

describe('shuaka journal init as a process', () => {
  it('startsAfter5000_verifiesAndExportsNothing_thenTheValidatorAppends5001', async () => {
    const journalDir = join(dir, 'replaced', 'journal');
    const init = shuaka(['journal', 'init', '--after-seq', '5000', '--journal', journalDir]);
    expect(init.code, init.err).toBe(0);
    expect(init.out).toMatch(/: new, first record will be seq 5001, acknowledged through 5000 /);
    expect(init.out).toMatch(/\(wrote journal-0000005001\.ckpt\)/);
    expect(await readdir(journalDir)).toEqual([CHECKPOINT]);
    const verified = shuaka(['journal', 'verify', '--journal', journalDir]);
    expect(verified.code, verified.err).toBe(0);
    expect(verified.out).toMatch(/: OK\n/);
    expect(verified.out).toMatch(/retained from seq 5001\n {2}last seq 5000, acknowledged /);
    expect(verified.out).toMatch(/last seq 5000, acknowledged through 5000\n/);
    expect(verified.out).toMatch(/unacknowledged clearing records 0/);
    // No data key yet (the validator makes it at its first start), and nothing to open.
    const keyless = shuaka(['journal', 'export', '--journal', journalDir]);
    expect(keyless.code, keyless.err).toBe(0);
    expect(keyless.out).toBe('');
    expect(keyless.err).toMatch(/exported 0 lines: nothing after the ack through seq 5000/);
    // Nothing to acknowledge, said so (it said 'ack through 5000 must be in 5001..5000').
    const ack = shuaka(['journal', 'ack', '--through', '5000', '--journal', journalDir]);
    expect(ack.code).toBe(1);
    expect(ack.err).toContain('ack through 5000: nothing to acknowledge, every record '
      + '(through seq 5000) is acknowledged already');

    const events: LogEvent[] = [];
    const boot = await validatorBoot(journalDir, events);
    expect(boot.vault.ok, boot.vault.ok ? '' : boot.vault.message).toBe(true);
    if (!boot.vault.ok) return;
    expect(events.find((e) => e['event'] === 'journal-open')?.['records']).toBe(5000);
    expect((await stat(join(journalDir, 'data.key'))).mode & 0o777).toBe(0o600);
    await boot.close();
    const empty = shuaka(['journal', 'export', '--journal', journalDir]);
    expect(empty.code, empty.err).toBe(0);
    expect(empty.out).toBe('');
    expect(empty.err).toMatch(/exported 0 lines \(0 clearing, 0 uncertain\) through seq 5000/);

    // The validator again, now with its key: a tap seals the PAN under it.
    const again = await validatorBoot(journalDir, []);
    if (!again.vault.ok) throw new Error(again.vault.message);
    const key = await readFile(join(journalDir, 'data.key'));
    const vault = PanVault.fromKey(new Uint8Array(key), (n) => new Uint8Array(n).fill(7));
    const rider = vault.cardKey(panOf(9), 1, '10000009');
    if (rider === null) throw new Error('fixture PAN');
    const pending = await again.journal.append(
      { kind: 'pending', recovery: recovery(rider, 90), fareRule: 'flat', amountMinor: 200 });
    const final = await again.journal.append(
      { kind: 'final', pendingSeq: 5001, clearing: clearing(rider, 90) });
    await again.close();
    expect([pending.ok && pending.value.seq, final.ok && final.value.seq]).toEqual([5001, 5002]);
    expect((await readdir(journalDir)).sort()).toEqual(
      ['data.key', 'journal-0000005001.bin', CHECKPOINT]);

    const after = shuaka(['journal', 'verify', '--journal', journalDir]);
    expect(after.code, after.err).toBe(0);
    expect(after.out).toMatch(/last seq 5002, acknowledged through 5000/);
    // The records this journal wrote (not its last seq): 5001 and 5002.
    expect(after.out).toMatch(/\n {2}records 2 \(pending 1, final 1, /);
    expect(after.out).toMatch(/unacknowledged clearing records 1/);
    const exported = shuaka(['journal', 'export', '--journal', journalDir]);
    expect(exported.code, exported.err).toBe(0);
    const lines = exported.out.trim().split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l['type'], l['seq'], l['pan']])).toEqual(
      [['clearing', 5002, panOf(9)]]);
    expect(exported.err).toMatch(/after upload: shuaka journal ack --through 5002/);
    const acked = shuaka(['journal', 'ack', '--through', '5001', '--journal', journalDir]);
    expect(acked.code, acked.err).toBe(0);
    expect(acked.out).toMatch(/acknowledged through seq 5001 \(ack record seq 5003\)/);
    expect(shuaka(['journal', 'verify', '--journal', journalDir]).out).toMatch(
      /last seq 5003, acknowledged through 5001/);
  }, 300_000);

  it('aKeyMissingOnceATapIsJournalled_stillStopsTheValidator', async () => {
    const journalDir = join(dir, 'keyed');
    expect(shuaka(['journal', 'init', '--after-seq', '77', '--journal', journalDir]).code).toBe(0);
    const boot = await validatorBoot(journalDir, []);
    if (!boot.vault.ok) throw new Error(boot.vault.message);
    const rider = boot.vault.value.cardKey(panOf(3), 0, '10000003');
    if (rider === null) throw new Error('fixture PAN');
    const appended = await boot.journal.append(
      { kind: 'pending', recovery: recovery(rider, 30), fareRule: 'flat', amountMinor: 200 });
    expect(appended.ok && appended.value.seq).toBe(78);
    await boot.close();
    await rm(join(journalDir, 'data.key'));
    const keyless = await validatorBoot(journalDir, []);
    await keyless.close();
    expect(keyless.vault.ok).toBe(false);
    expect(keyless.vault.ok ? '' : keyless.vault.message).toMatch(/records sealed under one/);
  }, 300_000);

  it('aJournalAtTheLastSeqs_takesNoTap_andItsLastAppendIsRefusedAsFull_notAnAssertion',
    async () => {
      const journalDir = join(dir, 'last-seqs');
      const init = shuaka(['journal', 'init', '--after-seq', '4294967293', '--journal',
        journalDir]);
      expect(init.code, init.err).toBe(0);
      const boot = await validatorBoot(journalDir, []);
      if (!boot.vault.ok) throw new Error(boot.vault.message);
      // Out of service: a tap could need more seqs than are left.
      expect(await boot.journal.canAcceptTap()).toEqual({ ok: true, value: false });
      const rider = boot.vault.value.cardKey(panOf(5), 0, '10000005');
      if (rider === null) throw new Error('fixture PAN');
      const seqs: (number | string)[] = [];
      for (let i = 0; i < 3; i += 1) {
        const appended = await boot.journal.append({ kind: 'final', pendingSeq: null,
          clearing: clearing(rider, 50 + i) });
        seqs.push(appended.ok ? appended.value.seq : `${appended.error}: ${appended.detail}`);
      }
      await boot.close();
      // Old code: an AssertionError out of frameEncode at seq 2^32.
      expect(seqs.slice(0, 2)).toEqual([4294967294, 4294967295]);
      expect(String(seqs[2])).toMatch(/^FULL: sequence numbers exhausted/);
      const verified = shuaka(['journal', 'verify', '--journal', journalDir]);
      expect(verified.code, verified.err).toBe(0);
      expect(verified.out).toMatch(/last seq 4294967295/);
    }, 300_000);

  it('anotherTerminalsDataKey_stopsTheValidator_beforeItSealsAnythingUnderIt', async () => {
    const journalDir = join(dir, 'two-keys');
    expect(shuaka(['journal', 'init', '--after-seq', '10', '--journal', journalDir]).code)
      .toBe(0);
    const boot = await validatorBoot(journalDir, []);
    if (!boot.vault.ok) throw new Error(boot.vault.message);
    const rider = boot.vault.value.cardKey(panOf(4), 0, '10000004');
    if (rider === null) throw new Error('fixture PAN');
    await boot.journal.append(
      { kind: 'pending', recovery: recovery(rider, 40), fareRule: 'flat', amountMinor: 200 });
    await boot.close();
    // The wrong key (another bus's, a wrong restore), first with the tap still open.
    const other = join(dir, 'other-bus.key');
    await writeFile(other, Buffer.alloc(32, 0x5a), { mode: 0o600 });
    for (const step of ['open tap', 'tap closed']) {
      const wrong = await validatorBoot(journalDir, [], other);
      await wrong.close();
      expect(wrong.vault.ok, step).toBe(false);
      expect(wrong.vault.ok ? '' : wrong.vault.message).toMatch(
        /other-bus\.key \(key id [0-9A-F]{8}\) is not the key this journal's card data is sealed/);
      const right = await validatorBoot(journalDir, []);
      if (!right.vault.ok) throw new Error(right.vault.message);
      if (step === 'open tap') {
        const closed = await right.journal.append(
          { kind: 'final', pendingSeq: 11, clearing: clearing(rider, 40) });
        expect(closed.ok).toBe(true);
      }
      await right.close();
    }
    const exported = shuaka(['journal', 'export', '--journal', journalDir]);
    expect(exported.code, exported.err).toBe(0);
    expect(exported.out).toContain(panOf(4));
  }, 300_000);

  it('refuses_badUsage2_aJournalThere1_aLiveLock4_aFileInTheWay1_writingNothing', async () => {
    const at = (name: string): string => join(dir, name);
    for (const bad of [[], ['--after-seq'], ['--after-seq', '-1'], ['--after-seq', '1.5'],
      ['--after-seq', '4294967295'], ['--after-seq', 'x'], ['--after-seq', '5', 'extra']]) {
      const refused = shuaka(['journal', 'init', ...bad, '--journal', at('usage')]);
      expect(refused.code, bad.join(' ')).toBe(2);
      expect(refused.err).toMatch(/shuaka journal init --after-seq N/);
      // The first line says what is wrong before the usage.
      const [value] = bad.slice(1);
      if (bad.length === 0) expect(refused.err).toMatch(/^journal init: --after-seq N is required/);
      else if (bad.length === 2 && value !== undefined) {
        expect(refused.err.split('\n')[0]).toBe('journal init: --after-seq must be an integer '
          + `in 0..4294967294, got '${value}'`);
      }
    }
    await expect(stat(at('usage'))).rejects.toThrow(/ENOENT/);

    expect(shuaka(['journal', 'init', '--after-seq', '10', '--journal', at('twice')]).code).toBe(0);
    const image = await readFile(join(at('twice'), 'journal-0000000011.ckpt'));
    const twice = shuaka(['journal', 'init', '--after-seq', '20', '--journal', at('twice')]);
    expect(twice.code).toBe(1);
    expect(twice.err).toMatch(/holds a journal already \(journal-0000000011\.ckpt\): move it away/);
    expect(await readdir(at('twice'))).toEqual(['journal-0000000011.ckpt']);
    expect(Buffer.compare(await readFile(join(at('twice'), 'journal-0000000011.ckpt')), image))
      .toBe(0);

    await mkdir(at('locked'));
    await writeFile(join(at('locked'), 'journal.lock'), `${process.pid}\n`);
    const locked = shuaka(['journal', 'init', '--after-seq', '10', '--journal', at('locked')]);
    expect(locked.code).toBe(4);
    expect(locked.err).toMatch(new RegExp(`held by running process ${process.pid}`));
    expect(await readdir(at('locked'))).toEqual(['journal.lock']);

    await writeFile(at('plain-file'), 'not a directory');
    const inTheWay = shuaka(['journal', 'init', '--after-seq', '10', '--journal',
      join(at('plain-file'), 'journal')]);
    expect(inTheWay.code).toBe(1);
    expect(inTheWay.err).toMatch(/not initialised: cannot create .*plain-file\/journal/);

    // After 0: the directory only; verify calls it a new journal.
    const zero = shuaka(['journal', 'init', '--after-seq', '0', '--journal', at('zero')]);
    expect(zero.code, zero.err).toBe(0);
    expect(zero.out).toMatch(/first record will be seq 1, .*nothing written/);
    expect(await readdir(at('zero'))).toEqual([]);
    expect(shuaka(['journal', 'verify', '--journal', at('zero')]).out).toMatch(/empty/);
  }, 300_000);

  it('theTemporaryOfAnInterruptedInit_isNoJournal_andInitRunsAgain', async () => {
    const journalDir = join(dir, 'interrupted');
    await mkdir(journalDir);
    // What a cut before the rename leaves: part of the checkpoint under the temporary name.
    const { bytes } = journalStartCheckpoint('journal.bin', 5000);
    await writeFile(join(journalDir, `${CHECKPOINT}.tmp`), bytes.subarray(0, 100));
    const verified = shuaka(['journal', 'verify', '--journal', journalDir]);
    expect(verified.code, verified.err).toBe(0);
    expect(verified.out).toMatch(/empty \(a new journal, no records yet\)/);
    const init = shuaka(['journal', 'init', '--after-seq', '5000', '--journal', journalDir]);
    expect(init.code, init.err).toBe(0);
    expect(await readdir(journalDir)).toEqual([CHECKPOINT]);
    expect(Buffer.compare(await readFile(join(journalDir, CHECKPOINT)), bytes)).toBe(0);
  }, 300_000);
});
