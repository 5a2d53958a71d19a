// peakRssBytes in the case it exists for: a child spawned by a large parent, whose getrusage
// peak is at least the parent's RSS (the kernel keeps the pre-exec peak). The child runs the
// built module (npm test builds first), as the bench's and the CLI's children do.

import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

import { peakRssBytes } from '../../src/fs/peak_rss.js';

const MIB = 2 ** 20;
const BUILT = pathToFileURL(resolve('dist/hal/src/fs/peak_rss.js')).href;

describe('peakRssBytes', () => {
  it('gives a child of a 256 MiB parent its own peak, where getrusage gives the parent\'s', () => {
    const child = `import { peakRssBytes } from ${JSON.stringify(BUILT)};`
      + 'console.log(JSON.stringify({ own: peakRssBytes(),'
      + ' rusage: process.resourceUsage().maxRSS * 1024 }));';
    // The parent touches every page of its buffer, then spawns the child while holding it.
    const parent = 'const big = Buffer.alloc(256 * 2 ** 20, 1);'
      + 'const { execFileSync } = require("node:child_process");'
      + `process.stdout.write(execFileSync(process.execPath, ["--input-type=module", "-e", ${
        JSON.stringify(child)}]));`
      + 'big[1] = big[0] + 1;';
    const out = JSON.parse(execFileSync(process.execPath, ['-e', parent], { encoding: 'utf8' })) as
      { own: number; rusage: number };
    expect(out.rusage).toBeGreaterThanOrEqual(256 * MIB);
    expect(out.own).toBeGreaterThan(8 * MIB);
    expect(out.own).toBeLessThan(128 * MIB);
  });

  it('grows by what this process touches', () => {
    const before = peakRssBytes();
    const touched = Buffer.alloc(Math.max(0, before + 96 * MIB - process.memoryUsage().rss), 1);
    expect(peakRssBytes()).toBeGreaterThanOrEqual(before + 64 * MIB);
    expect(touched[touched.length - 1]).toBe(1);
  });
});
