// Torn taps at every step of a transaction, then the re-tap: charged once, recorded once.
//
// The truth is the card's: it commits its EC debit while processing the READ RECORD of its last
// AFL record (domain.md 4.1-4.2), so only a card pulled after that command (answer lost) has
// paid during the torn tap. Whatever the step, the rider sees 请重刷, the re-tap ends approved,
// the card holds exactly one debit and the journal exactly one clearing record for it.

import { describe, expect, it } from 'vitest';
import { issuerAccountsOf } from '../../src/acquirer_sim/issuer_accounts.js';
import { issuerCheckCryptogram } from '../../src/acquirer_sim/issuer_cryptogram.js';
import { issuerTlvParse } from '../../src/acquirer_sim/issuer_tlv.js';
import type { CardFault } from '../../src/cards/card_faults.js';
import { population, type PopulationName } from '../../src/cards/card_population.js';
import { createCard } from '../../src/cards/qpboc_card.js';
import type { VirtualCard } from '../../src/cards/card_model.js';
import { Prng } from '../../src/prng.js';
import { testPki } from '../../src/pki/test_pki.js';
import { riderPool, type RiderCard, type RiderPool } from '../../src/sim/bus_riders.js';
import {
  createSimBoardOn,
  SIM_BOOT_FIRST,
  type SimBoardRebooted,
} from '../../src/sim/sim_restart.js';
import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import type { ClearingRecord } from '../../../firmware/src/app/journal/journal_records.js';
import type { ValidatorConfig } from '../../../firmware/src/app/validator/validator_ports.js';
import { cardOf, cleanTapCommands } from './support/clean_tap.js';
import { checkLedgersAgainstJournal, panOfDebit } from './support/ledger_journal.js';
import {
  boardOptions,
  runRides,
  testSeed,
  type Ride,
  type RideLine,
} from './support/sim_ride.js';

const SEED = testSeed(11);
const TRY_AGAIN_TEXT = '请重刷';

type PullKind = 'remove-before-command' | 'remove-after-command';

interface Line {
  readonly board: SimBoardRebooted;
  readonly pool: RiderPool;
}

async function line(groups: number, mode: ValidatorConfig['mode']): Promise<Line> {
  const pool = riderPool(SEED, groups, testPki());
  return { board: await createSimBoardOn(SIM_BOOT_FIRST, boardOptions(SEED, pool, mode)), pool };
}

function ride(card: RiderCard, faults: readonly CardFault[] = []): Ride {
  return { card, gapMs: 1_500, holdMs: 400, faults };
}

/** Runs one ride to its end and returns its line (no power cut in these tests). */
async function tap(board: SimBoardRebooted, one: Ride): Promise<RideLine> {
  const result = await runRides(board, [one]);
  const first = result.lines[0];
  if (first === undefined || result.cutDuring !== null) throw new Error('the ride did not end');
  return first;
}

/** Clearing records of the card's PAN in the durable journal. */
function clearingsOf(board: SimBoardRebooted, card: RiderCard): ClearingRecord[] {
  const apps = card.card.profile.applications;
  const pan = apps.find((a) => a.aidHex.toUpperCase().startsWith('A000000333'))?.pan;
  const token = pan === undefined ? null : board.panVault.token(pan);
  const scan = journalScanFiles(board.storage.durableFiles(), JOURNAL_FILE_NAME, true);
  return scan.records.flatMap((r) =>
    r.entry.kind === 'final' && r.entry.clearing.card.panToken === token ? [r.entry.clearing] : [],
  );
}

function expectTryAgain(torn: RideLine, where: string): void {
  expect(torn.report?.result, where).toBe('tryAgain');
  expect(torn.screen, where).toContain(TRY_AGAIN_TEXT);
  expect(torn.signal, where).toBe('tryAgain');
}

function expectClean(l: Line, where: string): void {
  const check = checkLedgersAgainstJournal(l.pool.cards, l.board);
  expect(check.violations, where).toEqual([]);
  expect(l.board.kernel.faultCount(), where).toBe(0);
}

