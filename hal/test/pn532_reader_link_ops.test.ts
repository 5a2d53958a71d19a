// The driver's serial operations and timeouts as issue 11's fifth round left them: a frame's
// flush and write are one bounded operation, and a flush that ends after the bound sends
// nothing late; the inter-byte timeout, armed through `clockAlarm`, still ends a stalled
// answer on a clock whose timers fire a little early (a real timer against performance.now).

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
} from '../../host-sim/src/pn532_sim/pn532_scripted_card.js';
import { createSerialLinkPairSim } from '../../host-sim/src/serial_link_sim.js';
import { PN532_CMD_4A_IN_LIST_PASSIVE_TARGET } from '../src/pn532/pn532_commands.js';
import { PN532_TFI_D4_HOST_TO_PN532, encodePn532Frame } from '../src/pn532/pn532_frame.js';
import { PN532_READER_DEFAULT_OPTIONS, Pn532Reader } from '../src/pn532/pn532_reader.js';
import type { ClockPort } from '../src/ports/clock_port.js';
import { HalStatus, halOk, type HalResult } from '../src/ports/hal_status.js';
import type { SerialLink } from '../src/ports/serial_link.js';
import { SUITE_START } from './pn532_reader_suite.js';

function value<T>(r: HalResult<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error}: ${r.detail}`);
  return r.value;
}

/** The simulated host end, whose flush can be held pending until the test lets it go. */
function holdableFlush(inner: SerialLink): SerialLink & { hold(): () => void } {
  let held: Promise<HalResult<void>> | undefined;
  return {
    path: inner.path,
    baudRate: () => inner.baudRate(),
    setReceiver: (receiver) => inner.setReceiver(receiver),
    write: (bytes) => inner.write(bytes),
    discardInput: () => held ?? inner.discardInput(),
    setBaudRate: (baud) => inner.setBaudRate(baud),
    close: () => inner.close(),
    hold: () => {
      let release: () => void = () => undefined;
      held = new Promise((resolve) => {
        release = () => {
          held = undefined;
          resolve(halOk(undefined));
        };
      });
      return release;
    },
  };
}

describe('Pn532Reader serial operations', () => {
  it('aFlushPastTheBound_isALostLink_andItsFrameNeverLeavesLate', async () => {
    const clock = new ClockSim(0);
    const line = createSerialLinkPairSim(clock, PN532_SIM_RIG_DEFAULT_LINE);
    const sim = new Pn532Sim(line.device, clock, PN532_SIM_DEFAULT_OPTIONS);
    const link = holdableFlush(line.host);
    const reader = new Pn532Reader(link, clock, PN532_READER_DEFAULT_OPTIONS);
    value(await runOnClock(clock, reader.start(SUITE_START)));
    const sentBefore = line.sent('host-to-device').length;
    const commandsBefore = sim.stats.commands;
    const framesBefore = reader.diagnostics().framesSent;

    const release = link.hold();
    const t0 = clock.nowMs();
    const polled = await runOnClock(
      clock,
      reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }),
    );
    expect(polled.ok ? 'ok' : polled.error).toBe(HalStatus.READER_IO);
    expect(polled.ok ? '' : polled.detail).toMatch(/serial discardInput on .* stalled for 500 ms/);
    // The bound is the frame's wire time plus linkStallMs (flush and write are one operation).
    const frame = encodePn532Frame(
      PN532_TFI_D4_HOST_TO_PN532,
      Uint8Array.of(PN532_CMD_4A_IN_LIST_PASSIVE_TARGET, 2, 0x00),
    );
    const wireMs = (frame.length * 10_000) / SUITE_START.baudRate;
    expect(clock.nowMs() - t0).toBeCloseTo(wireMs + PN532_READER_DEFAULT_OPTIONS.linkStallMs, 9);
    expect(reader.linkLostDetail()).toMatch(/stalled/);

    // The flush ends at last: the frame it was for must not go out now.
    release();
    await clock.advance(100);
    expect(line.sent('host-to-device').length).toBe(sentBefore);
    expect(sim.stats.commands).toBe(commandsBefore);
    expect(reader.diagnostics().framesSent).toBe(framesBefore);
  });

  it('aStalledAnswer_isNackedOnAClockWhoseTimersFireEarly', async () => {
    const sim = new ClockSim(0);
    // A plain clock (no alarm, no cancelable sleep) whose sleeps end 0.3 ms before their
    // time by its own nowMs, as setTimeout may against performance.now (its integer
    // milliseconds run behind), and never under 1 ms (Node's least timer delay).
    const early: ClockPort = {
      nowMs: () => sim.nowMs(),
      wallMs: () => sim.wallMs(),
      sleepMs: (ms) => sim.sleepMs(Math.max(1, ms - 0.3)),
    };
    const line = createSerialLinkPairSim(sim, PN532_SIM_RIG_DEFAULT_LINE);
    const pn532 = new Pn532Sim(line.device, sim, PN532_SIM_DEFAULT_OPTIONS);
    const reader = new Pn532Reader(line.host, early, PN532_READER_DEFAULT_OPTIONS);
    const card = qpbocScriptedCard('early', SCRIPTED_IDENTITY_A);
    pn532.placeCard(card);
    value(await runOnClock(sim, reader.start(SUITE_START)));
    const polled = value(
      await runOnClock(sim, reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 })),
    );
    expect(polled.kind).toBe('one');
    // Seven bytes of the answer vanish: the frame stalls half-way, and only the inter-byte
    // timeout can tell (the answer deadline is a second away).
    pn532.injectFault({ kind: 'lose-response-bytes', offset: 12, count: 7, command: 0x40 });
    const capdu = QPBOC_CAPDU.readRecord1;
    const t0 = sim.nowMs();
    const answer = await runOnClock(sim, reader.transceive(hexBytes(capdu), { timeoutMs: 1000 }));
    expect(value(answer)).toEqual(card.answerTo(capdu));
    expect(reader.diagnostics().nacksSent).toBe(1);
    // Recovered by the NACK within the inter-byte timeout and a resend, not the deadline.
    expect(sim.nowMs() - t0).toBeLessThan(200);
  });
});
