// `shuaka depot ingest` as a real process on SQLite and PostgreSQL: an export file stored for
// a terminal gives the rows POST /v1/batches stores for the same lines (its own path, run
// here: batchPrepare then batchStoreSealed), a second ingest stores nothing new, a salvaged
// file stores the intact records, and unknown or revoked terminals and bad lines are refused,
// as is a file that no longer matches the FILE.sha256 its export wrote (checked by coreutils'
// sha256sum too); what is stored is the bytes checked, not FILE read again (a FIFO), from a
// copy on disk that is removed after.

import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync,
  utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchPrepare } from '../../src/ingest/batch_seal.js';
import { batchStoreSealed } from '../../src/ingest/batch_store.js';
import { terminalAdd } from '../../src/ingest/terminal_registry.js';
import type { DepotDb, DepotRow } from '../../src/store/depot_db.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { panVault, readDataKey } from '../../src/store/pan_vault.js';
import { depotEngines } from '../../../test_support/postgres_scratch.js';
import type { JournalEntry } from '../../../firmware/src/app/journal/journal_records.js';
import {
  card, clearing, scriptedEntries, writeJournalDir,
} from '../../../firmware/test/journal_fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const temp = mkdtempSync(join(tmpdir(), 'shuaka-ingest-cmd-'));
const depotDir = join(temp, 'depot');
/** The fixtures' clearing lines name this terminal. */
const TERMINAL = 'T0001';
const dbs = depotEngines(temp);
let exportFile = '';
let salvagedFile = '';
let damagedSeq = 0;

/** `shuaka ARGS` run to its end without blocking this process (a FIFO writer runs beside). */
function shuakaAsync(...args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8'); });
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr })));
}

/**
 * Writes `first` to the FIFO `path`, waits until its reader has closed it, then writes
 * `second` to whoever opens it next: a file that is one thing when read once and another
 * when read again. A subprocess, so that its blocking opens never stall the test.
 */
function fifoWriter(path: string, first: string, second: string) {
  const script = `
    const fs = require('node:fs');
    const [path, a, b] = process.argv.slice(1);
    fs.writeFileSync(path, fs.readFileSync(a));
    for (;;) {
      let fd;
      try { fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK); }
      catch (e) { if (e.code === 'ENXIO') break; throw e; }
      fs.closeSync(fd);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
    fs.writeFileSync(path, fs.readFileSync(b));`;
  return spawn(process.execPath, ['-e', script, path, first, second], { stdio: 'ignore' });
}

function shuaka(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT,
    timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every kind of line, then 40 clearing lines and a repeat of the first (card+ATC duplicate). */
function entries(): JournalEntry[] {
  const finals: JournalEntry[] = Array.from({ length: 40 }, (_, i) => ({
    kind: 'final', pendingSeq: null, clearing: clearing(card(200 + (i % 37)), 0x40 + i),
  }));
  const again: JournalEntry = {
    kind: 'final', pendingSeq: null, clearing: clearing(card(200), 0x40),
  };
  return [...scriptedEntries(), ...finals, again];
}

beforeAll(async () => {
  expect(shuaka('depot', 'init', '--dir', depotDir).status).toBe(0);
  const journal = await writeJournalDir(temp, 'journal', entries());
  exportFile = join(temp, 'export.jsonl');
  expect(shuaka('journal', 'export', '--journal', journal, '--out', exportFile).status).toBe(0);
  // One flipped bit in the 20th record: the salvage leaves that record out.
  const path = join(journal, 'journal.bin');
  const image = readFileSync(path);
  const line = readFileSync(exportFile, 'utf8').split('\n')[12] ?? '';
  damagedSeq = (JSON.parse(line) as { seq: number }).seq;
  const at = image.indexOf(Buffer.from(`"atc":${String(0x40 + damagedSeq - 14)}`));
  expect(at).toBeGreaterThan(0);
  image[at + 2] = (image[at + 2] ?? 0) ^ 0x01;
  writeFileSync(path, image);
  salvagedFile = join(temp, 'salvaged.jsonl');
  const salvaged = shuaka('journal', 'export', '--salvage', '--journal', journal,
    '--out', salvagedFile);
  expect(salvaged.status, salvaged.stderr).toBe(3);
}, 300_000);

afterAll(() => {
  dbs.stop();
  rmSync(temp, { recursive: true, force: true });
});

const engines = dbs.list;

let certDirs = 0;

/** A migrated database with TERMINAL registered (by the CLI, as a technician would). */
async function depotDb(target: string): Promise<void> {
  certDirs += 1;
  const added = shuaka('depot', 'terminal', 'add', '--db', target, '--id', TERMINAL,
    '--dir', depotDir, '--out', join(temp, `certs-${certDirs}`));
  expect(added.status, added.stderr).toBe(0);
}

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
}

