// Deny list at national scale (issue 11): build, load, lookup and memory at 10^5, 10^6, 10^7,
// and the per-tap cost of the card's token (one HMAC-SHA-256).
//
// Targets (performance.md): 10^7 entries load in <= 0.5 s, a lookup <= 2 µs, memory no more
// than the list's image. "load" is what a validator does at start: read deny_list.bin from
// disk and validate it (SHA-256, order); "keeps" is the one buffer the loaded list holds (the
// file's own buffer, searched in place). The large lists are built from random tokens plus the
// tokens of known cards (an HMAC output is indistinguishable from random; making 10^7 HMACs
// would only time the builder, whose per-entry cost from PAN text is measured at 10^5).
// Process-level deltas (array buffers, heap, rss) are printed too but move with the GC.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { denyDeltaApply, denyDeltaBuild } from '../firmware/src/app/deny_list/deny_delta.js';
import { DenyKey } from '../firmware/src/app/deny_list/deny_key.js';
import { DenyList, tokenWord } from '../firmware/src/app/deny_list/deny_list.js';
import {
  denyListBuild, denyListFromTokens,
} from '../firmware/src/app/deny_list/deny_list_build.js';
import { Prng } from '../host-sim/src/prng.js';
import { printFigures } from './bench_util.js';
import type { BenchFigure } from './bench_util.js';

const BENCH_SEED = 0xde11;
const SIZES = [100_000, 1_000_000, 10_000_000] as const;
const TEXT_BUILD_SIZE = 100_000;
const KNOWN_CARDS = 2_000;
const PROBES = 200_000;

/** A cheap xorshift stream seeded from the Prng: 3 x 10^7 words in well under a second. */
function xorshift(prng: Prng): () => number {
  let x = (prng.below(0x7fffffff) | 1) >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** UnionPay-like PANs (62 + 14..17 digits). */
function pans(count: number, next: () => number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i += 1) {
    let pan = '62';
    const length = 16 + (next() % 4);
    while (pan.length < length) pan += String(next() % 10);
    out.push(pan);
  }
  return out;
}

