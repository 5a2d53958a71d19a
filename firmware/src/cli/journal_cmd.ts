// `shuaka journal`: verify the chain, export the upload queue, record acknowledgements.

import { getHeapStatistics, setFlagsFromString } from 'node:v8';

import { peakRssBytes } from '../../../hal/src/fs/peak_rss.js';
import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { HalStatus } from '../../../hal/src/ports/hal_status.js';
import { dirMakeDurable } from '../../../hal/src/storage/dir_durable.js';
import { dirLockAcquire } from '../../../hal/src/storage/dir_lock.js';
import { FileStorage } from '../../../hal/src/storage/file_storage.js';
import {
  JOURNAL_FILE_NAME, JOURNAL_RESERVE_BYTES_DEFAULT, Journal, JournalStatus,
} from '../app/journal/journal.js';
import {
  JournalExportKeyCheck, journalExportContext, journalExportPayloadLine,
} from '../app/journal/journal_export.js';
import type { JournalExportLine } from '../app/journal/journal_export.js';
import { PAYLOAD_FACTS_MEMO } from '../app/journal/journal_facts_memo.js';
import { toHex } from '../app/journal/journal_frame.js';
import { journalRead } from '../app/journal/journal_reader.js';
import { journalStart } from '../app/journal/journal_start.js';
import type { JournalRead, JournalReadOptions } from '../app/journal/journal_reader.js';
import { JOURNAL_KINDS, SEQ_MAX } from '../app/journal/journal_records.js';
import { PanVault, PanVaultError } from '../app/journal/pan_vault.js';
import { SeqList } from '../app/journal/journal_seq_list.js';
import {
  DATA_KEY_FILE_NAME, dataKeyDefaultPath, dataKeyLoad,
} from '../app/journal/pan_vault_file.js';
import {
  EXIT_FAILED, EXIT_OK, EXIT_USAGE, cliArgsProblem, cliHelpAsked, cliInt, cliParse,
} from './cli_args.js';
import type { CliIo } from './cli_args.js';
import { ExportSink } from './export_sink.js';
import { exportOutRefused } from './export_out_guard.js';
import { journalSalvageExport } from './journal_salvage_cmd.js';

/** Damage in committed records or a checkpoint: nothing was changed, a copy is quarantined. */
export const EXIT_JOURNAL_CORRUPT = 3;
/** Another live process (a running validator) holds the journal's lock. */
export const EXIT_JOURNAL_LOCKED = 4;

