// T-Union cards on the running validator: the production Validator loop on the simulated board
// (PN532 emulator, PSAM emulator in its slot, DWIN screen, power-cut storage), a virtual
// T-Union card tapped in and out, torn at every step, and a power cut at DEBIT with a reboot.
//
// Truths: the card's own debit list and balance (what it committed), the journal read back
// from the medium by its scanner, the TAC checked by the depot's verifier with the issuer key,
// and the screen as the DWIN emulator decoded it. A grey record must be durable when DEBIT
// reaches the card; a debit must have exactly one final record; a re-tap never charges again.

import { describe, expect, it } from 'vitest';
import { jtt978TacVerify } from '../../../depot/src/tunion/jtt978_tac.js';
import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import type { JournalRecord } from '../../../firmware/src/app/journal/journal_records.js';
import type { TunionFinalEntry } from '../../../firmware/src/app/journal/journal_tunion.js';
import type { CardFault } from '../../src/cards/card_faults.js';
import type { VirtualCard } from '../../src/cards/card_model.js';
import type { TunionCard } from '../../src/cards/tunion_card.js';
import { tunionCardOfGroup, type TunionName } from '../../src/cards/tunion_population.js';
import { population } from '../../src/cards/card_population.js';
import { testPki } from '../../src/pki/test_pki.js';
import { issuerMasterFromRoot } from '../../src/psam/pboc_epurse_crypto.js';
import { PsamEmulator } from '../../src/psam/psam_emulator.js';
import { TEST_ISSUER_ID, testMasterKey, testPsamProfile } from '../../src/psam/psam_profile.js';
import { riderPool, type TunionRiderCard } from '../../src/sim/bus_riders.js';
import { BUS_RUN_DEFAULT } from '../../src/sim/bus_run.js';
import type { SimBoardOptions } from '../../src/sim/sim_board.js';
import { busBoardOptions } from '../../src/sim/sim_board_parts.js';
import {
  createSimBoardOn,
  SIM_BOOT_FIRST,
  type SimBoardRebooted,
} from '../../src/sim/sim_restart.js';
import { SimRoute, type SimTunionOptions } from '../../src/sim/sim_tunion.js';
import {
  countingCard, runRides, testSeed, withTransceive, type RideLine,
} from './support/sim_ride.js';

const SEED = testSeed(12);
const TAC_MASTER = issuerMasterFromRoot(testMasterKey('tac-root'), TEST_ISSUER_ID);
/** L101 fares (sim_tunion.ts): boarding at 3, alighting at 8 = 5 stops = band "up to 7". */
const FARE_3_TO_8 = 300;

interface Line {
  readonly board: SimBoardRebooted;
  readonly route: SimRoute;
  readonly options: SimBoardOptions;
}

function tunionOf(options: SimBoardOptions): SimTunionOptions {
  const tunion = options.tunion ?? null;
  if (tunion === null) throw new Error('no T-Union options');
  return tunion;
}

async function line(extra: Partial<SimTunionOptions> = {}): Promise<Line> {
  const route = new SimRoute('SIM-B101', 0);
  const pool = riderPool(SEED, 1, testPki(), 'default', true);
  const base = busBoardOptions({ ...BUS_RUN_DEFAULT, seed: SEED, mode: 'auto' }, pool, route);
  const options = {
    ...base,
    tunion: { ...tunionOf(base), emulator: new PsamEmulator(testPsamProfile()), ...extra },
  };
  return { board: await createSimBoardOn(SIM_BOOT_FIRST, options), route, options };
}

function rider(name: TunionName, card: VirtualCard): TunionRiderCard {
  return { name, card: card as TunionCard };
}

async function tapAt(
  l: Line,
  stop: number,
  card: TunionRiderCard,
  faults: readonly CardFault[] = [],
  gapMs = 12_000,
): Promise<RideLine> {
  l.route.stop = stop;
  const result = await runRides(l.board, [{ card, gapMs, holdMs: 400, faults }]);
  const first = result.lines[0];
  if (first === undefined) throw new Error('the ride did not end');
  return first;
}

