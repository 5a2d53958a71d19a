// Ingest fixtures: export lines made by firmware's own journal export, a test fleet CA made
// with openssl, and an HTTPS client that presents a terminal certificate.

import { request } from 'node:https';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClearingRecord, JournalRecord } from
  '../../../firmware/src/app/journal/journal_records.js';
import { journalExportLine } from '../../../firmware/src/app/journal/journal_export.js';
import { cardOf, fixtureVault } from '../../../test_support/clear_clearing.js';
import { BatchError } from '../../src/ingest/batch_error.js';
import { fleetCaCreate, leafIssue } from '../../src/ingest/fleet_certs.js';

export const WALL_MS = 1_790_000_000_000;

/** The validators' data key in these fixtures (export opens the sealed PANs with it). */
export const FIXTURE_VAULT = fixtureVault();

/** A 19-digit UnionPay-style PAN (62 BIN) for card `n`. */
export function panOf(n: number): string {
  return `6231${String(n).padStart(15, '0')}`;
}

function bcd(digits: string, bytes: number): string {
  return digits.padStart(bytes * 2, '0');
}

/**
 * A clearing record whose field 55 carries 5F34, 9F36, 9F02, 5F2A, 9A like a validator's (the
 * journal never keeps 5A, 57 or 9F6B: tap_records.ts strips them).
 */
export function clearingOf(n: number, atc: number, terminalId: string,
  amountMinor = 200): ClearingRecord {
  const pan = panOf(n);
  const psn = n % 3;
  const atcHex = atc.toString(16).toUpperCase().padStart(4, '0');
  const icc = ['9F2608', '0123456789ABCDEF', '5F3401', bcd(String(psn), 1),
    '9F3602', atcHex, '9F0206', bcd(String(amountMinor), 6), '5F2A02', '0156', '9A03',
    '261202'].join('');
  return {
    card: cardOf(FIXTURE_VAULT, pan, psn), aidHex: 'A000000333010101', atc, amountMinor,
    currencyCode: 156, fareRule: 'flat', cryptogramType: 'ARQC', iccDataHex: icc,
    transactionDate: '261202', transactionTime: '081500', terminalId, lineId: 'R12',
    paramsVersion: 3,
  };
}

/** The export line `shuaka journal export` prints for a final record. */
export function clearingLine(seq: number, record: ClearingRecord): Record<string, unknown> {
  const journalRecord: JournalRecord = {
    seq, timeWallMs: WALL_MS + seq * 1000,
    entry: { kind: 'final', pendingSeq: null, clearing: record },
  };
  const line = journalExportLine(journalRecord,
    { ackThroughSeq: 0, openSeqs: new Set(), vault: FIXTURE_VAULT });
  if (line === null) throw new Error('final record not exported');
  return JSON.parse(line.text) as Record<string, unknown>;
}

/** A batch body of clearing lines for seqs first..first+count-1, card n = seq + cardBase. */
export function clearingBatch(terminalId: string, first: number, count: number,
  cardBase = 0): Record<string, unknown> {
  const records = Array.from({ length: count }, (_, i) =>
    clearingLine(first + i, clearingOf(first + i + cardBase, 100 + first + i, terminalId)));
  return { terminalId, firstSeq: first, throughSeq: first + count - 1, records };
}

export interface TestFleet {
  readonly dir: string;
  readonly ca: Buffer;
  readonly serverKey: Buffer;
  readonly serverCert: Buffer;
  /** Issues a terminal key+cert under the fleet CA (or `otherCa`). */
  terminal(name: string, otherCa?: boolean): { key: Buffer; cert: Buffer };
}

/** A fleet CA, a depot server certificate for 127.0.0.1 and a second, foreign CA. */
export function testFleet(dir: string): TestFleet {
  const ca = fleetCaCreate(dir, 'Test Fleet CA');
  const foreignDir = join(dir, 'foreign');
  mkdirSync(foreignDir);
  const foreign = fleetCaCreate(foreignDir, 'Foreign CA');
  leafIssue(ca, { role: 'server', commonName: 'depot', hosts: ['127.0.0.1', 'localhost'] },
    join(dir, 'server.key'), join(dir, 'server.pem'));
  return {
    dir,
    ca: readFileSync(ca.certPath),
    serverKey: readFileSync(join(dir, 'server.key')),
    serverCert: readFileSync(join(dir, 'server.pem')),
    terminal: (name, otherCa = false) => {
      leafIssue(otherCa ? foreign : ca, { role: 'client', commonName: name },
        join(dir, `${name}.key`), join(dir, `${name}.pem`));
      return { key: readFileSync(join(dir, `${name}.key`)),
        cert: readFileSync(join(dir, `${name}.pem`)) };
    },
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
}

/** One HTTPS request to the depot with a terminal's key and certificate. */
export function call(port: number, ca: Buffer, client: { key: Buffer; cert: Buffer },
  method: string, path: string, body?: string | Buffer): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, ca, key: client.key,
      cert: client.cert, agent: false,
      headers: body === undefined ? {} : { 'content-type': 'application/json',
        'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try { json = text === '' ? null : JSON.parse(text) as unknown; } catch { json = null; }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The BatchError code and path `run` throws; null when it returns; other errors rethrown. */
export function refusal(run: () => unknown): { code: string; path: string } | null {
  try {
    run();
    return null;
  } catch (error) {
    if (!(error instanceof BatchError)) throw error;
    return { code: error.code, path: error.path };
  }
}
