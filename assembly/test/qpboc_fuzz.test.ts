// Fuzz: mutated card answers from every golden transcript. The only acceptable results are a
// defined status, no trap and an unchanged memory footprint (style.md 10.7 item 5).
//
// Seed: QPBOC_FUZZ_SEED, else a fresh one; it is printed, and every failure message names it
// with the vector and the iteration, so `QPBOC_FUZZ_SEED=<seed> npx vitest run <this file>`
// replays the run exactly.

import { randomInt } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus, kernelStatusName } from '../host/abi.gen.js';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import {
  DEFAULT_TERMINAL_CONFIG,
  configureQpboc,
  decodeQpbocOutcome,
  runQpbocTransaction,
  decodeTlv,
  encodeQpbocConfig,
  encodeQpbocInput,
  findTlv,
} from '../host/qpboc_session.js';
import { Prng } from '../../host-sim/src/prng.js';
import { prepareKernel } from '../../firmware/src/cli/qpboc_trace.js';
import { loadQpbocVectors, type QpbocVector } from './qpboc_support.js';
import { buildChain, loadChainCa } from './support/oda_chain.js';
import { FullFlowCard, type FullFlowCardSpec } from './support/full_flow_card.js';

const ANSWERS = Number(process.env['QPBOC_FUZZ_ANSWERS'] ?? 100_000);
const SEED = Number(process.env['QPBOC_FUZZ_SEED'] ?? randomInt(1, 2 ** 31));
const STEPS_MAX = 128;

/** Statuses that mean a kernel bug, never a card problem. */
const BUGS = new Set<number>([
  KernelStatus.ERR_KERNEL_FAULT,
  KernelStatus.ERR_INTERNAL,
  KernelStatus.ERR_BAD_STATE,
  KernelStatus.ERR_UNKNOWN_OP,
  KernelStatus.ERR_INPUT_TOO_LONG,
  KernelStatus.ERR_OUTPUT_TOO_SMALL,
]);
const DEFINED = new Set<number>(
  Object.values(KernelStatus).filter((v): v is number => typeof v === 'number'),
);
const SWS = [
  0x9000, 0x6985, 0x6984, 0x6a82, 0x6a83, 0x6283, 0x6a81, 0x6100, 0x6110, 0x6c10, 0x6c00, 0x6700,
];

/** One to three mutations of an R-APDU: bit flips, truncation, length bytes, slices, SW. */
function mutate(prng: Prng, answer: Uint8Array, lengthMax = 300): Uint8Array {
  let bytes = Array.from(answer);
  const rounds = prng.between(1, 3);
  for (let r = 0; r < rounds; r += 1) {
    const at = bytes.length === 0 ? 0 : prng.below(bytes.length);
    switch (prng.below(9)) {
      case 0:
        bytes[at] = (bytes[at] ?? 0) ^ (1 << prng.below(8));
        break;
      case 1:
        bytes = bytes.slice(0, prng.below(bytes.length + 1));
        break;
      case 2:
        bytes[at] = prng.below(256);
        break;
      case 3:
        bytes[at] = [0x00, 0xff, 0x80, 0x81, 0x82, 0x83, 0x7f][prng.below(7)] ?? 0;
        break;
      case 4: {
        const from = prng.below(bytes.length + 1);
        const slice = bytes.slice(from, from + prng.between(1, 24));
        bytes.splice(prng.below(bytes.length + 1), 0, ...slice);
        break;
      }
      case 5:
        bytes.splice(at, prng.between(1, 16));
        break;
      case 6: {
        const sw = SWS[prng.below(SWS.length)] ?? 0x9000;
        bytes.splice(Math.max(0, bytes.length - 2), 2, sw >> 8, sw & 0xff);
        break;
      }
      case 7:
        bytes.push(...prng.bytes(prng.between(1, 8)));
        break;
      default:
        bytes.splice(at, 0, 0x81);
        break;
    }
  }
  return Uint8Array.from(bytes.slice(0, lengthMax));
}

interface RunResult {
  readonly status: number;
  readonly steps: number;
}

