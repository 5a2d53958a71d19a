// The ingest API over real mutual TLS on loopback, on both databases. Truths: firmware's own
// export lines, openssl-made certificates, node:crypto for the PAN token and seal, and the
// rows a second query reads back.

import { createHmac, hkdfSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DepotDb } from '../../src/store/depot_db.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { panVault } from '../../src/store/pan_vault.js';
import type { IngestServer } from '../../src/ingest/ingest_server.js';
import { ingestServerCreate } from '../../src/ingest/ingest_server.js';
import { certSha256, terminalAdd, terminalRevoke } from '../../src/ingest/terminal_registry.js';
import {
  createScratchDatabase, depotEngines, postgresRequired,
} from '../../../test_support/postgres_scratch.js';
import type { TestFleet } from './ingest_fixtures.js';
import { call, clearingBatch, clearingLine, clearingOf, panOf, testFleet,
  WALL_MS } from './ingest_fixtures.js';

const DATA_KEY = Buffer.alloc(32, 7);
const temp = mkdtempSync(join(tmpdir(), 'shuaka-ingest-'));
let fleet: TestFleet;
const dbs = depotEngines(temp);

beforeAll(() => {
  fleet = testFleet(temp);
});
afterAll(() => {
  dbs.stop();
  rmSync(temp, { recursive: true, force: true });
});

function tokenOf(pan: string): string {
  const key = Buffer.from(hkdfSync('sha256', DATA_KEY, new Uint8Array(0),
    'shuaka depot pan token v1', 32));
  return createHmac('sha256', key).update(pan).digest('hex');
}

interface Rig {
  db: DepotDb;
  server: IngestServer;
  port: number;
  a: { key: Buffer; cert: Buffer };
  b: { key: Buffer; cert: Buffer };
  log: string[];
}

async function rigOpen(target: string, label: string): Promise<Rig> {
  const db = await openDepotDb(target, WALL_MS);
  const a = fleet.terminal(`${label}-a`);
  const b = fleet.terminal(`${label}-b`);
  await terminalAdd(db, { terminalId: 'SIM00001', certSha256: certSha256(a.cert),
    routeId: 'R12', nowMs: WALL_MS });
  await terminalAdd(db, { terminalId: 'SIM00002', certSha256: certSha256(b.cert),
    routeId: 'R12', nowMs: WALL_MS });
  const log: string[] = [];
  const server = ingestServerCreate({ db, vault: panVault(DATA_KEY), nowMs: () => WALL_MS,
    tls: { key: fleet.serverKey, cert: fleet.serverCert, ca: fleet.ca },
    log: (line) => log.push(line) });
  const port = await server.listen(0, '127.0.0.1');
  return { db, server, port, a, b, log };
}

describe('ingest: a terminal certificate past its notAfter', () => {
  it('everyRequest_is403CertificateExpired_onAConnectionTheHandshakeLetIn', async () => {
    // Found on a live depot: an expired terminal certificate went on fetching parameters
    // and sending its status on a connection kept alive from before its expiry (the
    // handshake checks the dates, once). The depot's clock here is past the certificate's
    // notAfter; the handshake (real time) still lets it in, as a kept-alive one would.
    const db = await openDepotDb(join(temp, 'expired.sqlite'), WALL_MS);
    const a = fleet.terminal('expired-a');
    await terminalAdd(db, { terminalId: 'SIM00001', certSha256: certSha256(a.cert),
      routeId: 'R12', nowMs: WALL_MS });
    const afterMs = Date.parse(new X509Certificate(a.cert).validTo) + 1_000;
    const server = ingestServerCreate({ db, vault: panVault(DATA_KEY), nowMs: () => afterMs,
      tls: { key: fleet.serverKey, cert: fleet.serverCert, ca: fleet.ca } });
    const port = await server.listen(0, '127.0.0.1');
    try {
      const answer = await call(port, fleet.ca, a, 'POST', '/v1/batches',
        JSON.stringify(clearingBatch('SIM00001', 1, 3)));
      expect(answer).toMatchObject({ status: 403, json: { error: 'certificate-expired' } });
      expect(await count(db)).toBe(0);
      const params = await call(port, fleet.ca, a, 'GET', '/v1/params?have=0', '');
      expect(params.status).toBe(403);
    } finally {
      await server.close();
      await db.close();
    }
  });
});

async function count(db: DepotDb, where = '1 = 1'): Promise<number> {
  const rows = await db.query(`SELECT count(*) AS n FROM taps WHERE ${where}`);
  return Number(rows[0]?.['n']);
}

const post = (rig: Rig, who: 'a' | 'b', body: unknown, path = '/v1/batches') =>
  call(rig.port, fleet.ca, rig[who], 'POST', path,
    typeof body === 'string' ? body : JSON.stringify(body));

