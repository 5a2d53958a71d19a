// A deny-listed T-Union card on the running validator: the production Validator loop on the
// simulated board (PN532 emulator, PSAM emulator in its slot, DWIN screen), the card listed by
// its application serial in the signed parameter set (`tunion:SERIAL`, deny_list/README.md).
//
// Truths: the virtual card's own state (blocked: its SELECT answers 6283; its debit list and
// balance), the journal read back from the medium by its scanner (one tunion_blocked record
// per listed card met, its facts against the card's and the PSAM's profiles and the clock),
// the screen as the DWIN emulator decoded it, and the board's log lines (no full serial of a
// listed card).

import { describe, expect, it } from 'vitest';
import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import type { JournalRecord } from '../../../firmware/src/app/journal/journal_records.js';
import type { TunionBlockedEntry } from '../../../firmware/src/app/journal/journal_tunion.js';
import type { VirtualCard } from '../../src/cards/card_model.js';
import type { TunionCard } from '../../src/cards/tunion_card.js';
import { tunionCardOfGroup, type TunionName } from '../../src/cards/tunion_population.js';
import { testPki } from '../../src/pki/test_pki.js';
import { PsamEmulator } from '../../src/psam/psam_emulator.js';
import { TEST_ISSUER_ID, testPsamProfile } from '../../src/psam/psam_profile.js';
import { riderPool } from '../../src/sim/bus_riders.js';
import { BUS_RUN_DEFAULT } from '../../src/sim/bus_run.js';
import { busBoardOptions } from '../../src/sim/sim_board_parts.js';
import {
  createSimBoardOn,
  SIM_BOOT_FIRST,
  type SimBoardRebooted,
} from '../../src/sim/sim_restart.js';
import { SimRoute, type SimTunionOptions } from '../../src/sim/sim_tunion.js';
import type { SimBoardOptions } from '../../src/sim/sim_board.js';
import { Prng } from '../../src/prng.js';
import { StorageSim } from '../../src/storage_sim.js';
import { runRides, testSeed, withTransceive, type RideLine } from './support/sim_ride.js';

const SEED = testSeed(12);
const LISTED: TunionName = 'tunion-interop-shenzhen';
const UNLISTED: TunionName = 'tunion-interop-beijing';

interface Line {
  readonly board: SimBoardRebooted;
  readonly route: SimRoute;
  /** The set's line: the block record names it. */
  readonly lineId: string;
  readonly options: SimBoardOptions;
}

/**
 * A line whose set lists `listed` (T-Union serials) beside the pool's bank cards, its journal
 * on `storage` (null: the board's own, seeded by SEED).
 */
async function line(listed: readonly string[], psam: boolean, storage: StorageSim | null = null)
  : Promise<Line> {
  const route = new SimRoute('SIM-B101', 0);
  const pool = riderPool(SEED, 1, testPki(), 'default', true);
  const base = busBoardOptions({ ...BUS_RUN_DEFAULT, seed: SEED, mode: 'auto' }, pool, route);
  const tunion: SimTunionOptions | null = base.tunion ?? null;
  if (tunion === null) throw new Error('no T-Union options');
  const options = {
    ...base,
    denyList: [...base.denyList, ...listed.map((tunionSerial) => ({ tunionSerial }))],
    tunion: psam ? { ...tunion, emulator: new PsamEmulator(testPsamProfile()) }
      : { ...tunion, slotEmpty: true },
  };
  return { board: await createSimBoardOn({ ...SIM_BOOT_FIRST, storage }, options), route,
    lineId: options.lineId, options };
}

/**
 * The card, answering `answer` (null: gone from the field) the first time a command with
 * CLA `cla` and INS `ins` reaches it.
 */
function answeringOnce(inner: TunionCard, cla: number, ins: number, answer: Uint8Array | null)
  : VirtualCard {
  let armed = true;
  return withTransceive(inner, (capdu) => {
    if (armed && capdu[0] === cla && capdu[1] === ins) {
      armed = false;
      return answer;
    }
    return inner.transceive(capdu);
  });
}