/** Drives one transaction synchronously: recorded answers, the mutated one at `target`. */
function drive(
  kernel: Kernel,
  vector: QpbocVector,
  target: number,
  mutated: Uint8Array,
  prng: Prng,
): RunResult {
  const trace = vector.trace;
  let status = kernel.step(
    KernelOp.OP_TXN_BEGIN,
    trace.input.mode === 'ec' ? 0 : 1,
    encodeQpbocInput(trace.input),
  );
  let next = 0;
  for (let steps = 0; steps < STEPS_MAX; steps += 1) {
    if (status === KernelStatus.STATUS_NEED_APDU) {
      const answer = next === target ? mutated : (trace.exchanges[next]?.r ?? null);
      next += 1;
      status =
        answer === null
          ? kernel.step(KernelOp.OP_TXN_LINK_LOST, 1 + prng.below(3), new Uint8Array(0))
          : kernel.step(KernelOp.OP_TXN_RESUME, 0, answer);
    } else if (status === KernelStatus.STATUS_NEED_HOST_DECISION) {
      status = kernel.step(
        KernelOp.OP_TXN_DECIDE,
        prng.chance(0.8) ? 1 : prng.between(2, 4),
        new Uint8Array(0),
      );
    } else {
      return { status, steps };
    }
  }
  return { status: KernelStatus.ERR_INTERNAL, steps: STEPS_MAX };
}

