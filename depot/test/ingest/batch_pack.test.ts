// What the prepare worker sends across threads (batch_pack.ts) against the same preparation on
// this thread (batchPrepare): batches of every kind of line firmware's journal exports
// (clearing, torn, reconciled, pending, T-Union; lines without a card), the same records,
// tokens and T-Union lines through the real worker, seals that open to the same PANs, the same
// refusals, and never a clear PAN in the packed texts. Needs the build (the worker runs dist/).

import { afterAll, describe, expect, it } from 'vitest';

import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import { journalExport } from '../../../firmware/src/app/journal/journal_export.js';
import { Journal } from '../../../firmware/src/app/journal/journal.js';
import type { JournalEntry } from '../../../firmware/src/app/journal/journal_records.js';
import { StorageSim } from '../../../host-sim/src/storage_sim.js';
import {
  FIXTURE_VAULT, JOURNAL_FILE, journalOptions, newClock, newPrng, scriptedEntries,
} from '../../../firmware/test/journal_fixtures.js';
import {
  tunionBlockedEntry, tunionEntries,
} from '../../../firmware/test/journal_tunion_fixtures.js';
import { batchPack, batchUnpack } from '../../src/ingest/batch_pack.js';
import { batchPreparePool } from '../../src/ingest/batch_prepare_pool.js';
import { batchParse, batchPrepare, type SealedBatch } from '../../src/ingest/batch_seal.js';
import { BatchError } from '../../src/ingest/batch_error.js';
import type { IngestRecord } from '../../src/ingest/batch_validate.js';
import { panVault } from '../../src/store/pan_vault.js';
import { clearingBatch, refusal } from './ingest_fixtures.js';

const DATA_KEY = Buffer.alloc(32, 5);

async function exported(entries: readonly JournalEntry[]): Promise<Record<string, unknown>[]> {
  const sim = new StorageSim({ totalBytes: 1 << 24, prng: newPrng(5), tornModes: ['prefix'] });
  const opened = await Journal.open(sim, journalOptions(newClock()));
  if (!opened.ok) throw new Error(opened.detail);
  for (const entry of entries) {
    const appended = await opened.value.journal.append(entry);
    if (!appended.ok) throw new Error(appended.detail);
  }
  const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
  return journalExport(scan, FIXTURE_VAULT).lines.map((l) => JSON.parse(l) as Record<string,
    unknown>);
}

function body(terminalId: string, records: readonly Record<string, unknown>[]): string {
  const seqs = records.map((r) => Number(r['seq']));
  return JSON.stringify({ terminalId, firstSeq: Math.min(...seqs),
    throughSeq: Math.max(...seqs), records });
}

/**
 * Every kind of clearing-side line (terminal T0001), T-Union lines with clearing lines, T-Union
 * lines alone (no taps record) and a batch without lines.
 */
async function variedBodies(): Promise<string[]> {
  const scripted = await exported(scriptedEntries().filter((e) => e.kind !== 'ack'));
  const [grey1, final1] = tunionEntries(1, 17, 1);
  const [openGrey] = tunionEntries(4, 50, null);
  const tunion = await exported([grey1, final1, openGrey,
    { ...tunionBlockedEntry(5, 'blocked', '9000'), terminalId: 'BUS00001' }]);
  const clearing = clearingBatch('BUS00001', tunion.length + 1, 4)['records'] as
    Record<string, unknown>[];
  return [body('T0001', scripted), body('BUS00001', [...tunion, ...clearing]),
    body('BUS00001', tunion),
    JSON.stringify({ terminalId: 'T0001', firstSeq: 1, throughSeq: 5, records: [] })];
}

function terminalOf(text: string): string {
  return String((JSON.parse(text) as Record<string, unknown>)['terminalId']);
}

/** The batch with each seal opened: seals differ (fresh IVs), the PANs inside must not. */
function opened(batch: SealedBatch): unknown {
  const vault = panVault(DATA_KEY);
  return { ...batch, records: batch.records.map((r) => ({ ...r,
    panSealed: r.panSealed === null ? null : vault.unseal(r.panSealed) })) };
}

