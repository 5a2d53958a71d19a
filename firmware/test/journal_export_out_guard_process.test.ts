// `shuaka journal export --out FILE`, real processes, on a journal `shuaka sim --journal`
// wrote: FILE naming one of the validator's own files (the journal, the data key, ...) is
// refused with exit 2 and the file left byte for byte as it was, the journal still verifying;
// any other FILE, in the journal directory too, gets the export; a FILE that is no regular
// file (a device, a FIFO, a link, a directory) is refused too and left as it was.

import { spawnSync } from 'node:child_process';
import {
  existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const temp = mkdtempSync(join(tmpdir(), 'shuaka-export-out-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function shuaka(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [BIN, ...args], { encoding: 'utf8', cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file of `dir` with its bytes. */
function snapshot(dir: string): Map<string, Buffer> {
  return new Map(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name))]));
}

describe('shuaka journal export --out (process)', () => {
  it('refusesToReplaceTheJournalOrItsKey_exit2_nothingChanged', () => {
    const dir = join(temp, 'journal');
    const sim = shuaka('sim', '--seed', '3', '--riders', '6', '--link', 'memory', '--quiet',
      '--no-depot', '--journal', dir);
    expect(sim.status, sim.stdout + sim.stderr).toBe(0);
    const before = snapshot(dir);
    expect([...before.keys()]).toEqual(['data.key', 'journal.bin']);
    const targets = [join(dir, 'journal.bin'), join(dir, 'data.key'), join(dir, 'journal.lock'),
      join(dir, 'journal-0000000007.ckpt'), join(dir, '..', 'journal', 'journal.bin')];
    for (const out of targets) {
      const r = shuaka('journal', 'export', '--journal', dir, '--out', out);
      expect(r.status, `${out}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`--out ${out} is `);
      expect(snapshot(dir)).toEqual(before);
    }
    // Another validator's directory (a second journal, a copy): its files, by name, are that
    // validator's, and its own terminal id file is one in DIR too.
    const other = join(temp, 'other');
    const sim2 = shuaka('sim', '--seed', '4', '--riders', '4', '--link', 'memory', '--quiet',
      '--no-depot', '--journal', other);
    expect(sim2.status, sim2.stdout + sim2.stderr).toBe(0);
    writeFileSync(join(other, 'terminal_id'), '{}');
    writeFileSync(join(other, 'params_version_floor.json'), '{}');
    const otherBefore = snapshot(other);
    for (const name of ['journal.bin', 'data.key', 'terminal_id', 'params_version_floor.json']) {
      const out = join(other, name);
      const r = shuaka('journal', 'export', '--journal', dir, '--out', out);
      expect(r.status, `${out}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`--out ${out} is a file of another validator's journal `
        + 'directory');
    }
    expect(snapshot(other)).toEqual(otherBefore);
    // A journal directory as `sim --journal` leaves it, a segment and its key only: the
    // segment (told by its first bytes) makes it one, so its data.key is refused too.
    const plain = join(temp, 'plain');
    expect(shuaka('sim', '--seed', '4', '--riders', '4', '--link', 'memory', '--quiet',
      '--no-depot', '--journal', plain).status).toBe(0);
    const plainBefore = snapshot(plain);
    expect([...plainBefore.keys()]).toEqual(['data.key', 'journal.bin']);
    for (const name of ['data.key', 'journal.bin']) {
      const r = shuaka('journal', 'export', '--journal', dir, '--out', join(plain, name));
      expect(r.status, `${name}: ${r.stderr}`).toBe(2);
    }
    expect(snapshot(plain)).toEqual(plainBefore);
    // Outside a journal directory such a name is the operator's: an export written there
    // is written again the next day (gate-line7.json was refused from the second day on).
    const usb = join(temp, 'usb');
    mkdirSync(usb);
    for (const name of ['gate-line7.json', 'journal.bin', 'gate-upload.json']) {
      for (const day of [1, 2]) {
        const r = shuaka('journal', 'export', '--journal', dir, '--out', join(usb, name));
        expect(r.status, `${name} day ${day}: ${r.stderr}`).toBe(0);
      }
    }
    const ownId = shuaka('journal', 'export', '--journal', dir, '--out', join(dir, 'terminal_id'));
    expect(ownId.status, ownId.stderr).toBe(2);
    expect(existsSync(join(dir, 'terminal_id'))).toBe(false);
    // The key given elsewhere is guarded where it is.
    const key = join(temp, 'terminal.key');
    const keyCopy = shuaka('journal', 'export', '--journal', dir, '--data-key',
      join(dir, 'data.key'), '--out', join(dir, 'data.key'));
    expect(keyCopy.status).toBe(2);
    expect(shuaka('journal', 'export', '--journal', dir, '--data-key', key, '--out', key)
      .status).toBe(2);
    expect(shuaka('journal', 'verify', '--journal', dir).status).toBe(0);
    const upload = join(dir, 'upload.jsonl');
    const exported = shuaka('journal', 'export', '--journal', dir, '--out', upload);
    expect(exported.status, exported.stderr).toBe(0);
    const lines = readFileSync(upload, 'utf8').trim().split('\n');
    expect(exported.stderr).toContain(`exported ${lines.length} lines`);
    expect(lines.length).toBeGreaterThan(0);

    // Not a regular file: the rename would put the export in place of the entry itself (as
    // root, `--out /dev/null` replaced the system's /dev/null). A FIFO, a link, a directory,
    // and a character device (root, as CI runs: the null device's numbers, 1 3).
    const fifo = join(temp, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const link = join(temp, 'link');
    symlinkSync(upload, link);
    const folder = join(temp, 'folder');
    mkdirSync(folder);
    const targets2 = [fifo, link, folder];
    const device = join(temp, 'null-device');
    if (spawnSync('mknod', ['-m', '666', device, 'c', '1', '3']).status === 0) targets2.push(device);
    for (const out of targets2) {
      const before = lstatSync(out);
      const r = shuaka('journal', 'export', '--journal', dir, '--out', out);
      expect(r.status, `${out}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`--out ${out} is not a regular file`);
      const after = lstatSync(out);
      expect([after.ino, after.mode], out).toEqual([before.ino, before.mode]);
      for (const beside of ['.sha256', '.tmp']) expect(existsSync(`${out}${beside}`)).toBe(false);
    }
  }, 120_000);

  it('refusesStdoutThatIsTheNullDevice_exit2', () => {
    // A closed stdout is the null device to node: the lines went nowhere, exit 0, "exported",
    // and the advice to ack them followed.
    const dir = join(temp, 'journal-stdout');
    const sim = shuaka('sim', '--seed', '5', '--riders', '4', '--link', 'memory', '--quiet',
      '--no-depot', '--journal', dir);
    expect(sim.status, sim.stdout + sim.stderr).toBe(0);
    for (const redirect of ['>&-', '>/dev/null']) {
      const r = spawnSync('sh', ['-c', `node "$0" journal export --journal "$1" ${redirect}`, BIN,
        dir], { encoding: 'utf8', cwd: ROOT });
      expect(r.status, `${redirect}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('stdout is the null device');
      expect(r.stderr).not.toContain('ack --through');
    }
    const piped = shuaka('journal', 'export', '--journal', dir);
    expect(piped.status, piped.stderr).toBe(0);
    expect(piped.stdout.trim().split('\n').length).toBeGreaterThan(0);
  }, 60_000);
});
