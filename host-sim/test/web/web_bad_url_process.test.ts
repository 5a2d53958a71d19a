// `shuaka sim --web` as a real process against a request no browser sends on its own: a path
// whose %-escape is malformed. The truth is the process itself: it answers, and goes on
// serving the page to the next request.

import { afterEach, expect, it } from 'vitest';
import { startWebProcess, type WebProcess } from './web_process.js';

let web: WebProcess | null = null;

afterEach(async () => {
  await web?.stop();
  web = null;
});

it('malformedPercentEscape_isA404_andTheServerGoesOn', async () => {
  web = await startWebProcess(['--port', '0', '--quiet']);
  for (const path of ['%E0', '%', 'a%ZZ.js', '%C0%AF..%C0%AFpackage.json']) {
    const answer = await fetch(`${web.url}${path}`);
    expect(answer.status, path).toBe(404);
  }
  const page = await fetch(web.url);
  expect(page.status).toBe(200);
  expect(web.child.exitCode).toBeNull();
  expect(web.output().stderr).not.toMatch(/URIError|at serveAsset/);
}, 60_000);
