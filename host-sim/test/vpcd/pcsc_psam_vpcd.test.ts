// Our PC/SC PSAM driver → pcscd → vpcd → our PSAM emulator: a purchase round trip checked with
// the test's own e-purse maths, a card pulled mid-transaction, bad PSAM answers.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HalStatus } from '../../../hal/src/ports/hal_status.js';
import { PcscPsam } from '../../../hal/src/pcsc/pcsc_psam.js';
import {
  creditSamForPurchase,
  initSamForPurchase,
  readTerminalNumber,
  selectPsamApplication,
} from '../../../hal/src/pcsc/psam_commands.js';
import { PsamEmulator } from '../../src/psam/psam_emulator.js';
import { testMasterKey, testPsamProfile, TEST_ISSUER_ID } from '../../src/psam/psam_profile.js';
import { pcscStackMissing } from '../../src/vpcd/pcsc_stack_ready.js';
import { VpcdClient } from '../../src/vpcd/vpcd_client.js';
import type { VpcdCard } from '../../src/vpcd/vpcd_client.js';
import { h, refPurchase, x } from '../psam/support/epurse_reference.js';
import { startPcscHarness, waitFor } from './support/pcsc_harness.js';
import type { PcscHarness } from './support/pcsc_harness.js';

const MISSING = pcscStackMissing([], 'PC/SC PSAM over vpcd tests');
const T = { timeoutMs: 5000 };
const SERIAL8 = '0000000000445566';
const TIME = '20261203090000';

function initData(amount: number): Uint8Array {
  const a = amount.toString(16).padStart(8, '0');
  return h(`a1b2c3d4 0010 ${a} 09 ${TIME} 01 00 ${SERIAL8} ${x(TEST_ISSUER_ID)}`.replace(/ /g, ''));
}

function want(serial: number, amount: number) {
  return refPurchase({
    root: testMasterKey('purchase-root'),
    tacMaster: testMasterKey('tac'),
    issuerId: x(TEST_ISSUER_ID),
    cardSerial8: SERIAL8,
    random: 'a1b2c3d4',
    atc: 0x10,
    terminalSerial: serial,
    amount,
    type: 9,
    terminalNumber: '000000000123',
    dateTime: TIME,
  });
}

/** The emulator behind vpcd, with an optional fault applied to its answers. */
class FaultyCard implements VpcdCard {
  fault: ((capdu: Uint8Array, rapdu: Uint8Array) => Uint8Array | null) | null = null;
  constructor(readonly psam: PsamEmulator) {}
  atr = () => this.psam.atr();
  powerOn = () => void this.psam.powerOn();
  powerOff = () => this.psam.powerOff();
  reset = () => void this.psam.reset();
  transmit(apdu: Uint8Array): Uint8Array | null {
    const answer = this.psam.transmit(apdu);
    return this.fault === null ? answer : this.fault(apdu, answer);
  }
}

