// Emulated PN532 byte for byte: libnfc's measured transcript (pn532.md §7.3/§7.4), faults.

import { describe, expect, it } from 'vitest';
import {
  ACK,
  CMD,
  ERR,
  HEX,
  NACK,
  RSP,
  cat,
  hexOf,
  withBadDcs,
} from '../../../hal/test/pn532_test_frames.js';
import type { CardIdentity } from '../../src/cards/card_model.js';
import { PN532_SIM_DEFAULT_OPTIONS, type Pn532SimOptions } from '../../src/pn532_sim/pn532_sim.js';
import {
  QPBOC_CAPDU,
  SCRIPTED_IDENTITY_A,
  SCRIPTED_IDENTITY_B,
  ScriptedCard,
  longCapdu300,
  qpbocScriptedCard,
} from '../../src/pn532_sim/pn532_scripted_card.js';
import { rawHost, type RawHost } from './pn532_sim_host.js';

const WAKE = HEX(`55 55 ${'00'.repeat(14)}`);
const h = (b: Uint8Array): string => hexOf(b);
/** The card of pn532.md §5 / §7.3. */
const DOC_CARD_A: CardIdentity = {
  kind: 'A',
  uid: HEX('08 A1 B2 C3'),
  atqa: HEX('00 04'),
  sak: 0x20,
  ats: HEX('05 78 80 70 02'),
};

function opts(overrides: Partial<Pn532SimOptions>): Pn532SimOptions {
  return { ...PN532_SIM_DEFAULT_OPTIONS, ...overrides };
}

/** An emulator past the LowVbat wake-up, with `cards` in the field. */
async function awake(
  overrides: Partial<Pn532SimOptions>,
  ...cards: ScriptedCard[]
): Promise<RawHost> {
  const host = rawHost(opts(overrides));
  for (const c of cards) host.sim.placeCard(c);
  expect(await host.exchange(cat(WAKE, CMD('14 01')))).toEqual([h(ACK()), h(RSP('15'))]);
  return host;
}

async function activated(host: RawHost): Promise<void> {
  const answer = await host.exchange(CMD('4A 01 00'));
  expect(answer[1]?.startsWith('00 00 ff')).toBe(true);
}

