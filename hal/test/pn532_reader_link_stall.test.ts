// A serial device that vanishes without a word: writes stay pending for ever, nothing arrives,
// and no close or error event ever comes (serialport does this to a write issued while its
// binding closes under an unplugged adapter). Every reader operation must still end, at an
// exact time on the simulated clock, declare the link lost, and work again after a restart.
//
// On the driver before issue 11 part 4 these operations never ended: runOnClock reports a
// deadlock (no sleeper left, promise still pending) instead of a result.

import { describe, expect, it } from 'vitest';
import { ClockSim } from '../../host-sim/src/clock_sim.js';
import {
  PN532_SIM_RIG_DEFAULT_OPTIONS,
  createPn532SimRig,
  type Pn532SimRig,
} from '../../host-sim/src/pn532_sim/pn532_sim_rig.js';
import {
  QPBOC_CAPDU,
  SCRIPTED_IDENTITY_A,
  hexBytes,
  qpbocScriptedCard,
} from '../../host-sim/src/pn532_sim/pn532_scripted_card.js';
import {
  PN532_CMD_40_IN_DATA_EXCHANGE,
  PN532_CMD_52_IN_RELEASE,
} from '../src/pn532/pn532_commands.js';
import { PN532_TFI_D4_HOST_TO_PN532, encodePn532Frame } from '../src/pn532/pn532_frame.js';
import { PN532_READER_DEFAULT_OPTIONS } from '../src/pn532/pn532_reader.js';
import { HalStatus, type HalResult } from '../src/ports/hal_status.js';
import { SUITE_START } from './pn532_reader_suite.js';

const STALL_MS = PN532_READER_DEFAULT_OPTIONS.linkStallMs;
const BAUD = SUITE_START.baudRate;

/** Wire time of one host frame at the working speed, 8N1 (ten bit-times per byte). */
function frameWireMs(payload: readonly number[]): number {
  const frame = encodePn532Frame(PN532_TFI_D4_HOST_TO_PN532, Uint8Array.from(payload));
  return (frame.length * 10_000) / BAUD;
}

function value<T>(r: HalResult<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error}: ${r.detail}`);
  return r.value;
}

/** A started reader with a qPBOC card activated (target 1). */
async function activeRig(): Promise<Pn532SimRig> {
  const rig = createPn532SimRig(new ClockSim(0), PN532_SIM_RIG_DEFAULT_OPTIONS);
  rig.sim.placeCard(qpbocScriptedCard('stall', SCRIPTED_IDENTITY_A));
  value(await rig.run(rig.reader.start(SUITE_START)));
  const polled = value(
    await rig.run(rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 })),
  );
  expect(polled.kind).toBe('one');
  return rig;
}

describe('Pn532Reader on a link that stops and never closes', () => {
  it('release_writeNeverCompletes_endsReaderIoAtWirePlusStall_linkDeclaredLost', async () => {
    const rig = await activeRig();
    rig.line.host.freeze();
    const t0 = rig.clock.nowMs();
    const released = await rig.run(rig.reader.release());
    expect(released.ok ? 'ok' : released.error).toBe(HalStatus.READER_IO);
    // InRelease of target 1 is the frame that stalled; nothing else was tried after it.
    const wireMs = frameWireMs([PN532_CMD_52_IN_RELEASE, 1]);
    expect(rig.clock.nowMs() - t0).toBeCloseTo(wireMs + STALL_MS, 9);
    expect(released.ok ? '' : released.detail).toMatch(/serial write on .* stalled for \d+ ms/);
    expect(rig.reader.linkLostDetail()).toMatch(/stalled/);
    expect(rig.reader.diagnostics().linkStalls).toBe(1);

    // Once lost, every operation fails at once (no clock time passes), as after a close event.
    const t1 = rig.clock.nowMs();
    const polling = rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 });
    const polled = await rig.run(polling.then((r) => ({ r, atMs: rig.clock.nowMs() })));
    expect(polled.r.ok ? 'ok' : polled.r.error).toBe(HalStatus.READER_IO);
    expect(polled.atMs).toBe(t1);
    expect(rig.reader.diagnostics().linkStalls).toBe(1);
  });

  it('gpo_linkStallsMidApdu_endsReaderIoNotTimeout_atWirePlusStall', async () => {
    const rig = await activeRig();
    const ppse = hexBytes(QPBOC_CAPDU.selectPpse);
    value(await rig.run(rig.reader.transceive(ppse, { timeoutMs: 1000 })));
    rig.line.host.freeze();
    const gpo = hexBytes(QPBOC_CAPDU.gpo);
    const t0 = rig.clock.nowMs();
    // A transceive timeout far beyond the stall bound: the stall, not the APDU deadline, ends it.
    const answer = await rig.run(rig.reader.transceive(gpo, { timeoutMs: 10_000 }));
    expect(answer.ok ? 'ok' : answer.error).toBe(HalStatus.READER_IO);
    const wireMs = frameWireMs([PN532_CMD_40_IN_DATA_EXCHANGE, 1, ...gpo]);
    expect(rig.clock.nowMs() - t0).toBeCloseTo(wireMs + STALL_MS, 9);
    expect(rig.reader.linkLostDetail()).not.toBeNull();
  });

  it('stalledThenBack_startClearsTheLoss_andTheReaderWorksAgain', async () => {
    const rig = await activeRig();
    rig.line.host.freeze();
    expect((await rig.run(rig.reader.release())).ok).toBe(false);
    rig.line.host.thaw();
    const restarted = await rig.run(rig.reader.start(SUITE_START));
    expect(restarted.ok, restarted.ok ? '' : restarted.detail).toBe(true);
    expect(rig.reader.linkLostDetail()).toBeNull();
    const polled = value(
      await rig.run(rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 })),
    );
    expect(polled.kind).toBe('one');
  });

  it('deviceSilentButWritesComplete_releaseEndsAtItsAckTimeouts_notALoss', async () => {
    // The other half-dead shape: bytes leave, nobody answers. Two tries of InRelease, each
    // waiting ackTimeoutMs after its frame, with an abort ACK between: then READER_IO, and
    // the link is not declared lost by the driver (the board counts failing turns instead).
    const rig = await activeRig();
    rig.sim.detach();
    const o = PN532_READER_DEFAULT_OPTIONS;
    const t0 = rig.clock.nowMs();
    const released = await rig.run(rig.reader.release());
    expect(released.ok ? '' : released.detail).toMatch(/no ACK after 2 tries/);
    const frameMs = frameWireMs([PN532_CMD_52_IN_RELEASE, 1]);
    const abortMs = (6 * 10_000) / BAUD;
    const expectedMs = 2 * (frameMs + o.ackTimeoutMs + abortMs);
    expect(rig.clock.nowMs() - t0).toBeCloseTo(expectedMs, 9);
    expect(rig.reader.linkLostDetail()).toBeNull();
  });
});