/** One torn tap of the EC debit card and its re-tap, on a fresh board and a fresh card. */
async function tornThenRetap(kind: PullKind, command: number, lastCommand: number): Promise<void> {
  const where = `${kind} ${command} of ${lastCommand}, seed ${SEED}`;
  const l = await line(1, 'ec');
  try {
    const card = cardOf(l.pool.cards, 'unionpay-debit-ec');
    const torn = await tap(l.board, ride(card, [{ kind, command }]));
    expectTryAgain(torn, where);
    const paidOnTornTap = kind === 'remove-after-command' && command === lastCommand;
    expect(card.card.ledger().length, `debits after the torn tap: ${where}`).toBe(
      paidOnTornTap ? 1 : 0,
    );
    const again = await tap(l.board, ride(card));
    expect(again.report?.result, where).toBe('approved');
    // Once the committing READ RECORD was sent, the terminal cannot tell whether the card got
    // it (domain.md 4.2 rows 2-3): the re-tap finishes that transaction without a new GPO,
    // and the card commits then if it had not (a GPO-less commit).
    const lastSent = command === lastCommand;
    expect(again.report?.recovered, where).toBe(lastSent);
    const ledger = card.card.ledger();
    expect(ledger.length, `debits after the re-tap: ${where}`).toBe(1);
    expect(ledger[0]?.recovered, where).toBe(lastSent && !paidOnTornTap);
    const clearings = clearingsOf(l.board, card);
    expect(clearings.length, where).toBe(1);
    expect(clearings[0]?.atc, where).toBe(ledger[0]?.atc);
    const panDebited = panOfDebit(card, ledger[0]?.aidHex ?? '');
    expect(clearings[0]?.card.panToken, where).toBe(l.board.panVault.token(panDebited));
    // The issuer recomputes the TC from field 55 with the card's MK_AC: a recovered debit's
    // record must carry the TVR the card's TC covers (it carried 'ODA not performed', set
    // when the tap tore: declined at clearing, the paid fare a debt, the card deny-listed).
    const account = [...issuerAccountsOf([[card.name, card.card.profile]], SEED).values()]
      .find((a) => a.pan === panDebited);
    const tlv = issuerTlvParse(Buffer.from(clearings[0]?.iccDataHex ?? '', 'hex'));
    if (account === undefined || tlv === null) throw new Error(`no account or TLV: ${where}`);
    expect(issuerCheckCryptogram(account, tlv, 'TC'), where).toBe('ok');
    const check = checkLedgersAgainstJournal(l.pool.cards, l.board);
    expect(check.uncertainLeft, where).toEqual([]);
    expectClean(l, where);
  } finally {
    l.board.dispose();
  }
}

async function commandsOfCleanTap(name: PopulationName, mode: ValidatorConfig['mode']) {
  const clean = await cleanTapCommands(SEED, name, mode);
  const expected = mode === 'ec' ? 'approved' : 'admitted';
  expect(clean.report?.result, `clean tap of ${name}, seed ${SEED}`).toBe(expected);
  return clean.commands;
}

/** The kernel's torn record with another format version (DF8101), as another build wrote it. */
function otherKernelVersion(tornRecordHex: string): string {
  expect(tornRecordHex.startsWith('DF81010101')).toBe(true);
  return `DF81010102${tornRecordHex.slice(10)}`;
}

/**
 * The card, except that after `afterPresentations` presentations the answer to the first
 * READ RECORD after GET DATA 9F36 (a recovery's committing re-read) comes back with 6985 for
 * its status word, after the card processed it: damage on the way back that no checksum caught.
 */
function committingAnswerDamaged(inner: VirtualCard, afterPresentations: number): VirtualCard {
  let presentation = 0;
  let atcAsked = false;
  let damaged = false;
  return {
    label: inner.label,
    identity: () => inner.identity(),
    powerOn: () => {
      presentation += 1;
      atcAsked = false;
      inner.powerOn();
    },
    lastProcessingMs: () => inner.lastProcessingMs(),
    transceive: (capdu) => {
      const answer = inner.transceive(capdu);
      if (capdu[0] === 0x80 && capdu[1] === 0xca) atcAsked = true;
      if (answer === null || damaged || presentation <= afterPresentations || !atcAsked
        || capdu[1] !== 0xb2) return answer;
      damaged = true;
      return Uint8Array.of(...answer.subarray(0, answer.length - 2), 0x69, 0x85);
    },
  };
}