export const JOURNAL_USAGE = `Usage:
  shuaka journal verify [--journal DIR] [--stats]
      Check every retained segment: record CRC-32s, the SHA-256 hash chain across segments,
      each checkpoint against the records before it, and the record references; print counts,
      the last seq, the acknowledged seq and the uncertain taps (PANs masked).
  shuaka journal export [--salvage] [--journal DIR] [--data-key FILE] [--out FILE] [--stats]
      Write the records not yet acknowledged (clearing records with ICC data as TLV hex,
      torn, reconciled and still-open records; T-Union purchases, their open grey records
      and the deny-listed T-Union cards met) as JSON lines to FILE, or to stdout. The
      journal holds PANs sealed; the export opens them with the terminal data key FILE
      (default DIR/${DATA_KEY_FILE_NAME}): the clear PAN exists only in this upload.
      FILE appears whole (renamed into place) beside FILE.sha256, its SHA-256 as sha256sum
      writes it, which \`shuaka depot ingest\` checks: carry both files to the depot.
      FILE is refused (exit 2) when it is one of the validator's files: DIR's segments,
      checkpoints, lock, keys, version floor, own terminal id, quarantine copies, gate
      ledger, or the data key; such a file of another validator's journal directory; and
      when it is no regular file (a device such as /dev/null, a pipe, a link); stdout is
      refused (exit 2) when it is the null device (closed, or sent to /dev/null).
      A CORRUPT journal is not exported (exit 3), unless --salvage: then every record whose
      frame still checks (header and record CRC; damaged bytes are skipped to the next valid
      frame, a damaged checkpoint is skipped) is exported as above, after the highest ack
      read, each damaged range is reported on stderr (file, bytes, the seqs on either side,
      what failed), and the exit code is still 3. On an intact journal --salvage changes
      nothing. Nothing on disk is changed either way.
  shuaka journal ack --through SEQ [--journal DIR]
      Record that the back office holds every record up to SEQ; segments acknowledged whole
      are removed. Takes DIR/journal.lock: refused while a validator runs on DIR. Reads the
      whole journal first: a CORRUPT one is refused (exit 3), nothing written or removed.
  shuaka journal init --after-seq N [--journal DIR]
      Start a new journal in DIR (created if missing) whose first record will be seq N + 1,
      everything through N acknowledged: for a replaced journal (new SD card, board swap, a
      CORRUPT journal moved away), N = the depot's highest seq for the terminal, so that no
      seq is used twice (nor 9F41, the seq modulo 10^8: it repeats every 10^8 records).
      Writes one checkpoint, DIR/journal-<N+1>.ckpt, atomically (a power cut leaves it whole
      or absent: run init again). N is 0..${SEQ_MAX - 1}; 0 writes nothing (an empty
      directory is a new journal); seqs end at ${SEQ_MAX}: a journal within 8 of it takes no
      tap (out of service) and refuses records past it. Refused (exit 1) when DIR holds a
      journal segment or checkpoint already: nothing is overwritten or removed. Takes
      DIR/journal.lock like ack.
--stats prints the time, peak RSS, V8 heap limit and node options of the command to stderr.
Verify and export run in a node process of their own with a small heap (bounded memory at
any size).
DIR defaults to ./journal; the journal is DIR/${JOURNAL_FILE_NAME} and DIR/journal-NNNNNNNNNN.bin
segments with their .ckpt checkpoints. Only a last record too short to be whole is torn (a
power cut during a write): it is reported and cut at the next open. Any other damage is
corruption: reported, never cut; the validator puts a copy in DIR/quarantine-<file>.
Exit codes:
  0  ok (verify: the journal is intact, or new and empty; a torn tail is not an error)
  1  the command failed: unreadable directory or file, I/O error, ack refused (seq not after
     the last ack or past the last record), init refused (DIR holds a journal, or DIR cannot
     be created or written)
  2  bad usage
  3  corrupt: damage a torn write cannot explain (verify, export, ack)
  4  locked: a running validator holds DIR/journal.lock (ack, init)`;

/** Verify and export: every retained segment, no per-card map. */
const WHOLE_JOURNAL: JournalReadOptions = {
  from: 'oldest', trackLastFinals: false, onRecord: null,
};

/** Bound of the journal the CLI will open (the validator's partition is smaller). */
const JOURNAL_CLI_BYTES_MAX = 1 << 30;

/**
 * Tunes V8's heap for a long stream of short-lived objects, for the rest of the process.
 * Verify and export still make a few short-lived strings and objects per record (the chain
 * hash, a card's token, an export line); by default V8 grows its semi-spaces up to 16 MiB
 * each under that load and lets old space fill with promoted garbage before collecting it.
 * Keeping the young generation at its first size and sizing the heap for memory, not speed,
 * keeps a third off their peak RSS: measured again after payloads stopped being decoded,
 * verify at 10^6 records 76 MB with the flags, 111 MB without. Both flags are read by the
 * heap at each resize, so they apply from the next collection on. (Flags that stop V8's
 * helper threads cannot be changed at run time: V8 aborts.) Each record is read once, so
 * the memo of checked payloads is off (PayloadFactsMemo.turnOff).
 */
function streamingHeap(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--optimize-for-size');
  PAYLOAD_FACTS_MEMO.turnOff();
}

/** Options of verify and export that take a value (`--stats` after one is its value). */
const VALUE_OPTIONS = new Set(['--journal', '--out', '--data-key']);