function records(board: SimBoardRebooted): JournalRecord[] {
  const scan = journalScanFiles(board.storage.durableFiles(), JOURNAL_FILE_NAME, true);
  expect(scan.corruption).toBeNull();
  return scan.records;
}

function finals(board: SimBoardRebooted): TunionFinalEntry[] {
  return records(board).flatMap((r) => (r.entry.kind === 'tunion_final' ? [r.entry] : []));
}

function tacOf(f: TunionFinalEntry): string {
  return jtt978TacVerify({
    issuerIdHex: f.card.issuerIdHex, applicationSerialHex: f.card.serialDigits,
    amountMinor: f.purchase.amountMinor, transactionType: f.purchase.transactionType,
    terminalNumberHex: f.purchase.terminalNumberHex, terminalSerial: f.purchase.terminalSerial,
    dateTimeDigits: f.purchase.dateTimeDigits, tacHex: f.tacHex,
  }, () => TAC_MASTER);
}

/** A card that, when DEBIT FOR PURCHASE reaches it, notes what the journal medium holds. */
function debitWatch(inner: TunionCard, board: () => SimBoardRebooted)
  : VirtualCard & { greysAtDebit: number[] } {
  const greysAtDebit: number[] = [];
  return {
    label: inner.label,
    identity: () => inner.identity(),
    powerOn: () => inner.powerOn(),
    transceive: (capdu) => {
      if (capdu[0] === 0x80 && capdu[1] === 0x54) {
        const open = records(board()).filter((r) => r.entry.kind === 'tunion_grey').length;
        greysAtDebit.push(open);
      }
      return inner.transceive(capdu);
    },
    lastProcessingMs: () => inner.lastProcessingMs(),
    greysAtDebit,
  };
}

/** The invariant of every scenario: one final per debit, matching it, TAC valid. */
function expectCharged(board: SimBoardRebooted, card: TunionCard, amounts: readonly number[]) {
  const before = card.profile.balanceMinor;
  expect(card.debits().map((d) => d.amountMinor)).toEqual(amounts);
  expect(card.balanceMinor()).toBe(before - amounts.reduce((a, b) => a + b, 0));
  const written = finals(board);
  expect(written.map((f) => f.purchase.amountMinor)).toEqual(amounts);
  expect(written.map((f) => f.purchase.atc + 1)).toEqual(card.debits().map((d) => d.atc));
  expect(written.map((f) => f.tacHex)).toEqual(card.debits().map((d) => d.tac.toUpperCase()));
  for (const f of written) expect(tacOf(f)).toBe('valid');
  expect(board.journal.tunionOpenGreys()).toEqual([]);
}