describe.skipIf(MISSING !== null)('PC/SC PSAM driver over pcscd + vpcd', () => {
  let harness: PcscHarness;
  let psam: PcscPsam;
  const card = new FaultyCard(new PsamEmulator(testPsamProfile()));
  const client = new VpcdClient(card);

  const insert = async () => {
    await client.connect('127.0.0.1', harness.pcscd.port);
    await waitFor('card present', () => psam.slotState().kind === 'present');
  };

  beforeAll(async () => {
    harness = await startPcscHarness('Shuaka PSAM');
    psam = new PcscPsam({
      readerName: 'Shuaka PSAM',
      readers: harness.readers,
      clock: harness.clock,
      shareMode: 'exclusive',
    });
  });

  afterAll(async () => {
    await client.disconnect();
    await harness?.stop();
  });

  afterEach(async () => {
    card.fault = null;
    await psam.powerOff();
    await client.disconnect();
    await waitFor('card gone', () => psam.slotState().kind === 'empty');
  });

  it('emptySlot_powerOn_isCardGone', async () => {
    expect(psam.slotState().kind).toBe('empty');
    const r = await psam.powerOn(T);
    expect(r.ok ? 'ok' : r.error).toBe(HalStatus.CARD_GONE);
  });

  it('purchase_roundTrip_macsMatchIndependentMaths', async () => {
    await insert();
    const atr = await psam.powerOn(T);
    expect(atr.ok && x(atr.value)).toBe(x(card.psam.atr()));
    const fci = await selectPsamApplication(psam, T); // 61 1A → GET RESPONSE inside the driver
    expect(fci.ok && x(fci.value).slice(0, 8)).toBe('6f188410');
    const tn = await readTerminalNumber(psam, T);
    expect(tn.ok && x(tn.value)).toBe('000000000123');
    const raw = await psam.transmit(h('00b0960000'), T); // 6C06 → repeated with Le 06
    expect(raw.ok && x(raw.value)).toBe('0000000001239000');
    for (const amount of [200, 150]) {
      const serial = card.psam.nextTerminalSerial();
      const init = await initSamForPurchase(psam, initData(amount), T);
      expect(init.ok && init.value.terminalSerial).toBe(serial);
      expect(init.ok && x(init.value.mac1)).toBe(want(serial, amount).mac1);
      const credit = await creditSamForPurchase(psam, h(want(serial, amount).mac2), T);
      expect(credit.ok).toBe(true);
    }
    const bad = await initSamForPurchase(psam, initData(300), T);
    const serial = bad.ok ? bad.value.terminalSerial : -1;
    const refused = await creditSamForPurchase(psam, h(want(serial, 301).mac2), T);
    expect(refused.ok ? null : refused.error).toEqual({ kind: 'status', sw: 0x9302 });
  });

  it('cardPulledMidTransaction_isCardGone_thenPowersAgain', async () => {
    await insert();
    expect((await psam.powerOn(T)).ok).toBe(true);
    expect((await selectPsamApplication(psam, T)).ok).toBe(true);
    const init = await initSamForPurchase(psam, initData(200), T);
    expect(init.ok).toBe(true);
    await client.disconnect();
    const credit = await creditSamForPurchase(psam, h('00000000'), T);
    expect(
      credit.ok ? null : credit.error.kind === 'hal' && credit.error.status,
      JSON.stringify(credit),
    ).toBe(HalStatus.CARD_GONE);
    await waitFor('card gone', () => psam.slotState().kind === 'empty');
    await insert();
    expect((await psam.powerOn(T)).ok).toBe(true);
  });

  it('connectionDroppedInsideACommand_isCardGone', async () => {
    await insert();
    expect((await psam.powerOn(T)).ok).toBe(true);
    expect((await selectPsamApplication(psam, T)).ok).toBe(true);
    card.fault = (capdu, rapdu) => (capdu[1] === 0x70 ? null : rapdu);
    const init = await initSamForPurchase(psam, initData(200), T);
    expect(
      init.ok ? null : init.error.kind === 'hal' && init.error.status,
      JSON.stringify(init),
    ).toBe(HalStatus.CARD_GONE);
  });

  it('badAnswers_giveDefinedErrors', async () => {
    await insert();
    expect((await psam.powerOn(T)).ok).toBe(true);
    expect((await selectPsamApplication(psam, T)).ok).toBe(true);
    card.fault = (capdu, rapdu) => (capdu[1] === 0xb0 ? Uint8Array.of(0x90) : rapdu);
    const short = await psam.transmit(h('00b0960006'), T);
    expect(short.ok ? null : short.error).toBe(HalStatus.PROTOCOL);
    expect((await psam.powerOn(T)).ok).toBe(true);
    card.fault = (capdu, rapdu) => (capdu[1] === 0xb0 ? h('0000009000') : rapdu);
    const tn = await readTerminalNumber(psam, T);
    expect(tn.ok ? null : tn.error.kind).toBe('malformed');
    card.fault = (capdu, rapdu) => (capdu[1] === 0xb0 ? h('6f00') : rapdu);
    const sw = await readTerminalNumber(psam, T);
    expect(sw.ok ? null : sw.error).toEqual({ kind: 'status', sw: 0x6f00 });
    card.fault = (capdu, rapdu) => (capdu[1] === 0xc0 || capdu[1] === 0xb0 ? h('6101') : rapdu);
    const endless = await psam.transmit(h('00b0960006'), T);
    expect(endless.ok ? null : endless.error).toBe(HalStatus.PROTOCOL);
  });

  it('pcscdRestart_readerLostReported_reopenedWithBackoff_psamWorksAgain', async () => {
    await insert();
    expect((await psam.powerOn(T)).ok).toBe(true);
    harness.events.length = 0;
    const restarted = harness.pcscd.restart(700);
    await waitFor('context lost', () => harness.events.some((e) => e.kind === 'context-lost'));
    expect(psam.slotState().kind).toBe('reader-absent');
    const during = await readTerminalNumber(psam, T);
    expect(during.ok ? null : during.error.kind === 'hal' && during.error.status).toMatch(
      /READER_IO|CARD_GONE/,
    );
    await restarted;
    await client.disconnect();
    await insert(); // vpcd listens again: the card reconnects
    const lost = harness.events.filter((e) => e.kind === 'context-lost');
    const waits = lost.map((e) => (e.kind === 'context-lost' ? e.retryInMs : 0));
    expect(waits[0]).toBe(100);
    for (let i = 1; i < waits.length; i += 1) {
      expect(waits[i]).toBe(Math.min((waits[i - 1] ?? 0) * 2, 1000));
    }
    expect(harness.events.some((e) => e.kind === 'context-open')).toBe(true);
    expect((await psam.powerOn(T)).ok).toBe(true);
    const tn = await readTerminalNumber(psam, T);
    expect(tn.ok && x(tn.value)).toBe('000000000123');
  });
});
