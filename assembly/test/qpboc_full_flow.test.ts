// The full contactless PBOC flow (stock cards) and mode auto, against an independent test card.
//
// The card (support/full_flow_card.ts) signs with BigInt RSA and node:crypto SHA-1; every ODA
// method has its passing case and the failing twin of each check. Mode auto is also run against
// the host-sim population (qPBOC EC, online-ODA and phone cards). Seeds: SHUAKA_SEED replays.

import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus } from '../host/abi.gen.js';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import {
  DEFAULT_TERMINAL_CONFIG,
  configureQpboc,
  decodeTlv,
  findTlv,
  runQpbocTransaction,
  type QpbocHostDecision,
  type QpbocMode,
  type QpbocOutcome,
} from '../host/qpboc_session.js';
import { Prng } from '../../host-sim/src/prng.js';
import { population, type PopulationName } from '../../host-sim/src/cards/card_population.js';
import {
  detailName,
  denyListDecider,
  parseTrace,
  prepareKernel,
} from '../../firmware/src/cli/qpboc_trace.js';
import { buildChain, loadChainCa, type TestChain } from './support/oda_chain.js';
import { FullFlowCard, type FullFlowCardSpec } from './support/full_flow_card.js';
import { LiveCardIo, simTerminalJson, toHex } from './qpboc_support.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 20261202);
const FIELD_55 = [
  0x9f26, 0x9f27, 0x9f10, 0x9f37, 0x9f36, 0x95, 0x9a, 0x9c, 0x9f02, 0x9f03, 0x5f2a, 0x82, 0x84,
  0x9f1a, 0x9f33, 0x9f34, 0x9f35, 0x9f1e, 0x9f09, 0x9f41,
];

let kernel: Kernel;
let chain: TestChain;

beforeAll(async () => {
  kernel = await loadKernel();
  // CA 144, issuer 128, ICC 112 bytes: both certificates need their remainders.
  chain = buildChain(new Prng(SEED), { caBytes: 144, issuerBytes: 128, iccBytes: 112 });
});

interface Run {
  readonly outcome: QpbocOutcome;
  readonly card: FullFlowCard;
  readonly tvr: string;
  readonly tsi: string;
}

async function run(
  spec: FullFlowCardSpec,
  mode: QpbocMode = 'auto',
  decide: QpbocHostDecision = 'proceed',
  lose: string | null = null,
): Promise<Run> {
  expect(loadChainCa(kernel, chain), `seed ${SEED}`).toBe(KernelStatus.STATUS_OK);
  const config = { ...DEFAULT_TERMINAL_CONFIG, ifdSerialNumber: 'BUS00042' };
  expect(configureQpboc(kernel, config)).toBe(KernelStatus.STATUS_OK);
  const card = new FullFlowCard(chain, spec);
  const transceive = async (c: Uint8Array): Promise<Uint8Array | null> =>
    lose !== null && toHex(c.subarray(0, 2)) === lose ? null : card.transceive(c);
  const outcome = await runQpbocTransaction(
    kernel,
    { transceive, decide: () => decide },
    {
      mode,
      amountMinor: 200,
      date: '250615',
      time: '081500',
      unpredictableNumber: Uint8Array.of(0x1a, 0x2b, 0x3c, 0x4d),
      sequenceCounter: 4242,
    },
  );
  // The terminal data as the kernel ended: TVR and TSI (OP_TXN_DUMP, E1).
  expect(kernel.step(KernelOp.OP_TXN_DUMP, 0, new Uint8Array(0))).toBe(KernelStatus.STATUS_OK);
  const dump = decodeTlv(kernel.output().slice());
  const e1 = dump.find((o) => o.tag === 0xe1)?.children ?? [];
  const tvr = toHex(findTlv(e1, 0x95) ?? new Uint8Array(0));
  const tsi = toHex(findTlv(e1, 0x9b) ?? new Uint8Array(0));
  return { outcome, card, tvr, tsi };
}

function gpoTtq(outcome: QpbocOutcome): string {
  const gpo = outcome.transcript.find((e) => e.capdu[1] === 0xa8);
  return gpo === undefined ? '' : toHex(gpo.capdu.subarray(7, 11));
}