describe('T-Union cards on the running validator', () => {
  it('boards and alights: grey record durable at DEBIT, final with TAC, 上车/下车 on screen',
    async () => {
      const l = await line();
      try {
        const card = tunionCardOfGroup(SEED, 'tunion-interop-shenzhen', 0);
        const watched = debitWatch(card, () => l.board);
        const on = await tapAt(l, 3, rider('tunion-interop-shenzhen', watched));
        expect(on.report?.result).toBe('approved');
        expect(on.screen).toBe('上车成功 / 扣款 0.00元 / 余额 50.00元 / 上车站 3');
        const off = await tapAt(l, 8, rider('tunion-interop-shenzhen', watched));
        expect([off.report?.result, off.report?.amountMinor, off.report?.fareRule]).toEqual(
          ['approved', FARE_3_TO_8, 'tunion-alighting']);
        expect(off.screen).toBe('下车成功 / 扣款 3.00元 / 余额 47.00元 / 下车站 8');
        expect(off.signal).toBe('approved');
        // At each DEBIT the medium already held that purchase's grey record (1, then 2).
        expect(watched.greysAtDebit).toEqual([1, 2]);
        expectCharged(l.board, card, [0, FARE_3_TO_8]);
        const kinds = records(l.board).map((r) => r.entry.kind);
        expect(kinds).toEqual(['tunion_grey', 'tunion_final', 'tunion_grey', 'tunion_final']);
        expect(finals(l.board).map((f) => [f.greySeq, f.ride.boardingStop, f.ride.alightingStop]))
          .toEqual([[1, 3, 0], [3, 3, 8]]);
      } finally {
        l.board.dispose();
      }
    });

  it('refuses boarding with a balance below the lowest fare (余额不足), writing nothing',
    async () => {
      // 1.50 on the card, L101's shortest ride 2.00: it boarded at 0.00 and rode free, its
      // exit refused by the card's 9401.
      const l = await line();
      try {
        const card = tunionCardOfGroup(SEED, 'tunion-low-balance', 0);
        expect(card.balanceMinor()).toBe(150);
        const on = await tapAt(l, 3, rider('tunion-low-balance', card));
        // The screen of the card's own 9401 (insufficient-balance, 23).
        expect([on.report?.result, on.screen]).toEqual(['declined',
          '交易失败 / 余额不足 / 代码 01-23']);
        expect(card.debits()).toEqual([]);
        expect(records(l.board)).toEqual([]);
      } finally {
        l.board.dispose();
      }
    });

  it('a failed journal write refuses that tap, then the journal reopens: the next is taken',
    async () => {
      // FAILED until the process restarted: every later rider refused, the cause long gone.
      const l = await line();
      try {
        const card = tunionCardOfGroup(SEED, 'tunion-interop-shenzhen', 0);
        l.board.storage.armIoError(1);
        const failed = await tapAt(l, 3, rider('tunion-interop-shenzhen', card));
        expect(failed.report?.result).not.toBe('approved');
        expect(card.debits()).toEqual([]);
        const next = await tapAt(l, 3, rider('tunion-interop-shenzhen', card));
        expect(next.report?.result).toBe('approved');
        expectCharged(l.board, card, [0]);
      } finally {
        l.board.dispose();
      }
    });

  it('with the bus lost (stop 0) asks for another card and debits nothing', async () => {
    const l = await line({});
    try {
      const card = tunionCardOfGroup(SEED, 'tunion-interop-beijing', 0);
      const tap = await tapAt(l, 0, rider('tunion-interop-beijing', card));
      expect(tap.report?.result).toBe('notAccepted');
      expect(tap.screen).toBe('交易失败 / 请使用其他卡 / 代码 07-77');
      expect(card.debits()).toEqual([]);
    } finally {
      l.board.dispose();
    }
  });

  it('without a PSAM refuses a T-Union card with its own screen and log line', async () => {
    const l = await line({ slotEmpty: true });
    try {
      const card = tunionCardOfGroup(SEED, 'tunion-interop-beijing', 0);
      const tap = await tapAt(l, 3, rider('tunion-interop-beijing', card));
      expect([tap.report?.result, tap.report?.reason]).toEqual(['notAccepted', 'tunion-no-psam']);
      expect(tap.screen).toBe('交易失败 / 不支持此卡 / 代码 04-76');
      expect(l.board.logs.some((e) => e['event'] === 'tunion-refused'
        && e['reason'] === 'no-psam')).toBe(true);
      expect(card.debits()).toEqual([]);
      expect(records(l.board)).toEqual([]);
    } finally {
      l.board.dispose();
    }
  });
});

/** A PSAM emulator of the test profile with these 0017 dates, noting each command's CLA INS. */
function datedPsam(startDate: string, endDate: string): { emulator: PsamEmulator; ins: string[] } {
  const emulator = new PsamEmulator(testPsamProfile({
    startDate: Buffer.from(startDate, 'hex'), endDate: Buffer.from(endDate, 'hex') }));
  const ins: string[] = [];
  const transmit = emulator.transmit.bind(emulator);
  emulator.transmit = (capdu) => {
    ins.push(Buffer.from(capdu.subarray(0, 2)).toString('hex'));
    return transmit(capdu);
  };
  return { emulator, ins };
}

