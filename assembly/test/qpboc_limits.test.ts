// Terminal limits DF19 (floor), DF20 (contactless transaction) and DF21 (CVM) in the kernel.
//
// domain.md 2.1 (UnionPay parameters): amount >= DF20 is not allowed contactless; amount >=
// DF21 would require a CVM an unattended validator cannot perform; amount > DF19 may not be
// approved offline (EMV 4.4 Book 3, 10.6.1, TVR byte 4 bit 8). Each limit is run on the amount
// that crosses it and on its twin one minor unit away, against the independent test card of
// support/full_flow_card.ts (a stock card with an e-cash purse that pays the fare).

import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus } from '../host/abi.gen.js';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import {
  DEFAULT_TERMINAL_CONFIG,
  configureQpboc,
  decodeTlv,
  encodeQpbocConfig,
  encodeQpbocInput,
  findTlv,
  runQpbocTransaction,
  type QpbocMode,
  type QpbocOutcome,
  type QpbocTerminalConfig,
} from '../host/qpboc_session.js';
import { Prng } from '../../host-sim/src/prng.js';
import { buildChain, loadChainCa, type TestChain } from './support/oda_chain.js';
import { FullFlowCard } from './support/full_flow_card.js';
import { population } from '../../host-sim/src/cards/card_population.js';
import { parseTrace, prepareKernel } from '../../firmware/src/cli/qpboc_trace.js';
import { LiveCardIo, simTerminalJson, toHex } from './qpboc_support.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 20261202);
const FARE_MINOR = 200;
const INPUTS = {
  amount: FARE_MINOR.toString().padStart(12, '0'),
  date: '250601',
  time: '101010',
  unpredictableNumber: '0A1B2C3D',
};
const pop = population(SEED);

let kernel: Kernel;
let chain: TestChain;

beforeAll(async () => {
  kernel = await loadKernel();
  chain = buildChain(new Prng(SEED), { caBytes: 144, issuerBytes: 128, iccBytes: 112 });
});

interface Run {
  readonly outcome: QpbocOutcome;
  readonly commands: readonly string[];
  /** TVR as the kernel ended (OP_TXN_DUMP). */
  readonly tvr: string;
}

/** The terminal data as the kernel ended: TVR (OP_TXN_DUMP, E1). */
function tvrNow(): string {
  expect(kernel.step(KernelOp.OP_TXN_DUMP, 0, new Uint8Array(0))).toBe(KernelStatus.STATUS_OK);
  const e1 = decodeTlv(kernel.output().slice()).find((o) => o.tag === 0xe1)?.children ?? [];
  return toHex(findTlv(e1, 0x95) ?? new Uint8Array(0));
}

function result(outcome: QpbocOutcome): Run {
  return { outcome, commands: outcome.transcript.map((e) => toHex(e.capdu)), tvr: tvrNow() };
}

/** A stock card (full flow, no qPBOC EC) whose purse would pay: the ODA paths. */
async function runStock(limits: Partial<QpbocTerminalConfig>, mode: QpbocMode): Promise<Run> {
  expect(loadChainCa(kernel, chain), `seed ${SEED}`).toBe(KernelStatus.STATUS_OK);
  expect(configureQpboc(kernel, { ...DEFAULT_TERMINAL_CONFIG, ...limits })).toBe(
    KernelStatus.STATUS_OK,
  );
  const card = new FullFlowCard(chain, { oda: 'dda', ecBalanceMinor: 5000 });
  const outcome = await runQpbocTransaction(
    kernel,
    { transceive: async (c) => card.transceive(c), decide: () => 'proceed' },
    {
      mode,
      amountMinor: FARE_MINOR,
      date: '250615',
      time: '081500',
      unpredictableNumber: Uint8Array.of(0x1a, 0x2b, 0x3c, 0x4d),
    },
  );
  return result(outcome);
}

/**
 * The host-sim e-cash debit card (qPBOC EC, purse of 50.00 or more); the limits come in as the
 * trace's terminal fields (n12 strings), so the trace parser is exercised too.
 */
async function runPurse(limits: Record<string, number>, mode: QpbocMode): Promise<Run> {
  const terminal: Record<string, unknown> = { ...simTerminalJson(pop) };
  for (const [name, minor] of Object.entries(limits)) {
    terminal[name] = minor.toString().padStart(12, '0');
  }
  const inputs = { ...INPUTS, mode };
  const trace = parseTrace(JSON.stringify({ terminal, inputs, exchanges: [] }));
  prepareKernel(kernel, trace);
  const card = pop.card('unionpay-debit-ec');
  card.powerOn();
  const io = new LiveCardIo(card);
  const outcome = await runQpbocTransaction(
    kernel,
    { transceive: (c) => io.transceive(c), decide: () => 'proceed' },
    trace.input,
  );
  return result(outcome);
}

function gpoTtq(outcome: QpbocOutcome): string {
  const gpo = outcome.transcript.find((e) => e.capdu[1] === 0xa8);
  return gpo === undefined ? '' : toHex(gpo.capdu.subarray(7, 11));
}

function expectRefused(r: Run, tag: number): void {
  expect(r.outcome.kind, `seed ${SEED}`).toBe('not-accepted');
  expect(r.outcome.reason).toBe('amount-over-limit');
  expect(r.outcome.detail).toBe(tag);
  // Refused before SELECT PPSE: the card never sees the transaction.
  expect(r.commands).toEqual([]);
}

