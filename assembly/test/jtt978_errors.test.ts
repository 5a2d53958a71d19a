// JT/T 978 bad answers: wrong status words and short data from the card and the PSAM, wrong
// MAC1 / MAC2, low balance, blocked and expired cards (the deny list: jtt978_block.test.ts), no
// PSAM, a malformed purchase input, and bit flips in every answer. Each ends with a defined status and reason;
// no answer traps the kernel or charges the card without an approval that says so.

import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import { KernelStatus } from '../host/abi.gen.js';
import type { CardOutcome, Jtt978Outcome } from '../host/jtt978_session.js';
import { configureQpboc, runQpbocTransaction, UNIONPAY_AIDS } from '../host/qpboc_session.js';
import { tunionCard, type TunionName } from '../../host-sim/src/cards/tunion_population.js';
import { TUNION_AID } from '../../host-sim/src/cards/tunion_card.js';
import { TEST_ISSUER_ID } from '../../host-sim/src/psam/psam_profile.js';
import {
  compound,
  configureRig,
  hex,
  RigPsam,
  record001a,
  tap,
  type RigFault,
} from './support/jtt978_rig.js';

let kernel: Kernel;
beforeAll(async () => {
  kernel = await loadKernel();
  configureRig(kernel);
});

function jtt(result: CardOutcome): Jtt978Outcome {
  if (result.app !== 'jtt978') throw new Error(`not a JT/T 978 outcome: ${result.app}`);
  return result.outcome;
}

async function run(name: TunionName, faults: readonly RigFault[], decide = compound(200)) {
  const card = tunionCard(11, name);
  const psam = new RigPsam(TEST_ISSUER_ID);
  const { result } = await tap(kernel, card, psam, { decide: () => decide }, faults);
  return { card, psam, result };
}

const sw = (value: number) => (): Uint8Array => Uint8Array.of(value >> 8, value & 0xff);
const shorter = (rapdu: Uint8Array): Uint8Array =>
  Uint8Array.of(...rapdu.subarray(0, rapdu.length - 3), 0x90, 0x00);

/** Card exchanges of the compound purchase (after PPSE and the UnionPay AID). */
const CARD_STEPS: ReadonlyArray<readonly [number, string, string]> = [
  [4, 'READ BINARY 0015', 'card-data-invalid'],
  [5, 'READ BINARY 0017', 'card-data-invalid'],
  [6, 'GET BALANCE', 'card-data-invalid'],
  [7, 'READ RECORD 001A', 'card-data-invalid'],
  [8, 'INITIALIZE FOR PURCHASE', 'card-refused'],
  [9, 'UPDATE CAPP DATA CACHE 001A', 'card-refused'],
  [10, 'UPDATE CAPP DATA CACHE 001E', 'card-refused'],
];

