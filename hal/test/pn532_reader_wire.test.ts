// Wire-exact Pn532Reader tests (nfcpy style): scripted answers in, exact frames and times out.

import { describe, expect, it } from 'vitest';
import { ClockSim } from '../../host-sim/src/clock_sim.js';
import { runOnClock } from '../../host-sim/src/pn532_sim/pn532_sim_rig.js';
import {
  createSerialLinkPairSim,
  type SerialLinkPairSim,
} from '../../host-sim/src/serial_link_sim.js';
import {
  PN532_READER_DEFAULT_OPTIONS,
  Pn532Reader,
  type Pn532ReaderOptions,
} from '../src/pn532/pn532_reader.js';
import { HalStatus, type HalResult } from '../src/ports/hal_status.js';
import type { ReaderStartOptions } from '../src/ports/reader_control_port.js';
import { ACK, CMD, ERR, HEX, NACK, RSP, cat, hexOf, seq, withBadDcs } from './pn532_test_frames.js';

const OPTIONS: Pn532ReaderOptions = PN532_READER_DEFAULT_OPTIONS;
const WAKE = HEX(`55 55 ${'00'.repeat(14)}`);
const RF = { activationAttempts: 2, exchangeRetries: 0, cardAnswerTimeoutMs: 51.2 } as const;
const START_115200: ReaderStartOptions = { baudRate: 115200, rf: RF };
const TARGET_A = '01 00 04 28 04 5A 3C 21 9E 05 78 80 70 02';

/** What the scripted PN532 does after one host write: send frames, then maybe act. */
interface Reaction {
  readonly send: readonly Uint8Array[];
  readonly then?: () => void;
}

interface WireRig {
  readonly clock: ClockSim;
  readonly line: SerialLinkPairSim;
  readonly reader: Pn532Reader;
  /** Reactions consumed in order, one per host write. */
  readonly script: Reaction[];
  run<T>(p: Promise<T>): Promise<T>;
  /** Host writes since the last reset, hex. */
  written(): string[];
  /** Clock times of the host writes since the last reset. */
  writtenAtMs(): number[];
}

function rig(options: Pn532ReaderOptions = OPTIONS): WireRig {
  const clock = new ClockSim(0);
  // Whole writes arrive as one chunk, so one host write = one scripted reaction.
  const line = createSerialLinkPairSim(clock, {
    baudRate: 115200,
    pace: true,
    chunkBytes: 4096,
    hostToDeviceFaults: undefined,
    deviceToHostFaults: undefined,
  });
  const script: Reaction[] = [];
  line.device.setReceiver(() => {
    const reaction = script.shift();
    if (reaction === undefined) return;
    for (const bytes of reaction.send) void line.device.write(bytes);
    reaction.then?.();
  });
  const hostWrites = (): { atMs: number; bytes: Uint8Array }[] =>
    line.transcript().filter((r) => r.direction === 'host-to-device');
  return {
    clock,
    line,
    reader: new Pn532Reader(line.host, clock, options),
    script,
    run: (p) => runOnClock(clock, p),
    written: () => hostWrites().map((r) => hexOf(r.bytes)),
    writtenAtMs: () => hostWrites().map((r) => r.atMs),
  };
}

function answer(...frames: Uint8Array[]): Reaction {
  return { send: frames };
}

const START_SCRIPT = (): Reaction[] => [
  answer(ACK(), RSP('15')),
  answer(ACK(), RSP('03 32 01 06 07')),
  answer(ACK(), RSP('13')),
  answer(ACK(), RSP('33')),
  answer(ACK(), RSP('33')),
  answer(ACK(), RSP('33')),
  answer(ACK(), RSP('33')),
];

/** A rig whose reader has started at 115200, transcript cleared. */
async function startedRig(options: Pn532ReaderOptions = OPTIONS): Promise<WireRig> {
  const r = rig(options);
  r.script.push(...START_SCRIPT());
  const started = await r.run(r.reader.start(START_115200));
  expect(started.ok).toBe(true);
  r.line.resetRecords();
  return r;
}