describe('full flow: each ODA method admits a genuine stock card', () => {
  for (const oda of ['sda', 'dda', 'cda'] as const) {
    it(`${oda}: admitted (full-flow-admitted), field 55 complete, the card's ARQC kept`, async () => {
      const { outcome, card, tvr, tsi } = await run({ oda });
      expect(outcome.kind, `seed ${SEED}`).toBe('admitted');
      expect(outcome.reason).toBe('full-flow-admitted');
      expect(outcome.path).toBe('full-flow');
      expect(outcome.odaMethod).toBe(oda);
      expect(outcome.odaPassed).toBe(true);
      expect(outcome.acType).toBe('ARQC');
      // Auto mode: probe 9F79 (no purse), no DF61: TTQ "full flow, online cryptogram required".
      expect(gpoTtq(outcome)).toBe('40800000');
      expect(card.commands.includes('00880000')).toBe(oda === 'dda');
      const genAc = outcome.transcript.find((e) => e.capdu[1] === 0xae);
      expect(genAc?.capdu[2]).toBe(oda === 'cda' ? 0x90 : 0x80);
      const record = decodeTlv(outcome.clearingRecord ?? new Uint8Array(0));
      for (const tag of FIELD_55) expect(findTlv(record, tag), tag.toString(16)).not.toBeNull();
      expect(toHex(findTlv(record, 0x9f27) ?? new Uint8Array(0))).toBe('80');
      expect(toHex(findTlv(record, 0x9f41) ?? new Uint8Array(0))).toBe('00004242');
      expect(Buffer.from(findTlv(record, 0x9f1e) ?? []).toString('ascii')).toBe('BUS00042');
      expect(toHex(findTlv(record, 0x9f34) ?? new Uint8Array(0))).toBe('3F0000');
      // The AC is the card's: SHA-1(CDOL1 data || ATC) in this test card.
      const { createHash } = await import('node:crypto');
      const cdolData = genAc?.capdu.subarray(5, 5 + (genAc.capdu[4] ?? 0)) ?? new Uint8Array(0);
      const ac = createHash('sha1').update(cdolData).update(Buffer.from('0007', 'hex')).digest();
      expect(toHex(findTlv(record, 0x9f26) ?? new Uint8Array(0))).toBe(toHex(ac.subarray(0, 8)));
      expect(toHex(findTlv(record, 0x95) ?? new Uint8Array(0))).toBe(tvr);
      expect(tvr).toBe(oda === 'sda' ? '0200000000' : '0000000000');
      expect(tsi).toBe('8000');
    });
  }

  it('ODA mode, no DF61: the full flow, no GET DATA probe', async () => {
    const { outcome, card } = await run({ oda: 'cda' }, 'oda');
    expect(gpoTtq(outcome)).toBe('40800000');
    expect(card.commands.includes('80CA9F79')).toBe(false);
    expect(outcome.reason).toBe('full-flow-admitted');
  });

  it('ODA mode: a DF61 card answering GPO format 1 anyway continues on the full flow', async () => {
    const { outcome } = await run({ oda: 'dda', df61: 0x40 }, 'oda');
    expect(gpoTtq(outcome)).toBe('21800080');
    expect(outcome.reason).toBe('full-flow-admitted');
  });

  it('mode full: even a DF61 card with a purse gets TTQ 40800000, no probe', async () => {
    const { outcome, card } = await run({ oda: 'dda', df61: 0x40, ecBalanceMinor: 5000 }, 'full');
    expect(gpoTtq(outcome)).toBe('40800000');
    expect(card.commands.includes('80CA9F79')).toBe(false);
    expect(outcome.reason).toBe('full-flow-admitted');
    // Its twin in mode auto pays from the purse (qPBOC EC, TTQ 28000080).
    const auto = await run({ oda: 'dda', df61: 0x40, ecBalanceMinor: 5000 }, 'auto');
    expect(gpoTtq(auto.outcome)).toBe('28000080');
  });

  it('EC mode: GPO format 1 stays not accepted (full-flow-required)', async () => {
    const { outcome } = await run({ oda: 'dda' }, 'ec');
    expect(outcome.reason).toBe('full-flow-required');
    expect(outcome.kind).toBe('not-accepted');
  });

  it('GPO format 2 without a cryptogram is the full flow too', async () => {
    const { outcome } = await run({ oda: 'dda', fault: 'gpo-format2' });
    expect(outcome.reason).toBe('full-flow-admitted');
  });

  it("DDA hashes the card's own DDOL (9F49) data", async () => {
    const { outcome } = await run({ oda: 'dda', ddolHex: '9F37049F0206' });
    expect(outcome.reason).toBe('full-flow-admitted');
    const auth = outcome.transcript.find((e) => e.capdu[1] === 0x88);
    expect(toHex(auth?.capdu.subarray(4, 15) ?? new Uint8Array(0))).toBe('0A1A2B3C4D000000000200');
  });
});

