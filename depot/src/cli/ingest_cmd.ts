// `shuaka depot ingest`: export lines brought on a medium (a validator with no network, or the
// salvage of a CORRUPT journal) stored exactly as POST /v1/batches stores them: the same
// validation (batchValidate), the same store (batchStore: replays, card+ATC dedupe, the
// seq-conflict refusal), PANs sealed with the depot's data key, in batches of bounded size.

import { createReadStream, type ReadStream } from 'node:fs';
import { SEQ_MAX } from '../../../firmware/src/app/journal/journal_records.js';
import { BatchError } from '../ingest/batch_error.js';
import { batchStore } from '../ingest/batch_store.js';
import { batchValidate } from '../ingest/batch_validate.js';
import { storedThroughSeq } from '../ingest/seq_conflict.js';
import { terminalById } from '../ingest/terminal_registry.js';
import type { DepotDb } from '../store/depot_db.js';
import { DepotStoreError } from '../store/depot_db.js';
import { DataKeyError, panVault, readDataKey } from '../store/pan_vault.js';
import type { PanVault } from '../store/pan_vault.js';
import type { CliIo } from './depot_cli_io.js';
import { ingestCopiesSweep } from './ingest_copies.js';
import { ingestDigestCheck } from './ingest_digest.js';
import {
  cliArgsProblem, cliInt, cliParse, dbOpenOrReport, depotFiles, EXIT_DATABASE, EXIT_FAILED,
  EXIT_KEYS, EXIT_OK, EXIT_USAGE,
} from './depot_cli_io.js';

/** A line the depot refuses (bad-batch, or a clearing line of another terminal). */
export const EXIT_INGEST_BAD_LINE = 3;
/** A seq the depot holds as another record (the 409 seq-conflict of the API). */
export const EXIT_INGEST_SEQ_CONFLICT = 4;
/** FILE does not match FILE.sha256 (or that file is unreadable or malformed). */
export const EXIT_INGEST_DIGEST = 5;

const BATCH_LINES_DEFAULT = 500;

export const INGEST_USAGE = `usage: shuaka depot ingest --db DB --dir DIR --terminal ID \
[--batch N] FILE
  Stores FILE, JSON lines as \`shuaka journal export [--salvage]\` writes them, for terminal
  ID exactly as POST /v1/batches would: same validation, replays stored once, card+ATC
  duplicates kept apart, a seq held as another record refused (seq-conflict), PANs sealed
  with DIR/data.key. Batches of N lines (default ${BATCH_LINES_DEFAULT}, at most 50000),
  each in one transaction; a receipt per batch, then the total. ID must be registered and
  not revoked. A refused batch stops the ingest: the batches before it stay stored.
  FILE.sha256 (written by \`journal export --out FILE\`, sha256sum's format) is checked
  first, on a copy of FILE in DIR (removed after) that is then stored: a FILE that does not
  match is refused whole. Without it FILE is taken unchecked (said on stderr).
exit: 0 every line stored (or already held), 1 refused (terminal unknown or revoked, FILE
      unreadable, no room in DIR for the checked copy), 2 usage, 3 a bad line (its batch
      refused; the line number and field are named), 4 seq conflict (its batch refused;
      start the terminal's new journal after the seq named), 5 FILE does not match
      FILE.sha256 (nothing stored), 10 database, 12 DIR/data.key missing or bad`;

/** Runs `shuaka depot ingest`; resolves with the exit code. */
export async function runIngestCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['db', 'dir', 'terminal', 'batch'], io);
  const batchLines = cliInt(args?.values['batch'] ?? String(BATCH_LINES_DEFAULT), 1, 50_000);
  const file = args?.positionals[0];
  const terminalId = args?.values['terminal'];
  if (args === null || args.positionals.length !== 1 || file === undefined
    || batchLines === null || terminalId === undefined || args.values['dir'] === undefined) {
    const why = args === null ? null : cliArgsProblem(args, ['dir', 'terminal'], ['FILE'])
      ?? `--batch must be an integer in 1..50000, got '${args.values['batch'] ?? ''}'`;
    io.err(`${why === null ? '' : `shuaka depot ingest: ${why}\n`}${INGEST_USAGE}`);
    return EXIT_USAGE;
  }
  let vault: PanVault;
  try {
    vault = panVault(readDataKey(depotFiles(args.values['dir']).dataKey));
  } catch (error) {
    if (!(error instanceof DataKeyError)) throw error;
    io.err(`shuaka depot ingest: ${error.message}`);
    return EXIT_KEYS;
  }
  const swept = await ingestCopiesSweep(args.values['dir'], Date.now());
  if (swept > 0) {
    io.err(`shuaka depot ingest: removed ${swept} working ${swept === 1 ? 'copy' : 'copies'}`
      + ' of interrupted ingests (each a copy of an export, clear PANs included)');
  }
  const digest = await ingestDigestCheck(file, args.values['dir']);
  if (digest.kind === 'refused' || digest.kind === 'unreadable') {
    io.err(`shuaka depot ingest: ${digest.why}: nothing stored`);
    return digest.kind === 'refused' ? EXIT_INGEST_DIGEST : EXIT_FAILED;
  }
  if (digest.kind === 'absent') {
    io.err(`shuaka depot ingest: no ${file}.sha256: the file's integrity is not checked`);
  }
  const db = await dbOpenOrReport(args.values['db'], io, Date.now());
  if (typeof db === 'number') {
    // The copy went with every other early return too (it was left when the database failed).
    if (digest.kind === 'matches') await digest.done();
    return db;
  }
  try {
    const terminal = await terminalById(db, terminalId);
    if (terminal === null || terminal.status === 'revoked') {
      io.err(`shuaka depot ingest: terminal ${terminalId} is `
        + `${terminal === null ? 'not registered' : 'revoked'}: nothing stored`);
      return EXIT_FAILED;
    }
    const source = digest.kind === 'matches' ? digest.copy : file;
    return await ingestFile(db, vault, { terminalId, file, source, batchLines }, io);
  } catch (error) {
    if (!(error instanceof DepotStoreError)) throw error;
    io.err(`shuaka depot ingest: database: ${error.message}`);
    return EXIT_DATABASE;
  } finally {
    await db.close();
    if (digest.kind === 'matches') await digest.done();
  }
}

