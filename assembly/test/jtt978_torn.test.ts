// JT/T 978 tearing: the card pulled before or after every command, the PSAM failing at every
// command, and the recovery itself torn. Whatever happens, the rider pays exactly once: the
// card's own ledger (host-sim) is the truth, and every approval's TAC is the card's.

import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import {
  configureJtt978, type CardOutcome, type Jtt978Outcome,
} from '../host/jtt978_session.js';
import { tunionCard } from '../../host-sim/src/cards/tunion_population.js';
import type { TunionCard } from '../../host-sim/src/cards/tunion_card.js';
import { TEST_ISSUER_ID } from '../../host-sim/src/psam/psam_profile.js';
import {
  compound,
  configureRig,
  PSAM_PROFILE,
  hex,
  RigPsam,
  tap,
  type RigFault,
} from './support/jtt978_rig.js';

let kernel: Kernel;
beforeAll(async () => {
  kernel = await loadKernel();
  configureRig(kernel);
});

const AMOUNT = 200;
/** Stands for qPBOC's try again when the card left before the T-Union SELECT. */
const TRY_AGAIN: Jtt978Outcome = {
  kind: 'try-again',
  status: 13,
  statusName: 'STATUS_TRY_AGAIN',
  reason: 'link-lost',
  reasonCode: 30,
  detail: 0,
  balanceMinor: null,
  debitSent: false,
  recovery: false,
  blocked: false,
  recordKind: 'none',
  recordBytes: null,
  record: null,
};
const BALANCE = 5_000;

function jtt(result: CardOutcome): Jtt978Outcome {
  if (result.app !== 'jtt978') throw new Error(`not a JT/T 978 outcome: ${result.app}`);
  return result.outcome;
}

/**
 * Taps until the card's purchase is settled: recovery after a tear (with the journalled grey
 * record), a fresh purchase after a refusal. Returns the outcomes in order.
 */
async function settle(
  card: TunionCard,
  psam: RigPsam,
  first: Jtt978Outcome,
  amount: number,
): Promise<Jtt978Outcome[]> {
  const outcomes = [first];
  let last = first;
  for (let round = 0; round < 4 && last.kind !== 'approved'; round += 1) {
    const host = { decide: () => compound(amount) };
    const torn = last.kind === 'torn' ? last.recordBytes : null;
    const { result } = await tap(kernel, card, psam, host, [], torn);
    last = jtt(result);
    outcomes.push(last);
  }
  return outcomes;
}

/** Exchanges of a clean compound purchase, by device. */
async function cleanCounts(): Promise<{ card: number; psam: number }> {
  const card = tunionCard(3, 'tunion-interop-shenzhen');
  const psam = new RigPsam(TEST_ISSUER_ID);
  const { result } = await tap(kernel, card, psam, {});
  expect(jtt(result).kind).toBe('approved');
  const count = (d: string): number => result.transcript.filter((e) => e.device === d).length;
  return { card: count('card'), psam: count('psam') };
}

function expectPaidOnce(card: TunionCard, outcomes: readonly Jtt978Outcome[], amount: number) {
  const last = outcomes[outcomes.length - 1];
  expect(last?.kind).toBe('approved');
  expect(card.debits()).toHaveLength(1);
  expect(card.balanceMinor()).toBe(BALANCE - amount);
  expect(last?.record?.tac).toBe(card.debits()[0]?.tac);
  expect(last?.record?.balanceAfterMinor).toBe(BALANCE - amount);
  expect(kernel.faultCount()).toBe(0);
}

