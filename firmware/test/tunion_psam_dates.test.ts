// PSAM validity dates (file 0017 bytes 18-25, domain.md 7.2) and the calendar arithmetic they
// use, against node's Date as the independent calendar.

import { describe, expect, it } from 'vitest';

import type { ClockPort } from '../../hal/src/ports/clock_port.js';
import {
  psamValidity, tunionPsamOpen, TUNION_PSAM_OPTIONS_DEFAULT,
} from '../src/app/validator/tunion_psam.js';
import {
  daysBetween, isCalendarDay, localDayDigits,
} from '../src/app/validator/validator_time.js';
import { TunionPsamKeeper } from '../src/app/validator/tunion_psam_keeper.js';
import { Prng } from '../../host-sim/src/prng.js';
import { PsamEmulator } from '../../host-sim/src/psam/psam_emulator.js';
import { PsamPortSim } from '../../host-sim/src/psam/psam_port_sim.js';
import { testPsamProfile } from '../../host-sim/src/psam/psam_profile.js';

/** A 25-byte file 0017 with these BCD dates. */
function file0017(start: string, end: string): Uint8Array {
  const out = new Uint8Array(25);
  out[0] = 0x01;
  out.set(Buffer.from(start, 'hex'), 17);
  out.set(Buffer.from(end, 'hex'), 21);
  return out;
}

function digitsOf(date: Date): string {
  return date.toISOString().slice(0, 10).replaceAll('-', '');
}

describe('psamValidity', () => {
  it('readsTheBcdDates', () => {
    expect(psamValidity(file0017('20240101', '20341231')))
      .toEqual({ validFromDigits: '20240101', validToDigits: '20341231' });
    expect(psamValidity(file0017('20240229', '20240229')))
      .toEqual({ validFromDigits: '20240229', validToDigits: '20240229' });
  });

  it('refusesWhatIsNoDate', () => {
    expect(psamValidity(file0017('2024A101', '20341231')))
      .toBe('start date 2024A101 is not a date YYYYMMDD');
    expect(psamValidity(file0017('20240101', '20230229')))
      .toBe('end date 20230229 is not a date YYYYMMDD');
    expect(psamValidity(file0017('20240101', 'FFFFFFFF')))
      .toBe('end date FFFFFFFF is not a date YYYYMMDD');
    expect(psamValidity(file0017('20240102', '20240101')))
      .toBe('validity ends (20240101) before it starts (20240102)');
    expect(psamValidity(file0017('20240101', '20341231').subarray(0, 23)))
      .toMatch(/^end date 2034 is not a date/);
  });
});

describe('tunionPsamOpen', () => {
  // The emulator answers at once: a clock whose sleeps end at once is all the port needs.
  const clock = { sleepMs: () => Promise.resolve() } as unknown as ClockPort;
  const open = (profile: ReturnType<typeof testPsamProfile>) => tunionPsamOpen(
    new PsamPortSim(new PsamEmulator(profile), clock, { commandMs: 0 }),
    TUNION_PSAM_OPTIONS_DEFAULT);

  it('givesTheValidatorTheDatesOfFile0017', async () => {
    const opened = await open(testPsamProfile({ startDate: Uint8Array.of(0x20, 0x25, 0x03, 0x01),
      endDate: Uint8Array.of(0x20, 0x30, 0x02, 0x28) }));
    if (!opened.ok) throw new Error(opened.problem.detail);
    expect([opened.value.validFromDigits, opened.value.validToDigits])
      .toEqual(['20250301', '20300228']);
  });

  it('refusesAPsamWhoseDatesAreNoDates_namingTheStep', async () => {
    const opened = await open(testPsamProfile({ endDate: Uint8Array.of(0x20, 0x26, 0x13, 0x01) }));
    expect(opened).toEqual({ ok: false,
      problem: { step: 'read-0017', detail: 'end date 20261301 is not a date YYYYMMDD' } });
  });

  it('leavesASlotItCouldNotOpen_unpowered_soThatTheKeeperTriesItAgain', async () => {
    // SELECT answered 6581 once (a PSAM reseated badly); then the PSAM answers normally.
    let refuseSelect = true;
    const faults = {
      inserted: () => true,
      exchange: (capdu: Uint8Array) => {
        if (!(refuseSelect && capdu[1] === 0xa4)) return null;
        refuseSelect = false;
        return { kind: 'status', sw: 0x6581 } as const;
      },
    };
    const port = new PsamPortSim(new PsamEmulator(testPsamProfile()), clock,
      { commandMs: 0, faults });
    const first = await tunionPsamOpen(port, TUNION_PSAM_OPTIONS_DEFAULT);
    expect(first.ok).toBe(false);
    expect(port.slotState().kind).toBe('present');
    const keeper = new TunionPsamKeeper({
      psamUnopened: port,
      clock: { ...clock, nowMs: () => 0, wallMs: () => Date.UTC(2026, 11, 4) } as ClockPort,
      log: { log: () => undefined },
    }, 480);
    expect(await keeper.reopen()).toBe('changed');
    expect(keeper.current()?.terminalNumber).toEqual(testPsamProfile().terminalNumber);
  });
});

describe('validator calendar days', () => {
  it('agreeWithDate_overSeededInstantsAndOffsets', () => {
    const seed = 11;
    const prng = new Prng(seed);
    for (let i = 0; i < 5000; i += 1) {
      // 1900-01-01 .. 2199-12-31, any minute, offsets of the world's zones.
      const wallMs = Date.UTC(1900, 0, 1) + prng.below(300 * 366) * 86_400_000
        + prng.below(1440) * 60_000;
      const offset = prng.between(-12 * 60, 14 * 60);
      const local = new Date(wallMs + offset * 60_000);
      expect(localDayDigits(wallMs, offset), `seed ${seed} #${i}`).toBe(digitsOf(local));
      const other = new Date(local.getTime() + (prng.below(40_000) - 20_000) * 86_400_000);
      const whole = Math.round((Date.UTC(other.getUTCFullYear(), other.getUTCMonth(),
        other.getUTCDate()) - Date.UTC(local.getUTCFullYear(), local.getUTCMonth(),
        local.getUTCDate())) / 86_400_000);
      expect(daysBetween(digitsOf(local), digitsOf(other)), `seed ${seed} #${i}`).toBe(whole);
    }
  });

  it('knowsCalendarDays', () => {
    for (const day of ['20240229', '20000229', '19991231', '20261122']) {
      expect(isCalendarDay(day), day).toBe(true);
    }
    for (const day of ['20230229', '19000229', '20241301', '20240100', '20240431', '2024011',
      '2024-1-1', 'FFFFFFFF']) {
      expect(isCalendarDay(day), day).toBe(false);
    }
  });
});
