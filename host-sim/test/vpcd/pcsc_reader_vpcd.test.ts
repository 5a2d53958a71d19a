// The contactless reader port over PC/SC (an ACR122U-class reader) through pcscd + vpcd with a
// virtual qPBOC card: presence, UID, APDUs equal to a twin card's, removal, and a full tap of
// the validator (kernel, journal, fare) with the reader port swapped for PC/SC.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HalStatus } from '../../../hal/src/ports/hal_status.js';
import { PcscReader } from '../../../hal/src/pcsc/pcsc_reader.js';
import { population } from '../../src/cards/card_population.js';
import { testPki } from '../../src/pki/test_pki.js';
import { Prng } from '../../src/prng.js';
import { riderPool } from '../../src/sim/bus_riders.js';
import { busBoardOptions, composeSimBoardRest, simStorage } from '../../src/sim/sim_board_parts.js';
import { PtyRunClock } from '../../src/sim/bus_run_pty.js';
import { pcscStackMissing } from '../../src/vpcd/pcsc_stack_ready.js';
import { VpcdClient } from '../../src/vpcd/vpcd_client.js';
import { VpcdContactlessCard } from '../../src/vpcd/vpcd_contactless_card.js';
import { h, x } from '../psam/support/epurse_reference.js';
import { startPcscHarness, waitFor } from './support/pcsc_harness.js';
import type { PcscHarness } from './support/pcsc_harness.js';

const MISSING = pcscStackMissing([], 'PC/SC contactless reader over vpcd tests');
const SELECT_PPSE = h('00a404000e325041592e5359532e444446303100');
const SEED = 41;

describe.skipIf(MISSING !== null)('PC/SC contactless reader over pcscd + vpcd', () => {
  let harness: PcscHarness;
  let reader: PcscReader;

  beforeAll(async () => {
    harness = await startPcscHarness('Shuaka ACR122U');
    reader = new PcscReader({
      readerName: 'Shuaka ACR122U',
      readers: harness.readers,
      clock: harness.clock,
      statusIntervalMs: 20,
    });
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it('poll_uidAndApdusMatchATwinCard_thenRemoval', async () => {
    const none = await reader.poll({ technologies: ['ISO14443A'], timeoutMs: 100 });
    expect(none.ok && none.value.kind).toBe('none');
    const card = population(SEED).card('unionpay-debit-ec');
    const twin = population(SEED).card('unionpay-debit-ec');
    twin.powerOn();
    const client = new VpcdClient(new VpcdContactlessCard(card));
    await client.connect('127.0.0.1', harness.pcscd.port);
    const polled = await reader.poll({ technologies: ['ISO14443A'], timeoutMs: 3000 });
    expect(polled.ok && polled.value.kind).toBe('one');
    const identity = twin.identity();
    if (!polled.ok || polled.value.kind !== 'one' || identity.kind !== 'A') throw new Error('poll');
    if (polled.value.card.technology !== 'ISO14443A') throw new Error('type A expected');
    expect(x(polled.value.card.uid)).toBe(x(identity.uid));
    const answer = await reader.transceive(SELECT_PPSE, { timeoutMs: 2000 });
    expect(answer.ok && x(answer.value)).toBe(x(twin.transceive(SELECT_PPSE) ?? h('')));
    expect(await reader.isCardPresent()).toEqual({ ok: true, value: true });
    await client.disconnect();
    const gone = await reader.waitForRemoval({ timeoutMs: 3000, intervalMs: 20 });
    expect(gone.ok).toBe(true);
    const after = await reader.transceive(SELECT_PPSE, { timeoutMs: 2000 });
    expect(after.ok ? null : after.error).toBe(HalStatus.CARD_GONE);
  });

  it('fullTap_validatorOverPcsc_approvesAndDebitsTheCard', async () => {
    const options = {
      seed: SEED,
      riders: 1,
      tornChance: 0,
      baudRate: 115200,
      mode: 'auto' as const,
      cardGroups: 1,
    };
    const pool = riderPool(SEED, 1, testPki(), 'default');
    const rider = pool.cards.find((c) => c.name === 'unionpay-debit-ec');
    if (rider === undefined) throw new Error('no EC card in the pool');
    const boardOptions = busBoardOptions(options, pool);
    const board = await composeSimBoardRest(boardOptions, {
      clock: new PtyRunClock(),
      reader,
      storage: simStorage(boardOptions, new Prng(SEED)),
    });
    try {
      await board.validator.start();
      const before = rider.card.balanceMinor();
      const client = new VpcdClient(new VpcdContactlessCard(rider.card));
      await client.connect('127.0.0.1', harness.pcscd.port);
      let report = await board.validator.turn(async (event) => {
        if (event.kind === 'CardProcessed') await client.disconnect();
      });
      for (let turn = 0; report === null && turn < 50; turn += 1) {
        report = await board.validator.turn(async (event) => {
          if (event.kind === 'CardProcessed') await client.disconnect();
        });
      }
      expect(report?.result, JSON.stringify(report)).toBe('approved');
      expect(before).not.toBeNull();
      expect(report?.amountMinor).toBeGreaterThan(0);
      expect(rider.card.balanceMinor()).toBe((before ?? 0) - (report?.amountMinor ?? 0));
      expect(report?.journalSeqs.length).toBeGreaterThan(0);
      await waitFor('client closed', () => !client.isConnected());
    } finally {
      board.dispose();
    }
  });
});