/**
 * `argv` without the boolean `flag` (not when it is an option's value), and whether given;
 * null, after saying so, when it was given twice (as cliParse refuses any flag given twice).
 */
function flagTaken(argv: readonly string[], flag: string, io: CliIo)
  : { rest: string[]; given: boolean } | null {
  const rest = argv.filter((arg, i) => arg !== flag || VALUE_OPTIONS.has(argv[i - 1] ?? ''));
  if (argv.length - rest.length > 1) {
    io.err(`${flag} given twice: give it once`);
    return null;
  }
  return { rest, given: rest.length !== argv.length };
}

/**
 * The `--stats` line: this process's wall and CPU time, its own peak RSS (peak_rss.ts), V8's
 * heap limit and the node options it runs with (bin/shuaka.js starts verify and export with
 * bounded ones). The journal bench reads it.
 */
function statsLine(startedMs: number, cpuStarted: NodeJS.CpuUsage): string {
  const cpu = process.cpuUsage(cpuStarted);
  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
  return `stats: ${(performance.now() - startedMs).toFixed(0)} ms wall, `
    + `${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU, `
    + `peak RSS ${mib(peakRssBytes())} MiB, `
    + `V8 heap limit ${mib(getHeapStatistics().heap_size_limit)} MiB, `
    + `node options ${process.execArgv.join(' ') || '(none)'}`;
}

/** Verify or export with the streaming heap, and the `--stats` line when asked. */
async function streamingCommand(
  run: (argv: readonly string[], io: CliIo) => Promise<number>,
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  const startedMs = performance.now();
  const cpuStarted = process.cpuUsage();
  const taken = flagTaken(argv, '--stats', io);
  if (taken === null) return usage(io);
  streamingHeap();
  const code = await run(taken.rest, io);
  if (taken.given) io.err(statsLine(startedMs, cpuStarted));
  return code;
}

/** Runs `shuaka journal ...`; returns the exit code. Never throws on bad input or files. */
export async function runJournalCommand(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (cliHelpAsked(rest)) {
    io.out(JOURNAL_USAGE);
    return EXIT_OK;
  }
  switch (command) {
    case 'verify':
      return streamingCommand(journalVerifyCommand, rest, io);
    case 'export':
      return streamingCommand(journalExportCommand, rest, io);
    case 'ack':
      return journalAckCommand(rest, io);
    case 'init':
      return journalInitCommand(rest, io);
    case 'help':
    case '--help':
    case '-h':
      io.out(JOURNAL_USAGE);
      return EXIT_OK;
    default:
      return usageBecause(io, command === undefined ? 'journal: a command is required'
        : `journal: unknown command '${command}'`);
  }
}

async function journalVerifyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['journal'], io);
  if (args === null) return usage(io);
  if (args.positionals.length !== 0) return positionalGiven(io, 'verify', args.positionals);
  const dir = args.values['journal'] ?? 'journal';
  // The state counts bank finals only; export also writes T-Union finals as clearing lines.
  const tunionFinals = new SeqList();
  const read = await readJournal(dir, io, { ...WHOLE_JOURNAL, onPayload: (seq, kind) => {
    if (kind === 'tunion_final') tunionFinals.push(seq);
  } });
  if (read === null) return EXIT_FAILED;
  const state = read.state;
  if (read.units.length === 0 && read.corruption === null) {
    io.out(`journal ${dir}: empty (a new journal, no records yet)`);
    return EXIT_OK;
  }
  const counts = JOURNAL_KINDS.map((kind) => `${kind} ${state.countsByKind[kind]}`).join(', ');
  io.out(`journal ${dir}: ${read.corruption === null ? 'OK' : 'CORRUPT'}`);
  // Records this journal wrote: its last seq, unless `journal init` started it after a seq.
  const written = JOURNAL_KINDS.reduce((sum, kind) => sum + state.countsByKind[kind], 0);
  io.out(`  records ${written} (${counts}), ${read.validBytes} bytes retained`);
  const firstSeq = read.units[0]?.firstSeq ?? 1;
  io.out(`  segments ${read.units.length}, retained from seq ${firstSeq}`);
  io.out(`  last seq ${state.lastSeq}, acknowledged through ${state.ackThroughSeq}`);
  io.out(`  head hash ${toHex(read.headHash)}`);
  const bank = state.unacknowledgedFinalCount();
  const tunion = tunionFinals.countAbove(state.ackThroughSeq);
  io.out(`  unacknowledged clearing records ${bank + tunion} (bank cards ${bank}, T-Union ${
    tunion})`);
  const torn = read.tornTail;
  const tornText = torn === null
    ? 'none'
    : `${torn.bytes} bytes at offset ${torn.offset} of ${torn.file} (${torn.defect}), `
      + 'cut at the next open';
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
  if (read.corruption !== null) {
    const c = read.corruption;
    io.err(`CORRUPT: ${c.file} at byte ${c.offset} (seq ${c.seqExpected}): ${c.reason}`);
    return EXIT_JOURNAL_CORRUPT;
  }
  return EXIT_OK;
}