/** The taps as comparable rows: no row id or time of receipt, the sealed PAN opened. */
async function taps(target: string): Promise<Record<string, unknown>[]> {
  const db = await openDepotDb(target, Date.now());
  const vault = panVault(readDataKey(join(depotDir, 'data.key')));
  try {
    const rows = await db.query('SELECT * FROM taps ORDER BY terminal_id, seq');
    const ids = new Map(rows.map((row) => [Number(row['id']), Number(row['seq'])]));
    return rows.map((row: DepotRow) => {
      const { id: _id, received_at_ms: _at, pan_sealed: sealed, duplicate_of: of, ...rest } = row;
      return { ...rest, pan: sealed === null ? null : vault.unseal(String(sealed)),
        duplicateOfSeq: of === null ? null : ids.get(Number(of)) };
    });
  } finally {
    await db.close();
  }
}

/** What POST /v1/batches stores for the same lines in batches of `size`: its own functions. */
async function uploaded(target: string, all: readonly string[], size: number): Promise<void> {
  const db: DepotDb = await openDepotDb(target, Date.now());
  await terminalAdd(db, { terminalId: TERMINAL, certSha256: 'ab'.repeat(32), routeId: null,
    nowMs: 0 });
  const vault = panVault(readDataKey(join(depotDir, 'data.key')));
  let through = 0;
  for (let i = 0; i < all.length; i += size) {
    const records = all.slice(i, i + size).map((line) => JSON.parse(line) as { seq: number });
    const firstSeq = i === 0 ? (records[0]?.seq ?? 1) : through + 1;
    through = records[records.length - 1]?.seq ?? firstSeq;
    const body = JSON.stringify({ terminalId: TERMINAL, firstSeq, throughSeq: through, records });
    await batchStoreSealed(db, batchPrepare(body, TERMINAL, vault), Date.now());
  }
  await db.close();
}

describe('shuaka depot ingest, the database failing (process)', () => {
  it('aFullBatchTheDatabaseRefuses_isExit10Database_notCannotReadTheFile', async () => {
    const db = join(temp, 'refusing.sqlite');
    await depotDb(db);
    // SQLite itself refuses every new tap, as a damaged page or a full disk would.
    const raw = new Database(db);
    raw.exec("CREATE TRIGGER refuse BEFORE INSERT ON taps BEGIN SELECT RAISE(ABORT, 'refused "
      + "by the test'); END");
    raw.close();
    for (const batch of ['5', '50000']) {
      const run = shuaka('depot', 'ingest', '--db', db, '--dir', depotDir, '--terminal',
        TERMINAL, '--batch', batch, exportFile);
      expect(run.status, `--batch ${batch}: ${run.stderr}`).toBe(10);
      expect(run.stderr).toMatch(/^shuaka depot ingest: database: .*refused by the test/m);
      expect(run.stderr).not.toContain('cannot read');
    }
  }, 120_000);
});

describe('shuaka depot ingest, the database failing part way (process)', () => {
  it('theBatchesStoredBeforeTheFailure_areNamed_exit10', async () => {
    const db = join(temp, 'refusing-later.sqlite');
    await depotDb(db);
    // SQLite refuses the taps of the third batch of 5 on (a disk that fills up part way).
    const all = readFileSync(exportFile, 'utf8').trim().split('\n');
    const third = (JSON.parse(all[10] ?? '{}') as { seq: number }).seq;
    const raw = new Database(db);
    raw.exec(`CREATE TRIGGER refuse BEFORE INSERT ON taps WHEN NEW.seq >= ${third} BEGIN `
      + "SELECT RAISE(ABORT, 'refused by the test'); END");
    raw.close();
    const run = shuaka('depot', 'ingest', '--db', db, '--dir', depotDir, '--terminal',
      TERMINAL, '--batch', '5', exportFile);
    expect(run.status, run.stderr).toBe(10);
    expect(run.stderr).toMatch(/^shuaka depot ingest: database: .*refused by the test/m);
    const through = (JSON.parse(all[9] ?? '{}') as { seq: number }).seq;
    expect(run.stderr).toContain(`stored before it: 2 batches, 10 lines through seq ${through} `);
  }, 120_000);
});