/** The card, gone from the field when APPLICATION BLOCK (84 1E) reaches it the first time. */
function pulledAtBlock(inner: TunionCard): VirtualCard {
  return answeringOnce(inner, 0x84, 0x1e, null);
}

/** Local YYYYMMDDhhmmss (UTC+8, the sim's offset) of `wallMs`, by node's Date. */
function localDigits(wallMs: number): string {
  return new Date(wallMs + 8 * 3_600_000).toISOString().replace(/[-T:]/g, '').slice(0, 14);
}

/** The block records on the medium, each checked against the card's and the PSAM's facts. */
function blocks(l: Line, card: TunionCard): TunionBlockedEntry[] {
  return records(l.board).flatMap((r) => {
    if (r.entry.kind !== 'tunion_blocked') return [];
    const entry = r.entry;
    const identity = card.identity();
    if (identity.kind !== 'A') throw new Error('a T-Union card of type A');
    expect(entry.card).toEqual({
      issuerIdHex: Buffer.from(TEST_ISSUER_ID).toString('hex').toUpperCase(),
      serialDigits: card.profile.applicationSerial,
      cityCodeHex: card.profile.city,
      uidHex: Buffer.from(identity.uid).toString('hex').toUpperCase(),
    });
    expect([entry.terminalNumberHex, entry.terminalId, entry.lineId, entry.paramsVersion])
      .toEqual([Buffer.from(testPsamProfile().terminalNumber).toString('hex').toUpperCase(),
        'SIM00001', l.lineId, 1]);
    // The tap's local time: at most a few seconds before the record was stamped.
    const window = [0, 1, 2, 3].map((s) => localDigits(r.timeWallMs - s * 1000));
    expect(window).toContain(entry.dateTimeDigits);
    return [entry];
  });
}

async function tapAt(l: Line, stop: number, name: TunionName, card: VirtualCard)
  : Promise<RideLine> {
  l.route.stop = stop;
  // The board drives any VirtualCard; the rider type names the T-Union card it wraps.
  const rider = { name, card: card as TunionCard };
  const result = await runRides(l.board, [{ card: rider, gapMs: 1_500, holdMs: 400,
    faults: [] }]);
  const first = result.lines[0];
  if (first === undefined) throw new Error('the ride did not end');
  return first;
}

function records(board: SimBoardRebooted): JournalRecord[] {
  const scan = journalScanFiles(board.storage.durableFiles(), JOURNAL_FILE_NAME, true);
  expect(scan.corruption).toBeNull();
  return scan.records;
}

/** Every log line as text: the listed card's full serial must be in none. */
function logText(board: SimBoardRebooted): string {
  return board.logs.map((e) => JSON.stringify(e)).join('\n');
}

