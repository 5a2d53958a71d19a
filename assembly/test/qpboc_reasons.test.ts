// Issue 10 reasons on the qPBOC paths: each case its own reason, against host-sim cards whose
// answers are edited byte by byte (the card's MAC is not the terminal's business).
//
// IAD layout and 9F27 vs CVR (card-data-inconsistent), 9F5D beyond the e-cash limit (refused
// before the commit, never shown), 9F5D as an offline allowance by the IAD type (domain.md 2.4),
// an unusable PPSE answer (EMV Book B: direct selection), phones in an EC lane.

import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import {
  decodeTlv,
  runQpbocTransaction,
  tlvEncode,
  type QpbocMode,
  type QpbocOutcome,
  type TlvObject,
} from '../host/qpboc_session.js';
import { population, type PopulationName } from '../../host-sim/src/cards/card_population.js';
import { detailName, parseTrace, prepareKernel } from '../../firmware/src/cli/qpboc_trace.js';
import { simTerminalJson, toHex } from './qpboc_support.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 20250601);
const INPUTS = {
  amount: '000000000200',
  date: '250601',
  time: '101010',
  unpredictableNumber: '0A1B2C3D',
};
const pop = population(SEED);

/** Rewrites the answer data of one command (null: leave it). */
type Rewrite = (capdu: Uint8Array, data: Uint8Array) => Uint8Array | null;

let kernel: Kernel;

beforeAll(async () => {
  kernel = await loadKernel();
});

async function run(
  name: PopulationName,
  mode: QpbocMode,
  rewrite: Rewrite | null = null,
): Promise<QpbocOutcome> {
  const trace = parseTrace(
    JSON.stringify({ terminal: simTerminalJson(pop), inputs: INPUTS, exchanges: [] }),
  );
  prepareKernel(kernel, trace);
  const card = pop.card(name);
  card.powerOn();
  const transceive = async (capdu: Uint8Array): Promise<Uint8Array | null> => {
    const rapdu = card.transceive(capdu);
    if (rapdu === null || rewrite === null || rapdu.length < 2) return rapdu;
    const data = rewrite(capdu, rapdu.subarray(0, rapdu.length - 2));
    return data === null ? rapdu : Buffer.concat([data, rapdu.subarray(rapdu.length - 2)]);
  };
  return runQpbocTransaction(
    kernel,
    { transceive, decide: () => 'proceed' },
    {
      ...trace.input,
      mode,
    },
  );
}

/** Edits the primitives of the single template of `data` (`edit` returns the new list). */
function editTemplate(data: Uint8Array, edit: (objects: TlvObject[]) => TlvObject[]): Uint8Array {
  const [top] = decodeTlv(data);
  if (top === undefined || top.children === null) throw new Error('not a template');
  const children = edit([...top.children]).map((o) => tlvEncode(o.tag, o.value));
  return tlvEncode(top.tag, Buffer.concat(children));
}

function gpoEdit(edit: (objects: TlvObject[]) => TlvObject[]): Rewrite {
  return (capdu, data) => (capdu[1] === 0xa8 ? editTemplate(data, edit) : null);
}

function setValue(tag: number, value: (old: Uint8Array) => Uint8Array) {
  return (objects: TlvObject[]): TlvObject[] =>
    objects.map((o) => (o.tag === tag ? { ...o, value: value(o.value) } : o));
}

function lastReadRecordSent(outcome: QpbocOutcome): boolean {
  return outcome.commitSent;
}

