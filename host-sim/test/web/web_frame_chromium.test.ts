// Another site framing the web face in real Chromium: a page of another origin puts the
// simulator in an iframe (under its own buttons, say, so a visitor's click taps a card). The
// truth is Chromium itself: the frame must never get the page running.

import { createServer, type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHROMIUM, chromiumReady, startWebProcess, type WebProcess } from './web_process.js';

const ready = chromiumReady('web_frame_chromium');
let web: WebProcess | null = null;
let browser: Browser | null = null;
let foreign: Server | null = null;

beforeAll(async () => {
  if (!ready) return;
  web = await startWebProcess(['--port', '0', '--quiet']);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox'] });
}, 60_000);

afterAll(async () => {
  foreign?.close();
  await browser?.close();
  await web?.stop();
});

/** Another origin (another port) whose page frames `url`; resolves with its own URL. */
function framingSite(url: string): Promise<string> {
  foreign = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' })
      .end(`<!doctype html><iframe id="sim" src="${url}" width="900" height="600"></iframe>`);
  });
  return new Promise((resolve) => foreign?.listen(0, '127.0.0.1', () => {
    const address = foreign?.address();
    resolve(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`);
  }));
}

it.runIf(ready)('anotherOriginsFrame_neverGetsThePageRunning', async () => {
  if (web === null || browser === null) throw new Error('not started');
  const page = await browser.newPage();
  await page.goto(await framingSite(web.url));
  // Long enough for the page to load, open its WebSocket and mount the bus (well under 1 s).
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const frames = page.frames().filter((f) => f !== page.mainFrame());
  expect(frames).toHaveLength(1);
  const running = await frames[0]?.evaluate(() =>
    (window as unknown as { shuaka?: { ready: boolean } }).shuaka?.ready === true)
    .catch(() => false);
  expect(running).toBe(false);
  // The page itself, opened as a page, still runs.
  await page.goto(web.url);
  await page.waitForFunction(() => (window as unknown as { shuaka?: { ready: boolean } })
    .shuaka?.ready === true, null, { timeout: 15_000 });
}, 60_000);