/** Token words of `count` entries: random, but the first `known.length` are known cards'. */
function tokenWords(count: number, known: readonly string[], key: DenyKey, next: () => number) {
  const words = new Uint32Array(count * 3);
  for (let i = 0; i < words.length; i += 1) words[i] = next();
  known.forEach((pan, i) => {
    const token = key.token(pan, 1) ?? new Uint8Array(12);
    for (let w = 0; w < 3; w += 1) words[3 * i + w] = tokenWord(token, 4 * w);
  });
  return words;
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const figure = (name: string, ns: number): BenchFigure => ({ name, nsPerOp: ns, samples: 1 });

/** Per-entry cost of `denylist-build` from "PAN,PSN" text (one HMAC per line). */
function benchTextBuild(key: DenyKey, next: () => number): BenchFigure {
  const text = pans(TEXT_BUILD_SIZE, next).map((pan, i) => `${pan},0${i % 10}`).join('\n');
  const wall = performance.now();
  const built = denyListBuild(text, 'bench.csv', key);
  const ms = performance.now() - wall;
  if (!built.ok) throw new Error(built.error.message);
  return figure('build from PAN text, per entry (10^5, wall)', (ms * 1e6) / TEXT_BUILD_SIZE);
}

/** The per-tap token: one HMAC-SHA-256 of PAN || PSN. */
function benchToken(key: DenyKey, cards: readonly string[]): BenchFigure {
  let sink = 0;
  const wall = performance.now();
  for (let i = 0; i < PROBES; i += 1) {
    sink ^= key.token(cards[i % cards.length] ?? '', 1)?.[0] ?? 0;
  }
  const ns = ((performance.now() - wall) * 1e6) / PROBES;
  if (sink < 0) throw new Error('unreachable');
  return figure('token per tap: HMAC-SHA-256(PAN || PSN) (wall)', ns);
}

async function benchSize(count: number, dir: string, key: DenyKey): Promise<BenchFigure[]> {
  const next = xorshift(new Prng(BENCH_SEED + count));
  const known = pans(KNOWN_CARDS, next);
  const words = tokenWords(count, known, key, next);
  let wall = performance.now();
  const built = denyListFromTokens(words, count, key.idHex, 'bench');
  const sortMs = performance.now() - wall;
  if (!built.ok) throw new Error(built.error.message);
  const path = join(dir, `deny_${count}.bin`);
  writeFileSync(path, built.value.image);
  const imageBytes = built.value.image.length;
  globalThis.gc?.();
  const before = process.memoryUsage();
  wall = performance.now();
  let cpu = process.cpuUsage();
  const loaded = DenyList.load(await readFile(path), path);
  const loadMs = performance.now() - wall;
  const loadCpu = cpuMs(cpu);
  if (!loaded.ok) throw new Error(loaded.error.message);
  const after = process.memoryUsage();
  const bound = loaded.value.bind(key, path);
  if (!bound.ok) throw new Error(bound.error.message);
  const list = bound.value;
  // Half listed cards (PSN 01 as built), half absent (PSN 02: another token).
  const tokens = Array.from({ length: 4096 }, (_, i) =>
    key.token(known[i % known.length] ?? '', i % 2 === 0 ? 1 : 2) ?? new Uint8Array(12));
  let found = 0;
  wall = performance.now();
  cpu = process.cpuUsage();
  const none = new Uint8Array(12);
  for (let i = 0; i < PROBES; i += 1) if (list.containsToken(tokens[i & 4095] ?? none)) found += 1;
  const lookupNs = ((performance.now() - wall) * 1e6) / PROBES;
  const lookupCpuNs = (cpuMs(cpu) * 1e6) / PROBES;
  if (found !== PROBES / 2) throw new Error(`listed cards found ${found}, expected ${PROBES / 2}`);
  wall = performance.now();
  let tapFound = 0;
  for (let i = 0; i < PROBES; i += 1) {
    if (list.contains(known[i % known.length] ?? '', 1 + (i & 1))) tapFound += 1;
  }
  const tapNs = ((performance.now() - wall) * 1e6) / PROBES;
  if (tapFound !== PROBES / 2) throw new Error(`tap lookups found ${tapFound}`);
  const held = after.arrayBuffers - before.arrayBuffers;
  const scale = `10^${Math.round(Math.log10(count))}`;
  console.log(`  ${scale}: image ${imageBytes} bytes; the loaded list keeps ${list.retainedBytes}`
    + ` bytes (${(list.retainedBytes / imageBytes).toFixed(3)}x the image); after load +`
    + `${(held / 2 ** 20).toFixed(1)} MiB array buffers, heap +`
    + `${((after.heapUsed - before.heapUsed) / 2 ** 20).toFixed(1)} MiB, rss +`
    + `${((after.rss - before.rss) / 2 ** 20).toFixed(1)} MiB; cpu: load ${loadCpu.toFixed(0)}`
    + ` ms, lookup ${lookupCpuNs.toFixed(0)} ns`);
  return [
    figure(`${scale} sort + encode tokens (wall)`, sortMs * 1e6),
    figure(`${scale} load: read file + validate (wall)`, loadMs * 1e6),
    figure(`${scale} lookup of a token, half hits (wall, per lookup)`, lookupNs),
    figure(`${scale} tap lookup: HMAC + search (wall, per tap)`, tapNs),
  ];
}

/** Entries of the delta bench's list and the changes of one publication. */
const DELTA_LIST = 1_000_000;
const DELTA_CHANGES = [100, 1_000, 10_000] as const;

/**
 * A published list of 10^6 tokens changed by `changes` adds and as many removes: the signed
 * delta's size against the whole list's, and the time to build it (depot) and apply it
 * (validator: signature, base hash, merge, result hash).
 */
function benchDelta(key: DenyKey): BenchFigure[] {
  const next = xorshift(new Prng(BENCH_SEED + 7));
  const words = tokenWords(DELTA_LIST + Math.max(...DELTA_CHANGES), [], key, next);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const base = denyListFromTokens(words, DELTA_LIST, key.idHex, 'base');
  if (!base.ok) throw new Error(base.error.message);
  const figures: BenchFigure[] = [];
  for (const changes of DELTA_CHANGES) {
    // Drop the first `changes` tokens, add `changes` new ones from past the base's end.
    const changed = words.slice(3 * changes, 3 * (DELTA_LIST + changes));
    const target = denyListFromTokens(changed, DELTA_LIST, key.idHex, 'target');
    if (!target.ok) throw new Error(target.error.message);
    let wall = performance.now();
    const delta = denyDeltaBuild(base.value.image, target.value.image, 1, 2, privateKey);
    const buildMs = performance.now() - wall;
    wall = performance.now();
    const applied = denyDeltaApply(base.value.image, 1, delta, publicKey);
    const applyMs = performance.now() - wall;
    if (!applied.ok) throw new Error(applied.reason);
    const full = target.value.image.length;
    console.log(`  delta at 10^6, ${changes} adds + ${changes} removes: ${delta.length} bytes`
      + ` vs the full list ${full} bytes (${(full / delta.length).toFixed(0)}x smaller;`
      + ` base64 on the wire ${Math.ceil(delta.length / 3) * 4} vs ${Math.ceil(full / 3) * 4})`);
    figures.push(figure(`10^6 delta of ${changes}+${changes}: build (wall)`, buildMs * 1e6),
      figure(`10^6 delta of ${changes}+${changes}: apply (wall)`, applyMs * 1e6));
  }
  return figures;
}

/** Prints build, load, lookup, per-tap HMAC and memory figures for 10^5, 10^6 and 10^7. */
export async function runDenyListBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shuaka-deny-bench-'));
  try {
    console.log('\nDeny list of card tokens at national scale (targets at 10^7: load <= 0.5 s,'
      + ' lookup <= 2 µs, memory <= the image)');
    const key = DenyKey.fromBytes(new Prng(BENCH_SEED).bytes(32));
    const next = xorshift(new Prng(BENCH_SEED));
    const figures: BenchFigure[] = [
      benchToken(key, pans(1000, next)),
      benchTextBuild(key, next),
    ];
    for (const count of SIZES) figures.push(...(await benchSize(count, dir, key)));
    printFigures('Deny list build / load / lookup', figures, '');
    console.log('\nDeny-list deltas (SHKDDLT1) against the whole list');
    printFigures('Deny-list deltas at 10^6', benchDelta(key), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