/**
 * A fresh EC line whose debit card tore as its committing READ RECORD was sent: staged on the
 * card, not committed, an uncertain tap in the journal.
 */
async function stagedTear(): Promise<{ l: Line; card: RiderCard }> {
  const commands = await commandsOfCleanTap('unionpay-debit-ec', 'ec');
  const l = await line(1, 'ec');
  try {
    const card = cardOf(l.pool.cards, 'unionpay-debit-ec');
    const torn = await tap(l.board, ride(card, [{ kind: 'remove-before-command',
      command: commands }]));
    expectTryAgain(torn, `torn tap, seed ${SEED}`);
    expect(card.card.ledger(), `staged, not committed, seed ${SEED}`).toEqual([]);
    return { l, card };
  } catch (error) {
    l.board.dispose();
    throw error;
  }
}

/** Nothing left uncertain, the cards' ledgers match the journal, the kernel never trapped. */
function expectSettled(l: Line, where: string): void {
  expect(l.board.journal.uncertainAll(), where).toEqual([]);
  expectClean(l, where);
}

describe(`a recovery whose committing answer is damaged (seed ${SEED})`, () => {
  it('asks again and finishes the committed debit once', async () => {
    const { l, card } = await stagedTear();
    try {
      const damaged = { ...card, card: committingAnswerDamaged(card.card, 0) } as RiderCard;
      const again = await tap(l.board, ride(damaged));
      const where = `re-tap: ${again.report?.result} ${again.report?.reason}, seed ${SEED}`;
      expect(card.card.ledger().length, where).toBe(1);
      expect(card.card.ledger()[0]?.recovered, where).toBe(true);
      expect(again.report?.result, where).toBe('approved');
      expect(again.report?.recovered, where).toBe(true);
      expect(clearingsOf(l.board, card).map((c) => c.atc), where)
        .toEqual([card.card.ledger()[0]?.atc]);
      expectSettled(l, where);
    } finally {
      l.board.dispose();
    }
  });
});

describe(`a torn record this kernel cannot load (seed ${SEED})`, () => {
  it('is left to the back office, and the card is served, not told to try again', async () => {
    const { l, card } = await stagedTear();
    try {
      const [first] = l.board.journal.uncertainAll();
      if (first === undefined) throw new Error('no uncertain tap');
      // Another build's record of the same tap: newer, so tried first.
      const written = await l.board.journal.append({ kind: 'torn', pendingSeq: null,
        recovery: { ...first.recovery, tornRecordHex: otherKernelVersion(
          first.recovery.tornRecordHex) }, uncertain: true, reason: 'another build' });
      if (!written.ok) throw new Error(written.detail);
      const again = await tap(l.board, ride(card));
      const where = `re-tap: ${again.report?.reason}, seed ${SEED}`;
      expect(again.report?.result, where).toBe('approved');
      expect(again.report?.recovered, where).toBe(true);
      expect(card.card.ledger().length, where).toBe(1);
      const refused = l.board.logs.filter((e) => e['event'] === 'recovery-record-refused');
      expect(refused.map((e) => e['seq']), where).toEqual([written.value.seq]);
      const scan = journalScanFiles(l.board.storage.durableFiles(), JOURNAL_FILE_NAME, true);
      const reconciled = scan.records.flatMap((r) => r.entry.kind === 'reconciled'
        ? [[r.entry.targetSeq, r.entry.outcome]] : []);
      expect(reconciled, where).toEqual([[written.value.seq, 'unresolved']]);
      expectSettled(l, where);
    } finally {
      l.board.dispose();
    }
  });
});

