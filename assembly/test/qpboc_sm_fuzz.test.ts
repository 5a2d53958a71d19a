// Fuzz: mutated answers of host-sim SM cards (SM-only and RSA-and-SM, EC and ODA modes) through
// the whole qPBOC kernel. Each tap is recorded once against the live card, then replayed with one
// answer mutated (records with the SM certificates, the GPO with the SM SDAD, ...). The only
// acceptable results are a defined status, no trap and an unchanged memory footprint.
// SHUAKA_SEED replays a run; the seed is always printed.

import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus, kernelStatusName } from '../host/abi.gen.js';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import {
  QPBOC_MODES, encodeQpbocInput, runQpbocTransaction, type QpbocExchange, type QpbocMode,
} from '../host/qpboc_session.js';
import { Prng } from '../../host-sim/src/prng.js';
import { population } from '../../host-sim/src/cards/card_population.js';
import { smPopulation, type SmCardName } from '../../host-sim/src/cards/sm_population.js';
import { denyListDecider, parseTrace, prepareKernel } from '../../firmware/src/cli/qpboc_trace.js';
import { LiveCardIo, simTerminalJson } from './qpboc_support.js';
import { fuzzMutate } from './support/fuzz_mutate.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 20261204);
const ANSWERS = 2_400;
const STEPS_MAX = 128;
const BUGS = new Set<number>([
  KernelStatus.ERR_KERNEL_FAULT, KernelStatus.ERR_INTERNAL, KernelStatus.ERR_BAD_STATE,
  KernelStatus.ERR_UNKNOWN_OP, KernelStatus.ERR_INPUT_TOO_LONG, KernelStatus.ERR_OUTPUT_TOO_SMALL,
]);
const DEFINED = new Set<number>(
  Object.values(KernelStatus).filter((v): v is number => typeof v === 'number'),
);
const TAPS: [SmCardName, QpbocMode][] = [
  ['sm-ec', 'ec'], ['sm-oda-online', 'oda'], ['rsa-and-sm-ec', 'ec'], ['sm-ec', 'auto'],
];
const INPUTS = { amount: '000000000200', date: '261203', time: '101010',
  unpredictableNumber: '0A1B2C3D' };

type Trace = ReturnType<typeof parseTrace>;
interface Golden { name: string; trace: Trace; exchanges: QpbocExchange[]; status: string }

/** Replays `exchanges` with the answer at `target` replaced; returns the final status. */
function drive(kernel: Kernel, golden: Golden, target: number, mutated: Uint8Array): number {
  const input = golden.trace.input;
  let status = kernel.step(KernelOp.OP_TXN_BEGIN, QPBOC_MODES.indexOf(input.mode ?? 'ec'),
    encodeQpbocInput(input));
  let next = 0;
  for (let steps = 0; steps < STEPS_MAX; steps += 1) {
    if (status === KernelStatus.STATUS_NEED_APDU) {
      const answer = next === target ? mutated : (golden.exchanges[next]?.rapdu ?? null);
      next += 1;
      status = answer === null
        ? kernel.step(KernelOp.OP_TXN_LINK_LOST, 1, new Uint8Array(0))
        : kernel.step(KernelOp.OP_TXN_RESUME, 0, answer);
    } else if (status === KernelStatus.STATUS_NEED_HOST_DECISION) {
      status = kernel.step(KernelOp.OP_TXN_DECIDE, 1, new Uint8Array(0));
    } else {
      return status;
    }
  }
  return KernelStatus.ERR_INTERNAL;
}

describe(`qPBOC SM card fuzz (seed ${SEED}, ${ANSWERS} mutated answers)`, () => {
  let kernel: Kernel;
  const goldens: Golden[] = [];
  beforeAll(async () => {
    kernel = await loadKernel();
    console.log(`qpboc_sm_fuzz seed ${SEED} (replay: SHUAKA_SEED=${SEED})`);
    const pop = population(SEED);
    const sm = smPopulation(pop);
    for (const [name, mode] of TAPS) {
      const terminal = simTerminalJson(pop);
      const caKeys = [...(terminal['caKeys'] as string[]), sm.pki.capkTlvHex];
      const trace = parseTrace(JSON.stringify({ terminal: { ...terminal, caKeys },
        inputs: { ...INPUTS, mode }, exchanges: [] }));
      const card = sm.card(name);
      card.powerOn();
      const io = new LiveCardIo({ transceive: (c) => card.transceive(c),
        powerOff: () => card.powerOff() });
      prepareKernel(kernel, trace);
      const outcome = await runQpbocTransaction(kernel, { transceive: (c) => io.transceive(c),
        decide: denyListDecider(trace.denyList) }, trace.input);
      goldens.push({ name: `${name}/${mode}`, trace, exchanges: io.exchanges,
        status: outcome.statusName });
    }
  });

  it('every mutated SM card answer ends in a defined status, without a trap', () => {
    // The golden taps pass SM ODA: the fuzz starts from cards the kernel accepts.
    for (const g of goldens) expect(g.status, g.name).toMatch(/APPROVED|ADMITTED/);
    const prng = new Prng(SEED);
    const seen = new Map<string, number>();
    const memory = kernel.memoryBytes();
    for (let i = 0; i < ANSWERS; i += 1) {
      const golden = goldens[i % goldens.length];
      if (golden === undefined) break;
      prepareKernel(kernel, golden.trace);
      const target = prng.below(golden.exchanges.length);
      const original = golden.exchanges[target]?.rapdu ?? Uint8Array.of(0x90, 0x00);
      const mutated = fuzzMutate(prng, original, [0x00, 0xff, 0x81, 0x9f, 0x12, 0x14, 0x15], 300);
      const status = drive(kernel, golden, target, mutated);
      const where = `seed ${SEED} ${golden.name} iteration ${i} exchange ${target}`;
      if (BUGS.has(status) || !DEFINED.has(status) || kernel.faultCount() !== 0) {
        expect.fail(`${where}: ${kernelStatusName(status)} ${JSON.stringify(kernel.lastFault())}`);
      }
      seen.set(kernelStatusName(status), (seen.get(kernelStatusName(status)) ?? 0) + 1);
    }
    expect(kernel.memoryBytes()).toBe(memory);
    expect(seen.get('STATUS_DECLINED') ?? 0).toBeGreaterThan(0);
    console.log(`qpboc_sm_fuzz outcomes: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  });
});