interface IngestJob {
  readonly terminalId: string;
  readonly file: string;
  /** What is read: FILE, or the copy its digest was checked on (FILE is named in messages). */
  readonly source: string;
  readonly batchLines: number;
}

/** Totals of the batches stored so far. */
interface Totals {
  batches: number;
  lines: number;
  stored: number;
  duplicates: number;
  /** Last seq of the last stored batch (the next batch starts after it). */
  throughSeq: number;
}

/** Reads FILE line by line and stores it batch by batch; the exit code. */
async function ingestFile(db: DepotDb, vault: PanVault, job: IngestJob, io: CliIo)
  : Promise<number> {
  const totals: Totals = { batches: 0, lines: 0, stored: 0, duplicates: 0, throughSeq: 0 };
  let batch: { values: unknown[]; lineNumbers: number[] } = { values: [], lineNumbers: [] };
  let lineNumber = 0;
  const input = createReadStream(job.source, { encoding: 'utf8' });
  const failed = await opened(input);
  if (failed !== null) {
    io.err(`shuaka depot ingest: cannot read ${job.file}: ${failed}`);
    return EXIT_FAILED;
  }
  // A store that fails inside the loop is the database's failure (exit 10 from the caller),
  // not the file's: only what the reading throws is "cannot read".
  let storing = false;
  try {
    for await (const text of linesBounded(input, LINE_CHARS_MAX)) {
      lineNumber += 1;
      if (text !== null && text.trim() === '') continue;
      batch.values.push(text === null ? NOT_JSON : lineValue(text));
      batch.lineNumbers.push(lineNumber);
      if (batch.values.length < job.batchLines) continue;
      storing = true;
      const code = await storeBatch(db, vault, job, batch, totals, io);
      storing = false;
      if (code !== EXIT_OK) return code;
      batch = { values: [], lineNumbers: [] };
    }
    if (batch.values.length > 0) {
      storing = true;
      const code = await storeBatch(db, vault, job, batch, totals, io);
      if (code !== EXIT_OK) return code;
    }
  } catch (error) {
    if (storing) {
      // The batches before this one stay stored (each its own transaction): say which.
      if (!(error instanceof DepotStoreError)) throw error;
      io.err(`shuaka depot ingest: database: ${error.message}`);
      return refusedAfter(EXIT_DATABASE, totals, job, io);
    }
    io.err(`shuaka depot ingest: cannot read ${job.file}: ${(error as Error).message}`);
    return refusedAfter(EXIT_FAILED, totals, job, io);
  }
  io.out(`total: ${totals.lines} lines in ${totals.batches} batches: stored ${totals.stored}, `
    + `duplicates ${totals.duplicates}`);
  const held = await storedThroughSeq(db, job.terminalId);
  io.out(`the depot holds terminal ${job.terminalId} through seq ${held}`);
  return EXIT_OK;
}

/**
 * A line longer than this is no export line (those are a few kB): it is not held, it counts
 * as a line that is not JSON. A damaged file without a newline, or /dev/zero, made node's
 * readline grow one string until it threw (RangeError: Invalid string length) outside any
 * handler. FILE may be a pipe (a process substitution, a FIFO): it is streamed, not checked.
 */
const LINE_CHARS_MAX = 1 << 22;

/**
 * The lines of `input` ('\n' or '\r\n'). A line over `charsMax` ends them with a null: its
 * batch is refused (not JSON), and a refused batch stops the ingest, so nothing after it is
 * read (/dev/zero ends there).
 */
