// A board whose real-time clock lost its battery starts at its epoch (2000-01-01 here) and
// declines every card as not yet effective: the start says why, once, as an error
// (`clock-behind`), when the wall clock is more than a day behind the journal's newest record.
// Within a day (an NTP step, a time zone set late) it says nothing. Real parts: the journal on
// disk (written by firmware's journal at the fixture's wall time), bootJournal as `shuaka run`
// and the gate call it, the JSON-lines log's levels.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ClockSim } from '../../host-sim/src/clock_sim.js';
import { bootJournal, CLOCK_BEHIND_WARN_MS } from '../src/boards/bus_validator_parts.js';
import { logLevelOf } from '../src/boards/json_log.js';
import { scriptedEntries, WALL_EPOCH_MS, writeJournalDir } from './journal_fixtures.js';

const temp = mkdtempSync(join(tmpdir(), 'shuaka-clock-behind-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** The events bootJournal logs with the wall clock at `wallMs`. */
async function bootEvents(dir: string, wallMs: number): Promise<Record<string, unknown>[]> {
  const events: Record<string, unknown>[] = [];
  const booted = await bootJournal(dir, new ClockSim(wallMs), { log: (e) => events.push(e) });
  if (!booted.ok) throw new Error(booted.message);
  await booted.value.close();
  return events;
}

describe('the start with a wall clock behind the journal', () => {
  it('saysClockBehind_once_asAnError_whenMoreThanADayBehind_andNothingWithin', async () => {
    const dir = await writeJournalDir(temp, 'journal', scriptedEntries());
    const epoch2000 = Date.UTC(2000, 0, 1);
    const behind = (await bootEvents(dir, epoch2000)).filter((e) => e['event'] === 'clock-behind');
    expect(behind).toHaveLength(1);
    expect(behind[0]?.['wallTime']).toBe('2000-01-01T00:00:00.000Z');
    // The fixture writes every record at its clock's wall time.
    expect(behind[0]?.['newestRecordTime']).toBe(new Date(WALL_EPOCH_MS).toISOString());
    expect(logLevelOf('clock-behind')).toBe('error');
    for (const wallMs of [WALL_EPOCH_MS - CLOCK_BEHIND_WARN_MS, WALL_EPOCH_MS + 60_000]) {
      const events = await bootEvents(dir, wallMs);
      expect(events.map((e) => e['event'])).toContain('journal-open');
      expect(events.map((e) => e['event'])).not.toContain('clock-behind');
    }
  });
});