describe('a deny-listed T-Union card on the running validator', () => {
  it('is refused and blocked through the PSAM; its next tap is refused as blocked', async () => {
    const card = tunionCardOfGroup(SEED, LISTED, 0);
    const serial = card.profile.applicationSerial;
    const l = await line([serial], true);
    try {
      const first = await tapAt(l, 3, LISTED, card);
      expect([first.report?.result, first.report?.reason]).toEqual(
        ['denyList', 'deny-list, blocked']);
      expect(first.screen).toBe('黑名单卡 / 此卡已被禁止使用');
      expect(first.signal).toBe('denyList');
      // The card's own state: its application is blocked (SELECT now answers 6283), no debit.
      expect(card.blocked()).toBe(true);
      card.powerOn();
      const select = card.transceive(Uint8Array.of(0x00, 0xa4, 0x04, 0x00, 0x08,
        0xa0, 0x00, 0x00, 0x06, 0x32, 0x01, 0x01, 0x05));
      expect(select === null ? null : Buffer.from(select.subarray(-2)).toString('hex'))
        .toBe('6283');
      expect(card.debits()).toEqual([]);
      expect(card.balanceMinor()).toBe(card.profile.balanceMinor);
      const hit = l.board.logs.find((e) => e['event'] === 'tunion-deny-list');
      expect(hit?.['blocked']).toBe(true);
      expect(hit?.['card']).toBe(`${serial.slice(0, 6)}${'*'.repeat(10)}${serial.slice(-4)}`);
      const again = await tapAt(l, 4, LISTED, card);
      // SELECT answers 6283: the kernel's card-blocked, its own screen (tunion_view.ts).
      expect([again.report?.result, again.report?.reason]).toEqual(['declined', 'card-blocked']);
      expect(again.screen).toBe('交易失败 / 卡片已锁定 / 代码 08-25');
      expect(card.debits()).toEqual([]);
      expect(logText(l.board)).not.toContain(serial);
      // The block for the issuer: pending (durable before the command), then its final; the
      // blocked card's next tap writes none (its SELECT answers 6283 before its number is read).
      expect(records(l.board).map((r) => r.entry.kind))
        .toEqual(['tunion_blocked', 'tunion_blocked']);
      expect(blocks(l, card).map((b) => [b.blockOutcome, b.blockSwHex, b.pendingSeq]))
        .toEqual([['pending', '', null], ['blocked', '9000', 1]]);
      expect(first.report?.journalSeqs).toEqual([1, 2]);
      expect(again.report?.journalSeqs).toEqual([]);
    } finally {
      l.board.dispose();
    }
  });

  it('is refused when pulled during the block, and blocked at its next tap', async () => {
    const card = tunionCardOfGroup(SEED, LISTED, 0);
    const l = await line([card.profile.applicationSerial], true);
    try {
      const first = await tapAt(l, 3, LISTED, pulledAtBlock(card));
      expect(first.report?.result).toBe('denyList');
      expect(first.report?.reason).toMatch(/^deny-list, not blocked: declined /);
      expect(first.screen).toBe('黑名单卡 / 此卡已被禁止使用');
      expect(card.blocked()).toBe(false);
      const again = await tapAt(l, 3, LISTED, card);
      expect([again.report?.result, again.report?.reason]).toEqual(
        ['denyList', 'deny-list, blocked']);
      expect(card.blocked()).toBe(true);
      expect(card.debits()).toEqual([]);
      expect(l.board.logs.filter((e) => e['event'] === 'tunion-deny-list')
        .map((e) => e['blocked'])).toEqual([false, true]);
      // The command was sent and never answered: the first final cannot say blocked.
      expect(blocks(l, card).map((b) => [b.blockOutcome, b.blockSwHex, b.pendingSeq]))
        .toEqual([['pending', '', null], ['not-confirmed', '', 1], ['pending', '', null],
          ['blocked', '9000', 3]]);
    } finally {
      l.board.dispose();
    }
  });

  it('records the card\'s refusal of the block, and a block never sent', async () => {
    const card = tunionCardOfGroup(SEED, LISTED, 0);
    const l = await line([card.profile.applicationSerial], true);
    try {
      // 6988: a wrong MAC on a PBOC e-purse card (the block command reached it, was refused).
      const refused = await tapAt(l, 3, LISTED,
        answeringOnce(card, 0x84, 0x1e, Uint8Array.of(0x69, 0x88)));
      // GET CHALLENGE refused: the chain stops before APPLICATION BLOCK is sent.
      const unsent = await tapAt(l, 3, LISTED,
        answeringOnce(card, 0x00, 0x84, Uint8Array.of(0x6d, 0x00)));
      for (const tap of [refused, unsent]) {
        expect([tap.report?.result, tap.screen]).toEqual(['denyList', '黑名单卡 / 此卡已被禁止使用']);
      }
      expect(card.blocked()).toBe(false);
      // No pending record before a command never sent.
      expect(blocks(l, card).map((b) => [b.blockOutcome, b.blockSwHex, b.pendingSeq]))
        .toEqual([['pending', '', null], ['not-confirmed', '6988', 1], ['not-sent', '', null]]);
      expect(logText(l.board)).not.toContain(card.profile.applicationSerial);
    } finally {
      l.board.dispose();
    }
  });

  it('lets an unlisted card ride on the same set', async () => {
    const listed = tunionCardOfGroup(SEED, LISTED, 0);
    const card = tunionCardOfGroup(SEED, UNLISTED, 0);
    const l = await line([listed.profile.applicationSerial], true);
    try {
      const tap = await tapAt(l, 3, UNLISTED, card);
      expect(tap.report?.result).toBe('approved');
      expect(card.blocked()).toBe(false);
      expect(card.debits().map((d) => d.amountMinor)).toEqual([0]);
      expect(records(l.board).map((r) => r.entry.kind)).toEqual(['tunion_grey', 'tunion_final']);
    } finally {
      l.board.dispose();
    }
  });

  it('without a PSAM refuses a listed card without blocking it', async () => {
    const card = tunionCardOfGroup(SEED, LISTED, 0);
    const l = await line([card.profile.applicationSerial], false);
    try {
      const tap = await tapAt(l, 3, LISTED, card);
      expect([tap.report?.result, tap.report?.reason]).toEqual(['notAccepted', 'tunion-no-psam']);
      expect(card.blocked()).toBe(false);
      expect(card.debits()).toEqual([]);
      expect(records(l.board)).toEqual([]);
    } finally {
      l.board.dispose();
    }
  });
});

