// `shuaka inspect` on SM cards: a host-sim SM card's live transaction, recorded as a trace,
// decoded (certificates, SDAD) and verified by the kernel, with a tampered twin.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKernel } from '../../assembly/host/kernel_loader.js';
import { runQpbocTransaction } from '../../assembly/host/qpboc_session.js';
import { population } from '../../host-sim/src/cards/card_population.js';
import { smPopulation } from '../../host-sim/src/cards/sm_population.js';
import { runInspectCommand } from '../src/cli/inspect_cmd.js';
import { parseTrace, prepareKernel, denyListDecider } from '../src/cli/qpboc_trace.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 20261203);
const dir = mkdtempSync(join(tmpdir(), 'shuaka-inspect-sm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

interface SmReport {
  outcome: string;
  algorithm: string;
  issuerCertificate: { status: string; format: string; publicKey: { x: string } };
  iccCertificate: { status: string; format: string; pan: string };
  fdda: { verdict: string; kernelDetail: string | null; sdad: { status: string; idn: string } };
}

/** A trace of one live EC tap of the SM card, answers as the card gave them. */
async function recordTrace(): Promise<Record<string, unknown>> {
  const pop = population(SEED);
  const sm = smPopulation(pop);
  const terminal = {
    caKeys: [...pop.pki.caKeys.map((k) => k.tlvHex.toUpperCase()), sm.pki.capkTlvHex],
    revoked: [],
    denyList: [],
  };
  const inputs = { amount: '000000000200', date: '261203', time: '101010',
    unpredictableNumber: '0A1B2C3D', mode: 'ec' };
  const trace = parseTrace(JSON.stringify({ terminal, inputs, exchanges: [] }));
  const kernel = await loadKernel();
  prepareKernel(kernel, trace);
  const card = sm.card('sm-ec');
  card.powerOn();
  const outcome = await runQpbocTransaction(kernel, {
    transceive: async (c) => Promise.resolve(card.transceive(c)),
    decide: denyListDecider([]),
  }, trace.input);
  const exchanges = outcome.transcript.map((e) => ({ c: hex(e.capdu),
    r: e.rapdu === null ? null : hex(e.rapdu) }));
  return { terminal, inputs, exchanges };
}

async function inspect(trace: unknown): Promise<SmReport> {
  const path = join(dir, `trace-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(trace));
  const out: string[] = [];
  const code = await runInspectCommand([path], { out: (s) => out.push(s), err: (s) => out.push(s) });
  expect(code, out.join('\n')).toBe(0);
  return JSON.parse(out.join('\n')) as SmReport;
}

describe('shuaka inspect, SM cards', () => {
  it('decodesAndVerifiesTheSmCertificatesAndSdad', async () => {
    const report = await inspect(await recordTrace());
    expect(report.outcome).toBe('approved');
    expect(report.algorithm).toMatch(/SM2\/SM3/);
    expect(report.issuerCertificate).toMatchObject({ status: 'verified', format: '12' });
    expect(report.issuerCertificate.publicKey.x).toMatch(/^[0-9A-F]{64}$/);
    expect(report.iccCertificate).toMatchObject({ status: 'verified', format: '14' });
    expect(report.fdda.verdict).toBe('passed');
    expect(report.fdda.sdad.status).toBe('verified');
  });

  it('aTamperedIccCertificate_isReportedByItsCheck', async () => {
    const trace = await recordTrace();
    const exchanges = trace['exchanges'] as Array<{ c: string; r: string | null }>;
    // The record holding 9F46 (format 14): flip one bit of its signature.
    const iccCert = /9F46(81[0-9A-F]{2}|[0-7][0-9A-F])14/;
    const entry = exchanges.find((e) => e.c.startsWith('00B2') && iccCert.test(e.r ?? ''));
    expect(entry).toBeDefined();
    if (entry === undefined || entry.r === null) return;
    const bytes = Buffer.from(entry.r, 'hex');
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0x01;
    entry.r = hex(bytes);
    const report = await inspect(trace);
    expect(report.outcome).toBe('declined');
    expect(report.iccCertificate.status).toBe('ERR_ODA_SM_ICC_SIGNATURE');
    expect(report.fdda.sdad.status).toBe('not attempted');
  });
});