describe('full flow: the failing twin of every check', () => {
  const twins: Array<[string, FullFlowCardSpec, string, string | null, string]> = [
    [
      'SDA, wrong SSAD hash',
      { oda: 'sda', fault: 'bad-ssad' },
      'oda-failed',
      'ERR_ODA_SSAD_HASH',
      '4200000000',
    ],
    [
      'SDA, expired issuer certificate',
      { oda: 'sda', fault: 'expired-issuer-cert' },
      'oda-failed',
      'ERR_ODA_ISSUER_CERT_EXPIRED',
      '4200000000',
    ],
    [
      'DDA, wrong signature',
      { oda: 'dda', fault: 'bad-dda-signature' },
      'oda-failed',
      'ERR_ODA_SDAD_HASH',
      '0800000000',
    ],
    [
      'DDA, expired issuer certificate',
      { oda: 'dda', fault: 'expired-issuer-cert' },
      'oda-failed',
      'ERR_ODA_ISSUER_CERT_EXPIRED',
      '0800000000',
    ],
    [
      'DDA, DDOL without 9F37',
      { oda: 'dda', fault: 'ddol-without-un' },
      'oda-failed',
      'ERR_ODA_DDOL_INVALID',
      '0800000000',
    ],
    [
      'DDA, INTERNAL AUTHENTICATE refused',
      { oda: 'dda', fault: 'dda-refused' },
      'oda-failed',
      'ERR_ODA_DDA_RESPONSE',
      '0800000000',
    ],
    [
      'CDA, ARQC without SDAD',
      { oda: 'cda', fault: 'cda-without-sdad' },
      'oda-failed',
      'ERR_ODA_CDA_SDAD_ABSENT',
      '0400000000',
    ],
    [
      'CDA, signed CID differs from 9F27',
      { oda: 'cda', fault: 'cda-cid-mismatch' },
      'oda-failed',
      'ERR_ODA_CDA_CID_MISMATCH',
      '0400000000',
    ],
    [
      'CDA, wrong transaction data hash code',
      { oda: 'cda', fault: 'cda-hash-code' },
      'oda-failed',
      'ERR_ODA_CDA_HASH_CODE',
      '0400000000',
    ],
    ['AAC', { oda: 'dda', fault: 'aac' }, 'card-declined', null, '0000000000'],
    [
      'TC asked for ARQC',
      { oda: 'dda', fault: 'tc' },
      'card-data-inconsistent',
      'ERR_CARD_CID_MISMATCH',
      '0000000000',
    ],
    [
      '9F27 contradicts the CVR',
      { oda: 'sda', fault: 'cid-contradicts-iad' },
      'card-data-inconsistent',
      'ERR_CARD_CID_MISMATCH',
      '0200000000',
    ],
    [
      'IAD of the wrong layout',
      { oda: 'sda', fault: 'iad-layout' },
      'card-data-inconsistent',
      'ERR_CARD_IAD_LAYOUT',
      '0200000000',
    ],
    ['no ODA in the AIP', { oda: 'none' }, 'oda-not-supported', null, '8000000000'],
    ['expired card', { oda: 'dda', expiry: '250531' }, 'expired', null, '8040000000'],
  ];
  for (const [name, spec, reason, detail, tvr] of twins) {
    it(`${name}: declined (${reason}), TVR ${tvr}`, async () => {
      const result = await run(spec);
      expect(result.outcome.kind, `seed ${SEED}`).toBe('declined');
      expect(result.outcome.reason).toBe(reason);
      if (detail !== null) expect(detailName(result.outcome.detail)).toBe(detail);
      expect(result.outcome.recordKind).toBe('none');
      expect(result.tvr).toBe(tvr);
    });
  }

  it('missing CDOL1: terminated with ERR_CARD_CDOL1_MISSING, no GENERATE AC', async () => {
    const { outcome, card } = await run({ oda: 'dda', fault: 'missing-cdol1' });
    expect(outcome.statusName).toBe('ERR_CARD_CDOL1_MISSING');
    expect(card.commands.some((c) => c.startsWith('80AE'))).toBe(false);
  });

  it('deny list: declined before GENERATE AC, TVR "card on exception file"', async () => {
    const { outcome, card, tvr } = await run({ oda: 'cda' }, 'auto', 'deny-list');
    expect(outcome.reason).toBe('deny-list');
    expect(outcome.decisions[0]?.path).toBe('full-flow');
    expect(card.commands.some((c) => c.startsWith('80AE'))).toBe(false);
    // CDA had not run yet: ODA not performed, card on the exception file.
    expect(tvr).toBe('9000000000');
  });

  it('link lost at GENERATE AC or INTERNAL AUTHENTICATE: try again (nothing staged)', async () => {
    for (const command of ['80AE', '0088']) {
      const { outcome } = await run(
        { oda: command === '0088' ? 'dda' : 'cda' },
        'auto',
        'proceed',
        command,
      );
      expect(outcome.kind).toBe('try-again');
      expect(outcome.reason).toBe('link-lost');
    }
  });
});

