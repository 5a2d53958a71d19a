// The prepare pool against the same preparation on the calling thread (batchPrepare): equal
// records, a token equal to the vault's own, a seal that opens to the line's PAN under the
// same data key, the same refusals (BatchError code and path), and a clear end when closed.
// Needs the build (the worker runs dist/; `npm run build`).

import { afterAll, describe, expect, it } from 'vitest';

import { batchPreparePool } from '../../src/ingest/batch_prepare_pool.js';
import { batchPrepare } from '../../src/ingest/batch_seal.js';
import { BatchError } from '../../src/ingest/batch_error.js';
import { panVault } from '../../src/store/pan_vault.js';
import { clearingBatch, panOf, refusal } from './ingest_fixtures.js';

const DATA_KEY = Buffer.alloc(32, 7);
const TERMINAL = 'BUS00001';

describe('batch prepare pool', () => {
  const pool = batchPreparePool(DATA_KEY, 2);
  const vault = panVault(DATA_KEY);
  afterAll(() => pool.close());

  it('prepare_matchesThisThread_andTheSealOpensToThePan', async () => {
    const text = JSON.stringify(clearingBatch(TERMINAL, 11, 40));
    const [pooled, local] = [await pool.prepare(text, TERMINAL),
      batchPrepare(text, TERMINAL, vault)];
    expect(pooled.records.map((r) => r.record)).toEqual(local.records.map((r) => r.record));
    expect(pooled.records.map((r) => r.panToken)).toEqual(local.records.map((r) => r.panToken));
    for (const [i, r] of pooled.records.entries()) {
      expect(r.record.pan).toBeNull();
      expect(r.panToken).toBe(vault.token(panOf(11 + i)));
      expect(vault.unseal(r.panSealed ?? '')).toBe(panOf(11 + i));
    }
    expect([pooled.terminalId, pooled.firstSeq, pooled.throughSeq]).toEqual([TERMINAL, 11, 50]);
  });

  it('badBodies_areRefusedAsOnThisThread', async () => {
    const good = clearingBatch(TERMINAL, 1, 3);
    const records = good['records'] as Record<string, unknown>[];
    const bodies = [
      '{"terminalId":', // not JSON
      JSON.stringify({ ...good, records: [records[0], { ...records[1], atc: -1 }] }),
      JSON.stringify({ ...good, terminalId: 'BUS00002' }),
    ];
    for (const text of bodies) {
      const expected = refusal(() => batchPrepare(text, TERMINAL, vault));
      expect(expected).not.toBeNull();
      const got = await pool.prepare(text, TERMINAL).then(() => null, (error: unknown) =>
        error instanceof BatchError ? { code: error.code, path: error.path } : error);
      expect(got).toEqual(expected);
    }
  });

  it('manyAtOnce_eachAnswerGoesToItsCaller', async () => {
    const texts = Array.from({ length: 12 }, (_, i) =>
      JSON.stringify(clearingBatch(TERMINAL, 1 + i * 5, 5, 1_000 * i)));
    const batches = await Promise.all(texts.map((t) => pool.prepare(t, TERMINAL)));
    expect(batches.map((b) => b.firstSeq)).toEqual(texts.map((_, i) => 1 + i * 5));
    expect(batches.map((b) => b.records[0]?.panToken))
      .toEqual(texts.map((_, i) => vault.token(panOf(1 + i * 5 + 1_000 * i))));
  });

  it('afterClose_prepareRejects', async () => {
    const closing = batchPreparePool(DATA_KEY);
    await closing.close();
    await expect(closing.prepare('{}', TERMINAL)).rejects.toThrow(/closed/);
  });
});
