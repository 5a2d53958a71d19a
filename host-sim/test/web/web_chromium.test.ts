// The web face in real Chromium: tap a card, read the DWIN screen, see the LED, hear the beep.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  INDICATOR_PATTERNS_DEFAULT,
} from '../../../hal/src/buzzer/indicator_patterns.js';
import { screenTexts } from '../../../hal/src/display/display_text.js';
import {
  CHROMIUM, chromiumReady, ROOT, startWebProcess, type WebProcess,
} from './web_process.js';

const ARTIFACTS = join(ROOT, 'test-artifacts', 'web');

const ready = chromiumReady('web_chromium');
let web: WebProcess | null = null;
let browser: Browser | null = null;
let page: Page;

beforeAll(async () => {
  if (!ready) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  web = await startWebProcess(['--port', '0', '--fleet', '2', '--seed', '1']);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox'],
  });
  page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
  await page.goto(web.url);
  await page.waitForFunction(() => (window as unknown as { shuaka?: { ready: boolean } })
    .shuaka?.ready === true);
});

afterAll(async () => {
  if (web !== null) console.log(web.output().stdout, web.output().stderr);
  await browser?.close();
  await web?.stop();
});

/** The id of the population card named `name` on the page. */
async function cardId(name: string): Promise<string> {
  const id = await page.$eval(`[data-device="SIM00001"] .card[title^="${name} "]`,
    (chip) => (chip as HTMLElement).dataset['card'] ?? '');
  expect(id).not.toBe('');
  return id;
}

function regions(device: string): Promise<Record<string, string>> {
  return page.$$eval(`[data-device="${device}"] .screen [data-region]`, (nodes) =>
    Object.fromEntries(nodes.map((n) => [(n as HTMLElement).dataset['region'] ?? '',
      (n as HTMLElement).innerText.trim()])));
}

/** Waits until every region of `device`'s screen reads as `texts` at once (a whole frame). */
async function waitScreen(device: string, texts: Readonly<Record<string, string>>):
  Promise<void> {
  await page.waitForFunction(
    ([d, want]) => Object.entries(want).every(([region, text]) => document.querySelector(
      `[data-device="${d}"] [data-region="${region}"]`)?.textContent === text),
    [device, texts] as const,
    { timeout: 15_000, polling: 10 },
  );
}

interface Beep { device: string; toneHz: number; durationMs: number; contextState: string }

function beeps(): Promise<Beep[]> {
  return page.evaluate(() => (window as unknown as { shuaka: { beeps: Beep[] } }).shuaka.beeps);
}

