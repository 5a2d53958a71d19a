// PCI DSS requirement 3 from the outside: after a line of real taps (torn ones included, EC and
// ODA), the journal's bytes, the clearing export and every log hold no track data, no
// cardholder name and no full PAN, except the `pan` field of the export that goes to clearing.
// The truth is the card population itself: every PAN, track 2 and name the cards carry.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  type JournalEntry,
} from '../src/app/journal/journal_records.js';
import { journalScan } from '../src/app/journal/journal_scan.js';
import { runJournalCommand } from '../src/cli/journal_cmd.js';
import { runParamsCommand } from '../src/cli/params_cmd.js';
import { JsonLineLog } from '../src/boards/json_log.js';
import {
  FIXTURE_DATA_KEY,
  card,
  clearing,
  journalOptions,
  newClock,
  panOf,
  recovery,
  scriptedEntries,
} from './journal_fixtures.js';

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

/** Every secret found in `text` (as digits, as BCD/ASCII hex, or the middle digits alone). */
function leaks(text: string, secrets: Secrets): string[] {
  const upper = text.toUpperCase();
  const found: string[] = [];
  for (const pan of secrets.pans) {
    if (upper.includes(pan)) found.push(`PAN ${pan}`);
    else if (upper.includes(pan.slice(6, -4))) found.push(`middle digits of ${pan}`);
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
        const bytes = run.board.storage.durableBytes(JOURNAL_FILE_NAME);
        const scan = journalScan(bytes, JOURNAL_FILE_NAME, true);
        const kinds = new Set(scan.records.map((r) => r.entry.kind));
        // The line exercised the records that carry card data.
        const carriers = mode === 'ec' ? ['final', 'pending', 'torn'] : ['final', 'pending'];
        for (const kind of carriers) expect(kinds, where).toContain(kind);
        expect(leaksInBytes(bytes, secrets), where).toEqual([]);
        const logText = run.board.logs.map((e) => JSON.stringify(e)).join('\n');
        expect(leaks(logText, secrets), where).toEqual([]);
        // The export: the clear PAN only in `pan` (field 2 of the upload), nothing else.
        const exported = journalExport(scan, run.board.panVault);
        expect(exported.clearingCount, where).toBeGreaterThan(0);
        const panFields: string[] = [];
        const rest = exported.lines.map((text) => {
          const { pan, ...others } = JSON.parse(text) as Record<string, unknown>;
          panFields.push(String(pan));
          return JSON.stringify(others);
        });
        expect(leaks(rest.join('\n'), secrets), where).toEqual([]);
        for (const pan of panFields) expect(secrets.pans, where).toContain(pan);
      } finally {
        run.board.dispose();
      }
    }, 300_000);
  }

  it('shuaka sim --log, as a real process: no PAN in the log, stdout or stderr', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shuaka-pci-'));
    try {
      const log = join(dir, 'sim.jsonl');
      const argv = ['--seed', String(SEED), '--riders', '30', '--torn', '0.3'];
      const child = spawnSync(
        process.execPath,
        [join(ROOT, 'bin', 'shuaka.js'), 'sim', ...argv, '--link', 'memory', '--log', log],
        { cwd: ROOT, encoding: 'utf8', timeout: 240_000 },
      );
      expect(child.status, child.stderr).toBe(0);
      const secrets = secretsOf(riderPool(SEED, BUS_RUN_DEFAULT.cardGroups, testPki()));
      const text = `${readFileSync(log, 'utf8')}\n${child.stdout}\n${child.stderr}`;
      expect(text).toMatch(/"event":"tap"/);
      expect(leaks(text, secrets), `seed ${SEED}`).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
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
      expect(await runParamsCommand(['denylist-build', input, join(dir, 'o.bin')], io)).toBe(1);
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
    const lines: string[] = [];
    const log = new JsonLineLog({ nowMs: () => 0, wallMs: () => 0, sleepMs: async () => {} },
      (l) => lines.push(l));
    log.log({ event: 'x', detail: `answer 70135713${pan}D29122010000000000000F9000` });
    expect(lines.join('\n')).not.toContain(pan.slice(6, 15));
    expect(lines.join('\n')).not.toContain('2912201');
  });
});
