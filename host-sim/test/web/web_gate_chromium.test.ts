// The gate on the web face in real Chromium (`shuaka sim --web --board gate`): a ticket for
// three opens the lane three times, a walk-in pays and walks, the same ticket again is refused
// (passback) with the lane kept locked. Truths: the turnstile controller's pass counter and
// the firmware's own screen texts (display_text.ts), read off the page.

import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { screenTexts } from '../../../hal/src/display/display_text.js';
import { CHROMIUM, chromiumReady, startWebProcess, type WebProcess } from './web_process.js';

const GATE = '[data-device="GATE0001"]';

const ready = chromiumReady('web_gate_chromium');
let web: WebProcess | null = null;
let browser: Browser | null = null;
let page: Page;

beforeAll(async () => {
  if (!ready) return;
  web = await startWebProcess(['--port', '0', '--board', 'gate', '--seed', '1', '--quiet']);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
  await page.goto(web.url);
  await page.waitForFunction(() => (window as unknown as { shuaka?: { ready: boolean } })
    .shuaka?.ready === true);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await web?.stop();
});

function value(key: string): Promise<string> {
  return page.$eval(`${GATE} [data-key="${key}"]`, (n) => (n as HTMLElement).innerText.trim());
}

async function waitLane(open: boolean): Promise<void> {
  await page.waitForSelector(`${GATE} [data-role="lane"][data-open="${String(open)}"]`,
    { timeout: 15_000 });
}

/**
 * Clicks "walk through" each time the lane opens, `persons` times. The next person waits for
 * the day's entries to count the last one: that count moves only after the lane locked behind
 * them, so a state showing it open again is the next opening, never the last one's.
 */
async function walk(persons: number): Promise<void> {
  for (let i = 0; i < persons; i += 1) {
    const before = Number(await value('entries'));
    await waitLane(true);
    await page.click(`${GATE} [data-role="walk"]`);
    await page.waitForFunction(([sel, n]) => document.querySelector(sel)?.textContent === n,
      [`${GATE} [data-key="entries"]`, String(before + 1)] as const, { timeout: 15_000 });
  }
}

async function passages(): Promise<number> {
  const text = await page.$eval(`${GATE} [data-role="lane"]`, (n) => n.textContent ?? '');
  return Number(/passages (\d+)/.exec(text)?.[1] ?? -1);
}

describe('gate on the web face', () => {
  it('ticketForThree_walkIn_thenPassback_onThePage', async () => {
    if (!ready) return;
    await page.click(`${GATE} .card[data-card="0"]`);
    await walk(3);
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '3',
      `${GATE} [data-key="ticketEntries"]`, { timeout: 15_000 });
    expect(await passages()).toBe(3);
    const walkIn = await page.$eval(`${GATE} .card[title^="unionpay-debit-ec "]`,
      (n) => (n as HTMLElement).dataset['card'] ?? '');
    await page.click(`${GATE} .card[data-card="${walkIn}"]`);
    await walk(1);
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '1',
      `${GATE} [data-key="paidEntries"]`, { timeout: 15_000 });
    expect(await value('entries')).toBe('4');
    expect(await passages()).toBe(4);
    // The ticket again while its three are inside: refused, the lane stays locked.
    await page.waitForSelector(`${GATE} .card[data-card="0"][data-on-reader="false"]`);
    await page.click(`${GATE} .card[data-card="0"]`);
    await page.waitForFunction((sel) => (document.querySelector(sel)?.textContent ?? '')
      .includes('passback'), `${GATE} [data-key="lastTap"]`, { timeout: 15_000 });
    const title = screenTexts({ kind: 'gate', message: 'passback', persons: null })['title'];
    expect(await page.$eval(`${GATE} [data-region="title"]`, (n) => n.textContent)).toBe(title);
    expect(await passages()).toBe(4);
    expect(await page.$eval(`${GATE} [data-role="lane"]`, (n) => (n as HTMLElement)
      .dataset['open'])).toBe('false');
  }, 90_000);
});
