// Both torn behaviours (domain.md 4.3), torn after every command: 'last-record' stages the
// debit and commits at the last AFL record; 'gpo-with-rollback' debits at GPO, confirms at the
// last record and rolls back at the next GPO. Either way a GPO-less re-read recovers the debit
// exactly once and a new tap charges only itself.

import { describe, expect, it } from 'vitest';
import { withFaults } from '../../src/cards/card_faults.js';
import type { VirtualCard } from '../../src/cards/card_model.js';
import { population } from '../../src/cards/card_population.js';
import type { PopulationName } from '../../src/cards/card_population.js';
import type { QpbocCard } from '../../src/cards/qpboc_card.js';
import { testSeeds, withSeed } from './support/seeded.js';
import {
  DEFAULT_TAP,
  SELECT_PPSE_HEX,
  acType,
  aflEntries,
  buildDolData,
  gpoApdu,
  readRecordApdu,
  runTap,
  send,
  tapValue,
  terminalValues,
} from './support/test_terminal.js';
import type { TapInput } from './support/test_terminal.js';
import { hex, toHexT } from './support/tlv_walk.js';

const AID = 'a000000333010101';
const SELECT_DEBIT = '00A4040008A00000033301010100';
const OFFLINE: TapInput = { ...DEFAULT_TAP, ttqHex: '28000080', amountMinor: 250 };
const MODES: readonly (readonly [PopulationName, 'last-record' | 'gpo-with-rollback'])[] = [
  ['unionpay-debit-ec', 'last-record'],
  ['ec-debit-at-gpo', 'gpo-with-rollback'],
];

/** The command list of a full offline tap on `name` (PPSE, SELECT, GPO, every AFL record). */
function tapApdus(name: PopulationName, seed: number): { apdus: string[]; records: number[][] } {
  const reference = population(seed).card(name);
  reference.powerOn();
  const tap = runTap(reference, AID, OFFLINE);
  const records: number[][] = [];
  for (const [sfi, first, last] of aflEntries(tap.afl ?? new Uint8Array(0))) {
    for (let r = first; r <= last; r += 1) records.push([sfi, r]);
  }
  const pdol = hex(reference.profile.applications[0]?.pdolHex ?? '');
  const gpo = gpoApdu(buildDolData(pdol, terminalValues(OFFLINE)));
  const reads = records.map(([sfi, r]) => readRecordApdu(sfi ?? 0, r ?? 0));
  return { apdus: [SELECT_PPSE_HEX, SELECT_DEBIT, gpo, ...reads], records };
}

function ecBalanceByGetData(card: VirtualCard): number {
  card.powerOn();
  expect(send(card, SELECT_DEBIT).sw).toBe(0x9000);
  const answer = send(card, '80CA9F7900');
  expect(answer.sw).toBe(0x9000);
  return Number.parseInt(toHexT(answer.data.slice(3)), 10);
}

function reread(card: VirtualCard, records: readonly number[][]): void {
  card.powerOn();
  expect(send(card, SELECT_DEBIT).sw).toBe(0x9000);
  for (const [sfi, r] of records)
    expect(send(card, readRecordApdu(sfi ?? 0, r ?? 0)).sw).toBe(0x9000);
}

describe('torn after every command, both torn behaviours', () => {
  for (const seed of testSeeds([31])) {
    for (const [name, mode] of MODES) {
      const { apdus, records } = tapApdus(name, seed);
      for (let k = 1; k <= apdus.length; k += 1) {
        for (const next of ['recover', 'new-tap'] as const) {
          if (next === 'recover' && k < 3) continue;
          it(`${mode}_tornAfterCommand${k}_then_${next}_seed${seed}`, () => {
            withSeed(seed, () => tornThen(name, mode, seed, apdus, records, k, next));
          });
        }
      }
    }
  }
});