describe(`EC debit card torn at every step (seed ${SEED})`, () => {
  it('re-tap after a pull before or after any command charges exactly once', async () => {
    const commands = await commandsOfCleanTap('unionpay-debit-ec', 'ec');
    // SELECT PPSE, SELECT AID, GPO and at least one READ RECORD.
    expect(commands).toBeGreaterThanOrEqual(4);
    for (const kind of ['remove-before-command', 'remove-after-command'] as const) {
      for (let command = 1; command <= commands; command += 1) {
        await tornThenRetap(kind, command, commands);
      }
    }
  });

  it('recovers the torn card after a different card had a normal tap in between', async () => {
    const commands = await commandsOfCleanTap('unionpay-debit-ec', 'ec');
    const l = await line(1, 'ec');
    const where = `seed ${SEED}`;
    try {
      const a = cardOf(l.pool.cards, 'unionpay-debit-ec');
      const b = cardOf(l.pool.cards, 'unionpay-credit-ec');
      const pull: CardFault = { kind: 'remove-after-command', command: commands };
      expectTryAgain(await tap(l.board, ride(a, [pull])), where);
      const other = await tap(l.board, ride(b));
      expect(other.report?.result, where).toBe('approved');
      expect(other.report?.recovered, where).toBe(false);
      expect(b.card.ledger().length, where).toBe(1);
      const again = await tap(l.board, ride(a));
      expect(again.report?.result, where).toBe('approved');
      expect(again.report?.recovered, where).toBe(true);
      expect(a.card.ledger().length, where).toBe(1);
      expect(clearingsOf(l.board, a).length, where).toBe(1);
      expect(clearingsOf(l.board, b).length, where).toBe(1);
      expect(checkLedgersAgainstJournal(l.pool.cards, l.board).uncertainLeft).toEqual([]);
      expectClean(l, where);
    } finally {
      l.board.dispose();
    }
  });
});

/**
 * A phone carrying an EC debit application: the population's debit card personalised behind a
 * phone's RF front end (a random UID at every activation). Its own population seed gives it a
 * PAN of its own.
 */
function ecPhone(seed: number): RiderCard {
  const pop = population(seed);
  const profile = {
    ...pop.profiles['unionpay-debit-ec'],
    rf: pop.profiles['phone-wallet'].rf,
    label: `ec-phone-${seed}`,
  };
  return {
    name: 'unionpay-debit-ec',
    card: createCard(profile, { prng: new Prng(seed).fork('ec-phone'), pki: testPki() }),
  };
}

describe(`EC phones with random UIDs torn (seed ${SEED})`, () => {
  /** A failed try at another phone's recovery costs SELECT AID + GET DATA 9F36. */
  const RECOVERY_TRY_COMMANDS = 2;

  it('recovers a torn phone after another phone tapped in between', async () => {
    const commands = await commandsOfCleanTap('unionpay-debit-ec', 'ec');
    const l = await line(1, 'ec');
    const [a, b] = [ecPhone(SEED * 7 + 1), ecPhone(SEED * 7 + 2)];
    const where = `seed ${SEED}`;
    try {
      const pull: CardFault = { kind: 'remove-after-command', command: commands };
      expectTryAgain(await tap(l.board, ride(a, [pull])), `phone A torn: ${where}`);
      expect(a.card.ledger().length, `A paid on its torn tap: ${where}`).toBe(1);
      // B's different ATC says nothing about A's debit: B pays, A's tap stays open.
      const other = await tap(l.board, ride(b));
      expect(other.report?.result, `phone B: ${where}`).toBe('approved');
      expect(other.report?.recovered, `phone B: ${where}`).toBe(false);
      const again = await tap(l.board, ride(a));
      expect(again.report?.result, `phone A again: ${where}`).toBe('approved');
      expect(again.report?.recovered, `phone A again: ${where}`).toBe(true);
      expect(a.card.ledger().length, `phone A: ${where}`).toBe(1);
      expect(b.card.ledger().length, `phone B: ${where}`).toBe(1);
      const check = checkLedgersAgainstJournal([...l.pool.cards, a, b], l.board);
      expect(check.violations, where).toEqual([]);
      expect(check.uncertainLeft, where).toEqual([]);
    } finally {
      l.board.dispose();
    }
  });

  it('recovers two phones torn one after the other, the older re-tapping first', async () => {
    const commands = await commandsOfCleanTap('unionpay-debit-ec', 'ec');
    const l = await line(1, 'ec');
    const [a, b] = [ecPhone(SEED * 7 + 3), ecPhone(SEED * 7 + 4)];
    const where = `seed ${SEED}`;
    try {
      const pullA: CardFault = { kind: 'remove-after-command', command: commands };
      expectTryAgain(await tap(l.board, ride(a, [pullA])), `phone A torn: ${where}`);
      // B first tries (and fails) to finish A's tap, then runs its own transaction.
      const pullB: CardFault = {
        kind: 'remove-after-command',
        command: commands + RECOVERY_TRY_COMMANDS,
      };
      expectTryAgain(await tap(l.board, ride(b, [pullB])), `phone B torn: ${where}`);
      expect([a.card.ledger().length, b.card.ledger().length], `both paid: ${where}`).toEqual([
        1, 1,
      ]);
      // A's re-tap meets B's newer tap first: it must go on to its own, not charge A again.
      for (const phone of [a, b]) {
        const again = await tap(l.board, ride(phone));
        expect(again.report?.result, `${phone.card.label} again: ${where}`).toBe('approved');
        expect(again.report?.recovered, `${phone.card.label} again: ${where}`).toBe(true);
      }
      expect([a.card.ledger().length, b.card.ledger().length], where).toEqual([1, 1]);
      const check = checkLedgersAgainstJournal([...l.pool.cards, a, b], l.board);
      expect(check.violations, where).toEqual([]);
      expect(check.uncertainLeft, where).toEqual([]);
    } finally {
      l.board.dispose();
    }
  });
});