describe.runIf(ready)('shuaka sim --web in Chromium', () => {
  it('tap_ecCard_showsApprovedScreenInChinese_greenLed_andPlaysTheApprovedBeep', async () => {
    const id = await cardId('unionpay-debit-ec');
    const chip = `[data-device="SIM00001"] .card[data-card="${id}"]`;
    const before = await page.$eval(`${chip} .card-balance`, (n) => n.textContent ?? '');
    const balanceBefore = Math.round(Number(/¥([0-9.]+)/.exec(before)?.[1]) * 100);
    expect(balanceBefore).toBeGreaterThan(200);
    // The green LED is lit for the pattern's 1 s: caught (with its colour) the moment it is.
    const lit = page.waitForFunction(() => {
      const led = document.querySelector('[data-device="SIM00001"] .led.green');
      return led?.getAttribute('data-lit') === 'true' ? getComputedStyle(led).backgroundColor
        : null;
    }, undefined, { timeout: 15_000, polling: 10 });
    await page.click(`${chip} .card-name`);
    // The wording the firmware's display layer writes, with the balance from our own sum.
    const expected = screenTexts({ kind: 'approved', amountMinor: 200,
      balanceMinor: balanceBefore - 200 });
    await waitScreen('SIM00001', expected);
    await page.screenshot({ path: join(ARTIFACTS, 'approved.png'), fullPage: true });
    expect(await regions('SIM00001')).toEqual(expected);
    expect(expected.balance).toMatch(/^余额 [0-9]+\.[0-9]{2}元$/);
    expect(await page.$eval('[data-device="SIM00001"] .screen',
      (s) => (s as HTMLElement).dataset['page'])).toBe('approved');
    expect(await (await lit).jsonValue()).toBe('rgb(0, 230, 0)');
    // The page's own record of the LED edges: green on, red off, for the approved pattern.
    const leds = await page.evaluate(() => (window as unknown as { shuaka: { leds: unknown[] } })
      .shuaka.leds);
    expect(leds).toContainEqual(expect.objectContaining({ device: 'SIM00001', green: true,
      red: false }));
    const step = INDICATOR_PATTERNS_DEFAULT.approved.steps[0];
    await page.waitForFunction(() => (window as unknown as { shuaka: { beeps: unknown[] } })
      .shuaka.beeps.length > 0, undefined, { timeout: 5_000 });
    expect((await beeps())[0]).toEqual({ device: 'SIM00001', toneHz: step?.toneHz,
      durationMs: step?.durationMs, contextState: 'running', startedAt: expect.any(Number) });
  });

  it('journal_afterTheTap_holdsItsRecordsAndTheUploadBacklog', async () => {
    await page.waitForFunction(() => document.querySelector(
      '[data-device="SIM00001"] [data-key="records"]')?.textContent !== '0');
    const backlog = await page.$eval('[data-device="SIM00001"] [data-key="backlog"]',
      (n) => n.textContent ?? '');
    expect(backlog).toMatch(/^1 clearing records? not acknowledged/);
  });

  it('pullEarly_onTheSecondBus_shows请重刷_redLed_andTheTryAgainBeeps', async () => {
    const id = await cardId('unionpay-credit-ec');
    const ofBus2 = async (): Promise<Beep[]> =>
      (await beeps()).filter((b) => b.device === 'SIM00002');
    const count = (await ofBus2()).length;
    await page.click(`[data-device="SIM00002"] .card[data-card="${id}"] .pull`);
    const expected = screenTexts({ kind: 'tryAgain' });
    await waitScreen('SIM00002', expected);
    expect(expected.title).toBe('请重刷');
    await page.waitForFunction(() => document.querySelector(
      '[data-device="SIM00002"] .led.red')?.getAttribute('data-lit') === 'true');
    await page.screenshot({ path: join(ARTIFACTS, 'try_again.png'), fullPage: true });
    const pattern = INDICATOR_PATTERNS_DEFAULT.tryAgain.steps.filter((s) => s.toneHz > 0);
    await page.waitForFunction((n) => (window as unknown as { shuaka: { beeps: Beep[] } })
      .shuaka.beeps.filter((b) => b.device === 'SIM00002').length >= n, count + pattern.length,
    { timeout: 5_000 });
    const played = (await ofBus2()).slice(count).map((b) => [b.device, b.toneHz, b.durationMs]);
    expect(played).toEqual(pattern.map((s) => ['SIM00002', s.toneHz, s.durationMs]));
  });

  it('dragToReader_holdsTheCard_untilDraggedBack', async () => {
    const id = await cardId('stock-debit-dda');
    const chip = `[data-device="SIM00001"] .card[data-card="${id}"]`;
    await page.dragAndDrop(chip, '[data-device="SIM00001"] [data-role="reader"]');
    const onReader = `[data-device="SIM00001"] [data-role="reader"] .card[data-card="${id}"]`;
    await page.waitForSelector(onReader);
    await waitScreen('SIM00001', { title: '交易成功' });
    // Held: the card stays on the reader after the answer (the tap would have let go).
    await page.waitForTimeout(1_500);
    expect(await page.$(onReader)).not.toBeNull();
    await page.dragAndDrop(chip, '[data-device="SIM00001"] [data-role="deck"]');
    await page.waitForSelector(`[data-device="SIM00001"] [data-role="deck"] .card[data-card="${id}"]`);
  });

  it('sigint_stopsTheServer_withExitZero', async () => {
    const code = await web?.stop();
    expect(code).toBe(0);
    expect(web?.output().stdout).toMatch(/SIM00001 .*unionpay-debit-ec .*approved/);
    expect(web?.output().stdout).toContain('shuaka sim --web: stopped (SIGINT)');
    web = null;
  });
});
