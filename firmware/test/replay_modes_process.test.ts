// `node bin/shuaka.js replay` as a real subprocess on traces in every kernel mode.
//
// The traces are recorded here from host-sim virtual cards (a stock card in mode full, an
// EC-only card with a short purse in the default mode auto), then replayed by the CLI: the
// replayed outcome must be the live one. A trace recorded in one mode does not replay in
// another (the commands differ), and an unknown mode is a bad trace (exit 2).

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadKernel, type Kernel } from '../../assembly/host/kernel_loader.js';
import {
  runQpbocTransaction,
  type QpbocMode,
  type QpbocOutcome,
} from '../../assembly/host/qpboc_session.js';
import {
  LiveCardIo,
  exchangesJson,
  simTerminalJson,
} from '../../assembly/test/qpboc_support.js';
import { population, type PopulationName } from '../../host-sim/src/cards/card_population.js';
import { denyListDecider, parseTrace, prepareKernel } from '../src/cli/qpboc_trace.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const SEED = Number(process.env['SHUAKA_SEED'] ?? 20250601);
const pop = population(SEED);
const INPUTS = {
  amount: '000000000200',
  date: '250601',
  time: '101010',
  unpredictableNumber: '0A1B2C3D',
};

let dir = '';
let kernel: Kernel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shuaka-replay-modes-'));
  kernel = await loadKernel();
  // The first run may rebuild dist/; later runs are quick.
  spawnSync(process.execPath, [BIN, 'replay', '--help'], { cwd: ROOT, encoding: 'utf8' });
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `name` live in `mode`; returns the outcome and the trace JSON (mode omitted if null). */
async function record(
  name: PopulationName,
  mode: QpbocMode,
  traceMode: string | null,
): Promise<{ outcome: QpbocOutcome; trace: Record<string, unknown> }> {
  const terminal = simTerminalJson(pop);
  const trace = parseTrace(JSON.stringify({ terminal, inputs: INPUTS, exchanges: [] }));
  prepareKernel(kernel, trace);
  const card = pop.card(name);
  card.powerOn();
  const io = new LiveCardIo(card);
  const outcome = await runQpbocTransaction(
    kernel,
    { transceive: (c) => io.transceive(c), decide: denyListDecider(trace.denyList) },
    { ...trace.input, mode },
  );
  const inputs = traceMode === null ? INPUTS : { ...INPUTS, mode: traceMode };
  return { outcome, trace: { terminal, inputs, exchanges: exchangesJson(io.exchanges) } };
}

async function replay(
  file: string,
  trace: Record<string, unknown>,
): Promise<{ code: number | null; out: string; err: string }> {
  const path = join(dir, file);
  await writeFile(path, JSON.stringify(trace));
  const result = spawnSync(process.execPath, [BIN, 'replay', path], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

function gpoTtq(result: Record<string, unknown>): string {
  const transcript = result['transcript'] as Array<{ c: string }>;
  const gpo = transcript.find((e) => e.c.startsWith('80A8'));
  return gpo?.c.slice(14, 22) ?? '';
}

describe('shuaka replay: modes full and auto (the default)', () => {
  it('mode full: a stock card replays to the live full-flow admission', async () => {
    const { outcome, trace } = await record('stock-debit-dda', 'full', 'full');
    expect(outcome.reason, `seed ${SEED}`).toBe('full-flow-admitted');
    const { code, out, err } = await replay('full.json', trace);
    expect(code, err).toBe(0);
    const result = JSON.parse(out) as Record<string, unknown>;
    expect(result['outcome']).toBe('admitted');
    expect(result['reason']).toBe('full-flow-admitted');
    expect(gpoTtq(result)).toBe('40800000');
    const commands = (result['transcript'] as Array<{ c: string }>).map((e) => e.c);
    expect(commands).not.toContain('80CA9F7900');
  }, 180_000);

  it('no mode in the trace is auto: the EC-only short purse replays to insufficient-ecash', async () => {
    const { outcome, trace } = await record('ec-only-short', 'auto', null);
    expect(outcome.reason, `seed ${SEED}`).toBe('insufficient-ecash');
    const { code, out, err } = await replay('auto.json', trace);
    expect(code, err).toBe(0);
    const result = JSON.parse(out) as Record<string, unknown>;
    expect(result['outcome']).toBe('declined');
    expect(result['reason']).toBe('insufficient-ecash');
    const commands = (result['transcript'] as Array<{ c: string }>).map((e) => e.c);
    expect(commands).toContain('80CA9F7900');
  }, 180_000);

  it('failing twin: the full-mode recording replayed as auto mismatches (GET DATA probe)', async () => {
    const { trace } = await record('stock-debit-dda', 'full', 'auto');
    const { code, err } = await replay('full_as_auto.json', trace);
    expect(code).toBe(2);
    expect(err).toMatch(/80CA9F7900/);
  }, 180_000);

  it('a trace damaged beside a card answer: exit 2, and none of the card data shown', async () => {
    const { trace } = await record('stock-debit-dda', 'full', 'fast');
    const text = JSON.stringify(trace);
    // One stray character before a READ RECORD answer that holds the PAN (5A).
    const pan = pop.profiles['stock-debit-dda'].applications[0]?.pan ?? '';
    const at = text.indexOf(`"70`);
    expect(pan.length).toBeGreaterThan(12);
    expect(at).toBeGreaterThan(0);
    const path = join(dir, 'damaged.json');
    await writeFile(path, `${text.slice(0, at)}x${text.slice(at)}`);
    const result = spawnSync(process.execPath, [BIN, 'replay', path],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^replay: bad trace: not JSON: Unexpected token 'x'/);
    // V8's own message quotes ten characters either side of the stray one.
    expect(result.stderr).not.toMatch(/"70|[0-9A-F]{6}/);
  }, 180_000);

  it('an unknown mode is a bad trace: exit 2 naming inputs.mode', async () => {
    const { trace } = await record('stock-debit-dda', 'full', 'fast');
    const { code, err } = await replay('bad_mode.json', trace);
    expect(code).toBe(2);
    expect(err).toMatch(/inputs\.mode: expected "auto", "ec", "oda" or "full"/);
  }, 180_000);
});