describe('libnfc transcript (pn532.md §7.3, measured)', () => {
  // Each row: host frame as libnfc sent it, and the PN532 answer libnfc received.
  const rows: [string, string][] = [
    [
      '00 00 FF 09 F7 D4 00 00 6C 69 62 6E 66 63 BE 00',
      '00 00 FF 09 F7 D5 01 00 6C 69 62 6E 66 63 BC 00',
    ],
    ['00 00 FF 02 FE D4 02 2A 00', '00 00 FF 06 FA D5 03 32 01 06 07 E8 00'],
    ['00 00 FF 03 FD D4 12 14 06 00', '00 00 FF 02 FE D5 13 18 00'],
    [
      '00 00 FF 0C F4 D4 06 63 02 63 03 63 0D 63 38 63 3D B0 00',
      '00 00 FF 07 F9 D5 07 00 00 00 00 00 24 00',
    ],
    ['00 00 FF 08 F8 D4 08 63 02 80 63 03 80 59 00', '00 00 FF 02 FE D5 09 22 00'],
    ['00 00 FF 04 FC D4 32 01 00 F9 00', '00 00 FF 02 FE D5 33 F8 00'],
    ['00 00 FF 04 FC D4 32 01 01 F8 00', '00 00 FF 02 FE D5 33 F8 00'],
    ['00 00 FF 06 FA D4 32 05 FF FF FF F8 00', '00 00 FF 02 FE D5 33 F8 00'],
    [
      '00 00 FF 0E F2 D4 06 63 02 63 03 63 05 63 38 63 3C 63 3D 19 00',
      '00 00 FF 08 F8 D5 07 80 80 00 00 00 00 24 00',
    ],
    ['00 00 FF 08 F8 D4 08 63 05 40 63 3C 10 CD 00', '00 00 FF 02 FE D5 09 22 00'],
    ['00 00 FF 06 FA D4 32 05 00 01 02 F2 00', '00 00 FF 02 FE D5 33 F8 00'],
    [
      '00 00 FF 04 FC D4 4A 01 00 E1 00',
      '00 00 FF 11 EF D5 4B 01 01 00 04 20 04 08 A1 B2 C3 05 78 80 70 02 29 00',
    ],
    ['00 00 FF 03 FD D4 44 00 E8 00', '00 00 FF 03 FD D5 45 00 E6 00'],
    ['00 00 FF 03 FD D4 52 00 DA 00', '00 00 FF 03 FD D5 53 00 D8 00'],
    ['00 00 FF 03 FD D4 16 F0 26 00', '00 00 FF 03 FD D5 17 00 14 00'],
  ];

  it('transcript_nfcListSession_answersByteForByte', async () => {
    const host = rawHost(PN532_SIM_DEFAULT_OPTIONS);
    host.sim.placeCard(new ScriptedCard('doc', DOC_CARD_A, []));
    const open = cat(WAKE, HEX('00 00 FF 03 FD D4 14 01 17 00'));
    expect(await host.exchange(open)).toEqual([h(ACK()), '00 00 ff 02 fe d5 15 16 00']);
    for (const [command, response] of rows) {
      expect(await host.exchange(HEX(command)), command).toEqual([h(ACK()), h(HEX(response))]);
    }
  });

  it('removeCard_keepsTheOthersInOrder_asASpliceDoes', () => {
    const host = rawHost(PN532_SIM_DEFAULT_OPTIONS);
    const cards = ['a', 'b', 'c', 'd'].map((l) => new ScriptedCard(l, DOC_CARD_A, []));
    for (const order of [[1, 0, 3, 2], [3, 2, 1, 0], [0, 1, 2, 3], [2, 0, 3, 1]]) {
      for (const c of cards) host.sim.placeCard(c);
      const reference = [...cards];
      for (const at of order) {
        const card = cards[at] as ScriptedCard;
        host.sim.removeCard(card);
        reference.splice(reference.indexOf(card), 1);
        expect(host.sim.cardsInField().map((c) => c.label)).toEqual(reference.map((c) => c.label));
      }
      host.sim.removeCard(cards[0] as ScriptedCard);
      expect(host.sim.cardsInField()).toEqual([]);
    }
  });

  it('selectPpse_throughInDataExchange_matchesMeasuredFrameShape', async () => {
    const card = qpbocScriptedCard('q', SCRIPTED_IDENTITY_A);
    const host = await awake({}, card);
    await activated(host);
    const out = await host.exchange(CMD(`40 01 ${QPBOC_CAPDU.selectPpse}`));
    expect(h(CMD(`40 01 ${QPBOC_CAPDU.selectPpse}`)).slice(0, 17)).toBe('00 00 ff 17 e9 d4');
    expect(out).toEqual([
      h(ACK()),
      h(RSP(`41 00 ${hexOf(card.answerTo(QPBOC_CAPDU.selectPpse))}`)),
    ]);
    expect(out[1]?.slice(0, 14)).toBe('00 00 ff 3b c5'); // 56-byte answer: LEN 0x3B as measured
  });

  it('miChunk64_258ByteAnswer_splitsLikeTheMeasuredRun', async () => {
    const card = qpbocScriptedCard('q', SCRIPTED_IDENTITY_A);
    const host = await awake({ miChunkBytes: 64 }, card);
    await activated(host);
    const answer = card.answerTo(QPBOC_CAPDU.getData258);
    const first = await host.exchange(CMD(`40 01 ${QPBOC_CAPDU.getData258}`));
    expect(first).toEqual([h(ACK()), h(RSP(`41 40 ${hexOf(answer.subarray(0, 64))}`))]);
    expect(first[1]?.slice(0, 26)).toBe('00 00 ff 43 bd d5 41 40 41');
    for (let part = 1; part < 4; part += 1) {
      const chunk = answer.subarray(part * 64, part * 64 + 64);
      expect(await host.exchange(HEX('00 00 FF 03 FD D4 40 01 EB 00'))).toEqual([
        h(ACK()),
        h(RSP(`41 40 ${hexOf(chunk)}`)),
      ]);
    }
    expect(await host.exchange(CMD('40 01'))).toEqual([
      h(ACK()),
      '00 00 ff 05 fb d5 41 00 90 00 5a 00',
    ]);
  });
});