describe('DF20 contactless transaction limit and DF21 CVM limit', () => {
  const cases: Array<[string, string, number]> = [
    ['DF20', 'contactlessLimit', 0xdf20],
    ['DF21', 'cvmLimit', 0xdf21],
  ];
  for (const [name, field, tag] of cases) {
    for (const mode of ['auto', 'ec', 'oda', 'full'] as const) {
      it(`${name} = the fare, mode ${mode}: not accepted (amount-over-limit, detail ${name})`, async () => {
        expectRefused(await runPurse({ [field]: FARE_MINOR }, mode), tag);
      });
    }
    it(`${name} one unit above the fare (twin): the purse pays`, async () => {
      const r = await runPurse({ [field]: FARE_MINOR + 1 }, 'auto');
      expect(r.outcome.reason).toBe('offline-approved');
    });
  }
});

describe('DF19 contactless offline floor limit', () => {
  it('fare above it in the EC lane: not accepted (detail DF19), no command sent', async () => {
    expectRefused(await runPurse({ floorLimit: FARE_MINOR - 1 }, 'ec'), 0xdf19);
  });

  it('twin: fare equal to it in the EC lane is approved offline, TVR byte 4 clear', async () => {
    const r = await runPurse({ floorLimit: FARE_MINOR }, 'ec');
    expect(r.outcome.reason).toBe('offline-approved');
    expect(r.tvr.slice(6, 8)).toBe('00');
  });

  it('fare above it in mode auto: no e-cash probe, full flow, TVR "exceeds floor limit"', async () => {
    const r = await runStock({ floorLimitMinor: FARE_MINOR - 1 }, 'auto');
    expect(r.commands).not.toContain('80CA9F7900');
    expect(gpoTtq(r.outcome)).toBe('40800000');
    expect(r.outcome.reason).toBe('full-flow-admitted');
    expect(r.tvr.slice(6, 8)).toBe('80');
    const record = decodeTlv(r.outcome.clearingRecord ?? new Uint8Array(0));
    expect(toHex(findTlv(record, 0x95) ?? new Uint8Array(0)).slice(6, 8)).toBe('80');
  });

  it('twin: fare equal to it in mode auto probes the purse and pays (TTQ 28000080)', async () => {
    const stock = await runStock({ floorLimitMinor: FARE_MINOR }, 'auto');
    expect(stock.commands).toContain('80CA9F7900');
    expect(gpoTtq(stock.outcome)).toBe('28000080');
    const r = await runPurse({ floorLimit: FARE_MINOR }, 'auto');
    expect(r.outcome.reason).toBe('offline-approved');
  });

  it('the e-cash card above it in mode auto is not paid offline (no probe)', async () => {
    const r = await runPurse({ floorLimit: FARE_MINOR - 1 }, 'auto');
    expect(r.commands).not.toContain('80CA9F7900');
    expect(r.outcome.reason).not.toBe('offline-approved');
  });

  it('fare above it in ODA mode: admitted as before, TVR byte 4 bit 8 set', async () => {
    const r = await runStock({ floorLimitMinor: FARE_MINOR - 1 }, 'oda');
    expect(r.outcome.reason).toBe('full-flow-admitted');
    expect(r.tvr.slice(6, 8)).toBe('80');
  });
});

describe('OP_TXN_CONFIGURE limits', () => {
  it('the host encodes DF20, DF19, DF21 as n12', () => {
    const bytes = encodeQpbocConfig({
      ...DEFAULT_TERMINAL_CONFIG,
      contactlessLimitMinor: 100000,
      floorLimitMinor: 0,
      cvmLimitMinor: 30000,
    });
    expect(toHex(bytes)).toContain(
      'DF2006000000100000' + 'DF1906000000000000' + 'DF2106000000030000',
    );
    expect(kernel.step(KernelOp.OP_TXN_CONFIGURE, 0, bytes)).toBe(KernelStatus.STATUS_OK);
  });

  const country = '9F1A020156';
  const currency = '5F2A020156';
  const aid = 'E1094F07A0000003330101';
  for (const [name, limit] of [
    ['DF19 of 5 bytes', 'DF190500000001'],
    ['DF21 not BCD', 'DF2106000000000A00'],
    ['DF19 empty', 'DF1900'],
  ] as const) {
    it(`${name}: ERR_TXN_CONFIG_INVALID, the previous configuration stays`, () => {
      const previous = { ...DEFAULT_TERMINAL_CONFIG, cvmLimitMinor: 100 };
      expect(configureQpboc(kernel, previous)).toBe(KernelStatus.STATUS_OK);
      const bytes = Buffer.from(country + currency + limit + aid, 'hex');
      expect(kernel.step(KernelOp.OP_TXN_CONFIGURE, 0, bytes)).toBe(
        KernelStatus.ERR_TXN_CONFIG_INVALID,
      );
      // The previous DF21 (1.00) still refuses the fare.
      const input = encodeQpbocInput({
        mode: 'auto',
        amountMinor: FARE_MINOR,
        date: '250615',
        time: '081500',
        unpredictableNumber: Uint8Array.of(1, 2, 3, 4),
      });
      expect(kernel.step(KernelOp.OP_TXN_BEGIN, 2, input)).toBe(KernelStatus.STATUS_NOT_ACCEPTED);
    });
  }

  it('twin: the same bytes with a well-formed DF19 are accepted', () => {
    const bytes = Buffer.from(country + currency + 'DF1906000000000150' + aid, 'hex');
    expect(kernel.step(KernelOp.OP_TXN_CONFIGURE, 0, bytes)).toBe(KernelStatus.STATUS_OK);
  });

  it('a new configuration without limits clears the old ones', async () => {
    expectRefused(await runStock({ cvmLimitMinor: 100 }, 'auto'), 0xdf21);
    const r = await runStock({}, 'full');
    expect(r.outcome.reason).toBe('full-flow-admitted');
  });
});
