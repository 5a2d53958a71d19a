// qPBOC tap benchmark: the whole kernel work of one transaction from a recorded transcript.
//
// Back of the envelope: an EC tap with fDDA costs 3 RSA public operations (issuer, ICC and
// SDAD, e = 3) and 3 SHA-1 runs over about 1 KB, i.e. a few tens of µs of crypto. Everything
// else (selection, PDOL, 8 records, stores, clearing record) is byte shuffling plus about a
// dozen boundary crossings. Target (performance.md): <= 0.1 ms of kernel work per tap.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelOp, KernelStatus, kernelStatusName } from '../assembly/host/abi.gen.js';
import { loadKernel, type Kernel } from '../assembly/host/kernel_loader.js';
import {
  DEFAULT_TERMINAL_CONFIG,
  configureQpboc,
  decodeTlv,
  encodeQpbocInput,
  findTlv,
  runQpbocTransaction,
  tlvEncode,
  type QpbocTransactionInput,
} from '../assembly/host/qpboc_session.js';
import { Prng } from '../host-sim/src/prng.js';
import { buildChain, loadChainCa, type TestChain } from '../assembly/test/support/oda_chain.js';
import { FullFlowCard, type OdaKind } from '../assembly/test/support/full_flow_card.js';
import { parseTrace, prepareKernel, type Trace } from '../firmware/src/cli/qpboc_trace.js';
import { measure, printFigures } from './bench_util.js';

const VECTORS = join(dirname(fileURLToPath(import.meta.url)), '..', 'assembly', 'vectors');
const VECTORS_FROM_DIST = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'assembly',
  'vectors',
);
const EMPTY = new Uint8Array(0);

function vectorsDir(): string {
  try {
    readFileSync(join(VECTORS, 'qpboc_sim.vec.json'));
    return VECTORS;
  } catch {
    return VECTORS_FROM_DIST;
  }
}

function loadTrace(file: string, id: string | null): Trace {
  const doc = JSON.parse(readFileSync(join(vectorsDir(), file), 'utf8')) as {
    vectors?: Array<{ id: string }>;
  };
  const raw = id === null ? doc : doc.vectors?.find((v) => v.id === id);
  if (raw === undefined) throw new Error(`no vector ${id ?? file}`);
  return parseTrace(JSON.stringify(raw));
}

/** One whole transaction, synchronously: every C-APDU answered from the recording. */
function tap(kernel: Kernel, trace: Trace, input: Uint8Array): number {
  let status = kernel.step(KernelOp.OP_TXN_BEGIN, trace.input.mode === 'ec' ? 0 : 1, input);
  let next = 0;
  while (
    status === KernelStatus.STATUS_NEED_APDU ||
    status === KernelStatus.STATUS_NEED_HOST_DECISION
  ) {
    if (status === KernelStatus.STATUS_NEED_HOST_DECISION) {
      status = kernel.step(KernelOp.OP_TXN_DECIDE, 1, EMPTY);
    } else {
      const answer = trace.exchanges[next]?.r ?? null;
      next += 1;
      status =
        answer === null
          ? kernel.step(KernelOp.OP_TXN_LINK_LOST, 2, EMPTY)
          : kernel.step(KernelOp.OP_TXN_RESUME, 0, answer);
    }
  }
  return status;
}

/** The fDDA chain alone (OP_ODA_FDDA) on the data the kernel collected in the last tap. */
function fddaInput(kernel: Kernel): { arg: number; input: Uint8Array } {
  kernel.step(KernelOp.OP_TXN_DUMP, 0, EMPTY);
  const dump = decodeTlv(kernel.output().slice());
  const part = (tag: number) => dump.find((o) => o.tag === tag)?.children ?? [];
  const pick = (tags: number[], from: ReturnType<typeof part>) =>
    tags.flatMap((tag) => {
      const value = findTlv(from, tag);
      return value === null ? [] : [tlvEncode(tag, value)];
    });
  const card = part(0xe2);
  const aip = findTlv(card, 0x82) ?? EMPTY;
  const staticData = Buffer.concat([findTlv(dump, 0xdf8104) ?? EMPTY, aip]);
  const tlv = Buffer.concat([
    ...pick([0x84], part(0xe3)),
    ...pick([0x9a, 0x9f37, 0x9f02, 0x5f2a], part(0xe1)),
    ...pick([0x8f, 0x90, 0x92, 0x9f32, 0x9f46, 0x9f47, 0x9f48, 0x9f4b, 0x9f69, 0x9f36, 0x5a], card),
  ]);
  return { arg: staticData.length, input: Buffer.concat([staticData, tlv]) };
}

/** A kernel of its own per task (configuration and CA keys differ), checked once. */
async function tapTask(
  runtime: 'core' | 'component',
  trace: Trace,
  expected: number,
): Promise<{ kernel: Kernel; task: () => number }> {
  const kernel = await loadKernel({ runtime });
  prepareKernel(kernel, trace);
  const input = encodeQpbocInput(trace.input);
  const status = tap(kernel, trace, input);
  if (status !== expected) throw new Error(`bench tap ended with ${kernelStatusName(status)}`);
  return { kernel, task: () => tap(kernel, trace, input) };
}

