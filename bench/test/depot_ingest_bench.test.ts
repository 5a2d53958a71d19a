// The depot bench's load must stay what the depot accepts: its generated bodies pass the
// depot's own strict validation (a change to the export line or to field 55's rules broke
// them once, and the bench then measured nothing), the body file the depot process reads
// gives back the same bodies, its size flag refuses bad values, and a small run through the
// built bench (`npm run build`) stores what the load's construction says, from a depot
// process of its own.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchValidate } from '../../depot/src/ingest/batch_validate.js';
import { depotBenchRecords } from '../depot_ingest_bench.js';
import { batchBody, loadBodiesOpen, loadBodiesWrite } from '../depot_ingest_load.js';

const ROOT = join(import.meta.dirname, '..', '..');
const temp = mkdtempSync(join(tmpdir(), 'shuaka-depot-bench-test-'));

afterAll(() => {
  rmSync(temp, { recursive: true, force: true });
});

describe('depot ingest bench', () => {
  it('bodies_passTheDepotsValidation_withTheirCrossTerminalRepeats', () => {
    for (const index of [0, 1, 99, 100, 101]) {
      const { terminalId, text } = batchBody(index);
      const batch = batchValidate(JSON.parse(text) as unknown, terminalId);
      expect(batch.records).toHaveLength(1_000);
      // 1 % of a later batch's taps reuse a card (PAN) of the batch before it.
      const before = index === 0 ? null : batchBody(index - 1);
      const earlier = before === null ? [] : batchValidate(JSON.parse(before.text) as unknown,
        before.terminalId).records.map((r) => `${r.pan}/${r.atc}`);
      const repeats = batch.records.filter((r) => earlier.includes(`${r.pan}/${r.atc}`));
      expect(repeats).toHaveLength(index === 0 ? 0 : 10);
    }
  });

  it('bodyFile_givesBackEachBatchBody_inAnyOrder_andRefusesOneNotWritten', () => {
    const path = join(temp, 'bodies');
    loadBodiesWrite(path, 3);
    const bodies = loadBodiesOpen(path);
    try {
      for (const index of [2, 0, 1, 2]) expect(bodies.body(index)).toEqual(batchBody(index));
      expect(() => bodies.body(3)).toThrow(/no body for batch 3/);
    } finally {
      bodies.close();
    }
  });

  it('recordsFlag_defaultsTo10e6_andRefusesWhatIsNotAPositiveInteger', () => {
    expect(depotBenchRecords({})).toBe(1_000_000);
    expect(depotBenchRecords({ SHUAKA_DEPOT_BENCH_RECORDS: '20000' })).toBe(20_000);
    for (const bad of ['0', '-5', '1e6', 'ten', ' 5'])
      expect(() => depotBenchRecords({ SHUAKA_DEPOT_BENCH_RECORDS: bad })).toThrow(/positive/);
  });

  it('smallRun_storesWhatTheLoadExpects_andPrintsTheDepotProcesssPeak', () => {
    // 12 sends: batches 0..10, batch 9 twice; 11 batches counted, 1 % repeats from batch 1 on.
    const run = spawnSync(process.execPath, [join(ROOT, 'dist', 'bench', 'run.js'), '--only',
      'depot', '--json', join(temp, 'r.json'), '--html', join(temp, 'r.html')], {
      encoding: 'utf8', cwd: ROOT, env: { ...process.env, SHUAKA_DEPOT_BENCH_RECORDS: '12000',
        SHUAKA_DEPOT_BENCH_ENGINES: 'sqlite' } });
    expect(run.status, run.stderr).toBe(0);
    const line = /^ {2}sqlite .*$/m.exec(run.stdout)?.[0] ?? run.stdout;
    expect(line).toMatch(/stored 10900 {2}duplicates 1100 {2}depot peak RSS \d+ MB/);
    expect(line).not.toMatch(/WRONG/);
  }, 120_000);
});
