// `shuaka acquirer-sim` as a real process: listens, answers over TCP, stops on SIGTERM.

import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

import { iso8583Decode, iso8583Encode } from '../../../depot/src/acquirer/iso8583_codec.js';
import { Iso8583FrameReader, iso8583Frame } from '../../../depot/src/acquirer/iso8583_frame.js';
import { CUPS_SPEC } from '../../../depot/src/acquirer/iso8583_spec.js';

describe('shuaka acquirer-sim process', () => {
  it('listensAnswersAndStopsOnSigterm', async () => {
    const child = spawn(process.execPath, ['bin/shuaka.js', 'acquirer-sim', '--port', '0',
      '--seed', '5', '--groups', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    const listening = JSON.parse(String(first.value)) as { port: number; accounts: number };
    expect(listening.accounts).toBeGreaterThan(10);
    const socket = connect(listening.port, '127.0.0.1');
    const reader = new Iso8583FrameReader();
    const answer = new Promise<Uint8Array>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        const got = reader.push(chunk)[0];
        if (got !== undefined) resolve(got);
      });
    });
    const request = { mti: '0100', fields: new Map<number, string | Uint8Array>([
      [2, '6200000000000000003'], [4, '000000000100'], [11, '000001'], [41, 'T0000001'],
      [55, Uint8Array.of(0x9f, 0x36, 0x02, 0x00, 0x01)]]) };
    socket.write(iso8583Frame(iso8583Encode(request, CUPS_SPEC)));
    const decoded = iso8583Decode(await answer, CUPS_SPEC);
    expect(decoded.mti).toBe('0110');
    expect(decoded.fields.get(39)).toBe('14');
    socket.destroy();
    child.kill('SIGTERM');
    const stopped = await lines.next();
    expect(JSON.parse(String(stopped.value))).toEqual({ event: 'stopped', requests: 1 });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
  }, 180_000);
});