describe('JT/T 978 bad card answers', () => {
  it.each(CARD_STEPS)('%s (%s) answered 6A81: declined %s, no debit', async (n, _, reason) => {
    const { card, result } = await run('tunion-interop-shenzhen', [
      { device: 'card', exchange: n, replace: sw(0x6a81) },
    ]);
    expect([jtt(result).kind, jtt(result).reason, jtt(result).detail]).toEqual([
      'declined',
      reason,
      0x6a81,
    ]);
    expect(card.debits()).toHaveLength(0);
  });

  it('a refused SELECT ADF hands the card back to selection: not accepted, detail the SW', async () => {
    const { result } = await run('tunion-interop-shenzhen', [
      { device: 'card', exchange: 3, replace: sw(0x6a81) },
    ]);
    expect(result.app).toBe('qpboc');
    if (result.app !== 'qpboc') return;
    expect([result.outcome.kind, result.outcome.reason, result.outcome.detail]).toEqual([
      'not-accepted',
      'no-accepted-app',
      0x6a81,
    ]);
  });

  it.each([
    [4, KernelStatus.ERR_CARD_DATA_INVALID],
    [5, KernelStatus.ERR_CARD_DATA_INVALID],
    [6, KernelStatus.ERR_CARD_DATA_INVALID],
    [8, KernelStatus.ERR_CARD_DATA_INVALID],
  ])('short data at card exchange %i: declined card-data-invalid', async (n, detail) => {
    const { card, result } = await run('tunion-interop-shenzhen', [
      { device: 'card', exchange: n, replace: shorter },
    ]);
    expect([jtt(result).kind, jtt(result).reason, jtt(result).detail]).toEqual([
      'declined',
      'card-data-invalid',
      detail,
    ]);
    expect(card.debits()).toHaveLength(0);
  });

  it('a short DEBIT answer is torn, and the recovery completes it without a second debit', async () => {
    const { card, psam, result } = await run('tunion-interop-shenzhen', [
      { device: 'card', exchange: 11, replace: shorter },
    ]);
    expect([jtt(result).kind, jtt(result).detail]).toEqual([
      'torn',
      KernelStatus.ERR_CARD_DATA_INVALID,
    ]);
    const again = await tap(kernel, card, psam, {}, [], jtt(result).recordBytes);
    expect([jtt(again.result).kind, jtt(again.result).record?.tac]).toEqual([
      'approved',
      card.debits()[0]?.tac,
    ]);
    expect(card.debits()).toHaveLength(1);
  });

  it('a wrong MAC2 is refused by the PSAM: declined mac2-invalid with the card data', async () => {
    const flip = (r: Uint8Array): Uint8Array => r.map((b, i) => (i === 5 ? b ^ 0x01 : b));
    const { card, result } = await run('tunion-interop-shenzhen', [
      { device: 'card', exchange: 11, replace: flip },
    ]);
    const outcome = jtt(result);
    expect([outcome.kind, outcome.reason, outcome.recordKind]).toEqual([
      'declined',
      'mac2-invalid',
      'committed-decline',
    ]);
    expect(outcome.detail).not.toBe(0x9000);
    expect(outcome.record?.tac).toBe(card.debits()[0]?.tac);
  });

  it('a PSAM MAC verdict at CREDIT SAM (9302, 6988) declines mac2-invalid, the debit kept',
    async () => {
      for (const word of [0x9302, 0x6988]) {
        const { card, result } = await run('tunion-interop-shenzhen', [
          { device: 'psam', exchange: 3, replace: sw(word) },
        ]);
        const outcome = jtt(result);
        expect([outcome.kind, outcome.reason, outcome.recordKind, outcome.detail]).toEqual([
          'declined', 'mac2-invalid', 'committed-decline', word,
        ]);
        expect(outcome.record?.tac).toBe(card.debits()[0]?.tac);
      }
    });

  it('a PSAM failing at CREDIT SAM with another word is no verdict: approved unverified',
    async () => {
      // Memory failure, conditions not satisfied, no precise diagnosis: the PSAM's own fault.
      for (const word of [0x6581, 0x6985, 0x6f00]) {
        const { card, result } = await run('tunion-interop-shenzhen', [
          { device: 'psam', exchange: 3, replace: sw(word) },
        ]);
        const outcome = jtt(result);
        expect([outcome.kind, outcome.reason, outcome.recordKind]).toEqual([
          'approved', 'approved', 'clearing',
        ]);
        expect(outcome.record?.mac2Verified).toBe(false);
        expect(card.debits()).toHaveLength(1);
        expect(outcome.record?.tac).toBe(card.debits()[0]?.tac);
      }
    });

  it('a wrong MAC1 is refused by the card (9302): declined card-refused, no debit', async () => {
    const flip = (r: Uint8Array): Uint8Array => r.map((b, i) => (i === 4 ? b ^ 0x80 : b));
    const { card, result } = await run('tunion-interop-shenzhen', [
      { device: 'psam', exchange: 2, replace: flip },
    ]);
    expect([jtt(result).kind, jtt(result).reason, jtt(result).detail]).toEqual([
      'declined',
      'card-refused',
      0x9302,
    ]);
    expect(card.debits()).toHaveLength(0);
  });
});

describe('JT/T 978 bad PSAM answers', () => {
  it.each([
    [1, sw(0x9403), 0x9403],
    [2, sw(0x6a80), 0x6a80],
    [2, shorter, KernelStatus.ERR_PSAM_RESPONSE_INVALID],
  ])('INIT SAM exchange %i: declined psam-refused', async (n, replace, detail) => {
    const { card, result } = await run('tunion-interop-shenzhen', [
      { device: 'psam', exchange: n, replace },
    ]);
    expect([jtt(result).kind, jtt(result).reason, jtt(result).detail]).toEqual([
      'declined',
      'psam-refused',
      detail,
    ]);
    expect(result.transcript.some((e) => hex(e.capdu).startsWith('8054'))).toBe(false);
    expect(card.debits()).toHaveLength(0);
  });
});

