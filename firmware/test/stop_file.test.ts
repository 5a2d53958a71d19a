// The stop file of `shuaka run --stop-file`: the line's grammar, and the source read from a
// real file as a stop announcer writes it (by rename), goes missing, holds garbage and comes
// back. Truth: the lines written, and the log events counted.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { stopFileSource, stopLineParse } from '../src/boards/stop_file.js';
import type { LogEvent } from '../src/app/validator/validator_ports.js';

const dir = mkdtempSync(join(tmpdir(), 'shuaka-stop-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stopLineParse', () => {
  it.each([
    ['7\n', { stop: 7, direction: 0, vehicle: '' }],
    ['12 1\n', { stop: 12, direction: 1, vehicle: '' }],
    ['255 0 B1234-XY\r\n', { stop: 255, direction: 0, vehicle: 'B1234-XY' }],
    ['  3\t1\tK7  ', { stop: 3, direction: 1, vehicle: 'K7' }],
  ])('%j is a position', (line, position) => {
    expect(stopLineParse(line)).toEqual(position);
  });

  it.each([
    ['', 'is not STOP'], ['0\n', "stop '0' is not 1..255"], ['256', "stop '256'"],
    ['-1', "stop '-1'"], ['7.5', "stop '7.5'"], ['x', "stop 'x'"],
    ['7 2', "direction '2'"], ['7 up', "direction 'up'"], ['7 0 B12345678', "vehicle 'B12345678'"],
    ['7 0 B1 extra', 'is not STOP'], ['7\n8\n', 'not one short line'],
    [`7 0 ${'x'.repeat(80)}`, 'not one short line'],
  ])('%j is refused (%s)', (line, why) => {
    const parsed = stopLineParse(line);
    expect(typeof parsed).toBe('string');
    expect(parsed).toContain(why);
  });
});

describe('stopFileSource', () => {
  it('reads each change, is unknown while the file is missing or bad, and logs each cause once',
    () => {
      const path = join(dir, 'stop');
      const events: LogEvent[] = [];
      const position = stopFileSource(path, { log: (e) => events.push(e) });
      // Written by rename, as a stop source should: the reader sees one whole line.
      const write = (text: string): void => {
        writeFileSync(`${path}.new`, text);
        renameSync(`${path}.new`, path);
      };
      expect(position().stop).toBe(0);
      expect(position().stop).toBe(0);
      write('4 0 B1234\n');
      expect(position()).toEqual({ stop: 4, direction: 0, vehicle: 'B1234' });
      write('5 0 B1234\n');
      expect(position().stop).toBe(5);
      write('five\n');
      expect(position().stop).toBe(0);
      expect(position().stop).toBe(0);
      unlinkSync(path);
      expect(position().stop).toBe(0);
      write('6 1 B1234\n');
      expect(position()).toEqual({ stop: 6, direction: 1, vehicle: 'B1234' });
      expect(events.map((e) => [e['event'], e['detail'] ?? e['stop']])).toEqual([
        ['stop-source-unreadable', 'ENOENT'],
        ['stop-source-back', 4],
        ['stop-source-unreadable', "stop 'five' is not 1..255"],
        ['stop-source-unreadable', 'ENOENT'],
        ['stop-source-back', 6],
      ]);
    });

  it('a FIFO or a huge file is unknown at once (read at every tap: never waited on)', () => {
    // A GPS daemon may offer its stop as a named pipe: readFileSync waited for a writer and
    // held the validator, tap and all. Now the open does not wait and the pipe is refused.
    const fifo = join(dir, 'stop.fifo');
    execFileSync('mkfifo', [fifo]);
    const big = join(dir, 'stop.big');
    writeFileSync(big, `4${' '.repeat(1 << 20)}\n`);
    for (const [path, code] of [[fifo, 'EFTYPE'], [big, 'EFBIG']] as const) {
      const events: LogEvent[] = [];
      const position = stopFileSource(path, { log: (e) => events.push(e) });
      expect(position().stop).toBe(0);
      expect(events.map((e) => [e['event'], e['detail']])).toEqual([
        ['stop-source-unreadable', code]]);
    }
  });
});