/**
 * The export without a data key: it opens sealed PANs only, so a journal with nothing after
 * its ack (new, just initialised, everything acknowledged: a validator that never started has
 * made no key) exports its 0 lines; any other needs the key (`detail`: why it did not load).
 */
async function exportWithoutKey(
  dir: string, detail: string, out: string | null, io: CliIo,
): Promise<number> {
  const read = await readJournal(dir, io, WHOLE_JOURNAL);
  if (read === null) return EXIT_FAILED;
  const { lastSeq, ackThroughSeq } = read.state;
  if (read.corruption !== null || lastSeq > ackThroughSeq) {
    io.err(`not exported: ${detail}`);
    return EXIT_FAILED;
  }
  const sink = await ExportSink.open(out, io);
  if (sink === null || !(await sink.close(true))) return EXIT_FAILED;
  io.err(`exported 0 lines: nothing after the ack through seq ${ackThroughSeq} (no data key `
    + 'needed)');
  return EXIT_OK;
}

async function journalExportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const taken = flagTaken(argv, '--salvage', io);
  if (taken === null) return usage(io);
  const { rest, given: salvage } = taken;
  const args = cliParse(rest, ['journal', 'out', 'data-key'], io);
  if (args === null) return usage(io);
  if (args.positionals.length !== 0) return positionalGiven(io, 'export', args.positionals);
  const dir = args.values['journal'] ?? 'journal';
  const keyPath = args.values['data-key'] ?? dataKeyDefaultPath(dir);
  if (await exportOutRefused(args.values['out'], dir, keyPath, io)) return EXIT_USAGE;
  const key = await dataKeyLoad(keyPath);
  if (!key.ok) return exportWithoutKey(dir, key.detail, args.values['out'] ?? null, io);
  // Sealing needs no randomness here: the export only opens.
  const vault = PanVault.fromKey(key.value, () => new Uint8Array(0));
  // Pass 1 verifies, finds which taps are still open at the end and that the key is the one
  // the PANs were sealed with; pass 2 streams the lines.
  const keyCheck = new JournalExportKeyCheck(vault);
  const verified = await readJournal(dir, io, { ...WHOLE_JOURNAL, onPayload: keyCheck.onPayload });
  if (verified === null) return EXIT_FAILED;
  if (verified.corruption !== null) {
    const c = verified.corruption;
    if (salvage) {
      io.err(`CORRUPT: ${c.file} at byte ${c.offset} (seq ${c.seqExpected}): ${c.reason}; `
        + 'salvaging every record that still reads');
      return journalSalvageExport(dir, vault, args.values['out'] ?? null, io);
    }
    io.err(`not exported: ${c.file} fails verification at byte ${c.offset}: ${c.reason}`);
    return EXIT_JOURNAL_CORRUPT;
  }
  if (keyCheck.problem !== null) {
    io.err(`not exported: ${keyCheck.problem.message}`);
    return EXIT_FAILED;
  }
  const sink = await ExportSink.open(args.values['out'] ?? null, io);
  if (sink === null) return EXIT_FAILED;
  const context = journalExportContext(verified.state, vault);
  const counts = { lines: 0, clearing: 0, uncertain: 0 };
  let unsealable: PanVaultError | null = null;
  const streamed = await readJournal(dir, io, {
    ...WHOLE_JOURNAL,
    onPayload: (seq, kind, payload, facts) => {
      if (unsealable !== null) return;
      try {
        exportRecord(journalExportPayloadLine(seq, kind, payload, facts, context), sink, counts);
      } catch (error) {
        if (!(error instanceof PanVaultError)) throw error;
        unsealable = error;
      }
    },
    beforeRead: () => sink.flush(),
  });
  const complete = streamed !== null && streamed.state.lastSeq === verified.state.lastSeq;
  if (unsealable !== null) {
    // A sealed PAN that passed the key check but does not open: changed bytes under a
    // valid CRC, or a token that is not its PAN's. Nothing half-written is kept.
    await sink.abandon();
    io.err(`not exported: ${(unsealable as PanVaultError).message}`);
    return EXIT_FAILED;
  }
  const closed = await sink.close(complete);
  if (streamed === null || !closed) return EXIT_FAILED;
  // Torn, reconciled, T-Union grey and deny-list block lines: neither clearing nor open.
  const other = counts.lines - counts.clearing - counts.uncertain;
  const summary = `${counts.clearing} clearing, ${counts.uncertain} uncertain`
    + `${other > 0 ? `, ${other} other` : ''}`;
  const throughSeq = verified.state.lastSeq;
  io.err(`exported ${counts.lines} lines (${summary}) through seq ${throughSeq}`);
  if (counts.lines > 0) io.err(`after upload: shuaka journal ack --through ${throughSeq}`);
  return EXIT_OK;
}