const FULL_FLOW_INPUT: QpbocTransactionInput = {
  mode: 'auto',
  amountMinor: 200,
  date: '250615',
  time: '081500',
  unpredictableNumber: Uint8Array.of(0x1a, 0x2b, 0x3c, 0x4d),
  sequenceCounter: 1,
};

/**
 * A full-flow tap in mode auto (probe, GPO format 1, 3 records, [INTERNAL AUTHENTICATE],
 * GENERATE AC) over the answers a test stock card gave once; checked to be an admission.
 */
async function fullFlowTask(chain: TestChain, oda: OdaKind): Promise<() => number> {
  const kernel = await loadKernel({ runtime: 'core' });
  if (loadChainCa(kernel, chain) !== KernelStatus.STATUS_OK) throw new Error('bench CA key');
  configureQpboc(kernel, DEFAULT_TERMINAL_CONFIG);
  const card = new FullFlowCard(chain, { oda });
  const io = {
    transceive: async (c: Uint8Array) => card.transceive(c),
    decide: () => 'proceed' as const,
  };
  const outcome = await runQpbocTransaction(kernel, io, FULL_FLOW_INPUT);
  if (outcome.reason !== 'full-flow-admitted') throw new Error(`bench ${oda}: ${outcome.reason}`);
  const answers = outcome.transcript.map((e) => e.rapdu ?? EMPTY);
  const input = encodeQpbocInput(FULL_FLOW_INPUT);
  const once = (): number => {
    let status = kernel.step(KernelOp.OP_TXN_BEGIN, 2, input);
    let next = 0;
    while (
      status === KernelStatus.STATUS_NEED_APDU ||
      status === KernelStatus.STATUS_NEED_HOST_DECISION
    ) {
      status =
        status === KernelStatus.STATUS_NEED_HOST_DECISION
          ? kernel.step(KernelOp.OP_TXN_DECIDE, 1, EMPTY)
          : kernel.step(KernelOp.OP_TXN_RESUME, 0, answers[next++] ?? EMPTY);
    }
    return status;
  };
  if (once() !== KernelStatus.STATUS_ADMITTED_PENDING_AUTH) throw new Error(`bench ${oda} replay`);
  return once;
}

export async function runQpbocBench(): Promise<void> {
  // UnionPay-sized keys: CA 1408 bits (index 09/03), issuer 1152, ICC 1024, e = 3.
  const chain = buildChain(new Prng(20261202), { caBytes: 176, issuerBytes: 144, iccBytes: 128 });
  const full: Array<[string, () => number]> = [];
  for (const oda of ['sda', 'dda', 'cda'] as const) {
    full.push([
      `full flow ${oda.toUpperCase()} + GENERATE AC, auto mode (core)`,
      await fullFlowTask(chain, oda),
    ]);
  }
  const ec = loadTrace('qpboc_sim.vec.json', 'sim_unionpay-debit-ec_ec');
  const oda = loadTrace('qpboc_sim.vec.json', 'sim_phone-wallet_oda');
  const kata = loadTrace('qpboc_trace_kata_arqc.json', null);
  const ecCore = await tapTask('core', ec, KernelStatus.STATUS_APPROVED_OFFLINE);
  const fdda = fddaInput(ecCore.kernel);
  const crypto = ecCore.kernel;
  const check = crypto.step(KernelOp.OP_ODA_FDDA, fdda.arg, fdda.input);
  if (check !== KernelStatus.STATUS_OK) throw new Error(`fDDA input: ${kernelStatusName(check)}`);
  const figures = await measure(
    [
      [
        'fDDA chain alone (OP_ODA_FDDA: issuer, ICC, SDAD)',
        () => crypto.step(KernelOp.OP_ODA_FDDA, fdda.arg, fdda.input),
      ],
      ['EC tap, fDDA, 11 exchanges (core)', ecCore.task],
      [
        'ODA-mode tap, fDDA, 12 exchanges (core)',
        (await tapTask('core', oda, KernelStatus.STATUS_ADMITTED_PENDING_AUTH)).task,
      ],
      [
        'ARQC refusal (kind-not-accepted), 3 exchanges, no ODA (core)',
        (await tapTask('core', kata, KernelStatus.STATUS_NOT_ACCEPTED)).task,
      ],
      ...full,
      [
        'EC tap, fDDA, 11 exchanges (component)',
        (await tapTask('component', ec, KernelStatus.STATUS_APPROVED_OFFLINE)).task,
      ],
    ],
    { timeMs: 600 },
  );
  const again = ecCore.task();
  if (again !== KernelStatus.STATUS_APPROVED_OFFLINE)
    throw new Error(`after the bench: ${kernelStatusName(again)}`);
  printFigures(
    'qPBOC whole-kernel work per tap (target <= 100 µs with RSA fDDA)',
    figures,
    'fDDA chain alone (OP_ODA_FDDA: issuer, ICC, SDAD)',
  );
}
