// The money-per-card checker: three hand-made records of the same money (journal, depot,
// issuer) that agree, then each broken the way a defect would break it, and the checker must
// name the card. The truth is the hand-made day below, worked out by hand.

import { describe, expect, it } from 'vitest';

import type { IssuerMovement } from '../../src/acquirer_sim/issuer_accounts.js';
import {
  cardMoneyLines, cardMoneyOf, type DepotDebtRow, type DepotTapRow, type IssuerView,
  type TappedLine,
} from '../../src/sim/sim_money_summary.js';

const A = '6234560000000011';
const B = '6258070000000029';
const token = (pan: string): string => `tok-${pan}`;
const kindOf = (pan: string): string => (pan === A ? 'unionpay-debit-ec' : 'stock-credit-cda');

/** Card A: one e-cash tap (TC) and one admission; card B: two admissions, the first declined. */
function day(): {
  tapped: TappedLine[];
  taps: DepotTapRow[];
  debts: DepotDebtRow[];
  issuer: IssuerView;
} {
  const tapped: TappedLine[] = [
    { seq: 1, pan: A, psn: '01', atc: 7, amountMinor: 200, cryptogramType: 'TC' },
    { seq: 2, pan: B, psn: '00', atc: 3, amountMinor: 200, cryptogramType: 'ARQC' },
    { seq: 3, pan: A, psn: '01', atc: 8, amountMinor: 200, cryptogramType: 'ARQC' },
    { seq: 5, pan: B, psn: '00', atc: 4, amountMinor: 200, cryptogramType: 'ARQC' },
  ];
  const states = ['cleared', 'declined', 'authorised', 'new'];
  const taps = tapped.map((t, i) => ({ seq: t.seq, panToken: token(t.pan), psn: t.psn,
    amountMinor: t.amountMinor, cryptogramType: t.cryptogramType, state: states[i] ?? '' }));
  const debts = [{ panToken: token(B), psn: '00', amountMinor: 200, state: 'open',
    denyEntries: 1 }];
  const move = (pan: string, psn: number, amountMinor: number,
    kind: IssuerMovement['kind']): IssuerMovement =>
    ({ pan, psn, amountMinor, kind, terminalId: 'SIM00001', stan: '000001' });
  const issuer: IssuerView = {
    movements: [move(A, 1, -200, 'clearing'), move(A, 1, -200, 'authorisation')],
    balanceBefore: new Map([[`${A}/1`, 5000], [`${B}/0`, 0]]),
    balanceAfter: new Map([[`${A}/1`, 4800], [`${B}/0`, 0]]),
  };
  return { tapped, taps, debts, issuer };
}

function check(d: ReturnType<typeof day>): { violations: string[]; lines: string[] } {
  const result = cardMoneyOf(d.tapped, { taps: d.taps, debts: d.debts }, d.issuer,
    { token, kindOf });
  return { violations: result.violations, lines: cardMoneyLines(result.cards) };
}

describe('money per card checker', () => {
  it('agreeingRecords_reconcileWithoutViolation', () => {
    const { violations, lines } = check(day());
    expect(violations).toEqual([]);
    const text = lines.join('\n');
    expect(text).toMatch(
      /623456\*{6}0011 +unionpay-debit-ec +2 ¥4\.00 +1 ¥2\.00 +1 ¥2\.00 +¥4\.00 +- +-/);
    expect(text).toMatch(
      /625807\*{6}0029 +stock-credit-cda +2 ¥4\.00 +- +- +- +1 ¥2\.00, deny +1 ¥2\.00/);
    expect(text).toContain('reconciled: tapped ¥8.00 = settled ¥4.00 + declined ¥2.00 '
      + '(open debt ¥2.00) + outstanding ¥2.00');
  });

  it('anIssuerChargeNoTapExplains_isAViolation', () => {
    const d = day();
    const movements = d.issuer.movements as IssuerMovement[];
    movements.push({ ...movements[1] as IssuerMovement, stan: '000009' });
    const text = check(d).violations.join('\n');
    expect(text).toMatch(/623456\*+0011.*issuer charged ¥6\.00, the depot settled ¥4\.00/);
    expect(text).toContain('the issuer applied 3 charges for 2 settled taps');
  });

  it('aTapTheDepotNeverStored_isAViolation', () => {
    const d = day();
    d.taps.splice(2, 1);
    expect(check(d).violations.join('\n')).toMatch(/tapped 2 \(¥4\.00\), the depot counts 1/);
  });

  it('aChargeSplitInTwo_sameMoney_isAViolation', () => {
    const d = day();
    const movements = d.issuer.movements as IssuerMovement[];
    const half = { ...movements[1] as IssuerMovement, amountMinor: -100 };
    movements.splice(1, 1, half, { ...half, stan: '000002' });
    const text = check(d).violations.join('\n');
    expect(text).toContain('the issuer applied 3 charges for 2 settled taps');
    expect(text).not.toContain('issuer charged');
  });

  it('aBalanceThatMovedForAnEcashClearing_isAViolation', () => {
    const d = day();
    (d.issuer.balanceAfter as Map<string, number>).set(`${A}/1`, 4600);
    expect(check(d).violations.join('\n')).toMatch(/account fell by ¥4\.00, authorised ¥2\.00/);
  });

  it('aDeclineWithoutItsDebtOrDenyEntry_isAViolation', () => {
    const d = day();
    d.debts[0] = { ...d.debts[0] as DepotDebtRow, denyEntries: 0 };
    expect(check(d).violations.join('\n')).toContain('a debt off the deny list');
    d.debts.splice(0, 1);
    const text = check(d).violations.join('\n');
    expect(text).toContain('debt ¥0.00 for ¥2.00 declined');
    expect(text).toContain('1 taps left unsettled without a debt');
  });

  it('aDuplicateAtTheDepotOrAnUnknownCard_isAViolation', () => {
    const d = day();
    d.taps.push({ ...d.taps[0] as DepotTapRow, seq: 9, state: 'duplicate' });
    d.taps.push({ ...d.taps[0] as DepotTapRow, seq: 10, panToken: 'tok-other' });
    const text = check(d).violations.join('\n');
    expect(text).toContain('depot seq 9: stored as a duplicate');
    expect(text).toContain('a card the journal never tapped');
  });
});