/** The card, taking APPLICATION BLOCK (it blocks itself) as the validator's power goes. */
function cutAtBlockAnswer(inner: TunionCard, board: () => SimBoardRebooted): VirtualCard {
  return {
    label: inner.label,
    identity: () => inner.identity(),
    powerOn: () => inner.powerOn(),
    transceive: (capdu) => {
      if (!(capdu[0] === 0x84 && capdu[1] === 0x1e)) return inner.transceive(capdu);
      inner.transceive(capdu);
      board().storage.powerCut();
      return null;
    },
    lastProcessingMs: () => inner.lastProcessingMs(),
  };
}

/** A tap that may lose power: 'cut' when the storage went down during it. */
async function tapOrCut(l: Line, name: TunionName, card: VirtualCard): Promise<'cut' | 'done'> {
  l.route.stop = 3;
  const rider = { name, card: card as TunionCard };
  const result = await runRides(l.board, [{ card: rider, gapMs: 1_500, holdMs: 400,
    faults: [] }]);
  return result.cutDuring === null ? 'done' : 'cut';
}

/**
 * Power back after a cut: the board reboots on the storage (its journal's start-up cuts a torn
 * tail); resolves with the block records of `serial` on the medium, then disposes the board.
 */
async function blocksAfterReboot(l: Line, serial: string): Promise<TunionBlockedEntry[]> {
  l.board.storage.restart();
  const rebooted = await createSimBoardOn(
    { storage: l.board.storage, wallEpochMs: l.board.clock.wallMs() + 20_000 }, l.options);
  try {
    return records(rebooted).flatMap((r) => (r.entry.kind === 'tunion_blocked'
      && r.entry.card.serialDigits === serial ? [r.entry] : []));
  } finally {
    rebooted.dispose();
  }
}

