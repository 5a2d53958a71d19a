// The web face's server without a browser: protocol, files, bad input, a port in use.

import { spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_SYSFS_FILES } from '../../../hal/src/buzzer/sysfs_files.js';
import { SysfsPwmBuzzer } from '../../../hal/src/buzzer/sysfs_pwm_buzzer.js';
import { ClockSim } from '../../src/clock_sim.js';
import { SYSFS_TREE_SIM_DEFAULT, sysfsTreeSimCreate } from '../../src/display_sim/sysfs_tree_sim.js';
import { IndicatorRecorder } from '../../src/web/indicator_recorder.js';
import { parseWebOptions, startWebFace, webAssetsDir } from '../../src/web/web_cli.js';
import { WEB_CLIENTS_MAX, type WebServer } from '../../src/web/web_server.js';
import type { TapLine } from '../../src/sim/bus_run.js';
import { BIN, ROOT } from './web_process.js';

type Message = Record<string, unknown>;

/** A page-protocol client: every message kept, and a wait for the first that matches. */
class Client {
  readonly messages: Message[] = [];
  private readonly socket: WebSocket;
  private waiters: (() => void)[] = [];

  constructor(url: string) {
    this.socket = new WebSocket(`${url.replace('http', 'ws')}ws`);
    this.socket.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as Message);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  send(text: string): void {
    this.socket.send(text);
  }