describe('batch pack (prepare worker to store thread)', () => {
  const pool = batchPreparePool(DATA_KEY, 1);
  afterAll(() => pool.close());

  it('everyKindOfLine_throughTheWorker_equalsThisThreadsBatch', async () => {
    const bodies = await variedBodies();
    const vault = panVault(DATA_KEY);
    const kinds = new Set<string>();
    for (const text of bodies) {
      const local = batchPrepare(text, terminalOf(text), vault);
      const pooled = await pool.prepare(text, terminalOf(text));
      expect(opened(pooled)).toEqual(opened(local));
      for (const r of local.records) kinds.add(`${r.record.type}/${r.panToken === null}`);
      for (const t of local.tunion) kinds.add(t.type);
    }
    for (const kind of ['clearing/false', 'torn/false', 'reconciled/true', 'tunion_clearing',
      'tunion_grey', 'tunion_blocked']) expect(kinds).toContain(kind);
  });

  it('thePackedText_holdsNoClearPan_andUnpacksToTheSameRecords', async () => {
    for (const text of (await variedBodies()).slice(0, 2)) {
      const batch = batchParse(text, terminalOf(text));
      const packed = batchPack(batch, panVault(DATA_KEY));
      const pans = batch.records.flatMap((r) => (r.pan === null ? [] : [r.pan]));
      expect(pans.length).toBeGreaterThan(0);
      for (const pan of pans) expect(packed.texts).not.toContain(pan);
      const unpacked = batchUnpack(structuredClone(packed));
      expect(unpacked.records.map((r) => r.record))
        .toEqual(batch.records.map((r) => ({ ...r, pan: null })));
      expect(unpacked.tunion).toEqual(batch.tunion);
    }
  });

  it('badLinesOfEveryKind_areRefusedByTheWorkerAsOnThisThread', async () => {
    const [scripted = '', tunion = ''] = await variedBodies();
    const vault = panVault(DATA_KEY);
    const spoil = (text: string, type: string, field: string, value: unknown): string => {
      const parsed = JSON.parse(text) as { records: Record<string, unknown>[] };
      const i = parsed.records.findIndex((r) => r['type'] === type);
      parsed.records[i] = { ...parsed.records[i], [field]: value };
      return JSON.stringify(parsed);
    };
    const bad = [spoil(scripted, 'torn', 'psn', 'zz'), spoil(scripted, 'reconciled', 'note', 7),
      spoil(tunion, 'tunion_clearing', 'tacHex', 'XYZ'), spoil(tunion, 'tunion_grey', 'seq', 0),
      spoil(tunion, 'clearing', 'pan', '123'), spoil(tunion, 'tunion_blocked', 'blockSwHex', ''),
      spoil(tunion, 'tunion_blocked', 'terminalId', 'BUS00002')];
    for (const text of bad) {
      const expected = refusal(() => batchPrepare(text, terminalOf(text), vault));
      expect(expected).not.toBeNull();
      const got = await pool.prepare(text, terminalOf(text)).then(() => null,
        (error: unknown) => error instanceof BatchError ? { code: error.code, path: error.path }
          : error);
      expect(got).toEqual(expected);
    }
  });

  it('anyTextAndNulls_roundTrip_andABrokenPackIsAnError', () => {
    const base: IngestRecord = { seq: 1, type: 'reconciled', timeWallMs: 5, routeId: null,
      pan: null, psn: null, atc: null, amountMinor: null, currencyCode: null, fareRule: null,
      cryptogramType: null, iccDataHex: null, transactionDate: null, transactionTime: null,
      paramsVersion: null, recordJson: '{}' };
    const odd: IngestRecord = { ...base, seq: 2, type: 'pending_open', routeId: '',
      psn: '\u0000\u0001', atc: 0, amountMinor: 2 ** 53 - 1, currencyCode: 156,
      fareRule: '\u{1F68C} rule', cryptogramType: 'TC', iccDataHex: '', transactionDate: 'x',
      transactionTime: '"', paramsVersion: 0, recordJson: '' };
    const batch = { terminalId: 'T1', firstSeq: 1, throughSeq: 2, records: [base, odd],
      tunion: [] };
    const packed = batchPack(batch, panVault(DATA_KEY));
    const unpacked = batchUnpack(structuredClone(packed));
    expect(unpacked.records).toEqual([base, odd].map((record) =>
      ({ record, panToken: null, panSealed: null })));
    expect(() => batchUnpack({ ...packed, count: 3 })).toThrow(/do not hold 3 records/);
    expect(() => batchUnpack({ ...packed, texts: `${packed.texts}x` })).toThrow(/add up/);
    const numbers = packed.numbers.slice();
    numbers[6] = 9;
    expect(() => batchUnpack({ ...packed, numbers })).toThrow(/bad type/);
  });
});
