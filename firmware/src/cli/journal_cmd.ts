// `shuaka journal`: verify the chain, export the upload queue, record acknowledgements.

import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { FileStorage } from '../../../hal/src/storage/file_storage.js';
import {
  JOURNAL_FILE_NAME, JOURNAL_RESERVE_BYTES_DEFAULT, Journal,
} from '../app/journal/journal.js';
import { journalExport, type JournalExport } from '../app/journal/journal_export.js';
import { PanVault, PanVaultError } from '../app/journal/pan_vault.js';
import {
  DATA_KEY_FILE_NAME, dataKeyDefaultPath, dataKeyLoad,
} from '../app/journal/pan_vault_file.js';
import { toHex } from '../app/journal/journal_frame.js';
import { JOURNAL_KINDS, SEQ_MAX } from '../app/journal/journal_records.js';
import { journalScan } from '../app/journal/journal_scan.js';
import type { JournalScan } from '../app/journal/journal_scan.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, cliInt, cliParse } from './cli_args.js';
import type { CliIo } from './cli_args.js';

export const JOURNAL_USAGE = `Usage:
  shuaka journal verify [--journal DIR]
      Check every record's CRC-32, the SHA-256 hash chain and the record references; print
      counts, the last seq, the acknowledged seq and the uncertain taps (PANs masked).
  shuaka journal export [--journal DIR] [--data-key FILE] [--out FILE]
      Write the records not yet acknowledged (clearing records with ICC data as TLV hex,
      torn, reconciled and still-open records) as JSON lines to FILE, or to stdout. The
      journal holds PANs sealed; the export opens them with the terminal data key FILE
      (default DIR/${DATA_KEY_FILE_NAME}): the clear PAN exists only in this upload.
  shuaka journal ack --through SEQ [--journal DIR]
      Record that the back office holds every record up to SEQ.
DIR defaults to ./journal; the journal is DIR/${JOURNAL_FILE_NAME}. A torn last record (power
cut during a write) is reported and cut at the next open, never counted as a record.
Exit codes: 0 ok, 1 verification failed (or the command failed), 2 bad usage.`;

/** Bound of the journal file the CLI will open (the validator's partition is smaller). */
const JOURNAL_CLI_BYTES_MAX = 1 << 30;

/** Runs `shuaka journal ...`; returns the exit code. Never throws on bad input or files. */
export async function runJournalCommand(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'verify':
      return journalVerifyCommand(rest, io);
    case 'export':
      return journalExportCommand(rest, io);
    case 'ack':
      return journalAckCommand(rest, io);
    case 'help':
    case '--help':
    case '-h':
      io.out(JOURNAL_USAGE);
      return EXIT_OK;
    default:
      return usage(io);
  }
}

async function journalVerifyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['journal']);
  if (args === null || args.positionals.length !== 0) return usage(io);
  const path = join(args.values['journal'] ?? 'journal', JOURNAL_FILE_NAME);
  const scan = await scanFile(path, io);
  if (scan === null) return EXIT_FAILED;
  const state = scan.state;
  const counts = JOURNAL_KINDS.map((kind) => `${kind} ${state.countsByKind[kind]}`).join(', ');
  io.out(`journal ${path}: ${scan.corruption === null ? 'OK' : 'FAILED'}`);
  io.out(`  records ${state.lastSeq} (${counts}), ${scan.validBytes} bytes`);
  io.out(`  last seq ${state.lastSeq}, acknowledged through ${state.ackThroughSeq}`);
  io.out(`  head hash ${toHex(scan.headHash)}`);
  io.out(`  unacknowledged clearing records ${state.unacknowledgedFinalCount()}`);
  const torn = scan.tornTail;
  const tornText = torn === null
    ? 'none'
    : `${torn.bytes} bytes at offset ${torn.offset} (${torn.defect}), cut at the next open`;
  io.out(`  torn tail: ${tornText}`);
  const uncertain = state.uncertainAll();
  io.out(`  uncertain taps ${uncertain.length}`);
  for (const tap of uncertain) {
    const r = tap.recovery;
    const psn = r.card.psn.toString(16).padStart(2, '0');
    const at = new Date(tap.timeWallMs).toISOString();
    io.out(`    seq ${tap.seq} ${tap.kind} ${r.card.panMasked} psn ${psn} atc ${r.atc}`
      + ` amount ${r.amountAuthorisedMinor} at ${at}`);
  }
  if (scan.corruption !== null) {
    const c = scan.corruption;
    io.err(`FAILED at byte ${c.offset} (seq ${c.seqExpected}): ${c.reason}`);
    return EXIT_FAILED;
  }
  return EXIT_OK;
}