async function* linesBounded(input: ReadStream, charsMax: number)
  : AsyncGenerator<string | null> {
  let rest = '';
  for await (const chunk of input) {
    const parts = (rest + String(chunk)).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) {
      if (part.length > charsMax) {
        yield null;
        return;
      }
      yield part.replace(/\r$/, '');
    }
    if (rest.length > charsMax) {
      yield null;
      return;
    }
  }
  if (rest !== '') yield rest.replace(/\r$/, '');
}

/** Null once the stream's file is open, or why it cannot be. */
function opened(input: ReadStream): Promise<string | null> {
  return new Promise((resolve) => {
    input.once('open', () => resolve(null));
    input.once('error', (error) => resolve(error.message));
  });
}

/** A line's JSON, or a marker batchValidate refuses at that line. */
function lineValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

const NOT_JSON = Symbol('not JSON');

/** Validates and stores one batch; EXIT_OK, or the code after saying why (nothing stored). */
async function storeBatch(
  db: DepotDb,
  vault: PanVault,
  job: IngestJob,
  batch: { values: unknown[]; lineNumbers: number[] },
  totals: Totals,
  io: CliIo,
): Promise<number> {
  const first = batch.lineNumbers[0] ?? 0;
  const last = batch.lineNumbers[batch.lineNumbers.length - 1] ?? 0;
  try {
    const notJson = batch.values.indexOf(NOT_JSON);
    if (notJson >= 0) throw new BatchError('bad-batch', `records[${notJson}]`, 'not JSON');
    const body = { terminalId: job.terminalId, ...batchSeqs(batch.values, totals),
      records: batch.values };
    const receipt = await batchStore(db, batchValidate(body, job.terminalId), vault, Date.now());
    totals.batches += 1;
    totals.lines += batch.values.length;
    totals.stored += receipt.stored;
    totals.duplicates += receipt.duplicates;
    totals.throughSeq = receipt.ackThroughSeq;
    io.out(`batch ${totals.batches}: lines ${first}..${last}, seqs through `
      + `${receipt.ackThroughSeq}: stored ${receipt.stored}, duplicates ${receipt.duplicates}`);
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof BatchError)) throw error;
    io.err(`shuaka depot ingest: batch of lines ${first}..${last} refused, nothing of it `
      + `stored: ${refusalText(error, batch.lineNumbers)}`);
    const code = error.code === 'seq-conflict' ? EXIT_INGEST_SEQ_CONFLICT : EXIT_INGEST_BAD_LINE;
    return refusedAfter(code, totals, job, io);
  }
}

/**
 * The batch's firstSeq and throughSeq from its lines, as the uploader's: the first batch from
 * its first line's seq, a later one right after the batch before (so the seqs keep rising
 * across batches), through the highest seq. A line whose seq is bad is then refused by
 * batchValidate at its own line, not at the batch's fields.
 */
function batchSeqs(values: readonly unknown[], totals: Totals)
  : { firstSeq: number; throughSeq: number } {
  const seqs = values.map((value) => (value as { seq?: unknown } | null)?.seq)
    .filter((seq): seq is number => Number.isSafeInteger(seq) && (seq as number) >= 1
      && (seq as number) <= SEQ_MAX);
  const firstSeq = totals.batches === 0 ? (seqs[0] ?? 1) : totals.throughSeq + 1;
  return { firstSeq, throughSeq: Math.max(firstSeq, ...seqs) };
}

/** The refusal with `records[i]` named as the file's line number. */
function refusalText(error: BatchError, lineNumbers: readonly number[]): string {
  // A seq conflict names its seq (records[seq N]), which is in the text already.
  if (error.code === 'seq-conflict') return `${error.code}: ${error.message}`;
  const match = /^records\[(\d+)\](.*)$/.exec(error.path);
  if (match === null) {
    // firstSeq, throughSeq: the seqs of the batch's first or last line.
    const path = error.path === '' ? '' : `${error.path} (from the lines' seqs): `;
    return `${error.code}: ${path}${error.reason}`;
  }
  const line = lineNumbers[Number(match[1])] ?? 0;
  const field = (match[2] ?? '').replace(/^\./, '');
  return `${error.code}: line ${line}${field === '' ? '' : `, field ${field}`}: ${error.reason}`;
}

/** Says what was stored before a refusal; returns `code`. */
function refusedAfter(code: number, totals: Totals, job: IngestJob, io: CliIo): number {
  io.err(totals.batches === 0
    ? 'stored before it: nothing'
    : `stored before it: ${totals.batches} batches, ${totals.lines} lines through seq `
      + `${totals.throughSeq} (stored ${totals.stored}, duplicates ${totals.duplicates}) for `
      + `terminal ${job.terminalId}`);
  return code;
}