  async until(match: (m: Message) => boolean, timeoutMs = 15_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no such message in ${this.messages.length}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

describe('IndicatorRecorder', () => {
  it('realPwmDriver_toneOnOff_recordsTheToneFromThePeriodAndTheTimes', async () => {
    const root = mkdtempSync(join(tmpdir(), 'shuaka-rec-'));
    try {
      sysfsTreeSimCreate(root, SYSFS_TREE_SIM_DEFAULT);
      const clock = new ClockSim(0);
      const recorder = new IndicatorRecorder(NODE_SYSFS_FILES, clock, {
        pwmDir: 'class/pwm/pwmchip0/pwm0', greenDir: 'class/leds/green:status',
        redDir: 'class/leds/red:status',
      });
      const buzzer = SysfsPwmBuzzer.open({ sysfsRoot: root, chip: 0, channel: 0,
        files: recorder });
      if (!buzzer.ok) throw new Error(buzzer.detail);
      await buzzer.value.toneOn(1800);
      await clock.advance(250);
      await buzzer.value.toneOff();
      // The tone is what the file says: 1e9 / period, as the sysfs tree reader computes it.
      const period = Number(readFileSync(join(root, 'class/pwm/pwmchip0/pwm0/period'), 'utf8'));
      expect(Math.round(1e9 / period)).toBe(1800);
      expect(recorder.take()).toEqual([
        { atMs: 0, toneHz: 1800, green: false, red: false },
        { atMs: 250, toneHz: 0, green: false, red: false },
      ]);
      expect(recorder.take()).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('sim --web options', () => {
  it('badFlags_areUsageErrorsNamingTheFlag', () => {
    expect(parseWebOptions(['--web', '--port', '70000'])).toMatch(/--port must be/);
    expect(parseWebOptions(['--web', '--port', '-1']))
      .toBe("--port must be an integer in 0..65535, got '-1'");
    expect(parseWebOptions(['--web', '--fleet', '9'])).toMatch(/--fleet must be/);
    expect(parseWebOptions(['--web', '--riders', '3'])).toMatch(/riders/);
    expect(parseWebOptions(['--web', '--speed', '0'])).toMatch(/--speed/);
    // Number() takes these; a flag of a decimal number must not.
    for (const speed of ['0x5', '1e0', ' 2', '2.', '.5', 'Infinity']) {
      expect(parseWebOptions(['--web', '--speed', speed]), speed)
        .toBe(`--speed must be a decimal number in 0.1..10, got '${speed}'`);
    }
    expect(parseWebOptions(['--web', '--speed', '2.5'])).toMatchObject({ speed: 2.5 });
    expect(parseWebOptions(['--web', '--speed', '0.1'])).toMatchObject({ speed: 0.1 });
    expect(parseWebOptions(['--web'])).toMatchObject({ host: '127.0.0.1', port: 8532 });
  });

  it('portInUse_exits2_withAClearMessage', async () => {
    const holder = createServer();
    const port = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => {
      const address = holder.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    }));
    try {
      const run = spawnSync(process.execPath, [BIN, 'sim', '--web', '--port', String(port)],
        { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      holder.close();
    }
  });
});

describe('web server', () => {
  let server: WebServer;
  let client: Client;
  beforeAll(async () => {
    const options = parseWebOptions(['--web', '--port', '0']);
    if (typeof options === 'string') throw new Error(options);
    server = await startWebFace(options, () => undefined);
    client = new Client(server.url);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('files_arePagesFromTheAssetsFolderOnly', async () => {
    const index = await fetch(server.url);
    expect(index.status).toBe(200);
    expect(await index.text()).toBe(readFileSync(join(webAssetsDir(), 'index.html'), 'utf8'));
    for (const path of ['%2e%2e/package.json', '..%2f..%2fpackage.json', 'nope.js', 'x.exe']) {
      expect((await fetch(`${server.url}${path}`)).status).toBe(404);
    }
  });

  it('aMethodOtherThanGetOrHead_is405_headGetsTheHeadersOnly', async () => {
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const answer = await fetch(server.url, { method });
      expect(answer.status, method).toBe(405);
      expect(answer.headers.get('allow')).toBe('GET, HEAD');
    }
    const head = await fetch(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/text\/html/);
    expect(await head.text()).toBe('');
    expect((await fetch(`${server.url}nope.js`, { method: 'HEAD' })).status).toBe(404);
  });

  it('pagesBeyondTheBound_areRefused503_untilOneCloses', async () => {
    const url = `${server.url.replace('http', 'ws')}ws`;
    const connect = (): Promise<{ socket: WebSocket; answer: string }> => new Promise((resolve) => {
      const socket = new WebSocket(url);
      socket.on('unexpected-response', (_req, res) => resolve({ socket,
        answer: String(res.statusCode) }));
      socket.on('open', () => resolve({ socket, answer: 'open' }));
      socket.on('error', () => undefined);
    });
    // The suite's own client is one of them.
    await client.until((m) => m['type'] === 'hello');
    const opened: WebSocket[] = [];
    try {
      for (let i = 1; i < WEB_CLIENTS_MAX; i += 1) {
        const { socket, answer } = await connect();
        opened.push(socket);
        expect(answer, `page ${i + 1}`).toBe('open');
      }
      const over = await connect();
      expect(over.answer).toBe('503');
      const first = opened.shift();
      await new Promise((resolve) => {
        first?.on('close', resolve);
        first?.close();
      });
      // The server sees the close a moment after the client does.
      let again = await connect();
      for (let tries = 0; again.answer !== 'open' && tries < 50; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        again = await connect();
      }
      expect(again.answer).toBe('open');
      opened.push(again.socket);
    } finally {
      for (const socket of opened) socket.close();
    }
  });

  it('anotherSitesPage_isRefusedTheWebSocket', async () => {
    const foreign = new WebSocket(`${server.url.replace('http', 'ws')}ws`,
      { origin: 'https://evil.example' });
    const refused = await new Promise<string>((resolve) => {
      foreign.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      foreign.on('open', () => resolve('open'));
      foreign.on('error', () => undefined);
    });
    expect(refused).toBe('401');
    const own = new WebSocket(`${server.url.replace('http', 'ws')}ws`,
      { origin: server.url.slice(0, -1) });
    await new Promise((resolve, reject) => {
      own.on('open', resolve);
      own.on('error', reject);
    });
    own.close();
  });

  it('aRebindingName_isRefusedThePageAndTheWebSocket_anAddressOrLocalhostIsNot', async () => {
    // DNS rebinding: evil.example first resolves to the attacker, then to 127.0.0.1; its page
    // then reaches this server same-origin, with Host and Origin both evil.example:port.
    const { port } = server;
    const status = (host: string): Promise<number> => new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/', headers: { host } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
      req.on('error', reject).end();
    });
    expect(await status(`evil.example:${port}`)).toBe(403);
    expect(await status(`localhost:${port}`)).toBe(200);
    expect(await status(`127.0.0.1:${port}`)).toBe(200);
    const evil = `evil.example:${port}`;
    const rebound = new WebSocket(`ws://127.0.0.1:${port}/ws`,
      { headers: { host: evil }, origin: `http://${evil}` });
    const answer = await new Promise<string>((resolve) => {
      rebound.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      rebound.on('open', () => resolve('open'));
      rebound.on('error', () => undefined);
    });
    expect(answer).toBe('401');
  });

  it('hello_thenBadRequests_getErrors_andATap_getsEdgesAndATapEvent', async () => {
    const hello = await client.until((m) => m['type'] === 'hello');
    const devices = hello['devices'] as { id: string; kind: string }[];
    expect(devices.map((d) => [d.id, d.kind])).toEqual([['SIM00001', 'bus']]);
    client.send('{not json');
    client.send(JSON.stringify({ device: 'SIM09999', verb: 'tap', args: { card: 0 } }));
    client.send(JSON.stringify({ device: 'SIM00001', verb: 'fly', args: { card: 0 } }));
    client.send(JSON.stringify({ device: 'SIM00001', verb: 'tap', args: { card: 999 } }));
    client.send(JSON.stringify({ device: 'SIM00001', verb: 'pull',
      args: { card: 0, afterCommands: 0 } }));
    const errors = (): string[] => client.messages.filter((m) => m['type'] === 'result')
      .map((m) => String(m['error']));
    await client.until(() => errors().length === 5);
    expect(errors()).toEqual(['not JSON', 'no device SIM09999',
      "unknown action 'fly' (tap, hold, pull, remove, link)", 'no card 999 in this population',
      'afterCommands must be an integer in 1..32']);
    client.send(JSON.stringify({ device: 'SIM00001', verb: 'tap', args: { card: 11 } }));
    const tap = await client.until((m) => m['type'] === 'events'
      && (m['events'] as Message[]).some((e) => e['type'] === 'tap'));
    const event = (tap['events'] as Message[]).find((e) => e['type'] === 'tap');
    expect(event).toMatchObject({ card: 11, report: { result: 'approved', amountMinor: 200 } });
    await client.until((m) => m['type'] === 'events' && (m['events'] as Message[])
      .some((e) => e['type'] === 'indicator' && e['toneHz'] === 0));
    const edges = client.messages.filter((m) => m['type'] === 'events')
      .flatMap((m) => m['events'] as Message[]).filter((e) => e['type'] === 'indicator');
    // The approved pattern: 2700 Hz for 150 ms, on green (INDICATOR_PATTERNS_DEFAULT).
    const on = edges.find((e) => e['toneHz'] === 2700);
    const off = edges.find((e) => e['toneHz'] === 0);
    expect(on).toMatchObject({ green: true });
    expect(Number(off?.['atMs']) - Number(on?.['atMs'])).toBeCloseTo(150, 6);
  });
});

describe('web server: upload backlog', () => {
  let server: WebServer;
  let client: Client;
  beforeAll(async () => {
    // Ten times real time: the uploader's 30 s contact interval takes 3 s.
    const options = parseWebOptions(['--web', '--port', '0', '--speed', '10']);
    if (typeof options === 'string') throw new Error(options);
    server = await startWebFace(options, () => undefined);
    client = new Client(server.url);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  type State = { journal: Record<string, number>; upload: Record<string, unknown> };
  const latest = (): State | null => {
    const states = client.messages.filter((m) => m['type'] === 'state');
    return (states[states.length - 1]?.['state'] as State | undefined) ?? null;
  };

  it('tap_thenCutLink_backlogGrows_thenRestored_drainsToTheDepot', async () => {
    await client.until((m) => m['type'] === 'hello');
    const tap = JSON.stringify({ device: 'SIM00001', verb: 'tap', args: { card: 11 } });
    client.send(tap);
    await client.until(() => (latest()?.journal['records'] ?? 0) > 0);
    await client.until(() => latest()?.upload['atDepot'] === 1
      && latest()?.journal['backlog'] === 0, 30_000);
    client.send(JSON.stringify({ device: 'SIM00001', verb: 'link', args: { online: false } }));
    await client.until(() => latest()?.upload['online'] === false);
    // The same card again after the duplicate-tap window (60 s: 6 s here) is a new fare.
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    client.send(tap);
    await client.until(() => latest()?.journal['backlog'] === 1, 15_000);
    await client.until(() => String(latest()?.upload['lastError']).includes('ECONNREFUSED'),
      30_000);
    expect(latest()?.upload['atDepot']).toBe(1);
    client.send(JSON.stringify({ device: 'SIM00001', verb: 'link', args: { online: true } }));
    await client.until(() => latest()?.upload['atDepot'] === 2
      && latest()?.journal['backlog'] === 0, 30_000);
  });
});

describe('web server: the terminal line of each tap', () => {
  let server: WebServer;
  let client: Client;
  const lines: TapLine[] = [];
  beforeAll(async () => {
    const options = parseWebOptions(['--web', '--port', '0']);
    if (typeof options === 'string') throw new Error(options);
    server = await startWebFace(options, (_id, line) => lines.push(line));
    client = new Client(server.url);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('fiveCardsTappedInAQuickRow_eachLineNamesItsCard_andItsLatency', async () => {
    // Cards tapped 150 ms apart (a child clicking): several in the field (多卡), then a card
    // whose rider's wait ran out during its read left before the answer, and its line said
    // 'unknown ... no answer' though the screen answered (the card was looked up when the
    // answer came, not when it was detected).
    await client.until((m) => m['type'] === 'hello');
    const cards = [12, 13, 15, 8, 16];
    for (const card of cards) {
      client.send(JSON.stringify({ device: 'SIM00001', verb: 'tap', args: { card } }));
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    // The card still in the field once the others left is read to its end: its rider's
    // 10 s wait is over by then (tryAgain), the case that lost its name.
    await client.until(() => lines.length >= cards.length
      || lines.some((l) => l.report?.result === 'tryAgain'), 60_000);
    for (const line of lines) {
      expect(line.cardName, JSON.stringify(line.report)).not.toBe('unknown');
      expect(line.latencyMs, line.cardName).not.toBeNull();
    }
  }, 90_000);
});
