// Deny list at national scale (issue 11): build, load, lookup and memory at 10^5, 10^6, 10^7.
//
// Targets (performance.md): 10^7 entries load in <= 0.5 s, a lookup <= 2 µs, memory no more
// than the list's image. "load" is what a validator does at start: read deny_list.bin from
// disk and validate it (SHA-256, BCD, order); "keeps" is the one buffer the loaded list holds
// (the file's own buffer, searched in place). Process-level deltas (array buffers, heap, rss)
// are printed too but move with the GC of the build's buffers.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DenyList } from '../firmware/src/app/deny_list/deny_list.js';
import { denyListBuild } from '../firmware/src/app/deny_list/deny_list_build.js';
import { Prng } from '../host-sim/src/prng.js';
import { printFigures } from './bench_util.js';
import type { BenchFigure } from './bench_util.js';

const BENCH_SEED = 0xde11;
const SIZES = [100_000, 1_000_000, 10_000_000] as const;
const PROBES = 200_000;

/** "PAN,PSN" lines: UnionPay-like PANs (62 + 14..17 digits), PSN 00..09; returns the PANs. */
function denyText(count: number, prng: Prng): { text: Buffer; pans: string[] } {
  const text = Buffer.alloc(count * 23);
  const pans: string[] = [];
  let at = 0;
  // A cheap xorshift stream for the digits, seeded from the Prng: 10^7 lines in seconds.
  let x = (prng.below(0x7fffffff) | 1) >>> 0;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  for (let i = 0; i < count; i += 1) {
    const start = at;
    const length = 16 + (next() % 4);
    text[at++] = 0x36;
    text[at++] = 0x32;
    for (let d = 2; d < length; d += 1) text[at++] = 0x30 + (next() % 10);
    // Every 50th PAN is kept as a probe that must be found.
    if (i % 50 === 0) pans.push(text.toString('latin1', start, at));
    text[at++] = 0x2c;
    text[at++] = 0x30;
    text[at++] = 0x30 + (i % 10 === 0 ? 1 : 0);
    text[at++] = 0x0a;
  }
  return { text: text.subarray(0, at), pans };
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

async function benchSize(count: number, dir: string): Promise<BenchFigure[]> {
  const prng = new Prng(BENCH_SEED + count);
  const { text, pans } = denyText(count, prng);
  let wall = performance.now();
  let cpu = process.cpuUsage();
  const built = denyListBuild(text, 'bench.txt');
  const buildMs = performance.now() - wall;
  const buildCpu = cpuMs(cpu);
  if (!built.ok) throw new Error(built.error.message);
  const path = join(dir, `deny_${count}.bin`);
  writeFileSync(path, built.value.image);
  const imageBytes = built.value.image.length;
  globalThis.gc?.();
  const before = process.memoryUsage();
  wall = performance.now();
  cpu = process.cpuUsage();
  const loaded = DenyList.load(await readFile(path), path);
  const loadMs = performance.now() - wall;
  const loadCpu = cpuMs(cpu);
  if (!loaded.ok) throw new Error(loaded.error.message);
  const after = process.memoryUsage();
  const list = loaded.value;
  const probes: string[] = [];
  for (let i = 0; i < PROBES; i += 1) {
    // Half listed PANs (PSN 00 or 01 as built), half absent (a last digit changed).
    const pan = pans[i % pans.length] ?? '';
    probes.push(i % 2 === 0 ? pan : `${pan.slice(0, -1)}${(Number(pan.at(-1)) + 5) % 10}`);
  }
  let found = 0;
  wall = performance.now();
  cpu = process.cpuUsage();
  for (let i = 0; i < PROBES; i += 1) {
    if (list.contains(probes[i] ?? '', 0) || list.contains(probes[i] ?? '', 1)) found += 1;
  }
  const lookups = 2 * PROBES;
  const lookupNs = ((performance.now() - wall) * 1e6) / lookups;
  const lookupCpuNs = (cpuMs(cpu) * 1e6) / lookups;
  if (found < PROBES / 2) throw new Error(`listed PANs not found: ${found}`);
  const held = after.arrayBuffers - before.arrayBuffers;
  const scale = `10^${Math.round(Math.log10(count))}`;
  console.log(`  ${scale}: image ${imageBytes} bytes; the loaded list keeps ${list.retainedBytes}`
    + ` bytes (${(list.retainedBytes / imageBytes).toFixed(3)}x the image); after load +`
    + `${(held / 2 ** 20).toFixed(1)} MiB array buffers, heap +`
    + `${((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(1)} MiB, rss +`
    + `${((after.rss - before.rss) / 2 ** 20).toFixed(1)} MiB; cpu: build ${buildCpu.toFixed(0)}`
    + ` ms, load ${loadCpu.toFixed(0)} ms, lookup ${lookupCpuNs.toFixed(0)} ns`);
  const figure = (name: string, ns: number): BenchFigure => ({ name, nsPerOp: ns, samples: 1 });
  return [
    figure(`${scale} build from text (wall)`, buildMs * 1e6),
    figure(`${scale} load: read file + validate (wall)`, loadMs * 1e6),
    figure(`${scale} lookup, half hits (wall, per lookup)`, lookupNs),
  ];
}

/** Prints build, load, lookup and memory figures for 10^5, 10^6 and 10^7 entries. */
export async function runDenyListBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shuaka-deny-bench-'));
  try {
    console.log('\nDeny list at national scale (targets at 10^7: load <= 0.5 s, lookup <= 2 µs,'
      + ' memory <= the image)');
    const figures: BenchFigure[] = [];
    for (const count of SIZES) figures.push(...(await benchSize(count, dir)));
    printFigures('Deny list build / load / lookup', figures, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