describe('card-data-inconsistent on qPBOC GPO answers', () => {
  it('an IAD of the wrong layout (first byte 06): declined, ERR_CARD_IAD_LAYOUT', async () => {
    const iad = setValue(0x9f10, (v) => Uint8Array.from([0x06, ...v.subarray(1)]));
    const outcome = await run('unionpay-debit-ec', 'ec', gpoEdit(iad));
    expect(outcome.reason).toBe('card-data-inconsistent');
    expect(detailName(outcome.detail)).toBe('ERR_CARD_IAD_LAYOUT');
    expect(lastReadRecordSent(outcome)).toBe(false);
  });

  it('an IAD whose length byte disagrees with its size: ERR_CARD_IAD_LAYOUT', async () => {
    const iad = setValue(0x9f10, (v) => {
      const copy = Uint8Array.from(v);
      copy[8] = (copy[8] ?? 0) + 1;
      return copy;
    });
    const outcome = await run('unionpay-debit-ec', 'ec', gpoEdit(iad));
    expect(detailName(outcome.detail)).toBe('ERR_CARD_IAD_LAYOUT');
  });

  it('a 9F27 naming ARQC while the CVR says TC: ERR_CARD_CID_MISMATCH', async () => {
    const add = (objects: TlvObject[]): TlvObject[] => [
      ...objects,
      { tag: 0x9f27, value: Uint8Array.of(0x80), children: null },
    ];
    const outcome = await run('unionpay-debit-ec', 'ec', gpoEdit(add));
    expect(outcome.reason).toBe('card-data-inconsistent');
    expect(detailName(outcome.detail)).toBe('ERR_CARD_CID_MISMATCH');
  });

  it('the same 9F27 agreeing with the CVR (TC, 40) changes nothing', async () => {
    const add = (objects: TlvObject[]): TlvObject[] => [
      ...objects,
      { tag: 0x9f27, value: Uint8Array.of(0x40), children: null },
    ];
    const outcome = await run('unionpay-debit-ec', 'ec', gpoEdit(add));
    expect(outcome.reason).toBe('offline-approved');
  });
});

describe('9F5D: the e-cash limit and the IAD type', () => {
  it('a 9F5D beyond 1000.00 in the GPO answer: refused before the commit, never shown', async () => {
    const big = setValue(0x9f5d, () => Uint8Array.from(Buffer.from('000000100001', 'hex')));
    const outcome = await run('unionpay-debit-ec', 'ec', gpoEdit(big));
    expect(outcome.kind).toBe('declined');
    expect(outcome.reason).toBe('ecash-balance-invalid');
    expect(outcome.balanceMinor).toBeNull();
    expect(lastReadRecordSent(outcome)).toBe(false);
  });

  it('a 9F5D that is not BCD: refused the same way', async () => {
    const bad = setValue(0x9f5d, () => Uint8Array.from(Buffer.from('00000000A000', 'hex')));
    const outcome = await run('unionpay-debit-ec', 'ec', gpoEdit(bad));
    expect(outcome.reason).toBe('ecash-balance-invalid');
  });

  it('IAD type 05: 9F5D is an offline allowance, not a balance', async () => {
    const plain = await run('unionpay-debit-ec', 'ec');
    expect(plain.balanceMinor).not.toBeNull();
    const type05 = setValue(0x9f10, (v) =>
      Uint8Array.from([...v.subarray(0, 9), 0x05, ...v.subarray(10)]),
    );
    const outcome = await run('unionpay-debit-ec', 'ec', gpoEdit(type05));
    expect(outcome.reason).toBe('offline-approved');
    expect(outcome.balanceMinor).toBeNull();
    expect(outcome.offlineAllowanceMinor).toBe(plain.balanceMinor);
  });
});

describe('selection and card kinds', () => {
  it('an unparsable PPSE answer falls back to the AID list (EMV Book B), never reason none', async () => {
    const garbage: Rewrite = (capdu, data) =>
      capdu[1] === 0xa4 && capdu[4] === 0x0e ? data.subarray(0, data.length - 1) : null;
    const outcome = await run('unionpay-debit-ec', 'ec', garbage);
    expect(outcome.reason).toBe('offline-approved');
    // SELECT PPSE, then the configured AID (A0000003330101) by direct selection.
    expect(toHex(outcome.transcript[1]?.capdu ?? new Uint8Array(0))).toBe(
      '00A4040007A000000333010100',
    );
  });

  it('a phone (CTQ consumer-device CVM) in an EC lane: kind-not-accepted; auto admits it', async () => {
    const ec = await run('phone-wallet', 'ec');
    expect(ec.kind).toBe('not-accepted');
    expect(ec.reason).toBe('kind-not-accepted');
    const auto = await run('phone-wallet', 'auto');
    expect(auto.reason).toBe('oda-admitted');
  });

  it('not enough e-cash, no other way to pay: insufficient-ecash in EC and auto lanes', async () => {
    const ec = await run('ec-insufficient', 'ec');
    expect(ec.reason).toBe('insufficient-ecash');
    // Auto: the probe shows the purse short, the full-flow GPO is refused (6985): the card has
    // no other way to pay, and the rider reads 余额不足, not 不支持此卡.
    const auto = await run('ec-insufficient', 'auto');
    expect(auto.kind).toBe('declined');
    expect(auto.reason).toBe('insufficient-ecash');
    expect(auto.path).not.toBe('qpboc-ec');
  });
});