/** A started rig with the type A test card activated. */
async function activeRig(options: Pn532ReaderOptions = OPTIONS): Promise<WireRig> {
  const r = await startedRig(options);
  r.script.push(answer(ACK(), RSP(`4B 01 ${TARGET_A}`)));
  const polled = await r.run(r.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }));
  expect(polled.ok && polled.value.kind).toBe('one');
  r.line.resetRecords();
  return r;
}

function errorOf<T>(r: HalResult<T>): HalStatus | 'ok' {
  return r.ok ? 'ok' : r.error;
}

const hx = (b: Uint8Array): string => hexOf(b);

describe('start', () => {
  it('start_at921600_sendsWakeSamFirmwareParametersRfFieldBaudThenAck', async () => {
    const r = rig();
    r.script.push(...START_SCRIPT(), answer(ACK(), RSP('11')), {
      send: [],
      then: () => void r.line.device.setBaudRate(921600),
    });
    const info = await r.run(r.reader.start({ baudRate: 921600, rf: RF }));
    expect(info.ok && info.value).toEqual({
      name: 'PN532 v1.6',
      firmwareVersion: 1,
      firmwareRevision: 6,
      supportsTypeA: true,
      supportsTypeB: true,
      baudRate: 921600,
    });
    expect(r.written()).toEqual([
      hx(cat(WAKE, CMD('14 01'))),
      hx(CMD('02')),
      hx(CMD('12 14')),
      hx(CMD('32 02 00 0B 0A')),
      hx(CMD('32 04 00')),
      hx(CMD('32 05 FF 01 01')),
      hx(CMD('32 01 01')),
      hx(CMD('10 07')),
      hx(ACK()),
    ]);
    expect(r.line.host.baudRate()).toBe(921600);
  });

  it('start_silentChip_abortsEachTryAfterAckTimeout_thenTriesTargetBaud', async () => {
    const r = rig({ ...OPTIONS, startAttempts: 1 });
    const result = await r.run(r.reader.start({ baudRate: 921600, rf: RF }));
    expect(errorOf(result)).toBe(HalStatus.READER_IO);
    const wakeSam = hx(cat(WAKE, CMD('14 01')));
    expect(r.written()).toEqual(
      [wakeSam, hx(ACK()), wakeSam, hx(ACK())].concat([wakeSam, hx(ACK()), wakeSam, hx(ACK())]),
    );
    const at = r.writtenAtMs();
    const wakeSamMs = (26 * 10_000) / 115200;
    // The abort goes out exactly one ACK timeout after the command finished leaving.
    expect((at[1] ?? 0) - (at[0] ?? 0)).toBeCloseTo(wakeSamMs + OPTIONS.ackTimeoutMs, 6);
    expect(r.line.host.baudRate()).toBe(921600);
  });

  it('start_silentChip_retriesTheWholeSequence_withAResyncAbortBetweenTries', async () => {
    const r = rig();
    const result = await r.run(r.reader.start({ baudRate: 921600, rf: RF }));
    expect(errorOf(result)).toBe(HalStatus.READER_IO);
    const wakeSam = hx(cat(WAKE, CMD('14 01')));
    const oneTry = [wakeSam, hx(ACK()), wakeSam, hx(ACK()), wakeSam, hx(ACK()), wakeSam, hx(ACK())];
    const expected: string[] = [...oneTry];
    for (let k = 1; k < OPTIONS.startAttempts; k += 1) expected.push(hx(ACK()), ...oneTry);
    expect(r.written()).toEqual(expected);
    expect(r.reader.diagnostics().startRetries).toBe(OPTIONS.startAttempts - 1);
  });

  it('start_lostSamAnswer_isAskedForAgain_thenStarts', async () => {
    const r = rig();
    // The chip ACKs SAMConfiguration, but its answer never arrives; the resend gets one.
    r.script.push(answer(ACK()), answer(), ...START_SCRIPT());
    const result = await r.run(r.reader.start(START_115200));
    expect(errorOf(result)).toBe('ok');
    expect(r.reader.diagnostics().commandsResent).toBe(1);
    expect(r.written().slice(0, 3)).toEqual([
      hx(cat(WAKE, CMD('14 01'))),
      hx(ACK()),
      hx(CMD('14 01')),
    ]);
  });

  it('start_firmwareOfAnotherChip_isProtocol', async () => {
    const r = rig();
    r.script.push(answer(ACK(), RSP('15')), answer(ACK(), RSP('03 33 01 06 07')));
    const result = await r.run(r.reader.start(START_115200));
    expect(errorOf(result)).toBe(HalStatus.PROTOCOL);
  });

  it('setBaudRate_unofferedRate_isNotSupportedWithoutTraffic', async () => {
    const r = await startedRig();
    expect(errorOf(await r.run(r.reader.setBaudRate(250000)))).toBe(HalStatus.NOT_SUPPORTED);
    expect(r.written()).toEqual([]);
  });

  it('shutdown_releasesRfOffPowerDown_thenNextCommandWakesTheChip', async () => {
    const r = await startedRig();
    r.script.push(
      answer(ACK(), RSP('53 00')),
      answer(ACK(), RSP('33')),
      answer(ACK(), RSP('17 00')),
    );
    expect(errorOf(await r.run(r.reader.shutdown()))).toBe('ok');
    r.script.push(...START_SCRIPT());
    expect(errorOf(await r.run(r.reader.start(START_115200)))).toBe('ok');
    expect(r.written().slice(0, 4)).toEqual([
      hx(CMD('52 00')),
      hx(CMD('32 01 00')),
      hx(CMD('16 F0')),
      hx(cat(WAKE, CMD('14 01'))),
    ]);
  });
});

