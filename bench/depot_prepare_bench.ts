// The depot's prepare step per record on one thread (issue 17): what the prepare worker does
// with a batch body (parse, validate, token and seal every PAN, pack: batch_pack.ts), what
// crossing to the store's thread costs (postMessage's copy, modelled by v8 serialize and
// deserialize), and the store thread's unpack. The inputs are depot_ingest_load.ts's bodies
// (1,000 clearing lines, every card a new one). Each round takes a fresh vault, so no seal
// comes from the vault's cache, as in the ingest bench. Figures are CPU time of this process
// per record (the machine is shared: wall time moves with the neighbours), median of rounds.

import { deserialize, serialize } from 'node:v8';

import { batchPack, batchUnpack, type PackedBatch } from '../depot/src/ingest/batch_pack.js';
import { batchCards, batchParse, batchPrepare } from '../depot/src/ingest/batch_seal.js';
import type { IngestBatch } from '../depot/src/ingest/batch_validate.js';
import { panVault, type PanVault } from '../depot/src/store/pan_vault.js';
import { printFigures, type BenchFigure } from './bench_util.js';
import { batchBody } from './depot_ingest_load.js';

const BODIES = 20;
const RECORDS_PER_BODY = 1_000;
const ROUNDS = 9;
/** Body indexes past the first terminal round (its replays and duplicates included). */
const FIRST_BODY = 200;

function cpuNs(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) * 1_000;
}

/** A vault under a fresh key whose batch sealer is built (the first call builds it). */
function freshVault(round: number): PanVault {
  const vault = panVault(Buffer.alloc(32, round + 1));
  vault.sealCards(['62310000']);
  return vault;
}

function nth<T>(list: readonly T[], i: number): T {
  const value = list[i];
  if (value === undefined) throw new Error(`no entry ${i}`);
  return value;
}

type Step = (body: { text: string; terminalId: string }, i: number, vault: PanVault) => unknown;

/** Median over ROUNDS of the CPU ns per record of `step` over every body. */
function perRecord(name: string, bodies: readonly { text: string; terminalId: string }[],
  step: Step): BenchFigure {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const vault = freshVault(round);
    const start = cpuNs();
    bodies.forEach((body, i) => step(body, i, vault));
    samples.push((cpuNs() - start) / (bodies.length * RECORDS_PER_BODY));
  }
  samples.sort((a, b) => a - b);
  return { name, nsPerOp: samples[Math.floor(ROUNDS / 2)] ?? 0, samples: ROUNDS };
}

/** Prints the prepare step's figures (ns per record, ratios to the worker's whole step). */
export function runDepotPrepareBench(): Promise<void> {
  const bodies = Array.from({ length: BODIES }, (_, i) => batchBody(FIRST_BODY + i));
  const parsed: IngestBatch[] = bodies.map((b) => batchParse(b.text, b.terminalId));
  const packed: PackedBatch[] = parsed.map((batch) => batchPack(batch, freshVault(0)));
  const cloned = packed.map((p) => serialize(p));
  const figures = [
    perRecord('worker: parse, validate, seal, pack', bodies, (b, _i, vault) =>
      batchPack(batchParse(b.text, b.terminalId), vault)),
    perRecord('  parse and validate (batchParse)', bodies, (b) =>
      batchParse(b.text, b.terminalId)),
    perRecord('  token and seal (vault.sealCards)', bodies, (_b, i, vault) =>
      batchCards(nth(parsed, i), vault)),
    perRecord('postMessage copy (v8 serialize + deserialize)', bodies, (_b, i) =>
      deserialize(serialize(nth(packed, i)))),
    perRecord('store thread: deserialize and unpack', bodies, (_b, i) =>
      batchUnpack(deserialize(nth(cloned, i)) as PackedBatch)),
    perRecord('one thread: batchPrepare (objects, no copy)', bodies, (b, _i, vault) =>
      batchPrepare(b.text, b.terminalId, vault)),
  ];
  printFigures(`depot prepare step per record (CPU, ${BODIES} bodies of ${RECORDS_PER_BODY} `
    + 'clearing lines, fresh cards)', figures, figures[0]?.name ?? '');
  return Promise.resolve();
}