describe(`qPBOC fuzz (seed ${SEED}, ${ANSWERS} mutated answers)`, () => {
  const vectors = loadQpbocVectors().filter((v) => v.trace.exchanges.length > 0);
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await loadKernel();
    console.log(`qpboc fuzz seed ${SEED} (replay: QPBOC_FUZZ_SEED=${SEED})`);
  });

  it('every mutated answer ends in a defined status, without a trap or memory growth', () => {
    const prng = new Prng(SEED);
    const memory = kernel.memoryBytes();
    const seen = new Map<string, number>();
    // Longer transcripts (the record-reading ones) get proportionally more mutations.
    const total = vectors.reduce((sum, v) => sum + v.trace.exchanges.length, 0);
    let answers = 0;
    for (const vector of vectors) {
      prepareKernel(kernel, vector.trace);
      const exchanges = vector.trace.exchanges;
      const quota = Math.ceil((ANSWERS * exchanges.length) / total);
      for (let i = 0; i < quota && answers < ANSWERS; i += 1, answers += 1) {
        const target = prng.below(exchanges.length);
        const original = exchanges[target]?.r ?? Uint8Array.of(0x90, 0x00);
        const where = `seed ${SEED} vector ${vector.id} iteration ${i} exchange ${target}`;
        const { status } = drive(kernel, vector, target, mutate(prng, original), prng);
        if (BUGS.has(status) || !DEFINED.has(status) || kernel.faultCount() !== 0) {
          expect.fail(
            `${where}: ${kernelStatusName(status)} ${JSON.stringify(kernel.lastFault())}`,
          );
        }
        const name = kernelStatusName(status);
        seen.set(name, (seen.get(name) ?? 0) + 1);
      }
      expect(kernel.memoryBytes(), `seed ${SEED} ${vector.id}`).toBe(memory);
    }
    expect(answers).toBe(ANSWERS);
    // The mutations must reach deep: outcomes and card-data errors both occur.
    expect(seen.get('STATUS_APPROVED_OFFLINE') ?? 0).toBeGreaterThan(0);
    expect(seen.get('STATUS_DECLINED') ?? 0).toBeGreaterThan(0);
    expect(seen.get('STATUS_TORN') ?? 0).toBeGreaterThan(0);
    expect(seen.get('ERR_CARD_RECORD_TEMPLATE') ?? 0).toBeGreaterThan(0);
    console.log(`qpboc fuzz outcomes: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  });

  it('mutated torn records and configurations never trap the kernel', () => {
    const prng = new Prng(SEED ^ 0x5a5a5a5a);
    const vector = vectors.find((v) => v.id === 'sim_unionpay-debit-ec_ec');
    if (vector === undefined) throw new Error('no EC vector');
    const trace = vector.trace;
    prepareKernel(kernel, trace);
    // The torn record of a tap whose last READ RECORD never answered.
    const last = trace.exchanges.length - 1;
    const torn = tornRecordOf(kernel, vector, last);
    const byCommand = new Map(trace.exchanges.map((e) => [Buffer.from(e.c).toString('hex'), e.r]));
    const atc = fromHexTorn(torn);
    const outcomes = new Map<number, number>();
    for (let i = 0; i <= TORN_MUTATIONS; i += 1) {
      const where = `seed ${SEED} torn mutation ${i}`;
      // Round 0 is the intact record: it must recover.
      let status = kernel.step(
        KernelOp.OP_TXN_RECOVER,
        0,
        i === 0 ? torn : mutate(prng, torn, 8192),
      );
      for (let steps = 0; steps < STEPS_MAX && status > 0 && status < 10; steps += 1) {
        if (status === KernelStatus.STATUS_NEED_HOST_DECISION) {
          status = kernel.step(KernelOp.OP_TXN_DECIDE, 1, new Uint8Array(0));
          continue;
        }
        const command = kernel.output().slice();
        const answer =
          command[1] === 0xca
            ? atc
            : (byCommand.get(Buffer.from(command).toString('hex')) ?? Uint8Array.of(0x6d, 0x00));
        status = kernel.step(KernelOp.OP_TXN_RESUME, 0, answer ?? Uint8Array.of(0x6a, 0x82));
      }
      if (BUGS.has(status) || !DEFINED.has(status) || kernel.faultCount() !== 0) {
        expect.fail(`${where}: ${kernelStatusName(status)} ${JSON.stringify(kernel.lastFault())}`);
      }
      if (i === 0) expect(status).toBe(KernelStatus.STATUS_APPROVED_OFFLINE);
      outcomes.set(status, (outcomes.get(status) ?? 0) + 1);
    }
    expect(outcomes.get(KernelStatus.ERR_TXN_TORN_RECORD_INVALID) ?? 0).toBeGreaterThan(0);
    console.log(
      `qpboc torn fuzz outcomes: ${JSON.stringify(
        Object.fromEntries([...outcomes].map(([k, v]) => [kernelStatusName(k), v])),
      )}`,
    );
    // Mutations reach past the loader: some end in ODA or card-data declines after re-reading.
    expect(outcomes.get(KernelStatus.STATUS_DECLINED) ?? 0).toBeGreaterThan(0);
    const config = encodeQpbocConfig(DEFAULT_TERMINAL_CONFIG);
    for (let i = 0; i < TORN_MUTATIONS; i += 1) {
      const status = kernel.step(KernelOp.OP_TXN_CONFIGURE, 0, mutate(prng, config));
      if (BUGS.has(status) || kernel.faultCount() !== 0) {
        expect.fail(`seed ${SEED} config mutation ${i}: ${kernelStatusName(status)}`);
      }
    }
  });
});

const TORN_MUTATIONS = 20_000;

/** Runs `vector` with the link lost at exchange `at`; returns the torn record. */
function tornRecordOf(kernel: Kernel, vector: QpbocVector, at: number): Uint8Array {
  const trace = vector.trace;
  let status = kernel.step(KernelOp.OP_TXN_BEGIN, 0, encodeQpbocInput(trace.input));
  for (let next = 0; status === KernelStatus.STATUS_NEED_APDU || status === 2; next += 1) {
    if (status === KernelStatus.STATUS_NEED_HOST_DECISION) {
      status = kernel.step(KernelOp.OP_TXN_DECIDE, 1, new Uint8Array(0));
      next -= 1;
      continue;
    }
    const answer = trace.exchanges[next]?.r ?? null;
    status =
      next === at || answer === null
        ? kernel.step(KernelOp.OP_TXN_LINK_LOST, 2, new Uint8Array(0))
        : kernel.step(KernelOp.OP_TXN_RESUME, 0, answer);
  }
  const outcome = decodeQpbocOutcome(status, kernel.output().slice(), [], []);
  if (outcome.tornRecord === null) throw new Error(`no torn record: ${outcome.statusName}`);
  return outcome.tornRecord;
}

/** GET DATA 9F36 answer carrying the torn record's ATC. */
function fromHexTorn(torn: Uint8Array): Uint8Array {
  const atc = findTlv(decodeTlv(torn), 0x9f36) ?? Uint8Array.of(0, 0);
  return Uint8Array.from([0x9f, 0x36, 0x02, ...atc, 0x90, 0x00]);
}

const FULL_FLOW_ANSWERS = Math.ceil(ANSWERS / 5);

/** Drives mode auto synchronously over recorded `answers`, the mutated one at `target`. */
function driveAuto(
  kernel: Kernel,
  answers: readonly Uint8Array[],
  target: number,
  mutated: Uint8Array,
  prng: Prng,
): number {
  let status = kernel.step(KernelOp.OP_TXN_BEGIN, 2, encodeQpbocInput(FULL_FLOW_INPUT));
  let next = 0;
  for (let steps = 0; steps < STEPS_MAX; steps += 1) {
    if (status === KernelStatus.STATUS_NEED_APDU) {
      const answer = next === target ? mutated : (answers[next] ?? null);
      next += 1;
      status =
        answer === null
          ? kernel.step(KernelOp.OP_TXN_LINK_LOST, 1 + prng.below(3), new Uint8Array(0))
          : kernel.step(KernelOp.OP_TXN_RESUME, 0, answer);
    } else if (status === KernelStatus.STATUS_NEED_HOST_DECISION) {
      const decision = prng.chance(0.9) ? 1 : prng.between(2, 4);
      status = kernel.step(KernelOp.OP_TXN_DECIDE, decision, new Uint8Array(0));
    } else {
      return status;
    }
  }
  return KernelStatus.ERR_INTERNAL;
}

const FULL_FLOW_INPUT = {
  mode: 'auto' as const,
  amountMinor: 200,
  date: '250615',
  time: '081500',
  unpredictableNumber: Uint8Array.of(1, 2, 3, 4),
  sequenceCounter: 7,
};

describe(`full flow and mode auto fuzz (seed ${SEED}, ${FULL_FLOW_ANSWERS} answers)`, () => {
  it('mutated INTERNAL AUTHENTICATE, GENERATE AC, probe and record answers never trap', async () => {
    const kernel = await loadKernel();
    const chain = buildChain(new Prng(SEED), { caBytes: 144, issuerBytes: 128, iccBytes: 112 });
    expect(loadChainCa(kernel, chain)).toBe(KernelStatus.STATUS_OK);
    expect(configureQpboc(kernel, DEFAULT_TERMINAL_CONFIG)).toBe(KernelStatus.STATUS_OK);
    const specs: FullFlowCardSpec[] = [
      { oda: 'sda' },
      { oda: 'dda' },
      { oda: 'cda' },
      { oda: 'cda', ecBalanceMinor: 100, df61: 0x40 },
      { oda: 'dda', fault: 'gpo-format2', ddolHex: '9F37049F0206' },
    ];
    const transcripts: Uint8Array[][] = [];
    for (const spec of specs) {
      const card = new FullFlowCard(chain, spec);
      const io = {
        transceive: async (c: Uint8Array) => card.transceive(c),
        decide: () => 'proceed' as const,
      };
      const outcome = await runQpbocTransaction(kernel, io, FULL_FLOW_INPUT);
      expect(outcome.kind, `seed ${SEED} ${JSON.stringify(spec)}`).toBe('admitted');
      transcripts.push(outcome.transcript.map((e) => e.rapdu ?? Uint8Array.of(0x6f, 0x00)));
    }
    const prng = new Prng(SEED ^ 0x0f0f0f0f);
    const memory = kernel.memoryBytes();
    const seen = new Map<string, number>();
    for (let i = 0; i < FULL_FLOW_ANSWERS; i += 1) {
      const answers = transcripts[prng.below(transcripts.length)] ?? [];
      const target = prng.below(answers.length);
      const mutated = mutate(prng, answers[target] ?? Uint8Array.of(0x90, 0x00));
      const status = driveAuto(kernel, answers, target, mutated, prng);
      if (BUGS.has(status) || !DEFINED.has(status) || kernel.faultCount() !== 0) {
        expect.fail(
          `seed ${SEED} full-flow iteration ${i} exchange ${target}: ` +
            `${kernelStatusName(status)} ${JSON.stringify(kernel.lastFault())}`,
        );
      }
      const name = kernelStatusName(status);
      seen.set(name, (seen.get(name) ?? 0) + 1);
    }
    expect(kernel.memoryBytes()).toBe(memory);
    expect(seen.get('STATUS_ADMITTED_PENDING_AUTH') ?? 0).toBeGreaterThan(0);
    expect(seen.get('STATUS_DECLINED') ?? 0).toBeGreaterThan(0);
    console.log(`full-flow fuzz outcomes: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  });
});
