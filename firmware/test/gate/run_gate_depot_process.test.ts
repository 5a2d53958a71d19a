// `shuaka run --board gate --depot URL` against a real `shuaka depot serve`: a walk-in pays
// and walks through; the gate's ledger lines reach the depot (POST /v1/gate-records) and the
// paid admission's clearing record reaches it as a bus tap does (POST /v1/batches). Truths:
// the depot's own report from its database (a second process) and its taps table.

import { spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { depotServeStart, depotServeStop } from '../../../test_support/depot_serve_process.js';
import { population } from '../../../host-sim/src/cards/card_population.js';
import { testPki } from '../../../host-sim/src/pki/test_pki.js';
import { externalToolsReady } from '../../../host-sim/src/pn532_sim/pty/external_tools.js';
import { openDepotDb } from '../../../depot/src/store/open_depot_db.js';
import { writeTestDenyKey } from '../deny_key_fixture.js';
import {
  BIN,
  ROOT,
  modbusSpec,
  spawnShuaka,
  startControllerPty,
  startReaderPty,
  walkWhenOpen,
  writeGateParams,
} from './gate_run_child.js';

const TOOLS = 'shuaka run --board gate --depot process test';
let dir = '';
let serve: ChildProcess | null = null;
const cleanups: (() => Promise<unknown>)[] = [];

function shuaka(...args: string[]): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

beforeAll(() => {
  if (!externalToolsReady(['socat'], TOOLS)) return;
  const warm = spawnSync(process.execPath, [BIN, '--help'], { cwd: ROOT, encoding: 'utf8' });
  expect(warm.status, warm.stderr).toBe(0);
}, 180_000);

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await depotServeStop(serve);
  serve = null;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('shuaka run --board gate --depot', () => {
  it('walkIn_ledgerLinesAndClearingRecord_reachTheDepot_reportFromItsDb', async () => {
    if (!externalToolsReady(['socat'], TOOLS)) return;
    dir = mkdtempSync(join(tmpdir(), 'shuaka-gate-depot-run-'));
    const depotDir = join(dir, 'depot');
    expect(shuaka('depot', 'init', '--dir', depotDir).code).toBe(0);
    writeTestDenyKey(depotDir);
    const db = join(dir, 'd.db');
    const ids = join(dir, 'ids');
    const added = shuaka('depot', 'terminal', 'add', '--db', db, '--id', 'GATE0001', '--dir',
      depotDir, '--out', ids);
    expect(added.code, added.err).toBe(0);
    copyFileSync(join(depotDir, 'ca.pem'), join(ids, 'ca.pem'));
    let port = 0;
    ({ child: serve, port } = await depotServeStart(BIN, depotDir, db, ROOT));

    const params = await writeGateParams(dir, {
      siteId: 'XIHU-N', dayCapacity: 100, slotEntryGraceMin: 0, walkIns: true,
      slots: [{ id: 'day', start: '00:00', end: '24:00', capacity: 100 }], tickets: [],
    });
    const reader = await startReaderPty(dir);
    cleanups.push(() => reader.close());
    const ctl = await startControllerPty(dir, 1);
    cleanups.push(() => ctl.close());
    const child = spawnShuaka(['run', '--board', 'gate', '--port', reader.hostPath, ...params,
      '--mode', 'ec', '--sysfs-root', join(dir, 'no-sys'), '--journal', join(dir, 'journal'),
      '--turnstile', modbusSpec(ctl.hostPath, 1), '--depot', `https://localhost:${port}`,
      '--depot-identity', ids, '--depot-interval-s', '1'], true);
    cleanups.push(async () => {
      child.proc.kill('SIGKILL');
      await child.exited;
    });
    const started = await child.next('start');
    expect(started?.['outOfService'], child.stderr.join('')).toBeNull();

    const card = population(16, { pki: testPki() }).card('unionpay-debit-ec');
    const tapped = child.next('gate-tap');
    const walking = walkWhenOpen(ctl.controller, 1, 15_000);
    reader.sim.placeCard(card);
    expect(await tapped).toMatchObject({ decision: 'pay', passed: 1 });
    expect(await walking).toBe(1);
    reader.sim.removeCard(card);
    // sale, paid, entry: three lines; the next contact (1 s) sends them.
    const uploaded = await child.next('gate-upload');
    expect(uploaded?.['sent'], child.stderr.join('')).toBe(3);
    // The journal's batch goes by its own uploader: before or after the gate lines.
    const batch = child.lines.find((l) => l['event'] === 'upload-batch')
      ?? await child.next('upload-batch');
    expect(batch, child.stderr.join('')).not.toBeNull();
    const stopped = child.next('stopped');
    child.proc.kill('SIGTERM');
    expect(await stopped).not.toBeNull();
    expect((await child.exited).code).toBe(0);
    await depotServeStop(serve);
    serve = null;

    const report = shuaka('depot', 'report', '--db', db, '--gate-terminal', 'GATE0001');
    expect(report.code, report.err).toBe(0);
    const rows = report.out.trim().split(/\r?\n/);
    expect(rows[0]).toBe('day,terminal_id,hour,ticket_entries,paid_entries,exits,tailgates,'
      + 'refusals');
    expect(rows.slice(1).map((r) => r.split(',').slice(1).filter((_, i) => i !== 1)))
      .toEqual([['GATE0001', '0', '1', '0', '0', '0']]);
    const depotDb = await openDepotDb(db, Date.now());
    try {
      const taps = await depotDb.query(`SELECT amount_minor FROM taps
        WHERE terminal_id = 'GATE0001' AND type = 'clearing'`);
      expect(taps.map((t) => Number(t['amount_minor']))).toEqual(
        card.ledger().map((e) => e.amountMinor));
      const paid = await depotDb.query(`SELECT journal_seq FROM gate_records
        WHERE terminal_id = 'GATE0001' AND kind = 'paid'`);
      expect(paid).toHaveLength(1);
    } finally {
      await depotDb.close();
    }
  }, 120_000);
});