describe('poll', () => {
  it('poll_oneTypeA_sendsListWithTwoSlots_andReportsIdentity', async () => {
    const r = await startedRig();
    r.script.push(answer(ACK(), RSP(`4B 01 ${TARGET_A}`)));
    const result = await r.run(r.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }));
    expect(r.written()).toEqual([hx(CMD('4A 02 00'))]);
    expect(result.ok && result.value.kind === 'one' && result.value.card).toMatchObject({
      technology: 'ISO14443A',
      uid: HEX('5A 3C 21 9E'),
      atqa: HEX('00 04'),
      sak: 0x28,
      ats: HEX('05 78 80 70 02'),
      isoDep: true,
    });
  });

  it('poll_twoCards_refusesWithSeveral_andReleasesBoth', async () => {
    const r = await startedRig();
    const second = '02 00 04 20 04 11 22 33 44 05 78 80 70 02';
    r.script.push(answer(ACK(), RSP(`4B 02 ${TARGET_A} ${second}`)), answer(ACK(), RSP('53 00')));
    const result = await r.run(r.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }));
    expect(result.ok && result.value).toEqual({ kind: 'several', count: 2 });
    expect(r.written()).toEqual([hx(CMD('4A 02 00')), hx(CMD('52 00'))]);
  });

  it('poll_noCardOnA_triesB_withAfi', async () => {
    const r = await startedRig();
    r.script.push(answer(ACK(), RSP('4B 00')), answer(ACK(), RSP('4B 00')));
    const result = await r.run(
      r.reader.poll({ technologies: ['ISO14443A', 'ISO14443B'], timeoutMs: 500 }),
    );
    expect(result.ok && result.value).toEqual({ kind: 'none' });
    expect(r.written()).toEqual([hx(CMD('4A 02 00')), hx(CMD('4A 02 03 00'))]);
  });

  it('poll_typeBOnFirmwareWithoutB_isNotSupported', async () => {
    const r = rig();
    const script = START_SCRIPT();
    script[1] = answer(ACK(), RSP('03 32 01 06 05'));
    r.script.push(...script);
    await r.run(r.reader.start(START_115200));
    r.line.resetRecords();
    const result = await r.run(r.reader.poll({ technologies: ['ISO14443B'], timeoutMs: 500 }));
    expect(errorOf(result)).toBe(HalStatus.NOT_SUPPORTED);
    expect(r.written()).toEqual([]);
  });
});