describe('mode auto: the path is chosen per card', () => {
  it('a purse that pays the fare: qPBOC EC (TTQ 28000080)', async () => {
    const { outcome } = await run({ oda: 'dda', ecBalanceMinor: 5000 });
    expect(gpoTtq(outcome)).toBe('28000080');
  });

  it('a purse short of the fare, DF61 online ODA: qPBOC ODA (TTQ 21800080)', async () => {
    const { outcome } = await run({ oda: 'dda', ecBalanceMinor: 100, df61: 0x40 });
    expect(gpoTtq(outcome)).toBe('21800080');
  });

  it('a purse short of the fare, no DF61: full flow (TTQ 40800000)', async () => {
    const { outcome } = await run({ oda: 'dda', ecBalanceMinor: 199, df61: 0x00 });
    expect(gpoTtq(outcome)).toBe('40800000');
    expect(outcome.reason).toBe('full-flow-admitted');
  });

  it('a balance beyond the e-cash limit is not trusted: full flow', async () => {
    const { outcome } = await run({ oda: 'dda', ecBalanceMinor: 100_001 });
    expect(gpoTtq(outcome)).toBe('40800000');
  });

  const pop = population(SEED);
  const terminal = simTerminalJson(pop);
  const cases: Array<[PopulationName, string, string]> = [
    ['unionpay-debit-ec', 'approved', 'offline-approved'],
    ['social-security', 'approved', 'offline-approved'],
    ['oda-online-no-ec', 'admitted', 'oda-admitted'],
    ['phone-wallet', 'admitted', 'oda-admitted'],
    ['deny-listed', 'declined', 'deny-list'],
    ['expired', 'declined', 'expired'],
    ['clone', 'declined', 'oda-failed'],
  ];
  for (const [name, kind, reason] of cases) {
    it(`host-sim ${name}: ${kind} (${reason})`, async () => {
      const trace = parseTrace(
        JSON.stringify({
          terminal,
          inputs: {
            amount: '000000000200',
            date: '250601',
            time: '101010',
            unpredictableNumber: '0A1B2C3D',
          },
          exchanges: [],
        }),
      );
      prepareKernel(kernel, trace);
      const card = pop.card(name);
      card.powerOn();
      const io = new LiveCardIo(card);
      const outcome = await runQpbocTransaction(
        kernel,
        { transceive: (c) => io.transceive(c), decide: denyListDecider(trace.denyList) },
        { ...trace.input, mode: 'auto' },
      );
      expect(outcome.kind, `seed ${SEED}`).toBe(kind);
      expect(outcome.reason).toBe(reason);
      if (kind !== 'declined') {
        const record = decodeTlv(outcome.clearingRecord ?? new Uint8Array(0));
        for (const tag of FIELD_55.filter((t) => t !== 0x9f1e && t !== 0x9f41)) {
          expect(findTlv(record, tag), tag.toString(16)).not.toBeNull();
        }
      }
    });
  }
});
