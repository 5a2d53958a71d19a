// A seeded gate day's ledger uploaded to a real depot (ingest server, mutual TLS, SQLite) by
// the device's GateUpload over DepotHttps: an answer lost after the depot stored a chunk is
// sent again without double counting, a different line under a stored name is refused, and
// `shuaka depot report --db DB --gate-terminal ID` (a real process) gives the same hourly
// counts as `--gate-ledger DIR` on the device's own files (the independent reading).

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { gateLedgerParse } from '../../../firmware/src/app/gate/gate_ledger.js';
import { GateUpload, type GateRecordsBody } from '../../../firmware/src/app/gate/gate_upload.js';
import { DepotHttps } from '../../../firmware/src/boards/depot_https.js';
import { GATE_RUN_DEFAULT, runGate } from '../../../host-sim/src/sim/gate_run.js';
import { ingestServerCreate } from '../../src/ingest/ingest_server.js';
import { certSha256, terminalAdd } from '../../src/ingest/terminal_registry.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { panVault } from '../../src/store/pan_vault.js';
import { call, testFleet, WALL_MS } from '../ingest/ingest_fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const temp = mkdtempSync(join(tmpdir(), 'shuaka-gate-depot-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function report(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [BIN, 'depot', 'report', ...args], { encoding: 'utf8', cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('gate records reach the depot', () => {
  it('upload_resentAfterALostAnswer_storedOnce_reportFromDbEqualsReportFromFiles', async () => {
    const run = await runGate({ ...GATE_RUN_DEFAULT, seed: 8 }, () => undefined);
    run.board.dispose();
    const files = run.ledgerStorage.durableFiles();
    const ledgerDir = join(temp, 'ledger');
    mkdirSync(ledgerDir);
    for (const [name, bytes] of files) writeFileSync(join(ledgerDir, name), bytes);
    const dayBytes = files.get('gate-2026-11-22.log');
    const parsed = gateLedgerParse(dayBytes ?? new Uint8Array(), 'day');
    if (!parsed.ok) throw new Error(parsed.error);
    const lines = parsed.value.records.length;
    expect(lines).toBeGreaterThan(40);

    mkdirSync(join(temp, 'fleet'));
    const fleet = testFleet(join(temp, 'fleet'));
    const dbPath = join(temp, 'depot.sqlite');
    const db = await openDepotDb(dbPath, WALL_MS);
    const gate = fleet.terminal('gate');
    await terminalAdd(db, { terminalId: 'GATE0001', certSha256: certSha256(gate.cert),
      routeId: 'XIHU', nowMs: WALL_MS });
    const server = ingestServerCreate({ db, vault: panVault(Buffer.alloc(32, 7)),
      nowMs: () => WALL_MS,
      tls: { key: fleet.serverKey, cert: fleet.serverCert, ca: fleet.ca } });
    const port = await server.listen(0, '127.0.0.1');
    const depot = new DepotHttps({ url: new URL(`https://localhost:${port}/`), timeoutMs: 10_000,
      identity: { key: gate.key.toString(), cert: gate.cert.toString(),
        ca: fleet.ca.toString() } });
    try {
      // The second request's answer is lost after the depot stored it (a cut link).
      let requests = 0;
      const bodies: GateRecordsBody[] = [];
      const upload = new GateUpload(run.ledgerStorage, 'GATE0001', async (body) => {
        bodies.push(body);
        requests += 1;
        const sent = await depot.postGateRecords(body);
        if (requests === 2) return { ok: false, detail: 'answer lost' };
        return sent.ok ? { ok: true, storedThroughLine: sent.value }
          : { ok: false, detail: sent.detail };
      }, 16);
      const first = await upload.pass();
      expect(first).toEqual({ sent: 16, error: 'depot: answer lost' });
      expect(await upload.cursor()).toEqual({ day: '2026-11-22', line: 16 });
      const second = await upload.pass();
      expect(second).toEqual({ sent: lines - 16, error: null });
      expect(bodies[2]?.firstLine).toBe(16);
      expect((await upload.pass()).sent).toBe(0);
      const stored = await db.query('SELECT count(*) AS n FROM gate_records');
      expect(Number(stored[0]?.['n'])).toBe(lines);

      // The twin: a different record under a stored line is refused, nothing changes.
      const changed = { ...(bodies[0] as GateRecordsBody) };
      const records = [...changed.records];
      const r0 = records[0];
      if (r0 === undefined) throw new Error('no record');
      records[0] = { ...r0, minute: (r0.minute + 1) % 1440 };
      const refused = await call(port, fleet.ca, gate, 'POST', '/v1/gate-records',
        JSON.stringify({ ...changed, records }));
      expect(refused.status).toBe(400);
      expect(refused.text).toMatch(/line 0 of 2026-11-22 differs/);
      const otherDay = await call(port, fleet.ca, gate, 'POST', '/v1/gate-records',
        JSON.stringify({ ...changed, day: '2026-11-23' }));
      expect(otherDay.status).toBe(400);
      // A day no calendar has, its records dated so: 400 (old code stored them, 200).
      const noDay = await call(port, fleet.ca, gate, 'POST', '/v1/gate-records',
        JSON.stringify({ ...changed, day: '2026-02-30', firstLine: 0,
          records: changed.records.map((r) => ({ ...r, date: '2026-02-30' })) }));
      expect(noDay.status, noDay.text).toBe(400);
      expect(noDay.text).toMatch(/expected a calendar date YYYY-MM-DD, got .*2026-02-30/);
    } finally {
      depot.close();
      await server.close();
      await db.close();
    }
    const fromFiles = report('--gate-ledger', ledgerDir);
    const fromDb = report('--db', dbPath, '--gate-terminal', 'GATE0001');
    expect(fromFiles.status, fromFiles.stderr).toBe(0);
    expect(fromDb.status, fromDb.stderr).toBe(0);
    const fileRows = fromFiles.stdout.trim().split(/\r?\n/);
    expect(fileRows.length).toBeGreaterThan(1);
    expect(fromDb.stdout.trim().split(/\r?\n/).map((l) => {
      const cells = l.split(',');
      cells.splice(1, 1);
      return cells.join(',');
    })).toEqual(fileRows);
    expect(fromDb.stdout.split(/\r?\n/)[1]).toMatch(/^2026-11-22,GATE0001,/);
  }, 120_000);
});