async function journalExportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['journal', 'out', 'data-key']);
  if (args === null || args.positionals.length !== 0) return usage(io);
  const dir = args.values['journal'] ?? 'journal';
  const path = join(dir, JOURNAL_FILE_NAME);
  const key = await dataKeyLoad(args.values['data-key'] ?? dataKeyDefaultPath(dir));
  if (!key.ok) {
    io.err(`not exported: ${key.detail}`);
    return EXIT_FAILED;
  }
  const scan = await scanFile(path, io);
  if (scan === null) return EXIT_FAILED;
  if (scan.corruption !== null) {
    const c = scan.corruption;
    io.err(`not exported: ${path} fails verification at byte ${c.offset}: ${c.reason}`);
    return EXIT_FAILED;
  }
  let exported: JournalExport;
  try {
    // Sealing needs no randomness here: the export only opens.
    exported = journalExport(scan, PanVault.fromKey(key.value, () => new Uint8Array(0)));
  } catch (error) {
    if (!(error instanceof PanVaultError)) throw error;
    io.err(`not exported: ${error.message}`);
    return EXIT_FAILED;
  }
  const outPath = args.values['out'];
  if (outPath === undefined) {
    for (const line of exported.lines) io.out(line);
  } else {
    try {
      const text = exported.lines.map((line) => `${line}\n`).join('');
      await writeFile(`${outPath}.tmp`, text, { flush: true });
      await rename(`${outPath}.tmp`, outPath);
    } catch (error) {
      io.err(`cannot write ${outPath}: ${describe(error)}`);
      return EXIT_FAILED;
    }
  }
  const counts = `${exported.clearingCount} clearing, ${exported.uncertainCount} uncertain`;
  io.err(`exported ${exported.lines.length} lines (${counts}) through seq ${exported.throughSeq}`);
  if (exported.lines.length > 0) {
    io.err(`after upload: shuaka journal ack --through ${exported.throughSeq}`);
  }
  return EXIT_OK;
}

async function journalAckCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['journal', 'through']);
  const through = cliInt(args?.values['through'], 1, SEQ_MAX);
  if (args === null || through === null || args.positionals.length !== 0) return usage(io);
  const dir = args.values['journal'] ?? 'journal';
  const storage = await FileStorage.open(dir, { quotaBytes: null });
  if (!storage.ok) {
    io.err(storage.detail);
    return EXIT_FAILED;
  }
  const opened = await Journal.open(storage.value, {
    fileName: JOURNAL_FILE_NAME,
    clock: SYSTEM_CLOCK,
    reserveBytes: JOURNAL_RESERVE_BYTES_DEFAULT,
    sizeBytesMax: JOURNAL_CLI_BYTES_MAX,
  });
  if (!opened.ok) {
    await storage.value.close();
    io.err(`cannot open ${dir}: ${opened.error} ${opened.detail}`);
    return EXIT_FAILED;
  }
  const appended = await opened.value.journal.append({ kind: 'ack', throughSeq: through });
  await storage.value.close();
  if (!appended.ok) {
    io.err(`not acknowledged: ${appended.error} ${appended.detail}`);
    return EXIT_FAILED;
  }
  io.out(`acknowledged through seq ${through} (ack record seq ${appended.value.seq})`);
  return EXIT_OK;
}

async function scanFile(path: string, io: CliIo): Promise<JournalScan | null> {
  try {
    return journalScan(new Uint8Array(await readFile(path)), path, true);
  } catch (error) {
    io.err(`cannot read ${path}: ${describe(error)}`);
    return null;
  }
}

/** The CLI runs on a workstation or the board's shell: real time is right here. */
const SYSTEM_CLOCK: ClockPort = {
  nowMs: () => performance.now(),
  wallMs: () => Date.now(),
  sleepMs: (durationMs: number) => new Promise((resolve) => setTimeout(resolve, durationMs)),
};

function usage(io: CliIo): number {
  io.err(JOURNAL_USAGE);
  return EXIT_USAGE;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
