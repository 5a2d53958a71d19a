// The board's log lines: `ts` and `level` first on every line, the level from the event (what
// a fleet's log shipper alerts on), PAN masking unchanged. Truth: JSON.parse of the lines.

import { describe, expect, it } from 'vitest';

import { JsonLineLog, logLevelOf } from '../src/boards/json_log.js';

function lines(events: readonly Record<string, string | number>[]): Record<string, unknown>[] {
  const out: string[] = [];
  const log = new JsonLineLog({ nowMs: () => 0, wallMs: () => Date.UTC(2026, 11, 3, 8, 0, 0),
    sleepMs: async () => {} }, (line) => out.push(line));
  for (const event of events) log.log(event);
  return out.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('json log lines', () => {
  it('everyLine_startsWithTsAndLevel_levelsFollowTheEvent', () => {
    const parsed = lines([
      { event: 'tap', result: 'approved' },
      { event: 'reader-lost', detail: 'EIO' },
      { event: 'display-lost', detail: 'gone' },
      { event: 'out-of-service', reason: 'journal full' },
      // The PSAM lost in a tap: a fleet alerting on warnings saw nothing until psam-down.
      { event: 'psam-error', error: 'CARD_GONE' },
    ]);
    for (const line of parsed) {
      expect(Object.keys(line).slice(0, 3)).toEqual(['ts', 'level', 'event']);
      expect(line['ts']).toBe('2026-12-03T08:00:00.000Z');
    }
    expect(parsed.map((l) => l['level']))
      .toEqual(['info', 'error', 'warning', 'error', 'warning']);
    expect(logLevelOf('an-event-never-seen')).toBe('info');
  });
});