function tornThen(
  name: PopulationName,
  mode: 'last-record' | 'gpo-with-rollback',
  seed: number,
  apdus: readonly string[],
  records: readonly number[][],
  k: number,
  next: 'recover' | 'new-tap',
): void {
  const card: QpbocCard = population(seed).card(name);
  const faulty = withFaults(card, { faults: [{ kind: 'remove-after-command', command: k }] });
  faulty.powerOn();
  const initial = card.balanceMinor() ?? -1;
  for (const apdu of apdus) if (faulty.transceive(hex(apdu)) === null) break;
  const gpoDone = k >= 3;
  const lastDone = k === apdus.length;
  expect(card.ledger()).toHaveLength(lastDone ? 1 : 0);
  const moved = mode === 'gpo-with-rollback' ? gpoDone : lastDone;
  const visible = moved ? initial - OFFLINE.amountMinor : initial;
  expect(card.balanceMinor()).toBe(visible);
  expect(card.pendingDebit()?.appliedAtGpo ?? null).toBe(
    gpoDone && !lastDone ? mode === 'gpo-with-rollback' : null,
  );
  expect(ecBalanceByGetData(faulty)).toBe(visible);
  if (next === 'recover') {
    reread(faulty, records);
    reread(faulty, records);
    expect(card.ledger()).toHaveLength(1);
    expect(card.ledger()[0]).toMatchObject({ atc: card.atc(), recovered: !lastDone });
    expect(card.balanceMinor()).toBe(initial - OFFLINE.amountMinor);
    expect(card.pendingDebit()).toBeNull();
    return;
  }
  faulty.powerOn();
  const second = runTap(faulty, AID, { ...OFFLINE, amountMinor: 300, unHex: '01020304' });
  expect(acType(second)).toBe('TC');
  const expected = lastDone ? [OFFLINE.amountMinor, 300] : [300];
  expect(card.ledger().map((e) => e.amountMinor)).toEqual(expected);
  const spent = expected.reduce((a, b) => a + b, 0);
  expect(card.balanceMinor()).toBe(initial - spent);
  // 9F5D in the second GPO already showed the final balance.
  const aosa = toHexT(tapValue(second, 0x9f5d) ?? new Uint8Array(0));
  expect(Number.parseInt(aosa, 10)).toBe(initial - spent);
}

describe("'gpo-with-rollback' log and balance", () => {
  it('logRecordWrittenAtGpo_removedByRollback_keptByConfirmation', () => {
    const card = population(32).card('ec-debit-at-gpo');
    card.powerOn();
    const { records } = tapApdus('ec-debit-at-gpo', 32);
    runTap(card, AID, OFFLINE, records.length - 1);
    // The log (SFI 11) already holds the torn debit.
    expect(send(card, readRecordApdu(11, 1)).sw).toBe(0x9000);
    card.powerOn();
    runTap(card, AID, { ...OFFLINE, amountMinor: 120, unHex: 'a1a2a3a4' });
    expect(send(card, readRecordApdu(11, 1)).sw).toBe(0x9000);
    // Rolled back: only the confirmed second debit is in the log.
    expect(send(card, readRecordApdu(11, 2)).sw).toBe(0x6a83);
    expect(card.ledger().map((e) => e.amountMinor)).toEqual([120]);
  });

  it('insufficientAfterRollback_isJudgedOnTheRestoredBalance', () => {
    const card = population(33).card('ec-debit-at-gpo');
    card.powerOn();
    const initial = card.balanceMinor() ?? 0;
    const { records } = tapApdus('ec-debit-at-gpo', 33);
    // A first tap spends all but 1 fen, torn before the last record.
    runTap(card, AID, { ...OFFLINE, amountMinor: initial - 1 }, records.length - 1);
    expect(card.balanceMinor()).toBe(1);
    card.powerOn();
    // The same fare again fits only because the next GPO restores the rollback copy first.
    const again = runTap(card, AID, { ...OFFLINE, amountMinor: initial - 1, unHex: '0a0b0c0d' });
    expect(acType(again)).toBe('TC');
    expect(card.balanceMinor()).toBe(1);
    expect(card.ledger()).toHaveLength(1);
  });
});