// The sim's boards start on 2026-11-22 (SIM_EPOCH_WALL_MS, Beijing time 08:00).
describe('T-Union with a PSAM out of its validity dates (file 0017)', () => {
  for (const [what, start, end, reason] of [
    ['past its end date', '20240101', '20261121', 'psam-expired'],
    ['before its start date', '20261123', '20361231', 'psam-not-yet-valid'],
  ] as const) {
    it(`refuses T-Union cards, asks the PSAM nothing, journals nothing: ${what}`, async () => {
      const psam = datedPsam(start, end);
      const l = await line({ emulator: psam.emulator });
      try {
        const card = tunionCardOfGroup(SEED, 'tunion-interop-shenzhen', 0);
        const booted = psam.ins.length;
        const tap = await tapAt(l, 3, rider('tunion-interop-shenzhen', card));
        expect([tap.report?.result, tap.report?.reason])
          .toEqual(['notAccepted', `tunion-${reason}`]);
        expect(tap.screen).toBe('交易失败 / 请使用其他卡 / 代码 07-79');
        expect(psam.ins.slice(booted)).toEqual([]);
        expect(card.debits()).toEqual([]);
        expect(records(l.board)).toEqual([]);
        const logged = (event: string): Record<string, unknown>[] =>
          l.board.logs.filter((e) => e['event'] === event);
        expect(logged('tunion-psam-unusable').map((e) => [e['reason'], e['validTo']]))
          .toEqual([[reason, end]]);
        expect(logged('tunion-refused').map((e) => e['reason'])).toEqual([reason]);
      } finally {
        l.board.dispose();
      }
    });
  }

  it('takes taps on its last day, and logs at start that it ends soon', async () => {
    const psam = datedPsam('20240101', '20261122');
    const l = await line({ emulator: psam.emulator });
    try {
      const card = tunionCardOfGroup(SEED, 'tunion-interop-shenzhen', 0);
      const tap = await tapAt(l, 3, rider('tunion-interop-shenzhen', card));
      expect(tap.report?.result).toBe('approved');
      expect(psam.ins).toContain('8070');
      expect(l.board.logs.filter((e) => e['event'] === 'tunion-psam-expiring')
        .map((e) => [e['daysLeft'], e['validTo']])).toEqual([[0, '20261122']]);
      expect(l.board.logs.some((e) => e['event'] === 'tunion-psam-unusable')).toBe(false);
    } finally {
      l.board.dispose();
    }
  });
});