describe('shuaka depot ingest, its working copy of the export (process)', () => {
  const copies = (): string[] => readdirSync(depotDir).filter((n) => n.startsWith('.ingest-'));

  it('aCopyTheDiskCannotTake_saysTheCopy_notThatTheExportCannotBeRead', async () => {
    const db = join(temp, 'copy-limit.sqlite');
    await depotDb(db);
    // ulimit -f counts KiB: 1 KiB, less than the export (a full disk in the depot directory).
    const run = spawnSync('sh', ['-c', `ulimit -f 1; exec '${process.execPath}' '${BIN}' depot `
      + `ingest --db '${db}' --dir '${depotDir}' --terminal ${TERMINAL} '${exportFile}'`],
    { cwd: ROOT, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain(`cannot make a working copy in ${depotDir}: EFBIG`);
    expect(run.stderr).not.toContain('cannot read');
    expect(copies()).toEqual([]);
  }, 120_000);

  it('aSignalDuringTheIngest_removesTheCopy_thenEndsAsTheSignalWould', async () => {
    // The copy holds every clear PAN of the export: SIGTERM left it in the depot directory.
    const db = join(temp, 'signalled.sqlite');
    await depotDb(db);
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      // A FIFO no one writes yet: the ingest holds its copy directory, waiting for the bytes.
      const fifo = join(temp, `signal-${signal}.jsonl`);
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      copyFileSync(`${exportFile}.sha256`, `${fifo}.sha256`);
      const child = spawn(process.execPath, [BIN, 'depot', 'ingest', '--db', db, '--dir',
        depotDir, '--terminal', TERMINAL, fifo], { cwd: ROOT, stdio: 'ignore' });
      const ended = new Promise<NodeJS.Signals | null>((resolve) => {
        child.on('close', (_code, sig) => resolve(sig));
      });
      for (let i = 0; i < 600 && copies().length === 0; i += 1) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(copies().length, signal).toBe(1);
      child.kill(signal);
      expect(await ended).toBe(signal);
      expect(copies(), signal).toEqual([]);
    }
    // The database failing at open (no such file) removes it too (it was left then).
    const missing = shuaka('depot', 'ingest', '--db', join(temp, 'none', 'x.sqlite'), '--dir',
      depotDir, '--terminal', TERMINAL, exportFile);
    expect(missing.status, missing.stderr).toBe(10);
    expect(copies()).toEqual([]);
  }, 120_000);

  it('copiesLeftByKilledIngests_areRemovedByTheNext_notThoseOfLiveOnes', async () => {
    const db = join(temp, 'swept.sqlite');
    await depotDb(db);
    // Who this process is, as the copies' owner files record it (Linux /proc).
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const me = {
      pid: process.pid, startTicks: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19],
      pidNs: readlinkSync('/proc/self/ns/pid'),
      bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
    };
    const gone = spawnSync('true').pid ?? 0; // a process that has ended: its pid is free
    const plant = (name: string, owner: object | null, ageMs: number): void => {
      const dir = join(depotDir, name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'checked.jsonl'), readFileSync(exportFile));
      if (owner !== null) writeFileSync(join(dir, 'owner'), JSON.stringify(owner));
      const at = (Date.now() - ageMs) / 1000;
      utimesSync(dir, at, at);
    };
    plant('.ingest-1-killed', { ...me, pid: gone }, 0);
    plant('.ingest-2-rebooted', { ...me, bootId: 'another-boot' }, 0);
    plant('.ingest-3-pidtaken', { ...me, startTicks: '1' }, 0); // our pid, not our start
    plant('.ingest-Legacy', null, 2 * 3_600_000); // no owner, untouched for two hours
    plant('.ingest-4-live', me, 2 * 3_600_000); // this process: alive
    // An ingest in another pid namespace (a container sharing the directory): its pid means
    // nothing here (it was swept while it ran, and that ingest failed).
    plant('.ingest-5-container', { ...me, pid: gone, pidNs: 'pid:[1]' }, 0);
    plant('.ingest-Recent', null, 0); // no owner yet: maybe just made
    const run = shuaka('depot', 'ingest', '--db', db, '--dir', depotDir, '--terminal', TERMINAL,
      exportFile);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/removed 4 working copies of interrupted ingests/);
    expect(copies().sort()).toEqual(['.ingest-4-live', '.ingest-5-container', '.ingest-Recent']);
    for (const name of copies()) rmSync(join(depotDir, name), { recursive: true });
  }, 120_000);
});

