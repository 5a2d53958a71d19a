// `shuaka replay TRACE.json`: runs the qPBOC kernel against a recorded exchange, prints JSON.

import { readFileBounded } from '../../../hal/src/fs/read_bounded.js';
import { loadKernel } from '../../../assembly/host/kernel_loader.js';
import {
  EXIT_OK, EXIT_USAGE, cliArgsProblem, cliHelpAsked, cliParse, type CliIo,
} from './cli_args.js';
import {
  ReplayMismatch,
  TraceError,
  outcomeJson,
  parseTrace,
  prepareKernel,
  replayTrace,
} from './qpboc_trace.js';

/** A recorded trace: a few kB of APDUs; a device or a FIFO named as one is refused. */
const TRACE_BYTES_MAX = 64 << 20;

const USAGE = [
  'usage: shuaka replay [--runtime core|component] TRACE.json',
  '',
  'Runs the qPBOC kernel against a recorded card exchange and prints one JSON object: the',
  'outcome and reason, the clearing or torn record, and the transcript (every C-APDU the',
  'kernel sent with the R-APDU it got). The recorded card answers each command whose',
  'CLA INS P1 P2 match the next exchange; past the last exchange the card has left.',
  '',
  'TRACE.json: {"inputs": {"amount": "000000000200", "date": "YYMMDD", "time": "hhmmss",',
  '  "unpredictableNumber": "8 hex", "mode": "auto"|"ec"|"oda"|"full" (default auto)},',
  '  "terminal": {"aids": [...],',
  '  "caKeys": ["UnionPay CAPK TLV hex"], "revoked": [...], "denyList": [...]},',
  '  "exchanges": [{"c": "C-APDU hex", "r": "R-APDU hex incl. SW" | null}, ...]}',
  '',
  'exit codes: 0 replayed (whatever the outcome), 2 bad usage, bad trace or a command that',
  'does not match the recording.',
].join('\n');

/** Reads and parses the trace named on the command line; prints why not and returns null. */
export async function loadTraceArgument(
  argv: string[],
  io: CliIo,
  usage: string,
): Promise<{ text: string; runtime: 'core' | 'component' } | null> {
  const args = cliParse(argv, ['runtime'], io);
  if (args === null) {
    io.err(usage);
    return null;
  }
  // Named, as the other commands name it ('replay --runtime TRACE.json' took the trace for
  // the runtime and printed the usage alone).
  const runtime = args.values['runtime'] ?? 'core';
  if (runtime !== 'core' && runtime !== 'component') {
    io.err(`--runtime: expected core or component, got '${runtime}'\n${usage}`);
    return null;
  }
  const wrong = cliArgsProblem(args, [], ['TRACE.json']);
  if (wrong !== null) {
    io.err(`${wrong}\n${usage}`);
    return null;
  }
  const path = args.positionals[0] ?? '';
  try {
    return { text: (await readFileBounded(path, TRACE_BYTES_MAX)).toString('utf8'), runtime };
  } catch (err) {
    io.err(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}

/** Runs `shuaka replay`; returns the exit code (0 replayed, 2 usage/trace/mismatch). */
export async function runReplayCommand(argv: string[], io: CliIo): Promise<number> {
  if (cliHelpAsked(argv)) {
    io.out(USAGE);
    return EXIT_OK;
  }
  const loaded = await loadTraceArgument(argv, io, USAGE);
  if (loaded === null) return EXIT_USAGE;
  try {
    const trace = parseTrace(loaded.text);
    const kernel = await loadKernel({ runtime: loaded.runtime });
    prepareKernel(kernel, trace);
    const result = await replayTrace(kernel, trace, 'header');
    io.out(JSON.stringify(outcomeJson(result), null, 2));
    return EXIT_OK;
  } catch (err) {
    if (err instanceof TraceError) {
      io.err(`replay: bad trace: ${err.message}`);
      return EXIT_USAGE;
    }
    if (err instanceof ReplayMismatch) {
      io.err(`replay: ${err.message}`);
      return EXIT_USAGE;
    }
    throw err;
  }
}
