// The depot ingest bench's load: 100 terminals, batches of 1,000 export lines, every 10th
// batch sent twice (a replay after a lost answer), 1 % of the taps repeating a card+ATC
// another terminal already sent. The bodies are written to a file before the depot process
// starts, and the depot process reads each one as a lane sends it: the depot's memory is then
// its own, not the load's (the run before kept 100 bodies of about 420 kB each, and the
// garbage of making them, in the process it measured).

import { closeSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';

import { cardOf, fixtureVault } from '../test_support/clear_clearing.js';
import { journalExportLine } from '../firmware/src/app/journal/journal_export.js';
import type { ClearingRecord } from '../firmware/src/app/journal/journal_records.js';

export const BATCH_RECORDS = 1_000;
export const TERMINALS = 100;
export const REPLAY_EVERY = 10;
export const CROSS_DUPLICATE_PERCENT = 1;
export const WALL_MS = 1_790_000_000_000;
/** The validators' data key of the generated batches (their export opens the seals). */
const BENCH_VAULT = fixtureVault();

function clearing(card: number, atc: number, terminalId: string): ClearingRecord {
  const pan = `6231${String(card).padStart(15, '0')}`;
  const atcHex = atc.toString(16).toUpperCase().padStart(4, '0');
  return {
    card: cardOf(BENCH_VAULT, pan, 1), aidHex: 'A000000333010101', atc, amountMinor: 200,
    currencyCode: 156, fareRule: 'flat', cryptogramType: 'ARQC',
    iccDataHex: `9F26080123456789ABCDEF5F3401019F3602${atcHex}`
      + '9F02060000000002005F2A0201569A03261202',
    transactionDate: '261202', transactionTime: '081500', terminalId, lineId: 'R12',
    paramsVersion: 3,
  };
}

/** The terminal that sends batch `index`. */
export function terminalOf(index: number): string {
  return `SIM${String(index % TERMINALS).padStart(5, '0')}`;
}

/** Body text of batch `index` (terminal index % TERMINALS, its seqs continuing). */
export function batchBody(index: number): { terminalId: string; text: string } {
  const terminalId = terminalOf(index);
  const first = Math.floor(index / TERMINALS) * BATCH_RECORDS + 1;
  const records: unknown[] = [];
  for (let i = 0; i < BATCH_RECORDS; i += 1) {
    const seq = first + i;
    const n = index * BATCH_RECORDS + i;
    // 1 %: the card+ATC of a tap of the previous terminal's batch (already stored), one that
    // is not itself a repeat (i % 100 is 1 there).
    const dup = n % 100 < CROSS_DUPLICATE_PERCENT && index > 0;
    const card = dup ? n - BATCH_RECORDS + 1 : n;
    const line = journalExportLine({ seq, timeWallMs: WALL_MS + seq,
      entry: { kind: 'final', pendingSeq: null,
        clearing: clearing(card, card % 60_000, terminalId) } },
    { ackThroughSeq: 0, openSeqs: new Set(), vault: BENCH_VAULT });
    if (line !== null) records.push(JSON.parse(line.text));
  }
  const text = JSON.stringify({ terminalId, firstSeq: first,
    throughSeq: first + BATCH_RECORDS - 1, records });
  return { terminalId, text };
}

/** One send of the load: batch `index`, and whether it is the replay of an earlier send. */
export interface Send {
  readonly index: number;
  readonly replay: boolean;
}

/** The sends of `records` records in order: every REPLAY_EVERY-th batch goes twice. */
export function loadSends(records: number): Send[] {
  const sends: Send[] = [];
  for (let index = 0, sent = 0; sent < records; index += 1) {
    sends.push({ index, replay: false });
    sent += BATCH_RECORDS;
    if (index % REPLAY_EVERY === REPLAY_EVERY - 1 && sent < records) {
      sends.push({ index, replay: true });
      sent += BATCH_RECORDS;
    }
  }
  return sends;
}

/** What the load's construction says must be counted: a replay counts none. */
export function loadStoredExpected(sends: readonly Send[]): number {
  return sends.filter((s) => !s.replay).reduce((sum, s) => sum + BATCH_RECORDS
    - (s.index === 0 ? 0 : BATCH_RECORDS * CROSS_DUPLICATE_PERCENT / 100), 0);
}

/** The index file beside a bodies file: where each body starts, and the end of the last. */
function indexPath(path: string): string {
  return `${path}.index.json`;
}

/**
 * Writes the bodies of batches 0..batches-1 back to back to `path` (UTF-8), and their offsets
 * to `path`.index.json; one body is held at a time.
 */
export function loadBodiesWrite(path: string, batches: number): void {
  const fd = openSync(path, 'w');
  const offsets = [0];
  try {
    for (let index = 0; index < batches; index += 1) {
      const bytes = Buffer.from(batchBody(index).text, 'utf8');
      writeSync(fd, bytes);
      offsets.push((offsets[offsets.length - 1] ?? 0) + bytes.length);
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(indexPath(path), JSON.stringify(offsets));
}

/** Bodies written by loadBodiesWrite, each read from the file when asked for. */
export interface LoadBodies {
  /** Batch `index`'s body as batchBody made it; throws for an index not written. */
  body(index: number): { terminalId: string; text: string };
  close(): void;
}

/** Opens the bodies at `path`. Throws when the file or its index is missing or bad. */
export function loadBodiesOpen(path: string): LoadBodies {
  const offsets = JSON.parse(readFileSync(indexPath(path), 'utf8')) as unknown;
  if (!Array.isArray(offsets) || !offsets.every((o) => Number.isSafeInteger(o)))
    throw new Error(`${indexPath(path)} is not a list of offsets`);
  const at = offsets as number[];
  const fd = openSync(path, 'r');
  return {
    body: (index) => {
      const [start, end] = [at[index], at[index + 1]];
      if (start === undefined || end === undefined)
        throw new Error(`bench: no body for batch ${index} in ${path}`);
      const bytes = Buffer.alloc(end - start);
      if (readSync(fd, bytes, 0, bytes.length, start) !== bytes.length)
        throw new Error(`bench: ${path} ends inside batch ${index}`);
      return { terminalId: terminalOf(index), text: bytes.toString('utf8') };
    },
    close: () => closeSync(fd),
  };
}