describe('power states', () => {
  it('lowVbat_strict_ignoresEverythingButSamConfiguration', async () => {
    const host = rawHost(PN532_SIM_DEFAULT_OPTIONS);
    expect(await host.exchange(cat(WAKE, CMD('02')))).toEqual([]);
    expect(await host.exchange(CMD('14 01'))).toEqual([h(ACK()), h(RSP('15'))]);
    expect(await host.exchange(CMD('02'))).toEqual([h(ACK()), h(RSP('03 32 01 06 07'))]);
  });

  it('wakeUp_losingMoreThanTheBurst_isSilent (negative control)', async () => {
    const host = rawHost(opts({ wakeBytesLost: 18 }));
    expect(await host.exchange(cat(WAKE, CMD('14 01')))).toEqual([]);
  });

  it('powerDown_nextFrameWithoutBurstIsLost_withBurstAnswered', async () => {
    const host = await awake({});
    expect(await host.exchange(CMD('16 F0'))).toEqual([h(ACK()), h(RSP('17 00'))]);
    expect(await host.exchange(CMD('02'))).toEqual([]);
    expect(await host.exchange(cat(WAKE, CMD('02')))).toEqual([h(ACK()), h(RSP('03 32 01 06 07'))]);
  });

  it('setSerialBaudRate_switchesAfterHostAck_andPacesAtTheNewRate', async () => {
    const host = await awake({ commandDelayMs: 0 });
    expect(await host.exchange(CMD('10 07'))).toEqual([h(ACK()), h(RSP('11'))]);
    expect(await host.exchange(ACK())).toEqual([]);
    await host.line.host.setBaudRate(921600);
    expect(await host.exchange(CMD('02'))).toEqual([h(ACK()), h(RSP('03 32 01 06 07'))]);
    const cmdDoneMs = host.clock.nowMs() - 200;
    const arrivals = host.lastArrivalsMs();
    // ACK then answer back to back at 921600 baud: 10 bit-times per byte.
    expect((arrivals[1] ?? 0) - cmdDoneMs).toBeCloseTo(((6 + 13) * 10_000) / 921600, 6);
  });

  it('pacing_at115200_eachByteTakesTenBitTimes', async () => {
    const host = await awake({ commandDelayMs: 0 });
    const t0 = host.clock.nowMs();
    await host.exchange(CMD('02'));
    const arrivals = host.lastArrivalsMs();
    const byteMs = 10_000 / 115200;
    expect((arrivals[0] ?? 0) - t0).toBeCloseTo((9 + 6) * byteMs, 6);
    expect((arrivals[1] ?? 0) - t0).toBeCloseTo((9 + 6 + 13) * byteMs, 6);
  });
});