describe('T-Union with a PSAM pulled and put back', () => {
  it('refuses as without a PSAM while it is out, and takes taps again once it is back',
    async () => {
      const l = await line();
      try {
        const slot = l.board.psam?.port;
        if (slot === undefined) throw new Error('no PSAM slot');
        const first = tunionCardOfGroup(SEED, 'tunion-interop-shenzhen', 0);
        const second = tunionCardOfGroup(SEED, 'tunion-interop-beijing', 0);
        expect((await tapAt(l, 3, rider('tunion-interop-shenzhen', first))).report?.result)
          .toBe('approved');
        slot.pull(true);
        // A bank card does not wait on the PSAM: no reopen is tried for it.
        const bank = population(SEED, { pki: testPki() }).card('unionpay-debit-ec');
        const paid = await runRides(l.board, [{ card: { name: 'unionpay-debit-ec', card: bank },
          gapMs: 12_000, holdMs: 400, faults: [] }]);
        expect(paid.lines[0]?.report?.result).toBe('approved');
        expect(l.board.logs.some((e) => e['event'] === 'psam-down')).toBe(false);
        const out = await tapAt(l, 3, rider('tunion-interop-beijing', second));
        expect([out.report?.result, out.report?.reason])
          .toEqual(['notAccepted', 'tunion-psam-unavailable']);
        expect(out.screen).toBe('交易失败 / 请使用其他卡 / 代码 07-76');
        slot.pull(false);
        // Reopened before the next tap once TUNION_PSAM_REOPEN_MS has passed since the last try.
        const back = await tapAt(l, 3, rider('tunion-interop-beijing', second), [], 6_000);
        expect(back.report?.result).toBe('approved');
        expect(second.debits().map((d) => d.amountMinor)).toEqual([0]);
        const events = l.board.logs.map((e) => e['event']);
        expect(events.filter((e) => e === 'psam-down' || e === 'psam-back'))
          .toEqual(['psam-down', 'psam-back']);
        expect(finals(l.board).map((f) => f.card.serialDigits))
          .toEqual([first, second].map((c) => c.profile.applicationSerial));
      } finally {
        l.board.dispose();
      }
    });

  it('a PSAM answering garbage in service is a PSAM fault, not the card\'s, and is reopened',
    async () => {
      // Found over real PC/SC: a PSAM answering INIT SAM FOR PURCHASE with bytes that are no
      // answer showed every T-Union rider 卡片拒绝交易 (06-28), logged nothing above info and
      // stayed in service. Now: 请使用其他卡 07-76, psam-error (warning), the PSAM powered off
      // and reopened at a later T-Union tap.
      const psam = new GarbagePsam(testPsamProfile());
      const l = await line({ emulator: psam });
      try {
        const card = tunionCardOfGroup(SEED, 'tunion-interop-shenzhen', 0);
        psam.garbage = true;
        const refused = await tapAt(l, 3, rider('tunion-interop-shenzhen', card));
        expect([refused.report?.result, refused.screen]).toEqual(
          ['notAccepted', '交易失败 / 请使用其他卡 / 代码 07-76']);
        expect(card.debits()).toEqual([]);
        const error = l.board.logs.find((e) => e['event'] === 'psam-error');
        expect(error?.['detail']).toBe('ERR_PSAM_RESPONSE_INVALID');
        expect(l.board.psam?.port.slotState().kind).not.toBe('powered');
        psam.garbage = false;
        const back = await tapAt(l, 3, rider('tunion-interop-shenzhen', card), [], 6_000);
        expect(back.report?.result).toBe('approved');
        expect(l.board.logs.some((e) => e['event'] === 'psam-back')).toBe(true);
        expect(card.debits().map((d) => d.amountMinor)).toEqual([0]);
        // A PSAM that refuses with a status word (no key for that issuer) serves on; the word
        // is in the log and the tap's reason (the tap said psam-unavailable, the word nowhere).
        psam.refuse = 0x6a88;
        const other = tunionCardOfGroup(SEED, 'tunion-interop-beijing', 0);
        const refusedBySw = await tapAt(l, 3, rider('tunion-interop-beijing', other));
        expect([refusedBySw.report?.reason, refusedBySw.screen]).toEqual(
          ['tunion-psam-refused 6A88', '交易失败 / 请使用其他卡 / 代码 07-76']);
        expect(l.board.logs.filter((e) => e['event'] === 'psam-refused'))
          .toEqual([{ event: 'psam-refused', sw: '6A88' }]);
        expect(l.board.psam?.port.slotState().kind).toBe('powered');
        expect(other.debits()).toEqual([]);
      } finally {
        l.board.dispose();
      }
    });
});

/**
 * A PSAM emulator that, while `garbage`, answers INIT SAM FOR PURCHASE with two stray bytes,
 * and while `refuse` is a status word, with that word.
 */
class GarbagePsam extends PsamEmulator {
  garbage = false;
  refuse: number | null = null;

  override transmit(apdu: Uint8Array): Uint8Array {
    const initSam = apdu[0] === 0x80 && apdu[1] === 0x70;
    if (initSam && this.refuse !== null) return Uint8Array.of(this.refuse >> 8, this.refuse & 0xff);
    return this.garbage && initSam ? Uint8Array.of(0x12, 0x34, 0x90, 0x00) : super.transmit(apdu);
  }
}