describe('transceive', () => {
  it('transceive_shortApdu_isOneInDataExchange', async () => {
    const r = await activeRig();
    r.script.push(answer(ACK(), RSP('41 00 6F 00 90 00')));
    const result = await r.run(r.reader.transceive(HEX('00 A4 04 00 00'), { timeoutMs: 500 }));
    expect(result.ok && hx(result.value)).toBe('6f 00 90 00');
    expect(r.written()).toEqual([hx(CMD('40 01 00 A4 04 00 00'))]);
  });

  it('transceive_300ByteCapdu_chainsWithTgMiBit', async () => {
    const r = await activeRig();
    const capdu = `80 E2 00 00 00 01 2C ${seq(300, 7)}`;
    const bytes = HEX(capdu);
    r.script.push(answer(ACK(), RSP('41 00')), answer(ACK(), RSP('41 00 90 00')));
    const result = await r.run(r.reader.transceive(bytes, { timeoutMs: 500 }));
    expect(result.ok && hx(result.value)).toBe('90 00');
    expect(r.written()).toEqual([
      hx(CMD(`40 41 ${hexOf(bytes.subarray(0, 262))}`)),
      hx(CMD(`40 01 ${hexOf(bytes.subarray(262))}`)),
    ]);
    expect(r.written()[0]?.startsWith('00 00 ff ff ff 01 09 f6 d4 40 41')).toBe(true);
  });

  it('transceive_answerWithMi_fetchesTheRestWithBareTg', async () => {
    const r = await activeRig();
    r.script.push(
      answer(ACK(), RSP(`41 40 ${seq(200, 0)}`)),
      answer(ACK(), RSP(`41 00 ${seq(56, 200)} 90 00`)),
    );
    const result = await r.run(r.reader.transceive(HEX('80 CA DF 01 00'), { timeoutMs: 500 }));
    expect(result.ok && hx(result.value)).toBe(hexOf(HEX(`${seq(256, 0)} 90 00`)));
    expect(r.written()).toEqual([hx(CMD('40 01 80 CA DF 01 00')), hx(CMD('40 01'))]);
  });

  it.each([
    ['01', HalStatus.CARD_GONE],
    ['02', HalStatus.TRANSMISSION],
    ['27', HalStatus.PROTOCOL],
    ['0D', HalStatus.READER_IO],
    ['2B', HalStatus.CARD_GONE],
  ])('transceive_status%s_maps', async (status, hal) => {
    const r = await activeRig();
    r.script.push(answer(ACK(), RSP(`41 ${status}`)));
    const result = await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 }));
    expect(errorOf(result)).toBe(hal);
  });

  it('transceive_afterCardGone_isNotSupportedUntilNextPoll', async () => {
    const r = await activeRig();
    r.script.push(answer(ACK(), RSP('41 01')));
    await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 }));
    const again = await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 }));
    expect(errorOf(again)).toBe(HalStatus.NOT_SUPPORTED);
  });

  it('transceive_badDcs_sendsNack_andTakesTheResend', async () => {
    const r = await activeRig();
    const good = RSP('41 00 90 00');
    r.script.push(answer(ACK(), withBadDcs(good)), answer(good));
    const result = await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 }));
    expect(result.ok && hx(result.value)).toBe('90 00');
    expect(r.written()).toEqual([hx(CMD('40 01 00 B2 01 0C 00')), hx(NACK())]);
  });

  it('transceive_badDcsBeyondRetries_isTransmission_andAborts', async () => {
    const r = await activeRig();
    const bad = withBadDcs(RSP('41 00 90 00'));
    r.script.push(answer(ACK(), bad), answer(bad), answer(bad));
    const result = await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 }));
    expect(errorOf(result)).toBe(HalStatus.TRANSMISSION);
    expect(r.written()).toEqual([
      hx(CMD('40 01 00 B2 01 0C 00')),
      hx(NACK()),
      hx(NACK()),
      hx(ACK()),
    ]);
  });

  it('transceive_responseMissingBytes_nacksOneInterByteTimeoutAfterTheLastByte', async () => {
    const r = await activeRig();
    const good = RSP(`41 00 ${seq(40, 0)} 90 00`);
    const damaged = cat(good.subarray(0, 20), good.subarray(30));
    r.script.push(answer(ACK(), damaged), answer(good));
    const result = await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 }));
    expect(result).toMatchObject({ ok: true, value: { length: 42 } });
    expect(r.written()).toEqual([hx(CMD('40 01 00 B2 01 0C 00')), hx(NACK())]);
    const deviceWrites = r.line.transcript().filter((t) => t.direction === 'device-to-host');
    const damagedDoneMs = (deviceWrites[1]?.atMs ?? 0) + (damaged.length * 10_000) / 115200;
    const nackAtMs = r.writtenAtMs()[1] ?? 0;
    expect(nackAtMs).toBeCloseTo(damagedDoneMs + OPTIONS.interByteTimeoutMs, 6);
  });

  it('transceive_noResponse_abortsWithAckAtTheDeadline', async () => {
    const r = await activeRig();
    r.script.push(answer(ACK()));
    const t0 = r.clock.nowMs();
    const result = await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 200 }));
    expect(errorOf(result)).toBe(HalStatus.TIMEOUT);
    expect(r.written()).toEqual([hx(CMD('40 01 00 B2 01 0C 00')), hx(ACK())]);
    const cmdMs = (CMD('40 01 00 B2 01 0C 00').length * 10_000) / 115200;
    const ackMs = (6 * 10_000) / 115200;
    expect(r.writtenAtMs()[1]).toBeCloseTo(t0 + cmdMs + ackMs + 200, 6);
  });

  it('transceive_noAckNoAnswer_neverResendsTheApdu_timesOut', async () => {
    const r = await activeRig();
    r.script.push(answer());
    const result = await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 }));
    expect(errorOf(result)).toBe(HalStatus.TIMEOUT);
    expect(r.written()).toEqual([hx(CMD('40 01 00 B2 01 0C 00')), hx(ACK())]);
    expect(r.reader.diagnostics().acksMissing).toBe(1);
  });

  it('transceive_damagedAckThenLateAnswer_waitsWithoutNack', async () => {
    const r = await activeRig();
    const late = RSP('41 00 90 00');
    r.script.push({
      send: [HEX('00 FF 00')],
      then: () => void r.clock.sleepMs(150).then(() => r.line.device.write(late)),
    });
    const result = await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 }));
    expect(result.ok && hx(result.value)).toBe('90 00');
    expect(r.written()).toEqual([hx(CMD('40 01 00 B2 01 0C 00'))]);
  });

  it('configCommand_noAck_abortsAndResendsOnce', async () => {
    const r = await startedRig();
    r.script.push(answer(), answer(), answer(ACK(), RSP('33')));
    expect((await r.run(r.reader.setRfField(false))).ok).toBe(true);
    const cmd = hx(CMD('32 01 00'));
    expect(r.written()).toEqual([cmd, hx(ACK()), cmd]);
    const at = r.writtenAtMs();
    const cmdMs = (CMD('32 01 00').length * 10_000) / 115200;
    expect((at[1] ?? 0) - (at[0] ?? 0)).toBeCloseTo(cmdMs + OPTIONS.ackTimeoutMs, 6);
  });

  it('transceive_ackLostButAnswerArrives_isAccepted', async () => {
    const r = await activeRig();
    r.script.push(answer(RSP('41 00 90 00')));
    const result = await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 }));
    expect(result.ok && hx(result.value)).toBe('90 00');
  });

  it('transceive_noiseAroundFrames_resynchronises', async () => {
    const r = await activeRig();
    r.script.push(answer(cat(HEX('FF 13 55 00'), ACK(), HEX('77 00 FF 08'), RSP('41 00 90 00'))));
    const result = await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 }));
    expect(result.ok && hx(result.value)).toBe('90 00');
    expect(r.reader.diagnostics().noiseBytes).toBeGreaterThan(0);
  });

  it('transceive_staleAnswerOfEarlierCommand_isDropped', async () => {
    const r = await activeRig();
    r.script.push(answer(ACK(), RSP('4B 00'), RSP('41 00 90 00')));
    const result = await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 }));
    expect(result.ok).toBe(true);
    expect(r.reader.diagnostics().staleFramesDropped).toBe(1);
  });

  it('transceive_errorFrame_isProtocol', async () => {
    const r = await activeRig();
    r.script.push(answer(ACK(), ERR()));
    const result = await r.run(r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 }));
    expect(errorOf(result)).toBe(HalStatus.PROTOCOL);
  });

  it('transceive_cancelled_returnsCancelled_andAbortsTheChip', async () => {
    const r = await activeRig();
    r.script.push(answer(ACK()));
    const pending = r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 1000 });
    void r.clock.sleepMs(30).then(() => r.reader.cancel());
    expect(errorOf(await r.run(pending))).toBe(HalStatus.CANCELLED);
    expect(r.written()).toEqual([hx(CMD('40 01 00 B2 01 0C 00')), hx(ACK())]);
  });

  it('transceive_whileAnotherIsPending_isBusy', async () => {
    const r = await activeRig();
    r.script.push(answer(ACK(), RSP('41 00 90 00')));
    const first = r.reader.transceive(HEX('00 B2 01 0C 00'), { timeoutMs: 500 });
    const second = await r.reader.transceive(HEX('00 B2 02 0C 00'), { timeoutMs: 500 });
    expect(errorOf(second)).toBe(HalStatus.BUSY);
    expect((await r.run(first)).ok).toBe(true);
  });
});