describe.each(engines)('shuaka depot ingest on $name (process)', ({ name, target }) => {
  it('storesAsTheApiWould_thenAllDuplicates_andTheSalvagedRecords', async () => {
    const db = await target(`ingest_${name}`);
    await depotDb(db);
    const run = shuaka('depot', 'ingest', '--db', db, '--dir', depotDir, '--terminal', TERMINAL,
      '--batch', '20', exportFile);
    expect(run.status, run.stderr).toBe(0);
    const all = lines(exportFile);
    expect(run.stdout).toMatch(/^batch 1: lines 1\.\.20, seqs through \d+: stored 20,/m);
    // One clearing line repeats a stored card+ATC: a duplicate, stored but not counted.
    expect(run.stdout).toContain(`total: ${all.length} lines in 3 batches: stored `
      + `${all.length - 1}, duplicates 1`);
    const truth = await target(`truth_${name}`);
    await uploaded(truth, all, 20);
    const got = await taps(db);
    expect(got).toEqual(await taps(truth));
    expect(got.map((row) => row['seq'])).toEqual(all.map((l) => JSON.parse(l).seq as number));
    expect(got.filter((row) => row['pan'] !== null).map((row) => row['pan'])).toEqual(
      all.map((l) => JSON.parse(l) as { pan?: string }).filter((l) => l.pan !== undefined)
        .map((l) => l.pan));
    const again = shuaka('depot', 'ingest', '--db', db, '--dir', depotDir, '--terminal',
      TERMINAL, exportFile);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain(`stored 0, duplicates ${all.length}`);
    expect(await taps(db)).toEqual(got);
    const last = JSON.parse(all[all.length - 1] ?? '{}').seq as number;
    expect(again.stdout).toContain(`the depot holds terminal ${TERMINAL} through seq ${last}`);
    const listed = shuaka('depot', 'terminal', 'list', '--db', db);
    expect(JSON.parse(listed.stdout.trim())).toMatchObject({ terminalId: TERMINAL,
      heldThroughSeq: last });
    // The salvage of the damaged journal: the same rows but the damaged record's.
    const salvagedDb = await target(`salvaged_${name}`);
    await depotDb(salvagedDb);
    const salvaged = shuaka('depot', 'ingest', '--db', salvagedDb, '--dir', depotDir,
      '--terminal', TERMINAL, salvagedFile);
    expect(salvaged.status, salvaged.stderr).toBe(0);
    expect(await taps(salvagedDb)).toEqual(got.filter((row) => row['seq'] !== damagedSeq));
  }, 300_000);

  it('refusesUnknownAndRevokedTerminals_andABadLineByItsNumber', async () => {
    const db = await target(`refused_${name}`);
    await depotDb(db);
    const ingest = (file: string, terminal = TERMINAL, ...more: string[]) =>
      shuaka('depot', 'ingest', '--db', db, '--dir', depotDir, '--terminal', terminal, ...more,
        file);
    const unknown = ingest(exportFile, 'NOPE');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/terminal NOPE is not registered: nothing stored/);
    expect(shuaka('depot', 'terminal', 'add', '--db', db, '--id', 'GONE', '--dir', depotDir,
      '--out', join(temp, `gone-${name}`)).status).toBe(0);
    expect(shuaka('depot', 'terminal', 'revoke', '--db', db, '--id', 'GONE').status).toBe(0);
    const revoked = ingest(exportFile, 'GONE');
    expect(revoked.status).toBe(1);
    expect(revoked.stderr).toMatch(/terminal GONE is revoked/);
    // Line 7 says another amount than its ICC data (9F02): refused at that line and field.
    const all = lines(exportFile);
    const bad = all.map((line, i) => (i === 6
      ? line.replace(/"amountMinor":(\d+)/, '"amountMinor":999') : line));
    expect(bad[6]).not.toEqual(all[6]);
    const badFile = join(temp, `bad-${name}.jsonl`);
    writeFileSync(badFile, `${bad.join('\n')}\n`);
    const refused = ingest(badFile, TERMINAL, '--batch', '5');
    expect(refused.status).toBe(3);
    expect(refused.stderr).toMatch(/batch of lines 6\.\.10 refused, nothing of it stored: /);
    expect(refused.stderr).toMatch(/bad-batch: line 7, field amountMinor: /);
    expect(refused.stderr).toMatch(/stored before it: 1 batches, 5 lines through seq \d+/);
    expect((await taps(db)).length).toBe(5);
    // A stored seq brought again as another record (a replaced journal): the 409 refusal.
    const moved = (all[0] ?? '').replace(/"timeWallMs":(\d+)/, (_, ms: string) =>
      `"timeWallMs":${Number(ms) + 1}`);
    writeFileSync(badFile, `${moved}\n`);
    const conflict = ingest(badFile, TERMINAL);
    expect(conflict.status).toBe(4);
    expect(conflict.stderr).toMatch(/seq-conflict: .*journal init --after-seq \d+/);
    expect(conflict.stderr).not.toMatch(/from the lines' seqs/);
    expect(conflict.stderr).toMatch(/stored before it: nothing/);
    writeFileSync(badFile, `${all[0]}\nnot json\n`);
    const notJson = ingest(badFile, TERMINAL);
    expect(notJson.status).toBe(3);
    expect(notJson.stderr).toMatch(/line 2: not JSON/);
    // A damaged file with one long run and no newline: a line over 4 Mi characters is not
    // held, it is a line that is not JSON (node's readline grew it until it threw).
    writeFileSync(badFile, `${'a'.repeat(5 << 20)}\n${all[0]}\n`);
    const long = ingest(badFile, TERMINAL);
    expect(long.status).toBe(3);
    expect(long.stderr).toMatch(/line 1: not JSON/);
    // /dev/zero crashed the command with node's stack (readline's buffer threw): it is one
    // line too long, refused at once. (FILE may be a pipe: it is streamed, see below.)
    const zero = ingest('/dev/zero', TERMINAL);
    expect(zero.status).toBe(3);
    expect(zero.stderr)
      .toMatch(/batch of lines 1\.\.1 refused, nothing of it stored: .*line 1: not JSON/);
    expect(shuaka('depot', 'ingest', '--db', db, '--terminal', TERMINAL).status).toBe(2);
    expect(shuaka('depot', 'ingest', '--help').stdout).toMatch(/4 seq conflict/);
    expect(notJson.stderr).toMatch(/no .*bad-.*\.jsonl\.sha256: the file's integrity is not checked/);
  }, 300_000);

  it('refusesAFileChangedAfterItsExport_byItsSha256_nothingStored', async () => {
    const db = await target(`digest_${name}`);
    await depotDb(db);
    // The export's FILE.sha256, as coreutils' sha256sum checks it (an independent reader).
    const check = spawnSync('sha256sum', ['-c', 'export.jsonl.sha256'], { cwd: temp,
      encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    // One digit of a clearing line's ARQC (9F26) changed on the medium.
    const all = lines(exportFile);
    const at = all.findIndex((line) => /9F2608[0-9A-F]{16}/.test(line));
    const changed = all.map((line, i) => (i === at
      ? line.replace(/9F2608([0-9A-F])/, (_, d: string) => `9F2608${d === '0' ? '1' : '0'}`)
      : line));
    expect(changed[at]).not.toEqual(all[at]);
    const moved = join(temp, `moved-${name}.jsonl`);
    writeFileSync(moved, `${changed.join('\n')}\n`);
    copyFileSync(`${exportFile}.sha256`, `${moved}.sha256`);
    const refused = shuaka('depot', 'ingest', '--db', db, '--dir', depotDir, '--terminal',
      TERMINAL, moved);
    expect(refused.status, refused.stderr).toBe(5);
    expect(refused.stderr).toMatch(/does not match .*\.sha256 .*export it again: nothing stored/);
    expect(await taps(db)).toEqual([]);
    // sha256sum says the same of the changed file under the exported name.
    const copy = join(temp, `sum-${name}`);
    rmSync(copy, { recursive: true, force: true });
    spawnSync('mkdir', [copy]);
    writeFileSync(join(copy, 'export.jsonl'), readFileSync(moved));
    copyFileSync(`${exportFile}.sha256`, join(copy, 'export.jsonl.sha256'));
    expect(spawnSync('sha256sum', ['-c', 'export.jsonl.sha256'], { cwd: copy }).status)
      .not.toBe(0);
    // The intact file under another name: its digest line names the old one; only the digest
    // is compared.
    writeFileSync(moved, readFileSync(exportFile));
    const stored = shuaka('depot', 'ingest', '--db', db, '--dir', depotDir, '--terminal',
      TERMINAL, moved);
    expect(stored.status, stored.stderr).toBe(0);
    expect(stored.stderr).toBe('');
    expect((await taps(db)).length).toBe(all.length);
    // A name with a backslash: sha256sum escapes its line ('\\' first); still a digest line.
    const escaped = join(temp, `back\\slash-${name}.jsonl`);
    copyFileSync(exportFile, escaped);
    const sum = spawnSync('sha256sum', [basename(escaped)], { cwd: temp, encoding: 'utf8' });
    expect(sum.stdout.startsWith('\\')).toBe(true);
    writeFileSync(`${escaped}.sha256`, sum.stdout);
    const escapedRun = shuaka('depot', 'ingest', '--db', db, '--dir', depotDir, '--terminal',
      TERMINAL, escaped);
    expect(escapedRun.status, escapedRun.stderr).toBe(0);
    writeFileSync(`${moved}.sha256`, 'not a digest\n');
    const malformed = shuaka('depot', 'ingest', '--db', db, '--dir', depotDir, '--terminal',
      TERMINAL, moved);
    expect(malformed.status).toBe(5);
    expect(malformed.stderr).toMatch(/is not a sha256sum line/);
    // A digest without its file: FILE unreadable, exit 1 as without a digest.
    rmSync(moved);
    copyFileSync(`${exportFile}.sha256`, `${moved}.sha256`);
    const missing = shuaka('depot', 'ingest', '--db', db, '--dir', depotDir, '--terminal',
      TERMINAL, moved);
    expect(missing.status, missing.stderr).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*moved-.*\.jsonl: ENOENT/);
  }, 300_000);

  it('storesTheBytesItChecked_notAFileThatChangedAfterTheCheck', async () => {
    const db = await target(`digest_race_${name}`);
    await depotDb(db);
    const all = lines(exportFile);
    const at = all.findIndex((line) => /9F2608[0-9A-F]{16}/.test(line));
    const arqc = /9F2608([0-9A-F]{16})/.exec(all[at] ?? '')?.[1] ?? '';
    const changedArqc = `${arqc[0] === '0' ? '1' : '0'}${arqc.slice(1)}`;
    const changed = join(temp, `changed-${name}.jsonl`);
    writeFileSync(changed, readFileSync(exportFile, 'utf8').replace(arqc, changedArqc));
    // FILE is the exported bytes when the digest is checked, the changed ones if read again.
    const fifo = join(temp, `fifo-${name}.jsonl`);
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    copyFileSync(`${exportFile}.sha256`, `${fifo}.sha256`);
    const writer = fifoWriter(fifo, exportFile, changed);
    try {
      const run = await shuakaAsync('depot', 'ingest', '--db', db, '--dir', depotDir,
        '--terminal', TERMINAL, fifo);
      expect(run.status, run.stderr).toBe(0);
      const stored = JSON.stringify(await taps(db));
      expect(stored).not.toContain(changedArqc);
      expect(stored).toContain(arqc);
      // The checked copy (on disk: an export of a full journal is hundreds of MB) is gone.
      expect(readdirSync(depotDir).filter((n) => n.startsWith('.ingest-'))).toEqual([]);
    } finally {
      writer.kill();
    }
  }, 300_000);
});