describe('T-Union with the PSAM out of its slot at the start', () => {
  it('serves bank cards, refuses T-Union cards until the PSAM opens at one, then charges them',
    async () => {
      const l = await line({ slotOutAtStart: true });
      try {
        const slot = l.board.psam?.port;
        if (slot === undefined) throw new Error('no PSAM slot');
        const bank = population(SEED, { pki: testPki() }).card('unionpay-debit-ec');
        const paid = await runRides(l.board, [{ card: { name: 'unionpay-debit-ec', card: bank },
          gapMs: 12_000, holdMs: 400, faults: [] }]);
        expect(paid.lines[0]?.report?.result).toBe('approved');
        const card = tunionCardOfGroup(SEED, 'tunion-interop-shenzhen', 0);
        const rider1 = rider('tunion-interop-shenzhen', card);
        const psamEvents = (): unknown[] => l.board.logs.map((e) => e['event'])
          .filter((e) => e === 'psam-down' || e === 'psam-back');
        // A bank card never tries the PSAM; the first T-Union card does, and is refused.
        expect(psamEvents()).toEqual([]);
        const out = await tapAt(l, 3, rider1);
        expect([out.report?.result, out.report?.reason])
          .toEqual(['notAccepted', 'tunion-psam-unavailable']);
        expect(out.screen).toBe('交易失败 / 请使用其他卡 / 代码 07-76');
        expect(psamEvents()).toEqual(['psam-down']);
        slot.pull(false);
        // Back in its slot, but the last try is not TUNION_PSAM_REOPEN_MS old: not tried yet.
        const early = await tapAt(l, 3, rider1, [], 1_500);
        expect(early.report?.reason).toBe('tunion-psam-unavailable');
        expect(psamEvents()).toEqual(['psam-down']);
        // Opened at this card, given to the kernel, and the same tap is served.
        const boarded = await tapAt(l, 3, rider1, [], 6_000);
        expect([boarded.report?.result, boarded.report?.fareRule])
          .toEqual(['approved', 'tunion-boarding']);
        expect(psamEvents()).toEqual(['psam-down', 'psam-back']);
        const alighted = await tapAt(l, 8, rider1);
        expect(alighted.report?.result).toBe('approved');
        expectCharged(l.board, card, [0, FARE_3_TO_8]);
        expect(finals(l.board).map((f) => f.purchase.terminalNumberHex))
          .toEqual(['000000000123', '000000000123']);
      } finally {
        l.board.dispose();
      }
    });
});

/** Commands the card gets in a clean alighting tap (its last one is DEBIT FOR PURCHASE). */
async function alightingCommands(): Promise<number> {
  const l = await line();
  try {
    const card = tunionCardOfGroup(SEED, 'tunion-interop-shanghai', 0);
    await tapAt(l, 3, rider('tunion-interop-shanghai', card));
    const counted = countingCard(card);
    await tapAt(l, 8, rider('tunion-interop-shanghai', counted));
    return counted.commands()[0] ?? 0;
  } finally {
    l.board.dispose();
  }
}

describe('T-Union torn taps at every step, then the re-tap', () => {
  it('is charged once whatever command the card was pulled at', async () => {
    const commands = await alightingCommands();
    expect(commands).toBeGreaterThanOrEqual(8);
    const kinds = ['remove-before-command', 'remove-after-command'] as const;
    for (const kind of kinds) {
      for (let k = 1; k <= commands; k += 1) {
        const l = await line();
        const where = `${kind} ${k} (SHUAKA_SEED=${SEED})`;
        try {
          const card = tunionCardOfGroup(SEED, 'tunion-interop-shanghai', 0);
          const holder = rider('tunion-interop-shanghai', card);
          await tapAt(l, 3, holder);
          const torn = await tapAt(l, 8, holder, [{ kind, command: k }]);
          expect(torn.report?.result, where).toBe('tryAgain');
          const again = await tapAt(l, 8, holder);
          expect([again.report?.result, again.report?.amountMinor], where).toEqual(
            ['approved', FARE_3_TO_8]);
          expect(again.screen, where).toBe('下车成功 / 扣款 3.00元 / 余额 47.00元 / 下车站 8');
          expectCharged(l.board, card, [0, FARE_3_TO_8]);
        } finally {
          l.board.dispose();
        }
      }
    }
  }, 600_000);
});

