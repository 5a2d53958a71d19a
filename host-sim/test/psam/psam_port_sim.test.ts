// The simulated SAM slot's faults (psam_port_sim.ts), each held to a second emulator fed the
// same commands directly: what a PSAM in a working slot answers and does. The slot must fail
// as a PC/SC slot does (hal/src/pcsc/pcsc_psam.ts): TIMEOUT once the caller's bound has passed,
// CARD_GONE for a card lost, and a PSAM that failed either way is unpowered until powered on.

import { describe, expect, it } from 'vitest';
import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { HalStatus } from '../../../hal/src/ports/hal_status.js';
import { PsamEmulator } from '../../src/psam/psam_emulator.js';
import {
  PsamPortSim,
  type PsamExchangeFault,
  type PsamSlotFaults,
} from '../../src/psam/psam_port_sim.js';
import { testPsamProfile, TEST_ISSUER_ID } from '../../src/psam/psam_profile.js';
import { h, x } from './support/epurse_reference.js';

const SELECT = h('00a4040010a0000006324d4f542e435053414d3031');
/** INIT SAM FOR PURCHASE (domain.md 7.4 step 3): random, ATC, amount 2.00, type 09, time. */
const INIT = h(`8070000024 11223344 0007 000000c8 09 20261203080000 01 00 0000000000112233 `
  + `${x(TEST_ISSUER_ID)}`.replace(/ /g, ''));
const TIMEOUT_MS = 2000;
const COMMAND_MS = 25;

/** Sleeps end at once; their lengths are kept (the slot's time is what it asked for). */
function recordingClock(): { clock: ClockPort; slept: number[] } {
  const slept: number[] = [];
  const clock = {
    sleepMs: (ms: number) => {
      slept.push(ms);
      return Promise.resolve();
    },
  } as unknown as ClockPort;
  return { clock, slept };
}

/** Faults scripted by the test: the slot in or out, and one fault for the next INS `ins`. */
class ScriptedFaults implements PsamSlotFaults {
  out = false;
  next: { ins: number; fault: PsamExchangeFault } | null = null;
  readonly seen: string[] = [];

  inserted(): boolean {
    return !this.out;
  }

  exchange(capdu: Uint8Array): PsamExchangeFault | null {
    this.seen.push(x(capdu.subarray(0, 2)));
    const next = this.next;
    if (next === null || capdu[1] !== next.ins) return null;
    this.next = null;
    return next.fault;
  }
}

/** A slot (T=0: INIT SAM's MAC1 comes by GET RESPONSE) and a twin PSAM outside any slot. */
async function slotAndTwin() {
  const profile = testPsamProfile();
  const { clock, slept } = recordingClock();
  const faults = new ScriptedFaults();
  const emulator = new PsamEmulator(profile);
  const port = new PsamPortSim(emulator, clock, { commandMs: COMMAND_MS, faults });
  const twin = new PsamEmulator(profile);
  const atr = await port.powerOn({ timeoutMs: TIMEOUT_MS });
  expect(atr.ok && x(atr.value)).toBe(x(twin.powerOn()));
  const selected = await port.transmit(SELECT, { timeoutMs: TIMEOUT_MS });
  expect(selected.ok).toBe(true);
  twin.transmit(SELECT);
  twin.transmit(h('00c000001a'));
  return { port, emulator, twin, faults, slept };
}

/** The twin's whole answer to INIT SAM (61 08, then GET RESPONSE). */
function twinInit(twin: PsamEmulator): string {
  const first = twin.transmit(INIT);
  expect(x(first)).toBe('6108');
  return x(twin.transmit(h('00c0000008')));
}

const send = (port: PsamPortSim, capdu: Uint8Array) =>
  port.transmit(capdu, { timeoutMs: TIMEOUT_MS });

describe('PsamPortSim faults', () => {
  it('answers as the PSAM itself does when no fault is armed', async () => {
    const { port, twin } = await slotAndTwin();
    const answer = await send(port, INIT);
    expect(answer.ok && x(answer.value)).toBe(twinInit(twin));
  });

  it('an error status word is answered instead of running the command', async () => {
    const { port, emulator, twin, faults } = await slotAndTwin();
    faults.next = { ins: 0x70, fault: { kind: 'status', sw: 0x6581 } };
    const refused = await send(port, INIT);
    expect(refused.ok && x(refused.value)).toBe('6581');
    // The PSAM stays powered and handed out no serial: the next INIT is the twin's first.
    expect(port.slotState().kind).toBe('powered');
    expect(emulator.nextTerminalSerial()).toBe(twin.nextTerminalSerial());
    const answer = await send(port, INIT);
    expect(answer.ok && x(answer.value)).toBe(twinInit(twin));
  });

  it('a mute PSAM ends TIMEOUT after the caller\'s bound, unpowered, its command run or not',
    async () => {
      for (const executed of [false, true]) {
        const { port, emulator, twin, faults, slept } = await slotAndTwin();
        faults.next = { ins: 0x70, fault: { kind: 'mute', executed } };
        const before = slept.length;
        const mute = await send(port, INIT);
        expect(mute.ok ? 'ok' : mute.error).toBe(HalStatus.TIMEOUT);
        expect(slept.slice(before)).toEqual([TIMEOUT_MS]);
        if (executed) twinInit(twin);
        expect(emulator.nextTerminalSerial(), `executed ${executed}`)
          .toBe(twin.nextTerminalSerial());
        expect(port.slotState().kind).toBe('present');
        const unpowered = await send(port, SELECT);
        expect(unpowered.ok ? 'ok' : unpowered.error).toBe(HalStatus.CARD_GONE);
        // Powered on again (a new ATR) and selected, it signs as the twin does.
        const atr = await port.powerOn({ timeoutMs: TIMEOUT_MS });
        expect(atr.ok && x(atr.value)).toBe(x(twin.powerOn()));
        await send(port, SELECT);
        twin.transmit(SELECT);
        twin.transmit(h('00c000001a'));
        const answer = await send(port, INIT);
        expect(answer.ok && x(answer.value)).toBe(twinInit(twin));
      }
    });

  it('a card lost mid-command ends CARD_GONE and unpowered; a PSAM out cannot be powered',
    async () => {
      const { port, faults } = await slotAndTwin();
      faults.next = { ins: 0x72, fault: { kind: 'card-gone' } };
      const lost = await send(port, h('8072000004 01020304'.replace(/ /g, '')));
      expect(lost.ok ? 'ok' : lost.error).toBe(HalStatus.CARD_GONE);
      expect(port.slotState().kind).toBe('present');
      faults.out = true;
      expect(port.slotState().kind).toBe('empty');
      const out = await port.powerOn({ timeoutMs: TIMEOUT_MS });
      expect(out.ok ? 'ok' : out.error).toBe(HalStatus.CARD_GONE);
      faults.out = false;
      expect((await port.powerOn({ timeoutMs: TIMEOUT_MS })).ok).toBe(true);
      expect(port.slotState().kind).toBe('powered');
    });

  it('is asked at every raw exchange, GET RESPONSE rounds included', async () => {
    const { port, faults } = await slotAndTwin();
    faults.seen.length = 0;
    await send(port, INIT);
    expect(faults.seen).toEqual(['8070', '00c0']);
  });
});