describe('JT/T 978 card states', () => {
  it('a balance below the fare is declined before INITIALIZE', async () => {
    const { card, result } = await run('tunion-low-balance', []);
    expect([jtt(result).kind, jtt(result).reason]).toEqual(['declined', 'insufficient-balance']);
    expect(result.transcript.some((e) => hex(e.capdu).startsWith('8050'))).toBe(false);
    expect(card.balanceMinor()).toBe(150);
  });

  it('INITIALIZE 9401 (the card knows better than GET BALANCE) is insufficient-balance', async () => {
    const { result } = await run('tunion-low-balance', [
      { device: 'card', exchange: 6, replace: () => Uint8Array.of(0, 0, 0x10, 0, 0x90, 0x00) },
    ]);
    expect([jtt(result).reason, jtt(result).detail]).toEqual(['insufficient-balance', 0x9401]);
  });

  it('an expired card is declined, a blocked one too (SELECT 6283)', async () => {
    const expired = await run('tunion-expired', []);
    expect([jtt(expired.result).kind, jtt(expired.result).reason]).toEqual(['declined', 'expired']);
    const blocked = await run('tunion-blocked', []);
    expect([jtt(blocked.result).reason, jtt(blocked.result).detail]).toEqual([
      'card-blocked',
      0x6283,
    ]);
  });
});

describe('JT/T 978 terminal side', () => {
  it('without a PSAM configured the T-Union candidate is handed back to selection', async () => {
    const fresh = await loadKernel();
    const aids = [...UNIONPAY_AIDS, { aid: TUNION_AID, partialMatch: false }];
    expect(configureQpboc(fresh, { countryCode: '0156', currencyCode: '0156', aids })).toBe(0);
    const card = tunionCard(14, 'tunion-interop-shenzhen');
    const { result } = await tap(fresh, card, new RigPsam(TEST_ISSUER_ID), {});
    expect(result.app).toBe('qpboc');
    if (result.app === 'qpboc') {
      expect([result.outcome.reason, result.outcome.detail]).toEqual([
        'no-accepted-app',
        KernelStatus.ERR_JTT978_NOT_CONFIGURED,
      ]);
    }
  });

  it('the qPBOC-only driver meeting a T-Union card ends it without a debit', async () => {
    const card = tunionCard(15, 'tunion-interop-shenzhen');
    card.powerOn();
    const outcome = await runQpbocTransaction(
      kernel,
      { transceive: async (c) => card.transceive(c), decide: () => 'proceed' },
      {
        mode: 'ec',
        amountMinor: 0,
        date: '261203',
        time: '102030',
        unpredictableNumber: Uint8Array.of(1, 2, 3, 4),
      },
    );
    expect([outcome.kind, outcome.status]).toEqual([
      'terminated',
      KernelStatus.STATUS_NEED_HOST_DECISION,
    ]);
    expect(card.debits()).toHaveLength(0);
    const again = await tap(kernel, card, new RigPsam(TEST_ISSUER_ID), {});
    expect(jtt(again.result).kind).toBe('approved');
  });

  it('a malformed purchase input is refused, the kernel stays usable', async () => {
    const bad = {
      kind: 'purchase' as const,
      amountMinor: 200,
      type: 'compound' as const,
      updates: [{ sfi: 0x1a as const, recordNumber: 2, data: record001a(2, 200).subarray(0, 100) }],
    };
    const { card, result } = await run('tunion-interop-shenzhen', [], bad);
    expect(result.app === 'qpboc' && result.outcome.kind).toBe('terminated');
    expect(result.app === 'qpboc' && result.outcome.detail).toBe(
      KernelStatus.ERR_JTT978_PURCHASE_INVALID,
    );
    expect(card.debits()).toHaveLength(0);
    const again = await tap(kernel, card, new RigPsam(TEST_ISSUER_ID), {});
    expect(jtt(again.result).kind).toBe('approved');
  });

  it('bit flips in every card and PSAM answer: defined outcomes, never a trap or a silent debit', async () => {
    const memory = kernel.memoryBytes();
    let checked = 0;
    for (const device of ['card', 'psam'] as const) {
      for (let n = 1; n <= (device === 'card' ? 11 : 3); n += 1) {
        for (const at of [0, 1, 3, 9, 17]) {
          const flip = (r: Uint8Array): Uint8Array =>
            r.map((b, i) => (i === at % r.length ? b ^ 0x10 : b));
          const { card, result } = await run('tunion-interop-shanghai', [
            { device, exchange: n, replace: flip },
          ]);
          const kind = result.outcome.kind;
          expect(kind).not.toBe('fault');
          const approved = result.app === 'jtt978' && kind === 'approved';
          // A debit without an approval is only allowed when the outcome says so (torn, a
          // MAC2 the PSAM refused): the recovery or the clearing centre settles it.
          const flagged = approved || kind === 'torn' || result.outcome.reason === 'mac2-invalid';
          if (card.debits().length > 0) expect(flagged, `${device} ${n} ${at}: ${kind}`).toBe(true);
          expect(card.debits().length).toBeLessThanOrEqual(1);
          checked += 1;
        }
      }
    }
    expect(checked).toBe(70);
    expect(kernel.faultCount()).toBe(0);
    expect(kernel.memoryBytes()).toBe(memory);
  });
});
