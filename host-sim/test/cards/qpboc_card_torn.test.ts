// Torn transactions (domain.md 4.2-4.3): commit on the last AFL record, GPO-less recovery that
// returns identical bytes and commits exactly once, a new GPO abandoning the pending debit.

import { describe, expect, it } from 'vitest';
import { withFaults } from '../../src/cards/card_faults.js';
import type { VirtualCard } from '../../src/cards/card_model.js';
import { population } from '../../src/cards/card_population.js';
import type { PopulationName } from '../../src/cards/card_population.js';
import type { QpbocCard } from '../../src/cards/qpboc_card.js';
import { Prng } from '../../src/prng.js';
import { testSeeds, withSeed } from './support/seeded.js';
import {
  DEFAULT_TAP,
  SELECT_PPSE_HEX,
  acType,
  aflEntries,
  readRecordApdu,
  runTap,
  send,
} from './support/test_terminal.js';
import type { Tap } from './support/test_terminal.js';
import { hex, toHexT } from './support/tlv_walk.js';

const AID = 'a000000333010101';
const SELECT_DEBIT = '00A4040008A00000033301010100';
const OFFLINE = { ...DEFAULT_TAP, ttqHex: '28000080' };

function aflRecords(tap: Tap): [number, number][] {
  const out: [number, number][] = [];
  for (const [sfi, first, last] of aflEntries(tap.afl ?? new Uint8Array(0))) {
    for (let r = first; r <= last; r += 1) out.push([sfi, r]);
  }
  return out;
}

/** Re-presents the card and re-reads the AFL records without GPO (domain.md 4.4 step 3). */
function rereadWithoutGpo(card: VirtualCard, records: readonly [number, number][]): string[] {
  card.powerOn();
  expect(send(card, SELECT_PPSE_HEX).sw).toBe(0x9000);
  expect(send(card, SELECT_DEBIT).sw).toBe(0x9000);
  return records.map(([sfi, rec]) => {
    const a = send(card, readRecordApdu(sfi, rec));
    expect(a.sw).toBe(0x9000);
    return toHexT(a.data);
  });
}

function freshCard(name: PopulationName = 'unionpay-debit-ec', seed = 3): QpbocCard {
  const card = population(seed).card(name);
  card.powerOn();
  return card;
}

describe('commit on the last AFL record', () => {
  it('allButLastRecordRead_nothingCommitted_debitPending', () => {
    const card = freshCard();
    const balance = card.balanceMinor() ?? 0;
    const full = runTap(freshCard(), AID, OFFLINE);
    const tap = runTap(card, AID, OFFLINE, aflRecords(full).length - 1);
    expect(acType(tap)).toBe('TC');
    expect(card.ledger()).toHaveLength(0);
    expect(card.balanceMinor()).toBe(balance);
    expect(card.pendingDebit()?.amountMinor).toBe(OFFLINE.amountMinor);
  });

  it('lastRecordRead_commitsOnce_rereadInSameSessionDoesNotCommitAgain', () => {
    const card = freshCard();
    const balance = card.balanceMinor() ?? 0;
    const tap = runTap(card, AID, OFFLINE);
    expect(card.ledger()).toHaveLength(1);
    const [sfi, rec] = aflRecords(tap)[aflRecords(tap).length - 1] ?? [0, 0];
    expect(send(card, readRecordApdu(sfi, rec)).sw).toBe(0x9000);
    expect(card.ledger()).toHaveLength(1);
    expect(card.balanceMinor()).toBe(balance - OFFLINE.amountMinor);
    expect(card.ledger()[0]).toMatchObject({ atc: card.atc(), recovered: false, presentation: 1 });
  });
});

