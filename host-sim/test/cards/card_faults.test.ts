// Fault plans: removal before/after command N or N bytes, dropped and corrupted answers.

import { describe, expect, it } from 'vitest';
import { drawFaultPlan, withFaults } from '../../src/cards/card_faults.js';
import type { CardFaultPlan, FaultyCard } from '../../src/cards/card_faults.js';
import type { QpbocCard } from '../../src/cards/qpboc_card.js';
import type { VirtualCard } from '../../src/cards/card_model.js';
import { population } from '../../src/cards/card_population.js';
import { Prng } from '../../src/prng.js';
import { SELECT_PPSE_HEX } from './support/test_terminal.js';
import { hex, toHexT } from './support/tlv_walk.js';

const SELECT_DEBIT = '00A4040008A00000033301010100';
const GPO = '80A8000023832128000080000000000100000000000000015600000000000156250601002B29EBE400';

function faulty(plan: CardFaultPlan): FaultyCard<QpbocCard> {
  const card = withFaults(population(5).card('unionpay-debit-ec'), plan);
  card.powerOn();
  return card;
}

function run(card: VirtualCard, apdus: readonly string[]): (string | null)[] {
  return apdus.map((a) => {
    const r = card.transceive(hex(a));
    return r === null ? null : toHexT(r);
  });
}

describe('removal', () => {
  it('beforeGpo_cardNeverSawIt_atcUnchanged', () => {
    const card = faulty({ faults: [{ kind: 'remove-before-command', command: 3 }] });
    const atc = card.inner.atc();
    const answers = run(card, [SELECT_PPSE_HEX, SELECT_DEBIT, GPO, SELECT_PPSE_HEX]);
    expect(answers.map((a) => a === null)).toEqual([false, false, true, true]);
    expect(card.inner.atc()).toBe(atc);
    expect(card.present()).toBe(false);
    expect(card.lastProcessingMs()).toBe(0);
    expect(card.triggered()).toMatchObject([{ command: 3, processed: false, presentation: 1 }]);
  });

  it('afterGpo_cardProcessedIt_atcAdvanced_answerLost', () => {
    const card = faulty({ faults: [{ kind: 'remove-after-command', command: 3 }] });
    const atc = card.inner.atc();
    const answers = run(card, [SELECT_PPSE_HEX, SELECT_DEBIT, GPO]);
    expect(answers[2]).toBeNull();
    expect(card.inner.atc()).toBe(atc + 1);
    expect(card.inner.pendingDebit()?.amountMinor).toBe(100);
    expect(card.lastProcessingMs()).toBeGreaterThan(0);
  });

  it('afterBytes_crossingInTheCommand_isBeforeProcessing_crossingInTheAnswer_isAfter', () => {
    const probe = faulty({ faults: [] });
    const ppseAnswer = probe.transceive(hex(SELECT_PPSE_HEX))?.length ?? 0;
    const ppseBytes = SELECT_PPSE_HEX.length / 2 + ppseAnswer;
    const selectBytes = SELECT_DEBIT.length / 2;
    const limitEarly = ppseBytes + selectBytes - 1;
    const early = faulty({ faults: [{ kind: 'remove-after-bytes', bytes: limitEarly }] });
    expect(run(early, [SELECT_PPSE_HEX, SELECT_DEBIT])[1]).toBeNull();
    expect(early.triggered()).toMatchObject([{ command: 2, processed: false }]);
    const limitLate = ppseBytes + selectBytes + 5;
    const late = faulty({ faults: [{ kind: 'remove-after-bytes', bytes: limitLate }] });
    expect(run(late, [SELECT_PPSE_HEX, SELECT_DEBIT])[1]).toBeNull();
    expect(late.triggered()).toMatchObject([{ command: 2, processed: true }]);
  });

  it('nextPresentation_restoresTheCard_andPresentationScopesFaults', () => {
    const card = faulty({
      faults: [
        { kind: 'remove-before-command', command: 1 },
        { kind: 'remove-before-command', command: 2, presentation: 2 },
      ],
    });
    expect(run(card, [SELECT_PPSE_HEX])).toEqual([null]);
    card.powerOn();
    const silent = (): boolean[] =>
      run(card, [SELECT_PPSE_HEX, SELECT_PPSE_HEX]).map((a) => a === null);
    expect(silent()).toEqual([false, true]);
    card.powerOn();
    expect(silent()).toEqual([false, false]);
  });
});

describe('glitches', () => {
  it('dropResponse_cardStaysAndKeepsItsState', () => {
    const card = faulty({ faults: [{ kind: 'drop-response', command: 2 }] });
    const answers = run(card, [SELECT_PPSE_HEX, SELECT_DEBIT, GPO]);
    expect(answers[1]).toBeNull();
    expect(answers[2]?.endsWith('9000')).toBe(true);
    expect(card.present()).toBe(true);
  });

  it('corruptResponse_flipsTheChosenByte', () => {
    const clean = run(faulty({ faults: [] }), [SELECT_PPSE_HEX])[0] ?? '';
    const card = faulty({
      faults: [{ kind: 'corrupt-response', command: 1, byteIndex: 2, xorMask: 0xff }],
    });
    const dirty = run(card, [SELECT_PPSE_HEX])[0] ?? '';
    expect(dirty.length).toBe(clean.length);
    const flipped = Number.parseInt(clean.slice(4, 6), 16) ^ 0xff;
    expect(dirty.slice(4, 6)).toBe(flipped.toString(16).padStart(2, '0'));
    expect(dirty.slice(0, 4) + dirty.slice(6)).toBe(clean.slice(0, 4) + clean.slice(6));
  });
});

describe('drawFaultPlan', () => {
  it('sameSeed_samePlan_andBoundsRespected', () => {
    const options = { commandsMax: 10, removalChance: 0.8, glitchChance: 0.5 };
    for (let seed = 0; seed < 50; seed += 1) {
      const a = drawFaultPlan(new Prng(seed), options);
      expect(drawFaultPlan(new Prng(seed), options), `seed=${seed}`).toEqual(a);
      for (const f of a.faults) {
        if ('command' in f) expect(f.command).toBeGreaterThanOrEqual(1);
        if ('command' in f) expect(f.command).toBeLessThanOrEqual(10);
      }
    }
  });
});
