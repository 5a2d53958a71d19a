// The validator's own terminal id on disk (params_own_terminal.ts): written once, read back,
// and every single flipped bit of the file refused, never read as another id (a bit of an
// id's digit is another valid id: '2' 0x32 -> '3' 0x33).

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  PARAMS_OWN_TERMINAL_FILE, paramsOwnTerminalRead, paramsOwnTerminalWrite,
} from '../src/app/params/params_own_terminal.js';

const dir = mkdtempSync(join(tmpdir(), 'shuaka-own-id-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the own terminal id file', () => {
  it('absentThenWritten_readsBack_everyFlippedBitRefused', async () => {
    expect(await paramsOwnTerminalRead(dir)).toEqual({ kind: 'absent' });
    await paramsOwnTerminalWrite(dir, 'BUS00042');
    expect(await paramsOwnTerminalRead(dir)).toEqual({ kind: 'ok', terminalId: 'BUS00042' });
    const path = join(dir, PARAMS_OWN_TERMINAL_FILE);
    const good = readFileSync(path);
    const read: string[] = [];
    for (let bit = 0; bit < good.length * 8; bit += 1) {
      const bad = Buffer.from(good);
      bad[bit >> 3] = (bad[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      writeFileSync(path, bad);
      const r = await paramsOwnTerminalRead(dir);
      // Whitespace that JSON ignores may still read the same id; never another one.
      if (r.kind === 'ok') read.push(r.terminalId);
      else expect(r.kind).toBe('corrupt');
    }
    expect(read.every((id) => id === 'BUS00042')).toBe(true);
    writeFileSync(path, good);
  });
});