describe('a power cut around a deny-listed card\'s block', () => {
  it('leaves the pending record when power goes as the card blocks itself', async () => {
    const card = tunionCardOfGroup(SEED, LISTED, 0);
    const serial = card.profile.applicationSerial;
    const l = await line([serial], true);
    try {
      expect(await tapOrCut(l, LISTED, cutAtBlockAnswer(card, () => l.board))).toBe('cut');
      expect(card.blocked()).toBe(true);
      // The card's next tap anywhere reads 6283 and writes nothing: this record is all the
      // issuer will ever get, and it cannot claim more than the validator knew.
      const left = await blocksAfterReboot(l, serial);
      expect(left.map((b) => [b.blockOutcome, b.blockSwHex, b.pendingSeq]))
        .toEqual([['pending', '', null]]);
    } finally {
      l.board.dispose();
    }
  });

  it('holds the block back when its pending record cannot be written', async () => {
    const card = tunionCardOfGroup(SEED, LISTED, 0);
    const serial = card.profile.applicationSerial;
    const l = await line([serial], true);
    try {
      // The medium refuses the pending record's append (power stays on).
      l.board.storage.armIoError(1);
      const tap = await tapAt(l, 3, LISTED, card);
      expect([tap.report?.result, tap.screen]).toEqual(['denyList', '黑名单卡 / 此卡已被禁止使用']);
      expect(card.blocked()).toBe(false);
      expect(card.debits()).toEqual([]);
      const left = records(l.board).flatMap((r) => (r.entry.kind === 'tunion_blocked'
        ? [[r.entry.blockOutcome, r.entry.pendingSeq]] : []));
      // The journal may refuse the final record too; if it takes it, it says not sent.
      expect(left.every(([outcome]) => outcome === 'not-sent'), JSON.stringify(left)).toBe(true);
      expect(l.board.logs.some((e) => e['event'] === 'journal-error'
        && e['kind'] === 'tunion_blocked')).toBe(true);
    } finally {
      l.board.dispose();
    }
  });

  it('leaves a block record whenever the card blocked itself, cut at any write and byte',
    async () => {
      const serial = tunionCardOfGroup(SEED, LISTED, 0).profile.applicationSerial;
      const dry = await line([serial], true);
      const before = dry.board.storage.writePoints();
      await tapAt(dry, 3, LISTED, tunionCardOfGroup(SEED, LISTED, 0));
      const points = dry.board.storage.writePoints() - before;
      dry.board.dispose();
      expect(points).toBeGreaterThanOrEqual(2);
      const tally = { blockedPendingOnly: 0, blockedFinal: 0, notBlocked: 0 };
      // Each write point of the tap, each with torn remnants drawn by several media seeds.
      for (let k = 1; k <= points; k += 1) {
        for (let mediaSeed = 0; mediaSeed < 6; mediaSeed += 1) {
          const where = `write ${k} of ${points}, medium ${mediaSeed} (SHUAKA_SEED=${SEED})`;
          const card = tunionCardOfGroup(SEED, LISTED, 0);
          const l = await line([serial], true, new StorageSim({ totalBytes: 1 << 22,
            prng: new Prng(SEED * 100 + mediaSeed), tornModes: ['prefix', 'garbage', 'zeros'] }));
          try {
            l.board.storage.armPowerCut(k);
            expect(await tapOrCut(l, LISTED, card), where).toBe('cut');
            const outcomes = (await blocksAfterReboot(l, serial)).map((b) => b.blockOutcome);
            expect(card.debits(), where).toEqual([]);
            if (!card.blocked()) {
              // Never blocked by this tap: no record may say it was.
              expect(outcomes, where).not.toContain('blocked');
              tally.notBlocked += 1;
              continue;
            }
            expect(outcomes.length, where).toBeGreaterThan(0);
            expect(outcomes.every((o) => o === 'pending' || o === 'blocked'), where).toBe(true);
            if (outcomes.includes('blocked')) tally.blockedFinal += 1;
            else tally.blockedPendingOnly += 1;
          } finally {
            l.board.dispose();
          }
        }
      }
      // The cuts reach every case: before the command, after it with only the pending record
      // durable, and after the final one.
      expect(tally.notBlocked).toBeGreaterThan(0);
      expect(tally.blockedPendingOnly).toBeGreaterThan(0);
    }, 120_000);
});