/** A card whose tap loses the validator's power at DEBIT, before or after the card took it. */
function cutAtDebit(inner: TunionCard, board: () => SimBoardRebooted, debited: boolean)
  : VirtualCard {
  let armed = true;
  return withTransceive(inner, (capdu) => {
    if (!(armed && capdu[0] === 0x80 && capdu[1] === 0x54)) return inner.transceive(capdu);
    armed = false;
    if (debited) inner.transceive(capdu);
    board().storage.powerCut();
    return null;
  });
}

/**
 * A Beijing card boards at stop 3, then its alighting at stop 8 loses the validator's power
 * at DEBIT (the card took it or not); the medium restarts and the board reboots 20 s later.
 * The caller disposes `boards`.
 */
async function cutAtDebitThenReboot(debited: boolean): Promise<{
  card: TunionCard; next: Line; boards: SimBoardRebooted[];
}> {
  const first = await line();
  const boards = [first.board];
  const card = tunionCardOfGroup(SEED, 'tunion-interop-beijing', 0);
  await tapAt(first, 3, rider('tunion-interop-beijing', card));
  const cut = cutAtDebit(card, () => first.board, debited);
  expect(await runRidesAt(first, 8, rider('tunion-interop-beijing', cut))).toBe('cut');
  first.board.storage.restart();
  const rebooted = await createSimBoardOn(
    { storage: first.board.storage, wallEpochMs: first.board.clock.wallMs() + 20_000 },
    first.options,
  );
  boards.push(rebooted);
  return { card, next: { ...first, board: rebooted }, boards };
}

describe('T-Union power cut at DEBIT, reboot, re-tap', () => {
  for (const debited of [true, false]) {
    it(`recovers the grey record (card ${debited ? 'debited' : 'not debited'}), charged once`,
      async () => {
        const { card, next, boards } = await cutAtDebitThenReboot(debited);
        try {
          expect(next.board.journal.tunionOpenGreys().map((g) => g.entry.purchase.amountMinor))
            .toEqual([FARE_3_TO_8]);
          const again = await tapAt(next, 8, rider('tunion-interop-beijing', card));
          expect([again.report?.result, again.report?.amountMinor, again.report?.recovered])
            .toEqual(['approved', FARE_3_TO_8, debited]);
          expectCharged(next.board, card, [0, FARE_3_TO_8]);
        } finally {
          for (const board of boards) board.dispose();
        }
      });
  }
});

/**
 * A card whose first answer to the recovery's READ RECORD of its 0018 log (00 B2 01 C4) comes
 * back with a byte of the terminal number changed, as two bit flips past the UART checksum
 * leave it: read as another terminal's debit, it said 'not debited here'.
 */
function damagingLogOnce(inner: TunionCard): VirtualCard {
  let armed = true;
  return withTransceive(inner, (capdu) => {
    const answer = inner.transceive(capdu);
    const log = capdu[0] === 0x00 && capdu[1] === 0xb2 && capdu[2] === 0x01 && capdu[3] === 0xc4;
    if (!armed || !log || answer === null || answer.length < 25) return answer;
    armed = false;
    const damaged = Uint8Array.from(answer);
    damaged[10] = (damaged[10] ?? 0) ^ 0x11;
    return damaged;
  });
}

describe('T-Union recovery read through a damaged answer', () => {
  it('a log entry damaged once is read again: the debit recovered, the card charged once',
    async () => {
      const { card, next, boards } = await cutAtDebitThenReboot(true);
      try {
        const again = await tapAt(next, 8, rider('tunion-interop-beijing', damagingLogOnce(card)));
        // Before: 'not debited here', the debit never recovered, the rider told 'already paid'.
        expect([again.report?.result, again.report?.amountMinor, again.report?.recovered])
          .toEqual(['approved', FARE_3_TO_8, true]);
        expectCharged(next.board, card, [0, FARE_3_TO_8]);
      } finally {
        for (const board of boards) board.dispose();
      }
    });
});

async function runRidesAt(l: Line, stop: number, card: TunionRiderCard): Promise<'cut' | 'done'> {
  l.route.stop = stop;
  const result = await runRides(l.board, [{ card, gapMs: 12_000, holdMs: 400, faults: [] }]);
  return result.cutDuring === null ? 'done' : 'cut';
}
