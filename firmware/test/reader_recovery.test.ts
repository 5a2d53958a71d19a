// A reader whose serial device is unplugged and plugged back, in simulated time: the pending
// exchange ends at once with READER_IO, the board reopens with jittered exponential backoff
// (seeded PRNG, ClockSim) and the reader serves a card again once the device is back.

import { describe, expect, it } from 'vitest';

import { ClockSim } from '../../host-sim/src/clock_sim.js';
import { PN532_SIM_DEFAULT_OPTIONS, Pn532Sim } from '../../host-sim/src/pn532_sim/pn532_sim.js';
import {
  PN532_SIM_RIG_DEFAULT_LINE,
  runOnClock,
} from '../../host-sim/src/pn532_sim/pn532_sim_rig.js';
import {
  QPBOC_CAPDU,
  SCRIPTED_IDENTITY_A,
  hexBytes,
  qpbocScriptedCard,
  toHex,
} from '../../host-sim/src/pn532_sim/pn532_scripted_card.js';
import { Prng } from '../../host-sim/src/prng.js';
import { createSerialLinkPairSim, type SerialLinkSim } from '../../host-sim/src/serial_link_sim.js';
import { HalStatus, halErr, halOk, type HalResult } from '../../hal/src/ports/hal_status.js';
import type { SerialReceiver } from '../../hal/src/ports/serial_link.js';
import { PN532_READER_DEFAULT_OPTIONS, Pn532Reader } from '../../hal/src/pn532/pn532_reader.js';
import {
  ReopenableSerialLink,
  type LossAwareSerialLink,
  type SerialLossListener,
} from '../../hal/src/serial/reopenable_serial_link.js';
import type { LogEvent } from '../src/app/validator/validator_ports.js';
import { BUS_VALIDATOR_RF } from '../src/boards/bus_validator_parts.js';
import {
  READER_REOPEN_BACKOFF,
  recoverReader,
  reopenDelayMs,
} from '../src/app/validator/reader_recovery.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 11);
const START = { baudRate: 921600, rf: BUS_VALIDATOR_RF };

/** The host end of one plugged-in device: a simulated line that can vanish. */
class PluggedLink implements LossAwareSerialLink {
  private lostListener: SerialLossListener | undefined;
  constructor(private readonly host: SerialLinkSim) {}
  /** The simulated line under this device (for faults). */
  get simHost(): SerialLinkSim {
    return this.host;
  }
  get path(): string {
    return 'sim:ttyUSB0';
  }
  baudRate(): number {
    return this.host.baudRate();
  }
  setReceiver(receiver: SerialReceiver | undefined): void {
    this.host.setReceiver(receiver);
  }
  write(bytes: Uint8Array): Promise<HalResult<void>> {
    return this.host.write(bytes);
  }
  discardInput(): Promise<HalResult<void>> {
    return this.host.discardInput();
  }
  setBaudRate(baudRate: number): Promise<HalResult<void>> {
    return this.host.setBaudRate(baudRate);
  }
  close(): Promise<HalResult<void>> {
    return this.host.close();
  }
  onLost(listener: SerialLossListener | undefined): void {
    this.lostListener = listener;
  }
  /** The USB adapter is pulled: the OS read fails, serialport reports a disconnect. */
  unplug(): void {
    void this.host.close();
    this.lostListener?.('read error: EIO (simulated unplug)');
  }
}

/** A USB PN532 that can be unplugged and plugged in again (a fresh chip: LowVbat). */
class UsbPn532 {
  plugged = true;
  sim: Pn532Sim | null = null;
  link: PluggedLink | null = null;
  readonly openTimes: number[] = [];
  constructor(private readonly clock: ClockSim) {}

  open(): Promise<HalResult<LossAwareSerialLink>> {
    this.openTimes.push(this.clock.nowMs());
    if (!this.plugged) {
      return Promise.resolve(halErr(HalStatus.READER_IO, 'ENOENT: no such file or directory'));
    }
    const line = createSerialLinkPairSim(this.clock, PN532_SIM_RIG_DEFAULT_LINE);
    this.sim = new Pn532Sim(line.device, this.clock, PN532_SIM_DEFAULT_OPTIONS);
    this.link = new PluggedLink(line.host);
    return Promise.resolve(halOk(this.link));
  }

  unplug(): void {
    this.plugged = false;
    this.sim?.detach();
    this.sim = null;
    this.link?.unplug();
  }