describe('host link protocol', () => {
  it('nack_resendsTheLastAnswer', async () => {
    const host = await awake({});
    await host.exchange(CMD('02'));
    expect(await host.exchange(NACK())).toEqual([h(RSP('03 32 01 06 07'))]);
  });

  it('unknownCommandOrWrongTfi_getTheErrorFrame', async () => {
    const host = await awake({});
    expect(await host.exchange(CMD('58 00'))).toEqual([h(ACK()), h(ERR())]);
    expect(await host.exchange(RSP('02'))).toEqual([h(ERR())]);
  });

  it('hostAck_abortsAnEndlessPoll_andTheChipServesTheNextCommand', async () => {
    const host = await awake({});
    await host.exchange(CMD('32 05 FF FF FF'));
    expect(await host.exchange(CMD('4A 01 00'), 5000)).toEqual([h(ACK())]);
    expect(await host.exchange(ACK(), 1000)).toEqual([]);
    host.sim.placeCard(qpbocScriptedCard('late', SCRIPTED_IDENTITY_A));
    await host.clock.advance(100);
    expect(await host.exchange(CMD('02'))).toEqual([h(ACK()), h(RSP('03 32 01 06 07'))]);
  });

  it('endlessPoll_cardArrivingLater_isAnswered', async () => {
    const host = await awake({});
    await host.exchange(CMD('32 05 FF FF FF'));
    expect(await host.exchange(CMD('4A 01 00'), 3000)).toEqual([h(ACK())]);
    const card = qpbocScriptedCard('late', SCRIPTED_IDENTITY_A);
    host.sim.placeCard(card);
    await host.clock.advance(50);
    expect(card.powerOnCount).toBe(1);
    expect(host.sim.exchangeTimings().at(-1)?.command).toBe(0x4a);
  });

  it('keepTimingsOff_recordsNone_andTheWireIsTheSame', async () => {
    const session = async (keep: boolean): Promise<{ wire: string[]; timings: number }> => {
      const host = await awake({}, qpbocScriptedCard('card', SCRIPTED_IDENTITY_A));
      host.sim.keepTimings(keep);
      const wire = await host.exchange(CMD('4A 01 00'));
      wire.push(...(await host.exchange(CMD(`40 01 ${QPBOC_CAPDU.selectPpse}`))));
      return { wire, timings: host.sim.exchangeTimings().length };
    };
    const kept = await session(true);
    const off = await session(false);
    expect(kept.timings).toBe(2);
    expect(off.timings).toBe(0);
    expect(off.wire).toEqual(kept.wire);
    expect(kept.wire).toHaveLength(4);
    expect(kept.wire[3]).toContain('d5 41 00');
  });

  it('newCommand_cancelsThePendingOne', async () => {
    const host = await awake({});
    await host.exchange(CMD('32 05 FF FF FF'));
    await host.exchange(CMD('4A 01 00'), 100);
    expect(await host.exchange(CMD('52 00'))).toEqual([h(ACK()), h(RSP('53 00'))]);
  });
});

