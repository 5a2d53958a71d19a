// The web server against a client that stops reading: what it is sent piles up in the
// server's memory (a state every tick, for every board), so past a bound that client is
// dropped, while the other pages go on receiving. The device is a stand-in that changes its
// state fast; the server, its sockets and the clients are real.

import { request } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { afterEach, expect, it } from 'vitest';
import type { JsonValue, WebDevice } from '../../src/web/web_device.js';
import { webAssetsDir } from '../../src/web/web_cli.js';
import { startWebServer, type WebServer } from '../../src/web/web_server.js';

/** A device whose 64 KiB state changes every 2 ms: 32 MB/s for each client. */
function chattyDevice(): WebDevice {
  let timer: NodeJS.Timeout | null = null;
  let n = 0;
  const pad = 'x'.repeat(64 * 1024);
  return {
    id: 'CHATTY01', kind: 'bus',
    describe: () => null,
    state: (): JsonValue => ({ n, pad }),
    takeEvents: () => [],
    act: () => ({ ok: true }),
    start(onTick) {
      timer = setInterval(() => {
        n += 1;
        onTick();
      }, 2);
    },
    stop: async () => {
      if (timer !== null) clearInterval(timer);
    },
  };
}

/** A WebSocket handshake by hand, so the test decides when the socket is read. */
function rawUpgrade(url: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}ws`, { headers: {
      connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13',
      'sec-websocket-key': Buffer.from('fedcba9876543210').toString('base64'),
    } });
    req.on('upgrade', (_res, socket) => resolve(socket));
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

let server: WebServer | null = null;

afterEach(async () => {
  await server?.close();
  server = null;
});

it('aClientThatStopsReading_isDropped_theOthersGoOnReceiving', async () => {
  server = await startWebServer({ host: '127.0.0.1', port: 0, assetsDir: webAssetsDir(),
    devices: [chattyDevice()] });
  const good = new WebSocket(`${server.url.replace('http', 'ws')}ws`);
  let goodMessages = 0;
  good.on('message', () => (goodMessages += 1));
  const slow = await rawUpgrade(server.url);
  slow.pause();
  let slowBytes = 0;
  const slowEnded = new Promise<string>((resolve) => {
    slow.on('close', () => resolve('closed'));
    slow.on('error', () => undefined);
  });
  // 3 s unread is ~96 MB sent its way: far past the kernel's buffers on loopback.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  slow.on('data', (chunk: Buffer) => (slowBytes += chunk.length));
  slow.resume();
  const verdict = await Promise.race([slowEnded,
    new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 10_000))]);
  expect(verdict).toBe('closed');
  // What it got is what was in flight when it was dropped: kernel buffers and the bound.
  expect(slowBytes).toBeLessThan(64 << 20);
  const before = goodMessages;
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(goodMessages).toBeGreaterThan(before);
  good.close();
}, 30_000);
