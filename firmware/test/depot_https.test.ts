// The HTTPS depot transport over real TLS on loopback with a test fleet CA: every answer and
// failure of contract v1 maps to its DepotError (refused certificates both ways, 403, 400,
// 413, 503, timeouts, connection refused), and the batch body is the export lines verbatim.

import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fleetTlsCreate, type FleetTls } from '../../host-sim/src/pki/fleet_tls.js';
import { depotBatchBody } from '../src/app/upload/depot_port.js';
import {
  BODY_CHUNK_BYTES, DepotHttps, depotIdentityRead, type DepotIdentity,
} from '../src/boards/depot_https.js';

interface Seen {
  fingerprint: string | null;
  method: string;
  url: string;
  body: string;
}

let dir = '';
let fleet: FleetTls;
let other: FleetTls;
let server: Server;
let port = 0;
let answer: (seen: Seen) => { status: number; body: string } | null = () => null;
let drip = false;
const seen: Seen[] = [];

async function identity(f: FleetTls, terminalId: string): Promise<DepotIdentity> {
  const read = await depotIdentityRead(f.terminalDirs.get(terminalId) ?? '');
  if (!read.ok) throw new Error(read.detail);
  return read.value;
}

function depot(id: DepotIdentity, timeoutMs = 5_000, p = port): DepotHttps {
  return new DepotHttps({ url: new URL(`https://localhost:${p}/`), identity: id, timeoutMs });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shuaka-depot-https-'));
  fleet = await fleetTlsCreate(join(dir, 'fleet'), ['SIM00001']);
  other = await fleetTlsCreate(join(dir, 'other'), ['SIM00001']);
  server = createServer({
    key: await readFile(fleet.serverKeyPath), cert: await readFile(fleet.serverCertPath),
    ca: await readFile(fleet.caCertPath), requestCert: true, rejectUnauthorized: true,
  }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const peer = (req.socket as TLSSocket).getPeerCertificate(false);
      const fingerprint = peer.raw === undefined ? null
        : createHash('sha256').update(peer.raw).digest('hex');
      const s = { fingerprint, method: req.method ?? '', url: req.url ?? '',
        body: Buffer.concat(chunks).toString() };
      seen.push(s);
      if (drip) {
        // A byte now and then, never the end: the socket is never silent.
        res.writeHead(200, { 'content-type': 'application/json' });
        const timer = setInterval(() => res.write(' '), 50);
        res.on('close', () => clearInterval(timer));
        return;
      }
      const a = answer(s);
      if (a === null) return; // hang: the client's timeout must end it
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
}, 60_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const BATCH = { terminalId: 'SIM00001', firstSeq: 1, throughSeq: 3,
  recordLines: ['{"type":"clearing","seq":1}', '{"type":"torn","seq":3}'] };

describe('depot over HTTPS (mutual TLS)', () => {
  it('postBatch_ok_sendsTheLinesVerbatimWithTheTerminalCertificate', async () => {
    answer = () => ({ status: 200, body: '{"ackThroughSeq":3,"stored":2,"duplicates":0}' });
    const id = await identity(fleet, 'SIM00001');
    const d = depot(id);
    expect(await d.postBatch(BATCH)).toEqual({ ok: true,
      value: { ackThroughSeq: 3, stored: 2, duplicates: 0 } });
    d.close();
    const last = seen.at(-1);
    expect(JSON.parse(last?.body ?? '')).toEqual({ terminalId: 'SIM00001', firstSeq: 1,
      throughSeq: 3, records: [{ type: 'clearing', seq: 1 }, { type: 'torn', seq: 3 }] });
    expect(last?.fingerprint).toBe(new X509Certificate(id.cert).fingerprint256
      .replaceAll(':', '').toLowerCase());
  });

  it('pacedBody_isWrittenInChunksWithPaceBeforeEach_andArrivesVerbatim', async () => {
    answer = (s) => ({ status: 200, body: JSON.stringify({
      ackThroughSeq: (JSON.parse(s.body) as { throughSeq: number }).throughSeq,
      stored: 1000, duplicates: 0 }) });
    let paces = 0;
    const d = new DepotHttps({ url: new URL(`https://localhost:${port}/`),
      identity: await identity(fleet, 'SIM00001'), timeoutMs: 5_000,
      pace: async () => {
        paces += 1;
        // A tap holds the worker here: the request waits, then goes on.
        await new Promise((resolve) => setTimeout(resolve, 2));
      } });
    const recordLines = Array.from({ length: 1000 }, (_, i) =>
      JSON.stringify({ type: 'clearing', seq: i + 1, pad: 'x'.repeat(200 + (i % 7)) }));
    const batch = { terminalId: 'SIM00001', firstSeq: 1, throughSeq: 1000, recordLines };
    const bodyBytes = Buffer.byteLength(depotBatchBody(batch));
    expect(bodyBytes).toBeGreaterThan(3 * BODY_CHUNK_BYTES);
    expect(await d.postBatch(batch)).toEqual({ ok: true,
      value: { ackThroughSeq: 1000, stored: 1000, duplicates: 0 } });
    expect(paces).toBe(Math.ceil(bodyBytes / BODY_CHUNK_BYTES));
    expect(seen.at(-1)?.body).toBe(depotBatchBody(batch));
    d.close();
  });

  it('statusAnswers_mapToTheirErrors_withTheDepotsCodeAndDetail', async () => {
    const d = depot(await identity(fleet, 'SIM00001'));
    const cases: [number, string, string][] = [
      [403, '{"error":"terminal-revoked"}', 'forbidden'],
      [400, '{"error":"bad-batch","detail":"records[3].atc"}', 'bad-request'],
      [413, '{"error":"too-large"}', 'too-large'],
      [409, '{"error":"seq-conflict","detail":"seq 1 held"}', 'conflict'],
      [503, '{"error":"store-unavailable"}', 'unavailable'],
      [200, 'not json', 'protocol'],
    ];
    for (const [status, body, error] of cases) {
      answer = () => ({ status, body });
      const result = await d.postBatch(BATCH);
      expect(result).toMatchObject({ ok: false, error, httpStatus: status });
    }
    answer = () => ({ status: 400, body: '{"error":"bad-batch","detail":"records[3].atc"}' });
    expect(await d.postBatch(BATCH)).toMatchObject({ detail: '400 bad-batch: records[3].atc' });
    d.close();
  });

  it('params_204IsNothingNewer_200DecodesFilesAndDeltas_fullAsksForTheWholeSet', async () => {
    const d = depot(await identity(fleet, 'SIM00001'));
    answer = () => ({ status: 204, body: '' });
    expect(await d.getParams(3)).toEqual({ ok: true, value: null });
    expect(seen.at(-1)?.url).toBe('/v1/params?have=3');
    answer = () => ({ status: 200, body: JSON.stringify({ version: 4,
      files: { 'manifest.json': Buffer.from('{}').toString('base64') },
      denyDeltas: [Buffer.from('SHKDDLT1').toString('base64')] }) });
    const got = await d.getParams(3);
    expect(got.ok && got.value?.version).toBe(4);
    expect(got.ok && Buffer.from(got.value?.files.get('manifest.json') ?? []).toString())
      .toBe('{}');
    expect(got.ok && got.value?.denyDeltas?.map((b) => Buffer.from(b).toString()))
      .toEqual(['SHKDDLT1']);
    answer = () => ({ status: 200, body: JSON.stringify({ version: 4, files: {},
      denyDeltas: ['not base64!'] }) });
    expect(await d.getParams(3, true)).toMatchObject({ ok: false, error: 'protocol' });
    expect(seen.at(-1)?.url).toBe('/v1/params?have=3&full=1');
    answer = () => ({ status: 204, body: '' });
    const status = { terminalId: 'SIM00001', paramsVersion: 4, paramsRefused: null,
      backlogRecords: 0, lastSeq: 9, ackThroughSeq: 9, softwareVersion: '0.1.0' };
    expect(await d.postStatus(status)).toEqual({ ok: true, value: undefined });
    expect(JSON.parse(seen.at(-1)?.body ?? '')).toEqual(status);
    d.close();
  });

  it('certificatesOfAnotherCa_areRefusedBothWays_asTls', async () => {
    answer = () => ({ status: 200, body: '{"ackThroughSeq":3,"stored":2,"duplicates":0}' });
    const foreign = await identity(other, 'SIM00001');
    // The server's certificate is not from the CA we trust.
    const ours = await identity(fleet, 'SIM00001');
    const wrongCa = depot({ ...ours, ca: foreign.ca });
    expect(await wrongCa.postBatch(BATCH)).toMatchObject({ ok: false, error: 'tls' });
    wrongCa.close();
    // Our certificate is not from the server's CA: the server ends the handshake.
    const wrongCert = depot({ ...foreign, ca: ours.ca });
    const refused = await wrongCert.postBatch(BATCH);
    expect(refused.ok).toBe(false);
    expect(refused.ok ? '' : refused.error).toMatch(/^(tls|network)$/);
    wrongCert.close();
  });

  it('depotCertificateOutOfDate_isTls_andTheDetailGivesThisMachinesClock', async () => {
    // A server certificate of the fleet CA whose validity ended a day ago (openssl -days -1).
    const key = join(dir, 'expired.key.pem');
    const csr = join(dir, 'expired.csr.pem');
    const cert = join(dir, 'expired.crt.pem');
    const ext = join(dir, 'expired.ext');
    await writeFile(ext, 'subjectAltName=DNS:localhost\n');
    execFileSync('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=localhost'], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', fleet.caCertPath,
      '-CAkey', fleet.caKeyPath, '-set_serial', '7', '-out', cert, '-days', '-1',
      '-extfile', ext], { stdio: 'ignore' });
    expect(Date.parse(new X509Certificate(await readFile(cert)).validTo)).toBeLessThan(
      Date.now());
    const stale = createServer({ key: await readFile(key), cert: await readFile(cert) },
      (_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => stale.listen(0, '127.0.0.1', resolve));
    try {
      const before = Date.now();
      const d = depot(await identity(fleet, 'SIM00001'), 5_000,
        (stale.address() as AddressInfo).port);
      const got = await d.postBatch(BATCH);
      d.close();
      expect(got).toMatchObject({ ok: false, error: 'tls', httpStatus: null });
      const detail = got.ok ? '' : got.detail;
      expect(detail).toMatch(/^CERT_HAS_EXPIRED /);
      const at = /clock reads (\S+):/.exec(detail)?.[1] ?? '';
      expect(Date.parse(at)).toBeGreaterThanOrEqual(before - 1_000);
      expect(Date.parse(at)).toBeLessThanOrEqual(Date.now());
      expect(detail).toContain('must be renewed');
    } finally {
      await new Promise<void>((resolve) => stale.close(() => resolve()));
    }
  });

  it('silentServer_isATimeout_andNoListener_isNetwork', async () => {
    answer = () => null;
    const slow = depot(await identity(fleet, 'SIM00001'), 300);
    expect(await slow.postBatch(BATCH)).toMatchObject({ ok: false, error: 'timeout' });
    slow.close();
    const closed = depot(await identity(fleet, 'SIM00001'), 5_000, 1);
    expect(await closed.postBatch(BATCH)).toMatchObject({ ok: false, error: 'network',
      httpStatus: null });
    closed.close();
  });

  it('answerTricklingForEver_isATimeout_notAHang', async () => {
    drip = true;
    try {
      const slow = depot(await identity(fleet, 'SIM00001'), 300);
      const started = Date.now();
      const hung = new Promise((resolve) => setTimeout(() => resolve('hung'), 3_000));
      expect(await Promise.race([slow.postBatch(BATCH), hung])).toMatchObject({ ok: false,
        error: 'timeout', httpStatus: null });
      expect(Date.now() - started).toBeLessThan(2_000);
      slow.close();
    } finally {
      drip = false;
    }
  });

  it('hostThatAcceptsButNeverShakesHands_isATimeoutWithinTheBound_notTwice', async () => {
    // A half-dead depot or NAT: TCP connects, the TLS handshake never gets an answer.
    const held: Socket[] = [];
    const hole = createTcpServer((socket) => held.push(socket.on('error', () => undefined)));
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    const holePort = (hole.address() as AddressInfo).port;
    const timeoutMs = 1_000;
    const mute = depot(await identity(fleet, 'SIM00001'), timeoutMs, holePort);
    try {
      for (const call of [() => mute.getParams(1), () => mute.postBatch(BATCH)]) {
        const started = performance.now();
        expect(await call()).toMatchObject({ ok: false, error: 'timeout', httpStatus: null,
          detail: `no answer within ${timeoutMs} ms` });
        // What the log says is what happened: one bound, not two (Node's own socket timeout
        // of a TLS socket waits twice as long while the handshake is pending).
        expect(performance.now() - started).toBeLessThan(timeoutMs * 1.5);
      }
    } finally {
      mute.close();
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => hole.close(resolve));
    }
  });
});