describe('targets', () => {
  it('typeB_listing_matchesPn532mdLayout', async () => {
    const host = await awake({}, qpbocScriptedCard('b', SCRIPTED_IDENTITY_B));
    expect(await host.exchange(CMD('4A 01 03 00'))).toEqual([
      h(ACK()),
      h(RSP('4B 01 01 50 1A 2B 3C 4D 00 00 00 00 80 71 81 01 00')),
    ]);
  });

  it('typeB_withoutAfi_isASyntaxError', async () => {
    const host = await awake({}, qpbocScriptedCard('b', SCRIPTED_IDENTITY_B));
    expect(await host.exchange(CMD('4A 01 03'))).toEqual([h(ACK()), h(ERR())]);
  });

  it('twoCards_listedAsTg1AndTg2_andEachAnswersItsOwnExchange', async () => {
    const a = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
    const b = new ScriptedCard('a2', { ...DOC_CARD_A }, [
      { capdu: '00B2010C00', rapdu: HEX('AA 90 00'), processingMs: 1 },
    ]);
    const host = await awake({}, a, b);
    const listed = await host.exchange(CMD('4A 02 00'));
    expect(listed[1]).toBe(
      h(
        RSP(
          '4B 02 01 00 04 28 04 5A 3C 21 9E 05 78 80 70 02 ' +
            '02 00 04 20 04 08 A1 B2 C3 05 78 80 70 02',
        ),
      ),
    );
    expect(await host.exchange(CMD('40 02 00 B2 01 0C 00'))).toEqual([
      h(ACK()),
      h(RSP('41 00 AA 90 00')),
    ]);
  });

  it('inAutoPoll_nfcPollParameters_reportsIso14443_4A', async () => {
    const host = await awake({}, qpbocScriptedCard('a', SCRIPTED_IDENTITY_A));
    expect(await host.exchange(CMD('60 14 02 20 10 03 11 12 04'))).toEqual([
      h(ACK()),
      h(RSP('61 01 20 0E 01 00 04 28 04 5A 3C 21 9E 05 78 80 70 02')),
    ]);
  });

  it('inAutoPoll_typeBCard_reportsType23Or03', async () => {
    const host = await awake({}, qpbocScriptedCard('b', SCRIPTED_IDENTITY_B));
    const out = await host.exchange(CMD('60 01 01 20 23'));
    expect(out[1]).toBe(h(RSP('61 01 23 0F 01 50 1A 2B 3C 4D 00 00 00 00 80 71 81 01 00')));
  });

  it('presence_rNakWhilePresent_getsRAck_thenStatus01AfterRemoval', async () => {
    const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
    const host = await awake({}, card);
    await activated(host);
    expect(await host.exchange(CMD('42 B2'))).toEqual([h(ACK()), h(RSP('43 00 A2'))]);
    expect(await host.exchange(CMD('00 06'))).toEqual([h(ACK()), h(RSP('01 00'))]);
    host.sim.removeCard(card);
    expect(await host.exchange(CMD('42 B2'))).toEqual([h(ACK()), h(RSP('43 01'))]);
    expect(await host.exchange(CMD('00 06'))).toEqual([h(ACK()), h(RSP('01 01'))]);
  });

  it('rawFrameWithoutCard_isStatus01Promptly', async () => {
    const host = await awake({});
    expect(await host.exchange(CMD('42 01 0B 3F 80'), 20)).toEqual([h(ACK()), h(RSP('43 01'))]);
  });

  it('registersAndGpio_readBackWhatWasWritten', async () => {
    const host = await awake({});
    await host.exchange(CMD('08 63 02 83 FF B0 15'));
    expect((await host.exchange(CMD('06 63 02 FF B0')))[1]).toBe(h(RSP('07 83 15')));
    await host.exchange(CMD('0E 80 00'));
    expect((await host.exchange(CMD('0C')))[1]).toBe(h(RSP('0D C0 FF 00')));
  });

  it('generalStatus_listsTheActiveTarget', async () => {
    const host = await awake({}, qpbocScriptedCard('a', SCRIPTED_IDENTITY_A));
    await activated(host);
    expect((await host.exchange(CMD('04')))[1]).toBe(h(RSP('05 00 01 01 01 00 00 00 00')));
  });
});

describe('exchanges', () => {
  it('hostChaining_300ByteCapdu_reachesTheCardWhole', async () => {
    const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
    const host = await awake({}, card);
    await activated(host);
    const bytes = longCapdu300();
    expect(await host.exchange(CMD(`40 41 ${hexOf(bytes.subarray(0, 262))}`))).toEqual([
      h(ACK()),
      h(RSP('41 00')),
    ]);
    expect(await host.exchange(CMD(`40 01 ${hexOf(bytes.subarray(262))}`))).toEqual([
      h(ACK()),
      h(RSP('41 00 90 00')),
    ]);
    expect(hexOf(card.received.at(-1) ?? [])).toBe(hexOf(bytes));
  });

  it('cardRemoved_exchangeAnswersStatus01AfterRetryTimeout', async () => {
    const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
    const host = await awake({ commandDelayMs: 0 }, card);
    await activated(host);
    host.sim.removeCard(card);
    const t0 = host.clock.nowMs();
    expect(await host.exchange(CMD('40 01 00 B2 01 0C 00'))).toEqual([h(ACK()), h(RSP('41 01'))]);
    // RetryTO default code 0A = 51.2 ms, one try (MaxRtyCOM 0).
    expect((host.lastArrivalsMs()[1] ?? 0) - t0).toBeGreaterThanOrEqual(51.2);
    expect(await host.exchange(CMD('40 01 00 B2 01 0C 00'))).toEqual([h(ACK()), h(RSP('41 27'))]);
  });

  it('unknownTarget_isStatus27', async () => {
    const host = await awake({});
    expect(await host.exchange(CMD('40 01 00 B2 01 0C 00'))).toEqual([h(ACK()), h(RSP('41 27'))]);
  });
});

