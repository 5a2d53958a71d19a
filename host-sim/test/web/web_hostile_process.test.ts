// `shuaka sim --web` as a real process against hostile WebSocket clients: one client's bad
// frames must end that client only, never the process and the page of everyone else on it.

import { request } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { afterEach, expect, it } from 'vitest';
import { startWebProcess, type WebProcess } from './web_process.js';

let web: WebProcess | null = null;

afterEach(async () => {
  await web?.stop();
  web = null;
});

/** A WebSocket handshake by hand: the raw socket, to write frames no library would. */
function rawUpgrade(url: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}ws`, { headers: {
      connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13',
      'sec-websocket-key': Buffer.from('0123456789abcdef').toString('base64'),
    } });
    req.on('upgrade', (_res, socket) => resolve(socket));
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Resolves with the close code the server gave this client. */
function closed(socket: WebSocket): Promise<number> {
  return new Promise((resolve) => socket.on('close', (code) => resolve(code)));
}

it('oversizeMessage_andBrokenFrames_endThatClientOnly_theProcessServesOn', async () => {
  web = await startWebProcess(['--port', '0', '--quiet']);
  const wsUrl = `${web.url.replace('http', 'ws')}ws`;
  // Over the 4 KiB bound on a page message: ws answers 1009 (message too big).
  const big = new WebSocket(wsUrl);
  await new Promise((resolve) => big.on('open', resolve));
  const bigClosed = closed(big);
  big.send('x'.repeat(10_000));
  expect(await bigClosed).toBe(1009);
  // A frame with the reserved bits set and an unmasked one: protocol errors (RFC 6455 5.2).
  for (const frame of [[0xf1, 0x80, 0, 0, 0, 0], [0x81, 0x01, 0x78]]) {
    const raw = await rawUpgrade(web.url);
    raw.on('error', () => undefined);
    const ended = new Promise((resolve) => raw.on('close', resolve));
    raw.write(Buffer.from(frame));
    raw.resume();
    await ended;
  }
  // Everyone else: the page and a fresh client's hello.
  expect((await fetch(web.url)).status).toBe(200);
  const next = new WebSocket(wsUrl);
  const hello = await new Promise<string>((resolve, reject) => {
    next.on('message', (data) => resolve(String(data)));
    next.on('error', reject);
  });
  expect(JSON.parse(hello)).toMatchObject({ type: 'hello' });
  next.close();
  expect(web.child.exitCode).toBeNull();
  expect(web.output().stderr).toBe('');
}, 60_000);