function exportRecord(
  line: JournalExportLine,
  sink: ExportSink,
  counts: { lines: number; clearing: number; uncertain: number },
): void {
  if (line === null) return;
  counts.lines += 1;
  if (line.clearing) counts.clearing += 1;
  if (line.uncertain) counts.uncertain += 1;
  sink.push(line.text);
}

async function journalAckCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['journal', 'through'], io);
  const through = cliInt(args?.values['through'], 1, SEQ_MAX);
  if (args === null) return usage(io);
  if (args.positionals.length !== 0) return positionalGiven(io, 'ack', args.positionals);
  if (through === null) {
    const given = args.values['through'];
    return usageBecause(io, given === undefined ? 'journal ack: --through SEQ is required'
      : `journal ack: --through must be an integer in 1..${SEQ_MAX}, got '${given}'`);
  }
  const dir = args.values['journal'] ?? 'journal';
  const lock = await dirLockAcquire(dir);
  if (!lock.ok) {
    io.err(`not acknowledged: ${lock.detail}`);
    return lock.error === HalStatus.BUSY ? EXIT_JOURNAL_LOCKED : EXIT_FAILED;
  }
  try {
    return await journalAck(dir, through, io);
  } finally {
    await lock.value.release();
  }
}

async function journalAck(dir: string, through: number, io: CliIo): Promise<number> {
  // The open below reads the newest segment only (start-up), and the ack then removes the
  // segments it covers: damage in an older one would go unseen and be removed with it (a
  // segment swapped with a later one holds records not yet acknowledged). Read it all first.
  const read = await readJournal(dir, io, WHOLE_JOURNAL);
  if (read === null) return EXIT_FAILED;
  if (read.corruption !== null) {
    const c = read.corruption;
    io.err(`not acknowledged: ${dir} is CORRUPT: ${c.file} at byte ${c.offset} (seq `
      + `${c.seqExpected}): ${c.reason}; nothing changed (shuaka journal export --salvage)`);
    return EXIT_JOURNAL_CORRUPT;
  }
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
    return opened.error === JournalStatus.CORRUPT ? EXIT_JOURNAL_CORRUPT : EXIT_FAILED;
  }
  const appended = await opened.value.journal.append({ kind: 'ack', throughSeq: through });
  await storage.value.close();
  if (!appended.ok) {
    io.err(`not acknowledged: ${appended.error} ${appended.detail}`);
    return EXIT_FAILED;
  }
  const segments = opened.value.journal.summary().segmentCount;
  io.out(`acknowledged through seq ${through} (ack record seq ${appended.value.seq}), `
    + `${segments} segment${segments === 1 ? '' : 's'} retained`);
  return EXIT_OK;
}