describe('JT/T 978 torn at every step', () => {
  it('card pulled before or after each command: paid exactly once after recovery', async () => {
    const counts = await cleanCounts();
    expect(counts.card).toBe(11);
    let torn = 0;
    for (let exchange = 1; exchange <= counts.card; exchange += 1) {
      for (const cut of ['before', 'after'] as const) {
        const card = tunionCard(3, 'tunion-interop-shenzhen');
        const psam = new RigPsam(TEST_ISSUER_ID);
        const fault: RigFault = { device: 'card', exchange, cut };
        const { result, greys } = await tap(kernel, card, psam, {}, [fault]);
        // Pulled before the T-Union SELECT (PPSE, the UnionPay AID): qPBOC's try again.
        if (result.app === 'qpboc') {
          expect([exchange <= 2, result.outcome.kind]).toEqual([true, 'try-again']);
        }
        const first: Jtt978Outcome =
          result.app === 'jtt978' ? result.outcome : { ...TRY_AGAIN, kind: 'try-again' };
        const label = `${cut} card exchange ${exchange}: ${first.kind}/${first.reason}`;
        // Only a DEBIT left unanswered is torn; before it nothing moved.
        const isDebit = exchange === counts.card;
        expect(first.kind, label).toBe(isDebit ? 'torn' : 'try-again');
        if (isDebit) {
          torn += 1;
          expect(hex(first.recordBytes ?? new Uint8Array(0))).toBe(
            hex(greys[0] ?? new Uint8Array(0)),
          );
        }
        const outcomes = await settle(card, psam, first, AMOUNT);
        expectPaidOnce(card, outcomes, AMOUNT);
        const recovered = outcomes[outcomes.length - 1]?.record?.recovered;
        expect(recovered, label).toBe(isDebit && cut === 'after');
      }
    }
    expect(torn).toBe(2);
  });

  it('PSAM failing at each command: refused before DEBIT, approved unverified after', async () => {
    const counts = await cleanCounts();
    expect(counts.psam).toBe(3);
    for (let exchange = 1; exchange <= counts.psam; exchange += 1) {
      const card = tunionCard(4, 'tunion-interop-beijing');
      const psam = new RigPsam(TEST_ISSUER_ID);
      const before = 12_345;
      const fault: RigFault = { device: 'psam', exchange, cut: 'before' };
      const { result } = await tap(kernel, card, psam, {}, [fault]);
      const first = jtt(result);
      const credit = exchange === counts.psam;
      expect([first.kind, first.reason]).toEqual(
        credit ? ['approved', 'approved'] : ['declined', 'psam-refused'],
      );
      if (credit) expect(first.record?.mac2Verified).toBe(false);
      const outcomes = await settle(card, psam, first, AMOUNT);
      expect(card.debits()).toHaveLength(1);
      expect(card.balanceMinor()).toBe(before - AMOUNT);
      expect(outcomes[outcomes.length - 1]?.record?.tac).toBe(card.debits()[0]?.tac);
    }
  });

  it('recovery torn again at each of its commands still ends paid once', async () => {
    for (let exchange = 1; exchange <= 6; exchange += 1) {
      const card = tunionCard(5, 'tunion-interop-shanghai');
      const psam = new RigPsam(TEST_ISSUER_ID);
      const { result } = await tap(kernel, card, psam, {}, [
        { device: 'card', exchange: 11, cut: 'after' },
      ]);
      const torn = jtt(result);
      expect(torn.kind).toBe('torn');
      const again = await tap(
        kernel,
        card,
        psam,
        {},
        [{ device: 'card', exchange, cut: 'after' }],
        torn.recordBytes,
      );
      const second = jtt(again.result);
      // The recovery's commands are SELECT, 0015, GET BALANCE, READ RECORD 001E, GET
      // TRANSACTION PROOF.
      expect(second.kind, `recovery exchange ${exchange}`).toBe(
        exchange <= 5 ? 'torn' : 'approved',
      );
      const outcomes = await settle(card, psam, second.kind === 'torn' ? second : second, AMOUNT);
      expectPaidOnce(card, outcomes, AMOUNT);
    }
  });

  it('a grey not debited here is not completed by the same debit made at another terminal',
    async () => {
      // Torn before DEBIT reached the card: not debited, the grey open. The rider then pays
      // the same fare at another validator (its own PSAM). The balance and a proof for ATC + 1
      // are what this grey's debit would have left: old code completed the grey with the other
      // terminal's proof, and the fare was claimed twice at the depot. The card's own 0018 log
      // names the terminal; a 001E a terminal writes proves nothing (this one claims ours, and
      // this terminal also served the card before, so no file of the card names only others).
      const card = tunionCard(7, 'tunion-interop-shanghai');
      const psam = new RigPsam(TEST_ISSUER_ID);
      expect(jtt((await tap(kernel, card, psam, {})).result).kind).toBe('approved');
      const { result } = await tap(kernel, card, psam, {}, [
        { device: 'card', exchange: 11, cut: 'before' },
      ]);
      const torn = jtt(result);
      expect(torn.kind).toBe('torn');
      expect(card.debits()).toHaveLength(1);
      const elsewhere = Uint8Array.of(0x00, 0x00, 0x00, 0x00, 0x09, 0x99);
      const otherPsam = new RigPsam(TEST_ISSUER_ID, { ...PSAM_PROFILE, terminalNumber: elsewhere });
      configureJtt978(kernel, { terminalNumber: elsewhere, keyIndex: PSAM_PROFILE.keyIndex });
      try {
        expect(jtt((await tap(kernel, card, otherPsam, {})).result).kind).toBe('approved');
      } finally {
        configureRig(kernel);
      }
      expect(card.balanceMinor()).toBe(BALANCE - 2 * AMOUNT);
      const { result: again } = await tap(kernel, card, psam, {}, [], torn.recordBytes);
      const recovery = jtt(again);
      expect([recovery.kind, recovery.reason, recovery.detail])
        .toEqual(['recovery-not-pending', 'not-debited', 0x18]);
      expect(card.debits()).toHaveLength(2);
      // The same grey, and the debit its own: completed by the proof, nothing charged again.
      const mine = tunionCard(8, 'tunion-interop-shanghai');
      const cut = jtt((await tap(kernel, mine, psam, {}, [
        { device: 'card', exchange: 11, cut: 'after' },
      ])).result);
      const done = jtt((await tap(kernel, mine, psam, {}, [], cut.recordBytes)).result);
      expect([done.kind, done.record?.recovered]).toEqual(['approved', true]);
      expect(mine.debits()).toHaveLength(1);
    });

  it('a zero-amount boarding torn after DEBIT is settled by the proof alone', async () => {
    const card = tunionCard(6, 'tunion-interop-shenzhen');
    const psam = new RigPsam(TEST_ISSUER_ID);
    const host = { decide: () => compound(0) };
    const { result } = await tap(kernel, card, psam, host, [
      { device: 'card', exchange: 11, cut: 'after' },
    ]);
    const torn = jtt(result);
    expect(torn.kind).toBe('torn');
    const { result: recovered } = await tap(kernel, card, psam, host, [], torn.recordBytes);
    expect([jtt(recovered).kind, jtt(recovered).record?.recovered]).toEqual(['approved', true]);
    expect(card.debits()).toHaveLength(1);
    expect(card.balanceMinor()).toBe(BALANCE);
  });

  it('a grey record the host cannot store stops before DEBIT, and the card is not debited', async () => {
    const card = tunionCard(7, 'tunion-interop-shenzhen');
    const psam = new RigPsam(TEST_ISSUER_ID);
    const { result } = await tap(kernel, card, psam, { precommit: () => false });
    expect([jtt(result).kind, jtt(result).reason]).toEqual(['declined', 'host-refused']);
    expect(result.transcript.some((e) => hex(e.capdu).startsWith('8054'))).toBe(false);
    expect(card.debits()).toHaveLength(0);
  });

  it('a recovery on another card is not pending and debits nothing', async () => {
    const card = tunionCard(8, 'tunion-interop-shenzhen');
    const psam = new RigPsam(TEST_ISSUER_ID);
    const { result } = await tap(kernel, card, psam, {}, [
      { device: 'card', exchange: 11, cut: 'after' },
    ]);
    const other = tunionCard(8, 'tunion-interop-beijing');
    const { result: wrong } = await tap(kernel, other, psam, {}, [], jtt(result).recordBytes);
    expect([jtt(wrong).kind, jtt(wrong).reason]).toEqual(['recovery-not-pending', 'card-mismatch']);
    expect(other.debits()).toHaveLength(0);
  });
});