describe('torn recovery without GPO', () => {
  it('tornBeforeLastRecord_rereadReturnsIdenticalBytes_andCommitsOnce', () => {
    const reference = runTap(freshCard(), AID, OFFLINE);
    const records = aflRecords(reference);
    const card = freshCard();
    const balance = card.balanceMinor() ?? 0;
    const torn = runTap(card, AID, OFFLINE, records.length - 1);
    const atc = card.atc();
    const first = rereadWithoutGpo(card, records);
    expect(first.slice(0, torn.records.length)).toEqual(torn.records.map(([, , b]) => toHexT(b)));
    expect(card.ledger()).toHaveLength(1);
    expect(card.ledger()[0]).toMatchObject({ atc, recovered: true, presentation: 2 });
    const second = rereadWithoutGpo(card, records);
    expect(second).toEqual(first);
    expect(card.ledger()).toHaveLength(1);
    expect(card.balanceMinor()).toBe(balance - OFFLINE.amountMinor);
    expect(card.atc()).toBe(atc);
  });

  it('tornAfterLastRecordProcessed_cardCommitted_rereadReturnsBackupAndDoesNotCommitAgain', () => {
    // The reference card has the same seed, so it draws the same 9F69 and signs the same SDAD.
    const reference = runTap(freshCard(), AID, OFFLINE);
    const records = aflRecords(reference);
    // PPSE, SELECT, GPO, then the records: the last READ RECORD is command 3 + records.length.
    const faulty = withFaults(population(3).card('unionpay-debit-ec'), {
      faults: [{ kind: 'remove-after-command', command: 3 + records.length }],
    });
    faulty.powerOn();
    const apdus = [SELECT_PPSE_HEX, SELECT_DEBIT, gpoHex()].concat(
      records.map(([s, r]) => readRecordApdu(s, r)),
    );
    const answers = apdus.map((apdu) => faulty.transceive(hex(apdu)));
    expect(answers[answers.length - 1]).toBeNull();
    expect(faulty.present()).toBe(false);
    expect(faulty.triggered()).toMatchObject([{ processed: true, command: 3 + records.length }]);
    expect(faulty.inner.ledger()).toHaveLength(1);
    const committed = faulty.inner.ledger()[0];
    const reread = rereadWithoutGpo(faulty, records);
    expect(reread).toEqual(reference.records.map(([, , b]) => toHexT(b)));
    expect(faulty.inner.ledger()).toEqual([committed]);
  });

  it('newGpoAfterTear_abandonsPendingDebit_andOnlyTheNewTapIsCharged', () => {
    const card = freshCard();
    const balance = card.balanceMinor() ?? 0;
    const full = aflRecords(runTap(freshCard(), AID, OFFLINE));
    runTap(card, AID, OFFLINE, full.length - 1);
    const tornAtc = card.atc();
    expect(card.pendingDebit()).not.toBeNull();
    card.powerOn();
    const second = runTap(card, AID, { ...OFFLINE, amountMinor: 300, unHex: '01020304' });
    expect(acType(second)).toBe('TC');
    expect(card.ledger().map((e) => [e.atc, e.amountMinor])).toEqual([[tornAtc + 1, 300]]);
    expect(card.balanceMinor()).toBe(balance - 300);
    expect(card.pendingDebit()).toBeNull();
  });

  it('rereadAfterArqcWithoutAfl_dynamicRecord6985', () => {
    const card = freshCard();
    runTap(card, AID, { ...DEFAULT_TAP, ttqHex: '26800080' });
    card.powerOn();
    send(card, SELECT_DEBIT);
    expect(send(card, readRecordApdu(3, 5)).sw).toBe(0x6985);
  });
});

/** The GPO a terminal sends for OFFLINE with the standard PDOL (KATA layout). */
function gpoHex(): string {
  const amount = OFFLINE.amountMinor.toString().padStart(12, '0');
  const zeros = (n: number): string => '0'.repeat(n);
  const data = `${OFFLINE.ttqHex}${amount}${zeros(12)}0156${zeros(10)}0156${OFFLINE.dateHex}00`;
  return `80A800002383${'21'}${data}${OFFLINE.unHex}00`;
}

describe('ledger property: random taps, tears and recoveries never charge twice', () => {
  for (const seed of testSeeds([11, 12, 13, 14])) {
    it(`seed${seed}_ledgerMatchesBalanceAndAtcsAreUnique`, () => {
      withSeed(seed, () => {
        const prng = new Prng(seed);
        const card = population(seed).card('unionpay-debit-ec');
        const start = card.balanceMinor() ?? 0;
        let commitsExpected = 0;
        for (let t = 0; t < 12; t += 1) {
          card.powerOn();
          const amount = prng.between(1, 300);
          const input = { ...OFFLINE, amountMinor: amount, unHex: toHexT(prng.bytes(4)) };
          const reference = aflRecords(runTap(freshCard('unionpay-debit-ec', seed), AID, input));
          const readLimit = prng.chance(0.5) ? reference.length : prng.below(reference.length);
          const tap = runTap(card, AID, input, readLimit);
          if (acType(tap) !== 'TC') continue;
          if (readLimit === reference.length) commitsExpected += 1;
          else if (prng.chance(0.5)) {
            rereadWithoutGpo(card, reference);
            commitsExpected += 1;
          }
        }
        const ledger = card.ledger();
        expect(ledger).toHaveLength(commitsExpected);
        expect(new Set(ledger.map((e) => e.atc)).size).toBe(ledger.length);
        const total = ledger.reduce((sum, e) => sum + e.amountMinor, 0);
        expect(card.balanceMinor()).toBe(start - total);
        for (const e of ledger) {
          expect(e.balanceBeforeMinor - e.balanceAfterMinor).toBe(e.amountMinor);
        }
      });
    });
  }
});