async function journalInitCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = cliParse(argv, ['journal', 'after-seq'], io);
  // The first record gets N + 1, which must still be a seq (at most SEQ_MAX).
  const afterSeq = cliInt(args?.values['after-seq'], 0, SEQ_MAX - 1);
  if (args !== null && afterSeq === null) {
    const given = args.values['after-seq'];
    io.err(given === undefined
      ? 'journal init: --after-seq N is required (the depot\'s highest seq for the terminal)'
      : `journal init: --after-seq must be an integer in 0..${SEQ_MAX - 1}, got '${given}'`);
  }
  if (args === null || afterSeq === null) return usage(io);
  if (args.positionals.length !== 0) return positionalGiven(io, 'init', args.positionals);
  const dir = args.values['journal'] ?? 'journal';
  try {
    await dirMakeDurable(dir);
  } catch (error) {
    io.err(`not initialised: cannot create ${dir}: ${describe(error)}`);
    return EXIT_FAILED;
  }
  const lock = await dirLockAcquire(dir);
  if (!lock.ok) {
    io.err(`not initialised: ${lock.detail}`);
    return lock.error === HalStatus.BUSY ? EXIT_JOURNAL_LOCKED : EXIT_FAILED;
  }
  try {
    // Opening removes replace temporaries a power cut left (an interrupted init's among them).
    const storage = await FileStorage.open(dir, { quotaBytes: null });
    if (!storage.ok) {
      io.err(`not initialised: ${storage.detail}`);
      return EXIT_FAILED;
    }
    const started = await journalStart(storage.value, JOURNAL_FILE_NAME, afterSeq);
    await storage.value.close();
    if (!started.ok) {
      const hint = started.why === 'exists' ? ': move it away first, init never overwrites' : '';
      io.err(`not initialised: ${dir} ${started.detail}${hint}`);
      return EXIT_FAILED;
    }
    const wrote = started.written === null
      ? 'nothing written: an empty directory is a new journal'
      : `wrote ${started.written}`;
    io.out(`journal ${dir}: new, first record will be seq ${afterSeq + 1}, `
      + `acknowledged through ${afterSeq} (${wrote})`);
    return EXIT_OK;
  } finally {
    await lock.value.release();
  }
}

/** Reads the journal in `dir` read only; null (after printing why) when it cannot be read. */
async function readJournal(
  dir: string,
  io: CliIo,
  options: JournalReadOptions,
): Promise<JournalRead | null> {
  const storage = await FileStorage.open(dir, { quotaBytes: null, readOnly: true });
  if (!storage.ok) {
    io.err(`cannot read ${dir}: ${storage.detail}`);
    return null;
  }
  const read = await journalRead(storage.value, JOURNAL_FILE_NAME, options);
  if (!read.ok) {
    io.err(`cannot read ${dir}: ${read.detail}`);
    return null;
  }
  return read.value;
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

/** Usage, after the line that says what was wrong (the usage text alone does not). */
function usageBecause(io: CliIo, why: string): number {
  io.err(why);
  return usage(io);
}

/**
 * A positional argument given to a journal command: they take none, and the natural slip is
 * `shuaka journal verify DIR` for `--journal DIR`.
 */
function positionalGiven(io: CliIo, command: string, positionals: readonly string[]): number {
  const problem = cliArgsProblem({ values: {}, positionals }, [], []);
  return usageBecause(io, `journal ${command}: ${problem ?? ''} (the journal directory is `
    + 'given as --journal DIR)');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
