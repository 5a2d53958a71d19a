// PCI DSS requirement 3 from the outside: after a line of real taps (torn ones included, EC and
// ODA), the journal's bytes, the clearing export and every log hold no track data, no
// cardholder name and no full PAN, except the `pan` field of the export that goes to clearing.
// The truth is the card population itself: every PAN, track 2 and name the cards carry.

import { spawnSync } from 'node:child_process';
import {
  chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { testPki } from '../../host-sim/src/pki/test_pki.js';
import { runBus, BUS_RUN_DEFAULT, type BusRun } from '../../host-sim/src/sim/bus_run.js';
import { riderPool, type RiderPool } from '../../host-sim/src/sim/bus_riders.js';
import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { JOURNAL_FILE_NAME, Journal } from '../src/app/journal/journal.js';
import { journalExport } from '../src/app/journal/journal_export.js';
import {
  journalEntryNormalise,
  panScrub,
  type CardKey,
  type JournalEntry,
} from '../src/app/journal/journal_records.js';
import { journalScanFiles } from '../src/app/journal/journal_reader.js';
import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { runJournalCommand } from '../src/cli/journal_cmd.js';
import { runParamsCommand } from '../src/cli/params_cmd.js';
import { JsonLineLog } from '../src/boards/json_log.js';
import {
  FIXTURE_DATA_KEY,
  FIXTURE_VAULT,
  card,
  clearing,
  journalOptions,
  newClock,
  newPrng,
  panOf,
  recovery,
  scriptedEntries,
} from './journal_fixtures.js';
import { writeTestDenyKey } from './deny_key_fixture.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 11);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What no byte at rest may hold: each PAN (digits, and the 9 digits a mask hides), names. */
interface Secrets {
  readonly pans: readonly string[];
  readonly names: readonly string[];
}

function secretsOf(pool: RiderPool): Secrets {
  const pans = new Set<string>();
  const names = new Set<string>();
  for (const rider of pool.cards) {
    for (const app of rider.card.profile.applications) {
      pans.add(app.pan);
      if (app.cardholderName !== null) names.add(app.cardholderName);
    }
  }
  return { pans: [...pans], names: [...names] };
}

/**
 * The record's times (wall ms, local date-time digits) and T-Union card numbers: long digit
 * runs that hold no bank card data, where a PAN's six middle digits turn up by chance (a
 * timeWallMs of 1795305860422 holds those of 6234560586044982).
 */
const NOT_CARD_DATA = /"(TIMEWALLMS|MAXWALLMS|DATETIMEDIGITS|SERIALDIGITS)":"?[0-9]+"?/g;

/** Every secret found in `text` (as digits, as BCD/ASCII hex, or the middle digits alone). */
function leaks(text: string, secrets: Secrets): string[] {
  const upper = text.toUpperCase();
  const found: string[] = [];
  const withoutTimes = upper.replace(NOT_CARD_DATA, '');
  for (const pan of secrets.pans) {
    if (upper.includes(pan)) found.push(`PAN ${pan}`);
    // Its ASCII as hex: what a sealed field would hold if sealing did not encrypt.
    if (upper.includes(Buffer.from(pan).toString('hex').toUpperCase())) found.push(`hex ${pan}`);
    else if (withoutTimes.includes(pan.slice(6, -4))) found.push(`middle digits of ${pan}`);
    // Track 2 as hex: the PAN, then the D separator.
    if (new RegExp(`${pan}F?D[0-9]{4}`).test(upper)) found.push(`track 2 of ${pan}`);
  }
  for (const name of secrets.names) {
    const hex = Buffer.from(name, 'ascii').toString('hex').toUpperCase();
    if (upper.includes(name.toUpperCase()) || upper.includes(hex)) found.push(`name ${name}`);
  }
  return found;
}

function leaksInBytes(bytes: Uint8Array, secrets: Secrets): string[] {
  const found = leaks(Buffer.from(bytes).toString('latin1'), secrets);
  // Binary BCD, as 5A and 57 carry the PAN.
  for (const pan of secrets.pans) {
    const bcd = Buffer.from(pan.length % 2 === 0 ? pan : `${pan}F`, 'hex');
    if (Buffer.from(bytes).includes(bcd.subarray(0, bcd.length - 1))) found.push(`BCD ${pan}`);
  }
  return found;
}

async function line(mode: 'ec' | 'oda'): Promise<BusRun> {
  const options = { ...BUS_RUN_DEFAULT, seed: SEED, riders: 60, tornChance: 0.3, mode };
  return runBus(options, () => undefined);
}

describe('PCI DSS 3: nothing sensitive at rest', () => {
  for (const mode of ['ec', 'oda'] as const) {
    it(`journal, export and logs of a ${mode} line hold no PAN, track 2 or name`, async () => {
      const run = await line(mode);
      try {
        const where = `${mode}, seed ${SEED} (SHUAKA_SEED=${SEED} replays)`;
        const secrets = secretsOf(run.pool);
        expect(secrets.names.length, where).toBeGreaterThan(0);
        const files = run.board.storage.durableFiles();
        const scan = journalScanFiles(files, JOURNAL_FILE_NAME, true);
        const kinds = new Set(scan.records.map((r) => r.entry.kind));
        // The line exercised the records that carry card data.
        const carriers = mode === 'ec' ? ['final', 'pending', 'torn'] : ['final', 'pending'];
        for (const kind of carriers) expect(kinds, where).toContain(kind);
        // Every file of the journal: segments and their checkpoints.
        for (const [name, bytes] of files) {
          expect(leaksInBytes(bytes, secrets), `${where}: ${name}`).toEqual([]);
        }
        const logText = run.board.logs.map((e) => JSON.stringify(e)).join('\n');
        expect(leaks(logText, secrets), where).toEqual([]);
        // The export: the clear PAN only in `pan` (field 2 of the upload), nothing else.
        const exported = journalExport(scan, run.board.panVault);
        expect(exported.clearingCount, where).toBeGreaterThan(0);
        const panFields: string[] = [];
        const rest = exported.lines.map((text) => {
          const { pan, ...others } = JSON.parse(text) as Record<string, unknown>;
          // T-Union lines name the card number printed on the card, no PAN (journal_tunion.ts).
          if (pan !== undefined) panFields.push(String(pan));
          return JSON.stringify(others);
        });
        expect(leaks(rest.join('\n'), secrets), where).toEqual([]);
        for (const pan of panFields) expect(secrets.pans, where).toContain(pan);
      } finally {
        run.board.dispose();
      }
    }, 300_000);
  }

  it('shuaka sim --log --journal, real processes: no PAN in the files, log or output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shuaka-pci-'));
    try {
      const log = join(dir, 'sim.jsonl');
      const journalDir = join(dir, 'journal');
      const shuaka = (args: readonly string[]): ReturnType<typeof spawnSync> =>
        spawnSync(process.execPath, [join(ROOT, 'bin', 'shuaka.js'), ...args], {
          cwd: ROOT, encoding: 'utf8', timeout: 240_000,
        });
      const argv = ['--seed', String(SEED), '--riders', '30', '--torn', '0.3'];
      const files = ['--log', log, '--journal', journalDir];
      const child = shuaka(['sim', ...argv, '--link', 'memory', ...files]);
      expect(child.status, String(child.stderr)).toBe(0);
      // The population `shuaka sim` rides by default (its cards' PANs, tracks and names).
      const kind = BUS_RUN_DEFAULT.populationKind ?? 'realistic';
      const pool = riderPool(SEED, BUS_RUN_DEFAULT.cardGroups, testPki(), kind);
      const secrets = secretsOf(pool);
      const text = `${readFileSync(log, 'utf8')}\n${String(child.stdout)}\n${String(child.stderr)}`;
      expect(text).toMatch(/"event":"tap"/);
      // T-Union card numbers are masked in the log as the board's log masks them (the
      // simulator's --log wrote the 20 digits of every approved T-Union tap in clear).
      const logText = readFileSync(log, 'utf8');
      expect(logText).toMatch(/"pan":"\*{20}"/);
      expect(logText).not.toMatch(/"[0-9]{20}"/);
      expect(leaks(text, secrets), `seed ${SEED}`).toEqual([]);
      // The journal directory as a validator leaves it (data.key aside: it is the key).
      const names = readdirSync(journalDir).filter((n) => n !== 'data.key');
      expect(names).toContain(JOURNAL_FILE_NAME);
      for (const name of names) {
        const bytes = readFileSync(join(journalDir, name));
        expect(leaksInBytes(bytes, secrets), `seed ${SEED}: ${name}`).toEqual([]);
      }
      // verify's report, and the export: the clear PAN only in each line's `pan`.
      const verified = shuaka(['journal', 'verify', '--journal', journalDir]);
      expect(verified.status, String(verified.stderr)).toBe(0);
      const report = `${String(verified.stdout)}\n${String(verified.stderr)}`;
      expect(leaks(report, secrets), `seed ${SEED}`).toEqual([]);
      const exported = shuaka(['journal', 'export', '--journal', journalDir]);
      expect(exported.status, String(exported.stderr)).toBe(0);
      const lines = String(exported.stdout).trim().split('\n');
      expect(lines.length).toBeGreaterThan(0);
      for (const exportLine of lines) {
        const { pan, ...others } = JSON.parse(exportLine) as Record<string, unknown>;
        if (pan !== undefined) expect(secrets.pans).toContain(pan);
        expect(leaks(JSON.stringify(others), secrets), `seed ${SEED}`).toEqual([]);
      }
      expect(leaks(String(exported.stderr), secrets), `seed ${SEED}`).toEqual([]);
      // With --out, the file of clear PANs is the owner's alone, over an older export and a
      // temporary a crash left (both 0644 here: the old code kept and renamed the latter).
      const out = join(dir, 'clearing.jsonl');
      for (const path of [out, `${out}.tmp`]) {
        writeFileSync(path, 'old\n');
        chmodSync(path, 0o644);
      }
      const toFile = shuaka(['journal', 'export', '--journal', journalDir, '--out', out]);
      expect(toFile.status, String(toFile.stderr)).toBe(0);
      expect((statSync(out).mode & 0o777).toString(8)).toBe('600');
      expect(readFileSync(out, 'utf8')).toBe(`${lines.join('\n')}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('PCI DSS 3: segments and checkpoints', () => {
  it('segmentsAndCheckpoints_holdNoPan_whenOpenTapsAreCarriedAcrossSegments', async () => {
    const sim = new StorageSim({ totalBytes: 1 << 24, prng: newPrng(SEED), tornModes: ['prefix'] });
    const options = { ...journalOptions(newClock(), 1 << 20), segmentBytesMax: 16_000 };
    const opened = await Journal.open(sim, options);
    if (!opened.ok) throw new Error(opened.detail);
    const journal = opened.value.journal;
    // Random PANs (the fixtures' are mostly zeros, whose middle digits are in any text).
    const digits = newPrng(SEED).fork('pans');
    const pans: string[] = [];
    const keys: CardKey[] = [];
    for (let n = 0; n < 200; n += 1) {
      const pan = `62${Array.from({ length: 17 }, () => digits.below(10)).join('')}`;
      const key = FIXTURE_VAULT.cardKey(pan, 1, '');
      if (key === null) throw new Error('PAN');
      pans.push(pan);
      keys.push(key);
      const pending = await journal.append({
        kind: 'pending', recovery: recovery(key, n), fareRule: 'flat', amountMinor: 200,
      });
      if (!pending.ok) throw new Error(pending.detail);
      // Every fifth tap stays open: its pending is carried in every later checkpoint.
      if (n % 5 === 0) continue;
      const entry: JournalEntry = {
        kind: 'final', pendingSeq: pending.value.seq, clearing: clearing(key, n),
      };
      if (!(await journal.append(entry)).ok) throw new Error(`final ${n}`);
    }
    const files = sim.durableFiles();
    const checkpoints = [...files.keys()].filter((name) => name.endsWith('.ckpt'));
    expect(checkpoints.length).toBeGreaterThan(3);
    const secrets: Secrets = { pans, names: [] };
    for (const [name, bytes] of files) expect(leaksInBytes(bytes, secrets), name).toEqual([]);
    // The newest checkpoint does carry the open taps (as tokens and sealed PANs).
    const newest = Buffer.from(files.get(checkpoints.at(-1) ?? '') ?? []).toString('latin1');
    expect(newest).toContain(keys[0]?.panToken);
  });
});

describe('PCI DSS 3: refused and scrubbed', () => {
  it('journal_refusesTrackDataNameAndClearPanInIccData', () => {
    const track2 = '57136231000000000000017D29122010000000000F';
    const base = clearing(card(1), 7);
    const cases: [string, JournalEntry][] = [
      ['57', { kind: 'final', pendingSeq: null, clearing: { ...base, iccDataHex: track2 } }],
      ['5A', {
        kind: 'final',
        pendingSeq: null,
        clearing: { ...base, iccDataHex: '5A086231000000000017' },
      }],
      ['5F20', {
        kind: 'final',
        pendingSeq: null,
        clearing: { ...base, iccDataHex: '9F3602000A5F20095A48414E472F53414E' },
      }],
      ['9F6B', {
        kind: 'pending',
        recovery: { ...recovery(card(2), 3), tornRecordHex: 'E2059F6B020102' },
        fareRule: 'flat',
        amountMinor: 1,
      }],
      ['DF8104', {
        kind: 'pending',
        recovery: { ...recovery(card(2), 3), tornRecordHex: 'DF8104020102' },
        fareRule: 'flat',
        amountMinor: 1,
      }],
    ];
    for (const [tag, entry] of cases) {
      expect(() => journalEntryNormalise(entry, 'j'), tag).toThrow(`holds tag ${tag}`);
    }
    // The masked PAN field takes maskPan's shape only, never more digits.
    const unmasked = { ...card(3), panMasked: '6231000000000000003' };
    const declined: JournalEntry = {
      kind: 'declined', pendingSeq: null, card: unmasked, reason: 'x',
    };
    expect(() => journalEntryNormalise(declined, 'j')).toThrow('entry.card.panMasked');
    // A malformed value is echoed in the error, but never as a full PAN.
    const bad = { ...base, iccDataHex: `${track2}Z` };
    const refuse = (): unknown =>
      journalEntryNormalise({ kind: 'final', pendingSeq: null, clearing: bad }, 'j');
    expect(refuse).toThrow(/expected hex .*, got "\*{20}/);
    expect(refuse).not.toThrow(/6231000000000000017|000000000/);
  });

  it('journalExport_withAnotherDataKey_refusesNamingTheRecord', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shuaka-pci-'));
    try {
      const journalDir = join(dir, 'journal');
      const storage = await FileStorage.open(journalDir, { quotaBytes: null });
      if (!storage.ok) throw new Error(storage.detail);
      const options = { ...journalOptions(newClock()), fileName: JOURNAL_FILE_NAME };
      const opened = await Journal.open(storage.value, options);
      if (!opened.ok) throw new Error(opened.detail);
      for (const entry of scriptedEntries().slice(0, 2)) await opened.value.journal.append(entry);
      await storage.value.close();
      const keyPath = join(dir, 'other.key');
      writeFileSync(keyPath, new Uint8Array(32).fill(7), { mode: 0o600 });
      const err: string[] = [];
      const out: string[] = [];
      const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
      const argv = ['export', '--journal', journalDir, '--data-key', keyPath];
      expect(await runJournalCommand(argv, io)).toBe(1);
      expect(err.join('\n')).toMatch(/record seq 2: its PAN does not open .*\(other-key\)/);
      // Refused before any line: nothing half-exported reaches the upload.
      expect(out).toEqual([]);
      writeFileSync(keyPath, FIXTURE_DATA_KEY);
      const lines: string[] = [];
      const ok = { out: (t: string) => lines.push(t), err: () => undefined };
      expect(await runJournalCommand(argv, ok)).toBe(0);
      expect(lines.map((l) => (JSON.parse(l) as { pan: string }).pan)).toEqual([panOf(1)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('denylistBuild_errorNamesTheLineButNotThePan', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shuaka-pci-'));
    try {
      const input = join(dir, 'deny.txt');
      const pan = '6231000000000000017';
      await import('node:fs/promises').then((fs) => fs.writeFile(input, `${pan},1\n`));
      const err: string[] = [];
      const io = { out: () => undefined, err: (t: string) => err.push(t) };
      const argv = ['denylist-build', '--deny-key', writeTestDenyKey(dir), input, join(dir, 'o.bin')];
      expect(await runParamsCommand(argv, io)).toBe(1);
      const text = err.join('\n');
      expect(text).toMatch(/line 1: expected PAN,PSN/);
      expect(text).not.toContain(pan);
      expect(text).not.toContain(pan.slice(6, 15));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('panScrub_masksPansAloneInHexAndAfterATrack2Separator', () => {
    const pan = '6231000000000000017';
    expect(panScrub(`card ${pan} gone`)).toBe('card 623100*********0017 gone');
    expect(panScrub(`57${pan}D2912201000`)).not.toMatch(/[0-9]{5}/);
    expect(panScrub(`5A0A${pan}F`)).not.toContain(pan.slice(6, 15));
    expect(panScrub('seq 12345678901, 20261122')).toBe('seq 12345678901, 20261122');
    // In groups, as back offices write PANs; track 1 (name, expiry); full-width digits.
    expect(panScrub('got "6228 4800 0000 0000,00"')).toBe('got "6228 48** **** 0000,00"');
    expect(panScrub('6228-4800-1234-5678-901 and 3782.822463.10005')).toBe(
      '6228-48**-****-***8-901 and 3782.82****.*0005');
    expect(panScrub('B6228480000000000^DOE/JOHN^2512101,00')).toBe(
      `B622848******0000${'*'.repeat('^DOE/JOHN^2512101,00'.length)}`);
    expect(panScrub('％B6228480000000000^ZHANG/SAN^29121010000?')).not.toMatch(/ZHANG|2912/);
    expect(panScrub('６２２８４８００００００００００,00')).toBe('622848******0000,00');
    // Dates, times, amounts and short groups stay as they were.
    for (const plain of ['2026-11-22 08:00:00', 'v 1.2.3', '10.0.0.1', '1000 2000 3000',
      'seqs 1001..1142', '0800 0000 00']) {
      expect(panScrub(plain)).toBe(plain);
    }
    const lines: string[] = [];
    const log = new JsonLineLog({ nowMs: () => 0, wallMs: () => 0, sleepMs: async () => {} },
      (l) => lines.push(l));
    log.log({ event: 'x', detail: `answer 70135713${pan}D29122010000000000000F9000` });
    expect(lines.join('\n')).not.toContain(pan.slice(6, 15));
    expect(lines.join('\n')).not.toContain('2912201');
  });
});
