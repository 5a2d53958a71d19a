// A T-Union tap above the kernel, end to end in one process: the built kernel and its host
// session, a virtual T-Union card, the PSAM emulator, the journal on power-cut storage, the
// fare table. Truths: the card's own balance, 001A record and debit list; the TAC checked by
// the depot's verifier with the issuer key; the journal read back by its scanner.

import { describe, expect, it } from 'vitest';

import { loadKernel, type Kernel } from '../../assembly/host/kernel_loader.js';
import {
  configureJtt978,
  runCardTransaction,
} from '../../assembly/host/jtt978_session.js';
import { configureQpboc, UNIONPAY_AIDS } from '../../assembly/host/qpboc_session.js';
import { jtt978TacVerify } from '../../depot/src/tunion/jtt978_tac.js';
import { TUNION_AID, type TunionCard } from '../../host-sim/src/cards/tunion_card.js';
import { tunionCard } from '../../host-sim/src/cards/tunion_population.js';
import { issuerMasterFromRoot } from '../../host-sim/src/psam/pboc_epurse_crypto.js';
import { PsamEmulator } from '../../host-sim/src/psam/psam_emulator.js';
import {
  PSAM_AID, TEST_ISSUER_ID, testMasterKey, testPsamProfile,
} from '../../host-sim/src/psam/psam_profile.js';
import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { DenyList } from '../src/app/deny_list/deny_list.js';
import { denyListBuild } from '../src/app/deny_list/deny_list_build.js';
import { record1ADecode } from '../src/app/fare/jtt978_records.js';
import { Journal } from '../src/app/journal/journal.js';
import { journalScan } from '../src/app/journal/journal_scan.js';
import type { TunionFinalEntry } from '../src/app/journal/journal_tunion.js';
import { TunionTap, type TunionTapResult } from '../src/app/validator/tunion_tap.js';
import { TEST_DENY_KEY } from './deny_key_fixture.js';
import { JOURNAL_FILE, journalOptions, newClock, newPrng } from './journal_fixtures.js';
import { faresOf, transitFaresJson } from './jtt978_fixtures.js';

const PROFILE = testPsamProfile();
const TERMINAL_HEX = Buffer.from(PROFILE.terminalNumber).toString('hex').toUpperCase();
const FARES = faresOf(transitFaresJson());
const T0 = Date.UTC(2026, 11, 3, 0, 30, 0);
/** An empty deny list bound to the test key (deny-listed cards: tunion_deny.test.ts). */
const DENY_LIST = emptyDenyList();

function emptyDenyList(): DenyList {
  const built = denyListBuild('', 'deny_list.bin', TEST_DENY_KEY);
  if (!built.ok) throw built.error;
  const loaded = DenyList.load(built.value.image, 'deny_list.bin');
  if (!loaded.ok) throw loaded.error;
  const bound = loaded.value.bind(TEST_DENY_KEY, 'deny_list.bin');
  if (!bound.ok) throw bound.error;
  return bound.value;
}

interface Bench {
  readonly kernel: Kernel;
  readonly journal: Journal;
  readonly sim: StorageSim;
  readonly psam: PsamEmulator;
}

async function bench(): Promise<Bench> {
  const kernel = await loadKernel();
  const aids = [...UNIONPAY_AIDS, { aid: TUNION_AID, partialMatch: false }];
  expect(configureQpboc(kernel, { countryCode: '0156', currencyCode: '0156', aids })).toBe(0);
  expect(configureJtt978(kernel, { terminalNumber: PROFILE.terminalNumber,
    keyIndex: PROFILE.keyIndex })).toBe(0);
  const psam = new PsamEmulator(PROFILE);
  psam.powerOn();
  psam.transmit(Uint8Array.of(0x00, 0xa4, 0x04, 0x00, PSAM_AID.length, ...PSAM_AID));
  const sim = new StorageSim({ totalBytes: 1 << 22, prng: newPrng(5), tornModes: ['prefix'] });
  const opened = await Journal.open(sim, journalOptions(newClock()));
  if (!opened.ok) throw new Error(opened.detail);
  return { kernel, journal: opened.value.journal, sim, psam };
}

async function tap(b: Bench, card: TunionCard, lineId: string, stop: number, minutes: number)
  : Promise<TunionTapResult> {
  card.powerOn();
  const session = new TunionTap(b.journal, {
    fares: FARES, terminalId: 'BUS00001', lineId, paramsVersion: 3,
    terminalNumberHex: TERMINAL_HEX, stop, vehicle: 'SU-E1234', direction: 0,
    nowWallMs: T0 + minutes * 60_000, utcOffsetMinutes: 480, uidHex: 'A1B2C3D4',
    denyList: DENY_LIST, psamCheck: async () => null,
  });
  const digits = new Date(T0 + minutes * 60_000 + 8 * 3600_000).toISOString();
  const result = await runCardTransaction(b.kernel, {
    transceive: async (capdu) => card.transceive(capdu),
    psamTransceive: async (capdu) => b.psam.transmit(capdu),
    decide: () => 'proceed',
    decideJtt978: (data) => session.decide(data),
    precommit: (grey) => session.precommit(grey),
  }, {
    mode: 'ec', amountMinor: 0, date: `${digits.slice(2, 4)}${digits.slice(5, 7)}${
      digits.slice(8, 10)}`, time: `${digits.slice(11, 13)}${digits.slice(14, 16)}${
      digits.slice(17, 19)}`, unpredictableNumber: Uint8Array.of(1, 2, 3, 4),
  });
  if (result.app !== 'jtt978') throw new Error(`routed to ${result.app}`);
  return session.finish(result.outcome, result.transcript);
}