/** Every phone of the pool (random UID per tap, online ODA application). */
function phones(pool: RiderPool): RiderCard[] {
  return pool.cards.filter((c) => c.name === 'phone-wallet');
}

describe(`phone wallet in ODA mode torn (seed ${SEED})`, () => {
  it('admits the re-tap with one clearing record after a pull at any step', async () => {
    const commands = await commandsOfCleanTap('phone-wallet', 'oda');
    for (const kind of ['remove-before-command', 'remove-after-command'] as const) {
      for (let command = 1; command <= commands; command += 1) {
        const where = `phone ${kind} ${command} of ${commands}, seed ${SEED}`;
        const l = await line(1, 'oda');
        try {
          const phone = phones(l.pool)[0];
          if (phone === undefined) throw new Error('no phone');
          expectTryAgain(await tap(l.board, ride(phone, [{ kind, command }])), where);
          const again = await tap(l.board, ride(phone));
          expect(again.report?.result, where).toBe('admitted');
          // ODA moves no value on the card: the ARQC goes to the back office, once.
          expect(phone.card.ledger(), where).toEqual([]);
          const clearings = clearingsOf(l.board, phone);
          expect(clearings.map((c) => c.cryptogramType), where).toEqual(['ARQC']);
          const check = checkLedgersAgainstJournal(l.pool.cards, l.board);
          // What stays uncertain is the torn tap's own ATC, for the back office to dedupe.
          const admittedKey = `${clearings[0]?.card.panToken}/${clearings[0]?.atc}`;
          expect(check.uncertainLeft, where).not.toContain(admittedKey);
          expectClean(l, where);
        } finally {
          l.board.dispose();
        }
      }
    }
  });

  it('lets another phone through, then admits the torn phone on its re-tap', async () => {
    const commands = await commandsOfCleanTap('phone-wallet', 'oda');
    const l = await line(2, 'oda');
    const where = `seed ${SEED}`;
    try {
      const [a, b] = phones(l.pool);
      if (a === undefined || b === undefined) throw new Error('two phones needed');
      const pull: CardFault = { kind: 'remove-after-command', command: commands };
      expectTryAgain(await tap(l.board, ride(a, [pull])), where);
      const other = await tap(l.board, ride(b));
      expect(other.report?.result, `another phone after a torn one: ${where}`).toBe('admitted');
      const again = await tap(l.board, ride(a));
      expect(again.report?.result, `the torn phone again: ${where}`).toBe('admitted');
      expect(clearingsOf(l.board, a).length, where).toBe(1);
      expect(clearingsOf(l.board, b).length, where).toBe(1);
      expectClean(l, where);
    } finally {
      l.board.dispose();
    }
  });
});
