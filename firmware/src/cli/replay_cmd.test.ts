// `shuaka replay` and `shuaka inspect` on the example traces, a host-sim trace and bad input.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runReplayCommand } from './replay_cmd.js';
import { runInspectCommand } from './inspect_cmd.js';

const VECTORS = join(import.meta.dirname, '..', '..', '..', 'assembly', 'vectors');
const KATA = join(VECTORS, 'qpboc_trace_kata_arqc.json');
const NFSEE = join(VECTORS, 'qpboc_trace_nfsee_quasicredit_arqc.json');
const dir = mkdtempSync(join(tmpdir(), 'shuaka-replay-'));

interface Captured {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function run(
  command: (argv: string[], io: { out(s: string): void; err(s: string): void }) => Promise<number>,
  argv: string[],
): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await command(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function traceFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('shuaka replay', () => {
  it('KATA ARQC on an EC terminal: not accepted (kind-not-accepted), 3 exchanges', async () => {
    const { code, out } = await run(runReplayCommand, [KATA]);
    expect(code).toBe(0);
    const result = JSON.parse(out) as Record<string, unknown>;
    expect(result['outcome']).toBe('not-accepted');
    expect(result['reason']).toBe('kind-not-accepted');
    expect(result['acType']).toBe('ARQC');
    const transcript = result['transcript'] as Array<{ c: string; r: string }>;
    expect(transcript.length).toBe(3);
    // The kernel's own GPO (EC TTQ 28000080), answered by the recorded card.
    expect(transcript[2]?.c.slice(0, 22)).toBe('80A80000238321' + '28000080');
  });

  it('NFSEE quasi-credit ARQC in ODA mode: declined, ODA data missing (no records)', async () => {
    const { code, out } = await run(runReplayCommand, ['--runtime', 'component', NFSEE]);
    expect(code).toBe(0);
    const result = JSON.parse(out) as Record<string, unknown>;
    expect(result['reason']).toBe('oda-data-missing');
    expect(result['detail']).toBe('ERR_ODA_CA_INDEX_MISSING');
  });
});

describe('shuaka replay errors', () => {
  it('a command that does not match the recording: exit 2 naming the step', async () => {
    const trace = JSON.parse(readFileSync(KATA, 'utf8')) as { exchanges: Array<{ c: string }> };
    const second = trace.exchanges[1];
    if (second !== undefined) second.c = '00B2010C00';
    const { code, err } = await run(runReplayCommand, [traceFile('mismatch.json', trace)]);
    expect(code).toBe(2);
    expect(err).toMatch(/step 1 \(SELECT AID\)/);
    expect(err).toMatch(/00A4040008A00000033301010100/);
  });

  it('bad JSON, bad hex, missing inputs: exit 2 with the failing field', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{"inputs": ', /not JSON/],
      [
        JSON.stringify({
          inputs: { amount: '1', date: '250601', time: '101010', unpredictableNumber: '00000000' },
          exchanges: [],
        }),
        /inputs\.amount/,
      ],
      [
        JSON.stringify({
          inputs: {
            amount: '000000000001',
            date: '250601',
            time: '101010',
            unpredictableNumber: '0000000G',
          },
          exchanges: [],
        }),
        /inputs\.unpredictableNumber: bad hex/,
      ],
      [JSON.stringify({ exchanges: [] }), /inputs: expected an object/],
      [
        JSON.stringify({
          inputs: {
            amount: '000000000001',
            date: '250601',
            time: '101010',
            unpredictableNumber: '00000000',
          },
          exchanges: [{ c: '00A4', r: '9000' }],
        }),
        /exchanges\[0\]\.c/,
      ],
    ];
    for (const [i, [text, message]] of cases.entries()) {
      const { code, err } = await run(runReplayCommand, [traceFile(`bad${i}.json`, text)]);
      expect(code).toBe(2);
      expect(err).toMatch(message);
    }
  });

  it('usage errors: exit 2', async () => {
    expect((await run(runReplayCommand, [])).code).toBe(2);
    expect((await run(runReplayCommand, ['--runtime', 'wasmtime', KATA])).code).toBe(2);
    expect((await run(runReplayCommand, [join(dir, 'missing.json')])).code).toBe(2);
    expect((await run(runReplayCommand, ['--help'])).code).toBe(0);
  });
});

describe('shuaka inspect', () => {
  it('decodes every answer with the kernel parser; no ODA for the KATA ARQC', async () => {
    const { code, out } = await run(runInspectCommand, [KATA]);
    expect(code).toBe(0);
    const result = JSON.parse(out) as {
      exchanges: Array<{ tree: Array<{ tag: string; depth: number; value?: string }> }>;
      fdda: { verdict: string };
      issuerCertificate: { status: string };
    };
    const gpo = result.exchanges[2]?.tree ?? [];
    expect(gpo.map((e) => e.tag)).toEqual([
      '77',
      '82',
      '9F36',
      '57',
      '9F10',
      '9F26',
      '5F34',
      '9F6C',
      '9F5D',
    ]);
    expect(gpo.find((e) => e.tag === '9F10')?.value).toBe('07010103A00000010A010000038787868FD1FC');
    expect(result.fdda.verdict).toBe('not performed');
    expect(result.issuerCertificate.status).toBe('ERR_ODA_CA_INDEX_MISSING');
  });

  it('recovers the certificates of a host-sim card and reports a passed fDDA', async () => {
    const doc = JSON.parse(readFileSync(join(VECTORS, 'qpboc_sim.vec.json'), 'utf8')) as {
      vectors: Array<{ id: string }>;
    };
    const vector = doc.vectors.find((v) => v.id === 'sim_unionpay-debit-ec_ec');
    const { code, out } = await run(runInspectCommand, [traceFile('sim.json', vector)]);
    expect(code).toBe(0);
    const result = JSON.parse(out) as {
      outcome: string;
      issuerCertificate: { status: string; modulusBits: number };
      iccCertificate: { status: string; modulusBits: number };
      fdda: { verdict: string; version: string };
    };
    expect(result.outcome).toBe('approved');
    expect(result.issuerCertificate.status).toBe('STATUS_OK');
    expect(result.iccCertificate.status).toBe('STATUS_OK');
    expect(result.iccCertificate.modulusBits).toBeGreaterThanOrEqual(512);
    expect(result.fdda).toMatchObject({ verdict: 'passed', version: '01' });
  });
});