function finals(b: Bench): TunionFinalEntry[] {
  const scan = journalScan(b.sim.durableBytes(JOURNAL_FILE), JOURNAL_FILE, true);
  return scan.records.flatMap((r) => (r.entry.kind === 'tunion_final' ? [r.entry] : []));
}

const TAC_MASTER = issuerMasterFromRoot(testMasterKey('tac-root'), TEST_ISSUER_ID);

describe('T-Union tap above the kernel', () => {
  it('boards for nothing, alights for the band fare, and journals both with a valid TAC',
    async () => {
      const b = await bench();
      const card = tunionCard(12, 'tunion-interop-shenzhen');
      const before = card.balanceMinor();
      const boarding = await tap(b, card, 'B12', 3, 0);
      expect([boarding.outcome, boarding.amountMinor]).toEqual(['approved', 0]);
      expect(boarding.screen[0]).toBe('上车成功');
      const boarded = record1ADecode(card.record(0x1a, 2) ?? new Uint8Array(0));
      expect(boarded.ok && [boarded.value.state, boarded.value.boarding.stop]).toEqual(
        ['boarded', 3]);
      const alighting = await tap(b, card, 'B12', 8, 30);
      expect([alighting.outcome, alighting.amountMinor]).toEqual(['approved', 300]);
      expect(alighting.screen).toEqual(
        ['下车成功', '扣款 3.00元', `余额 ${(before - 300) / 100}.00元`]);
      expect(card.balanceMinor()).toBe(before - 300);
      const alighted = record1ADecode(card.record(0x1a, 2) ?? new Uint8Array(0));
      expect(alighted.ok && [alighted.value.state, alighted.value.alighting?.stop]).toEqual(
        ['alighted', 8]);
      const written = finals(b);
      expect(written.map((f) => f.purchase.amountMinor)).toEqual([0, 300]);
      expect(written.map((f) => f.greySeq)).toEqual([1, 3]);
      // The journal keeps the ATC INITIALIZE FOR PURCHASE answered; the card counts the debit
      // at the next value (domain.md §7.5: GET TRANSACTION PROOF names ATC + 1).
      expect((written[1]?.purchase.atc ?? 0) + 1).toBe(card.debits()[1]?.atc);
      for (const f of written) {
        expect(jtt978TacVerify({
          issuerIdHex: f.card.issuerIdHex, applicationSerialHex: f.card.serialDigits,
          amountMinor: f.purchase.amountMinor, transactionType: f.purchase.transactionType,
          terminalNumberHex: f.purchase.terminalNumberHex,
          terminalSerial: f.purchase.terminalSerial, dateTimeDigits: f.purchase.dateTimeDigits,
          tacHex: f.tacHex,
        }, () => TAC_MASTER)).toBe('valid');
      }
    });

  it('a missing tap-out is charged the marked amount at the next boarding', async () => {
    const b = await bench();
    const card = tunionCard(13, 'tunion-interop-beijing');
    const before = card.balanceMinor();
    await tap(b, card, 'B12', 3, 0);
    const next = await tap(b, card, 'K7', 1, 40);
    expect([next.outcome, next.amountMinor, next.tap?.penaltyMinor]).toEqual(
      ['approved', 400, 400]);
    expect(next.screen).toContain('补票 4.00元');
    expect(card.balanceMinor()).toBe(before - 400);
  });

  it('refuses a repeated tap, and the card refuses a fare beyond its balance', async () => {
    const b = await bench();
    const card = tunionCard(14, 'tunion-low-balance');
    expect(card.balanceMinor()).toBe(150);
    expect((await tap(b, card, 'F1', 0, 0)).outcome).toBe('approved');
    const again = await tap(b, card, 'F1', 0, 0.5);
    expect([again.outcome, again.screen]).toEqual(['alreadyPaid', ['请勿重复刷卡']]);
    const broke = await tap(b, card, 'F1', 0, 10);
    expect([broke.outcome, broke.screen]).toEqual(['declined', ['交易失败', '余额不足']]);
    expect([card.balanceMinor(), card.debits().length]).toEqual([0, 1]);
    expect(finals(b).length).toBe(1);
  });
});