describe('presence', () => {
  it('isCardPresent_whileActive_usesDiagnose06', async () => {
    const r = await activeRig();
    r.script.push(answer(ACK(), RSP('01 00')), answer(ACK(), RSP('01 01')));
    expect(await r.run(r.reader.isCardPresent())).toEqual({ ok: true, value: true });
    expect(await r.run(r.reader.isCardPresent())).toEqual({ ok: true, value: false });
    expect(r.written()).toEqual([hx(CMD('00 06')), hx(CMD('00 06'))]);
  });

  it('waitForRemoval_afterRelease_relistsUntilTheCardIsGone', async () => {
    const r = await activeRig();
    r.script.push(answer(ACK(), RSP('53 00')));
    expect((await r.run(r.reader.release())).ok).toBe(true);
    r.script.push(
      answer(ACK(), RSP(`4B 01 ${TARGET_A}`)),
      answer(ACK(), RSP('53 00')),
      answer(ACK(), RSP('4B 00')),
    );
    const t0 = r.clock.nowMs();
    const result = await r.run(r.reader.waitForRemoval({ timeoutMs: 1000, intervalMs: 100 }));
    expect(result.ok).toBe(true);
    expect(r.written()).toEqual([
      hx(CMD('52 01')),
      hx(CMD('4A 01 00')),
      hx(CMD('52 00')),
      hx(CMD('4A 01 00')),
    ]);
    expect(r.clock.nowMs() - t0).toBeGreaterThan(100);
  });

  it('waitForRemoval_cardStays_timesOut', async () => {
    const r = await activeRig();
    for (let k = 0; k < 20; k += 1) r.script.push(answer(ACK(), RSP('01 00')));
    const result = await r.run(r.reader.waitForRemoval({ timeoutMs: 300, intervalMs: 50 }));
    expect(errorOf(result)).toBe(HalStatus.TIMEOUT);
  });
});
