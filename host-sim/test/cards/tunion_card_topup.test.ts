// A T-Union card twin loaded at a service desk between rides (the swarm's riders do it): the
// balance goes back to the personalised one, the offline serial and the debit list do not
// move, and the card's next INITIALIZE FOR PURCHASE shows both. Driven by APDUs.

import { describe, expect, it } from 'vitest';
import {
  computeMac1,
  purchaseSessionKey,
  u32Bytes,
} from '../../src/psam/pboc_epurse_crypto.js';
import { tunionCard } from '../../src/cards/tunion_population.js';
import type { TunionCard } from '../../src/cards/tunion_card.js';
import { TUNION_AID } from '../../src/cards/tunion_card.js';
import { testSeed } from '../sim/support/sim_ride.js';

const TERMINAL = Uint8Array.of(0, 0, 0, 0, 0, 1);
const DATE_TIME = Uint8Array.of(0x20, 0x26, 0x11, 0x22, 0x08, 0x00, 0x00);

function sw(answer: Uint8Array | null): number {
  if (answer === null || answer.length < 2) throw new Error('no answer');
  return ((answer[answer.length - 2] ?? 0) << 8) | (answer[answer.length - 1] ?? 0);
}

/** INITIALIZE FOR PURCHASE (06, key index 1): balance and offline serial the card shows. */
function initialize(card: TunionCard, amount: number): {
  balance: number; atc: number; random: Uint8Array;
} {
  const answer = card.transceive(Uint8Array.of(0x80, 0x50, 0x01, 0x02, 0x0b, 0x01,
    ...u32Bytes(amount), ...TERMINAL, 0x0f));
  expect(sw(answer)).toBe(0x9000);
  const data = Buffer.from(answer ?? []);
  return {
    balance: data.readUInt32BE(0), atc: data.readUInt16BE(4), random: data.subarray(11, 15),
  };
}

/** One purchase of `amount`, MAC1 computed from the card's purchase key. */
function purchase(card: TunionCard, amount: number, terminalSerial: number): void {
  const init = initialize(card, amount);
  const session = purchaseSessionKey(card.keys().dpk,
    { cardRandom: init.random, offlineSerial: init.atc, terminalSerial });
  const mac1 = computeMac1(session, { amountMinor: amount, transactionType: 0x06,
    terminalNumber: TERMINAL, dateTime: DATE_TIME });
  const debit = card.transceive(Uint8Array.of(0x80, 0x54, 0x01, 0x00, 0x0f,
    ...u32Bytes(terminalSerial), ...DATE_TIME, ...mac1, 0x08));
  expect(sw(debit)).toBe(0x9000);
}

describe('TunionCard.topUp', () => {
  it('loads the balance back to the personalised one, keeping serial and debits', () => {
    const card = tunionCard(testSeed(12), 'tunion-interop-shenzhen');
    card.powerOn();
    expect(sw(card.transceive(Uint8Array.of(0x00, 0xa4, 0x04, 0x00, TUNION_AID.length,
      ...TUNION_AID)))).toBe(0x9000);
    const personalised = card.profile.balanceMinor;
    card.topUp();
    expect(card.loadedMinor()).toBe(0);
    purchase(card, 1_800, 7);
    purchase(card, 2_100, 8);
    const before = initialize(card, 0);
    expect(before.balance).toBe(personalised - 3_900);
    card.topUp();
    const after = initialize(card, 0);
    expect(after.balance).toBe(personalised);
    expect(after.atc).toBe(before.atc);
    expect(card.loadedMinor()).toBe(3_900);
    expect(card.debits().map((d) => d.amountMinor)).toEqual([1_800, 2_100]);
    expect(card.balanceMinor()).toBe(personalised + card.loadedMinor() - 3_900);
  });
});