const engines = dbs.list;

describe.each(engines)('ingest on $name', (engine) => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await rigOpen(await engine.target(`ingest_${engine.name}`), engine.name);
  });
  afterAll(async () => {
    await rig.server.close();
    await rig.db.close();
  });

  it('batch_whenValid_storesEveryRecordSealed_andAnswersAfterCommit', async () => {
    const body = clearingBatch('SIM00001', 1, 40);
    (body as { throughSeq: number }).throughSeq = 45;
    const answer = await post(rig, 'a', body);
    expect(answer).toMatchObject({ status: 200,
      json: { ackThroughSeq: 45, stored: 40, duplicates: 0 } });
    expect(await count(rig.db, "terminal_id = 'SIM00001' AND state = 'new'")).toBe(40);
    const row = (await rig.db.query('SELECT * FROM taps WHERE seq = 7 AND terminal_id = $1',
      ['SIM00001']))[0]!;
    expect(row['pan_token']).toBe(tokenOf(panOf(7)));
    expect(panVault(DATA_KEY).unseal(String(row['pan_sealed']))).toBe(panOf(7));
    expect(row).toMatchObject({ atc: 107, amount_minor: 200, route_id: 'R12', psn: '01',
      cryptogram_type: 'ARQC', currency_code: 156 });
    // No clear PAN in any column of any row, nor in the log.
    const all = JSON.stringify(await rig.db.query('SELECT * FROM taps'));
    for (let n = 1; n <= 40; n += 1) expect(all).not.toContain(panOf(n));
    expect(rig.log.join('\n')).not.toMatch(/\d{12}/);
  });

  it('batch_whenReplayed_storesNothingNew_andStillAnswers200', async () => {
    const before = await count(rig.db);
    const answer = await post(rig, 'a', clearingBatch('SIM00001', 1, 40));
    expect(answer).toMatchObject({ status: 200,
      json: { ackThroughSeq: 40, stored: 0, duplicates: 40 } });
    expect(await count(rig.db)).toBe(before);
  });

  it('batch_whenTheTerminalsJournalWasReplaced_is409_storesNothing_andSaysWhereToStart',
    async () => {
      const before = await count(rig.db);
      const batchesBefore = (await rig.db.query('SELECT count(*) AS n FROM batches'))[0]?.['n'];
      // A new journal numbers from 1 again: the same seqs hold other cards, a month later.
      const anew = clearingBatch('SIM00001', 1, 3, 500);
      for (const line of anew['records'] as { timeWallMs: number }[])
        line.timeWallMs += 30 * 86_400_000;
      const answer = await post(rig, 'a', anew);
      expect(answer).toMatchObject({ status: 409, json: { error: 'seq-conflict' } });
      const detail = String((answer.json as { detail: string }).detail);
      expect(detail).toContain('holds terminal SIM00001 through seq 40');
      expect(detail).toContain('Seq 1 is held as another record (clearing at');
      expect(detail).toContain('differs in time, card)');
      expect(detail).toContain('shuaka journal init --after-seq 40');
      // Reaching past what the depot holds, from a seq held as another card: nothing stored.
      const overlap = await post(rig, 'a', clearingBatch('SIM00001', 39, 4, 500));
      expect(overlap).toMatchObject({ status: 409, json: { error: 'seq-conflict' } });
      expect(String((overlap.json as { detail: string }).detail))
        .toContain('Seq 39 is held as another record');
      expect(await count(rig.db)).toBe(before);
      expect(await count(rig.db, "terminal_id = 'SIM00001' AND seq > 40")).toBe(0);
      expect((await rig.db.query('SELECT count(*) AS n FROM batches'))[0]?.['n'])
        .toEqual(batchesBefore);
      expect(rig.log.filter((l) => l.includes('-> 409 seq-conflict'))).toHaveLength(2);
      // The true replay is still a replay.
      const replay = await post(rig, 'a', clearingBatch('SIM00001', 38, 3));
      expect(replay).toMatchObject({ status: 200, json: { stored: 0, duplicates: 3 } });
    });

  it('batch_whenAnotherTerminalSendsTheSameCardAndAtc_keepsItAsUncountedDuplicate', async () => {
    const line = clearingLine(1, clearingOf(3, 103, 'SIM00002'));
    const fresh = clearingLine(2, clearingOf(900, 5, 'SIM00002'));
    const answer = await post(rig, 'b', { terminalId: 'SIM00002', firstSeq: 1, throughSeq: 2,
      records: [line, fresh] });
    expect(answer).toMatchObject({ status: 200, json: { stored: 1, duplicates: 1 } });
    const rows = await rig.db.query(`SELECT t.state, t.duplicate_of, o.terminal_id AS of_terminal,
      o.seq AS of_seq FROM taps t JOIN taps o ON o.id = t.duplicate_of
      WHERE t.terminal_id = 'SIM00002'`);
    expect(rows).toEqual([{ state: 'duplicate', duplicate_of: expect.any(Number) as unknown,
      of_terminal: 'SIM00001', of_seq: 3 }]);
  });

  it.each([
    ['corrupt JSON', '{"terminalId": "SIM00001", "firstSeq": 50, ', 400, 'bad-batch', ''],
    ['terminal mismatch', { ...clearingBatch('SIM00002', 50, 2) }, 403, 'terminal-mismatch', ''],
    ['unknown field', { ...clearingBatch('SIM00001', 50, 2), extra: 1 }, 400, 'bad-batch',
      'extra'],
  ] as const)('batch_with %s_isRefused_andStoresNothing', async (_n, body, status, code, at) => {
    const before = await count(rig.db);
    const answer = await post(rig, 'a', body);
    expect(answer.status).toBe(status);
    expect(answer.json).toMatchObject({ error: code });
    expect(String((answer.json as { detail: string }).detail)).toContain(at);
    expect(await count(rig.db)).toBe(before);
  });

  it.each([
    ['amountMinor', 250, 'records[1].amountMinor'],
    ['atc', 4, 'records[1].atc'],
    ['pan', panOf(77), 'records[1].pan'],
    ['psn', '02', 'records[1].psn'],
    ['seq', 99, 'records[1].seq'],
    ['cryptogramType', 'AAC', 'records[1].cryptogramType'],
    ['fareRule', 'FLAT RATE', 'records[1].fareRule'],
  ] as const)('batch_whenOneFieldIsFlipped (%s)_namesTheField_storesNothing',
    async (field, value, path) => {
      const body = clearingBatch('SIM00001', 60, 3);
      const records = body['records'] as Record<string, unknown>[];
      records[1] = { ...records[1], [field]: value };
      const before = await count(rig.db);
      const answer = await post(rig, 'a', body);
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({ error: 'bad-batch' });
      expect((answer.json as { detail: string }).detail).toMatch(new RegExp(`^${
        path.replace(/[[\]]/g, '\\$&')}`));
      expect(answer.text).not.toMatch(/\d{12}/);
      expect(await count(rig.db)).toBe(before);
    });

  it('batch_afterSeqsThisDepotNeverHeld_isStored_andTheLogWarnsOfTheGap', async () => {
    // A depot restored from an older backup: SIM00002 (this depot holds its batch 1..2)
    // acknowledged through 60 to the newer one, whose rows are gone; its next batch starts at 61. Stored (the records are real),
    // and the operator is told which seqs this database never held, once, not at the next.
    const first = await post(rig, 'b', clearingBatch('SIM00002', 61, 4));
    expect(first).toMatchObject({ status: 200, json: { ackThroughSeq: 64, stored: 4 } });
    expect(Object.keys(first.json as object).sort()).toEqual(
      ['ackThroughSeq', 'duplicates', 'stored']);
    const warnings = rig.log.filter((l) => l.startsWith('WARNING terminal SIM00002'));
    expect(warnings).toEqual([expect.stringContaining('seqs 3..60 came in no batch')]);
    expect(await post(rig, 'b', clearingBatch('SIM00002', 65, 2))).toMatchObject({ status: 200 });
    expect(rig.log.filter((l) => l.startsWith('WARNING terminal SIM00002'))).toHaveLength(1);
  });

  it('batch_datedDaysAheadOfTheDepot_isStored_andTheLogSaysTheValidatorsClockIsAhead', async () => {
    // A validator whose clock runs a year fast says nothing itself (clock-behind only).
    const ahead = clearingBatch('SIM00002', 67, 1);
    for (const line of ahead['records'] as { timeWallMs: number }[])
      line.timeWallMs = WALL_MS + 365 * 86_400_000;
    expect(await post(rig, 'b', ahead)).toMatchObject({ status: 200 });
    expect(rig.log.filter((l) => l.includes('days after this depot\'s clock'))).toEqual([
      expect.stringContaining('WARNING terminal SIM00002: records dated up to 20'),
    ]);
    // A day's drift and less is no warning (time zones, a clock a little fast).
    const near = clearingBatch('SIM00002', 68, 1);
    for (const line of near['records'] as { timeWallMs: number }[])
      line.timeWallMs = WALL_MS + 3600_000;
    expect(await post(rig, 'b', near)).toMatchObject({ status: 200 });
    expect(rig.log.filter((l) => l.includes('days after this depot\'s clock'))).toHaveLength(1);
  });

  it('batch_overEightMiB_is413_andStoresNothing', async () => {
    const before = await count(rig.db);
    const answer = await post(rig, 'a', `{"pad":"${'x'.repeat(8 * 1024 * 1024)}"}`);
    expect(answer).toMatchObject({ status: 413, json: { error: 'too-large' } });
    expect(await count(rig.db)).toBe(before);
  });

  it('status_andParams_keepTerminalManagement_andServeTheNewestSet', async () => {
    const status = { terminalId: 'SIM00001', paramsVersion: 3,
      paramsRefused: { version: 4, reason: 'manifest hash mismatch' }, backlogRecords: 120,
      lastSeq: 880, ackThroughSeq: 760, softwareVersion: '0.1.0' };
    expect((await post(rig, 'a', status, '/v1/status')).status).toBe(204);
    expect(await rig.db.query('SELECT * FROM terminal_status WHERE terminal_id = $1',
      ['SIM00001'])).toEqual([{ terminal_id: 'SIM00001', last_contact_ms: WALL_MS,
      params_version: 3, params_refused_version: 4,
      params_refused_reason: 'manifest hash mismatch', backlog_records: 120, last_seq: 880,
      ack_through_seq: 760, software_version: '0.1.0' }]);
    // A reason holding a card number (a validator's free text): stored masked (was clear).
    const carded = { ...status, paramsRefused: { version: 4,
      reason: 'deny list line 6228 4800 0000 0000 019 refused' } };
    expect((await post(rig, 'a', carded, '/v1/status')).status).toBe(204);
    expect(await rig.db.query('SELECT params_refused_reason FROM terminal_status WHERE '
      + 'terminal_id = $1', ['SIM00001'])).toEqual([
      { params_refused_reason: 'deny list line 6228 48** **** ***0 019 refused' }]);
    const bad = await post(rig, 'a', { ...status, lastSeq: 10 }, '/v1/status');
    expect(bad).toMatchObject({ status: 400, json: { error: 'bad-status' } });
    const get = (have: string) => call(rig.port, fleet.ca, rig.a, 'GET', `/v1/params?have=${have}`);
    expect((await get('0')).status).toBe(204);
    const files = { 'manifest.json': Buffer.from('{"v":5}').toString('base64') };
    await rig.db.run('INSERT INTO params_sets VALUES ($1, $2, $3, $4)',
      [5, WALL_MS, JSON.stringify(files), 0]);
    expect(await get('3')).toMatchObject({ status: 200, json: { version: 5, files } });
    expect((await get('5')).status).toBe(204);
    expect(await get('x')).toMatchObject({ status: 400, json: { error: 'bad-request' } });
  });

  it('certificates_unknownRevokedOrForeign_areRefused', async () => {
    const stranger = fleet.terminal(`${engine.name}-stranger`);
    const body = clearingBatch('SIM00001', 70, 1);
    const unknown = await call(rig.port, fleet.ca, stranger, 'POST', '/v1/batches',
      JSON.stringify(body));
    expect(unknown).toMatchObject({ status: 403, json: { error: 'terminal-unknown' } });
    const foreign = fleet.terminal(`${engine.name}-foreign`, true);
    await expect(call(rig.port, fleet.ca, foreign, 'GET', '/v1/params?have=0')).rejects
      .toThrow();
    await terminalRevoke(rig.db, 'SIM00002');
    const revoked = await post(rig, 'b', clearingBatch('SIM00002', 70, 1));
    expect(revoked).toMatchObject({ status: 403, json: { error: 'terminal-revoked' } });
    expect(await count(rig.db, 'seq = 70')).toBe(0);
  });
});

describe.runIf(postgresRequired())('ingest when PostgreSQL goes down', () => {
  it('answers503_losesNothing_andTheRetrySucceeds', async () => {
    const scratch = await dbs.scratch();
    const rig = await rigOpen(await createScratchDatabase(scratch, 'ingest_down'), 'down');
    try {
      expect((await post(rig, 'a', clearingBatch('SIM00001', 1, 10))).status).toBe(200);
      scratch.halt();
      const during = await post(rig, 'a', clearingBatch('SIM00001', 11, 10));
      expect(during).toMatchObject({ status: 503, json: { error: 'store-unavailable' } });
      scratch.resume();
      const retry = await post(rig, 'a', clearingBatch('SIM00001', 11, 10));
      expect(retry).toMatchObject({ status: 200, json: { stored: 10, duplicates: 0 } });
      expect(await count(rig.db)).toBe(20);
    } finally {
      await rig.server.close();
      await rig.db.close();
    }
  });
});