describe('faults', () => {
  const apdu = CMD(`40 01 ${QPBOC_CAPDU.readRecord1}`);

  async function faulted(): Promise<{ host: RawHost; card: ScriptedCard; good: Uint8Array }> {
    const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
    const host = await awake({}, card);
    await activated(host);
    const good = RSP(`41 00 ${hexOf(card.answerTo(QPBOC_CAPDU.readRecord1))}`);
    return { host, card, good };
  }

  it('dropAck_answerWithoutAck', async () => {
    const { host, good } = await faulted();
    host.sim.injectFault({ kind: 'drop-ack' });
    expect(await host.exchange(apdu)).toEqual([h(good)]);
  });

  it('ignoreCommand_silence_andTheCardNeverSawIt', async () => {
    const { host, card } = await faulted();
    host.sim.injectFault({ kind: 'ignore-command' });
    expect(await host.exchange(apdu)).toEqual([]);
    expect(card.received.length).toBe(0);
  });

  it('noResponse_ackOnly', async () => {
    const { host } = await faulted();
    host.sim.injectFault({ kind: 'no-response', command: 0x40 });
    expect(await host.exchange(apdu)).toEqual([h(ACK())]);
  });

  it('badChecksumTwice_nackResendsUntilGood', async () => {
    const { host, good } = await faulted();
    host.sim.injectFault({ kind: 'bad-checksum', times: 2 });
    expect(await host.exchange(apdu)).toEqual([h(ACK()), h(withBadDcs(good))]);
    expect(await host.exchange(NACK())).toEqual([h(withBadDcs(good))]);
    expect(await host.exchange(NACK())).toEqual([h(good)]);
  });

  it('loseResponseBytes_cutsTheFrame', async () => {
    const { host, good } = await faulted();
    host.sim.injectFault({ kind: 'lose-response-bytes', offset: 10, count: 5 });
    const cut = cat(good.subarray(0, 10), good.subarray(15));
    expect(await host.exchange(apdu)).toEqual([h(ACK()), h(cut)]);
    expect(await host.exchange(NACK())).toEqual([h(good)]);
  });

  it('noiseBeforeResponse_precedesTheFrame', async () => {
    const { host, good } = await faulted();
    host.sim.injectFault({ kind: 'noise-before-response', bytes: HEX('00 FF 13') });
    expect(await host.exchange(apdu)).toEqual([h(ACK()), h(cat(HEX('00 FF 13'), good))]);
  });

  it('errorFrameAndErrorStatus_replaceTheAnswer', async () => {
    const { host } = await faulted();
    host.sim.injectFault({ kind: 'error-frame', command: 0x40 });
    host.sim.injectFault({ kind: 'error-status', status: 0x02, command: 0x40 });
    expect(await host.exchange(apdu)).toEqual([h(ACK()), h(ERR())]);
    expect(await host.exchange(apdu)).toEqual([h(ACK()), h(RSP('41 02'))]);
  });

  it('removeCardBeforeCard_cardNeverSawTheCommand', async () => {
    const { host, card } = await faulted();
    host.sim.injectFault({ kind: 'remove-card', when: 'before-card' });
    expect(await host.exchange(apdu)).toEqual([h(ACK()), h(RSP('41 01'))]);
    expect(card.received.length).toBe(0);
    expect(host.sim.cardsInField()).toEqual([]);
  });

  it('removeCardAfterCard_tearing_cardActedButAnswerLost', async () => {
    const { host, card } = await faulted();
    host.sim.injectFault({ kind: 'remove-card', when: 'after-card' });
    expect(await host.exchange(apdu)).toEqual([h(ACK()), h(RSP('41 01'))]);
    expect(card.received.length).toBe(1);
  });
});