  /** Pulled without a word: no loss event, and writes stay pending for ever (issue 11). */
  unplugSilently(host: SerialLinkSim): void {
    this.plugged = false;
    this.sim?.detach();
    this.sim = null;
    host.freeze();
  }
}

describe(`reader link loss and reopen in simulated time (seed ${SEED})`, () => {
  it('reopenDelay_doublesFromHalfASecondToTenSeconds_withinTheJitterBand', () => {
    const prng = new Prng(SEED).fork('jitter');
    const random01 = (): number => prng.below(2 ** 30) / 2 ** 30;
    const nominal = [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000];
    nominal.forEach((ms, attempt) => {
      const delay = reopenDelayMs(attempt, READER_REOPEN_BACKOFF, random01);
      expect(delay, `attempt ${attempt}`).toBeGreaterThanOrEqual(ms * 0.8);
      expect(delay, `attempt ${attempt}`).toBeLessThan(ms * 1.2);
    });
    expect(reopenDelayMs(0, READER_REOPEN_BACKOFF, () => 0.5)).toBe(500);
    expect(reopenDelayMs(1000, READER_REOPEN_BACKOFF, () => 0.5)).toBe(10_000);
  });

  it('unplugMidExchange_endsAtOnceWithReaderIo_thenBackoffReopensAndACardIsServed', async () => {
    const clock = new ClockSim(0);
    const usb = new UsbPn532(clock);
    const first = await usb.open();
    if (!first.ok) throw new Error(first.detail);
    const link = new ReopenableSerialLink('sim:ttyUSB0', first.value, () => usb.open());
    const reader = new Pn532Reader(link, clock, PN532_READER_DEFAULT_OPTIONS);
    link.onLost((detail) => reader.linkLost(detail));
    expect((await runOnClock(clock, reader.start(START))).ok).toBe(true);
    const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
    usb.sim?.placeCard(card);
    const polled = await runOnClock(
      clock,
      reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }),
    );
    expect(polled.ok && polled.value.kind).toBe('one');

    // The plug is pulled while the chip waits for the card's answer.
    const exchange = reader.transceive(hexBytes(QPBOC_CAPDU.gpo), { timeoutMs: 1500 });
    await clock.step();
    const pulledAtMs = clock.nowMs();
    usb.unplug();
    const lost = await runOnClock(clock, exchange);
    expect(lost.ok ? 'ok' : lost.error).toBe(HalStatus.READER_IO);
    expect(clock.nowMs() - pulledAtMs, 'no wait for the 1.5 s deadline').toBeLessThan(5);
    expect(link.lost()).toContain('EIO');

    // Plugged back 7 s later, at the same path.
    const prng = new Prng(SEED).fork('jitter');
    const draws: number[] = [];
    const random01 = (): number => {
      const r = prng.below(2 ** 30) / 2 ** 30;
      draws.push(r);
      return r;
    };
    const logged: LogEvent[] = [];
    usb.openTimes.length = 0;
    const lostAtMs = clock.nowMs();
    void clock.sleepMs(7000).then(() => {
      usb.plugged = true;
    });
    const recovery = await runOnClock(
      clock,
      recoverReader(
        {
          link,
          reader,
          clock,
          random01,
          stopRequested: () => false,
          log: { log: (e) => logged.push(e) },
        },
        START,
        READER_REOPEN_BACKOFF,
      ),
    );
    expect(recovery.kind).toBe('back');
    // The schedule, recomputed from the policy's words: 0.5 s doubling, ±20 % jitter.
    let atMs = lostAtMs;
    const expectedOpens = draws.map((r, k) => {
      atMs += Math.min(500 * 2 ** k, 10_000) * (1 + 0.2 * (2 * r - 1));
      return atMs;
    });
    expect(usb.openTimes.length).toBe(draws.length);
    usb.openTimes.forEach((t, k) => expect(t, `open ${k}`).toBeCloseTo(expectedOpens[k] ?? 0, 6));
    const lastOpen = usb.openTimes.at(-1) ?? 0;
    expect(lastOpen).toBeGreaterThanOrEqual(lostAtMs + 7000);
    expect(usb.openTimes.slice(0, -1).every((t) => t < lostAtMs + 7000)).toBe(true);
    expect(logged.filter((e) => e['event'] === 'reader-reopen')).toHaveLength(draws.length - 1);
    expect(logged.at(-1)?.['event']).toBe('reader-back');

    // The card (still in the field of the new chip) is served again.
    usb.sim?.placeCard(card);
    const again = await runOnClock(
      clock,
      reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }),
    );
    expect(again.ok && again.value.kind).toBe('one');
    const r = await runOnClock(
      clock,
      reader.transceive(hexBytes(QPBOC_CAPDU.selectPpse), { timeoutMs: 1500 }),
    );
    expect(r.ok && toHex(r.value)).toBe(toHex(card.answerTo(QPBOC_CAPDU.selectPpse)));
  });

  it('silentUnplug_writeStalls_driverDeclaresTheLoss_recoveryReopensAndServes', async () => {
    const clock = new ClockSim(0);
    const usb = new UsbPn532(clock);
    let host: SerialLinkSim | null = null;
    const open = async (): Promise<HalResult<LossAwareSerialLink>> => {
      const opened = await usb.open();
      host = usb.link === null ? null : usb.link.simHost;
      return opened;
    };
    const first = await open();
    if (!first.ok) throw new Error(first.detail);
    const link = new ReopenableSerialLink('sim:ttyUSB0', first.value, open);
    const reader = new Pn532Reader(link, clock, PN532_READER_DEFAULT_OPTIONS);
    link.onLost((detail) => reader.linkLost(detail));
    expect((await runOnClock(clock, reader.start(START))).ok).toBe(true);
    const card = qpbocScriptedCard('a', SCRIPTED_IDENTITY_A);
    usb.sim?.placeCard(card);
    const poll = (): ReturnType<Pn532Reader['poll']> =>
      reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 });
    const polled = await runOnClock(clock, poll());
    expect(polled.ok && polled.value.kind).toBe('one');

    if (host === null) throw new Error('no line');
    usb.unplugSilently(host);
    const t0 = clock.nowMs();
    const released = await runOnClock(clock, reader.release());
    expect(released.ok ? 'ok' : released.error).toBe(HalStatus.READER_IO);
    expect(clock.nowMs() - t0).toBeLessThan(PN532_READER_DEFAULT_OPTIONS.linkStallMs + 1);
    // No event came from the link: only the driver knows, and the board asks it (runLoop).
    expect(link.lost()).toBeNull();
    expect(reader.linkLostDetail()).toMatch(/stalled/);

    void clock.sleepMs(3000).then(() => {
      usb.plugged = true;
    });
    const recovery = await runOnClock(
      clock,
      recoverReader(
        {
          link,
          reader,
          clock,
          random01: () => 0.5,
          stopRequested: () => false,
          log: { log: () => undefined },
        },
        START,
        READER_REOPEN_BACKOFF,
      ),
    );
    // Opens at 0.5, 1.5 and 3.5 s after the loss: the third finds the device back.
    expect(recovery).toMatchObject({ kind: 'back', tries: 3 });
    expect(reader.linkLostDetail()).toBeNull();
    usb.sim?.placeCard(card);
    const again = await runOnClock(clock, poll());
    expect(again.ok && again.value.kind).toBe('one');
  });

  it('recovery_whenAStopIsRequested_endsWithinOneStopCheck', async () => {
    const clock = new ClockSim(0);
    const usb = new UsbPn532(clock);
    const first = await usb.open();
    if (!first.ok) throw new Error(first.detail);
    const link = new ReopenableSerialLink('sim:ttyUSB0', first.value, () => usb.open());
    const reader = new Pn532Reader(link, clock, PN532_READER_DEFAULT_OPTIONS);
    link.onLost((detail) => reader.linkLost(detail));
    usb.unplug();
    let stop = false;
    void clock.sleepMs(30_000).then(() => {
      stop = true;
    });
    const recovery = await runOnClock(
      clock,
      recoverReader(
        {
          link,
          reader,
          clock,
          random01: () => 0.5,
          stopRequested: () => stop,
          log: { log: () => undefined },
        },
        START,
        READER_REOPEN_BACKOFF,
      ),
    );
    expect(recovery.kind).toBe('stopped');
    expect(clock.nowMs()).toBeLessThanOrEqual(30_000 + READER_REOPEN_BACKOFF.stopCheckMs);
    // 0.5 + 1 + 2 + 4 + 8 + 10 = 25.5 s: six tries before the stop at 30 s.
    expect(recovery.tries).toBe(6);
  });
});
