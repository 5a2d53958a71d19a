// The flags of `shuaka run --board gate`: the board, the lane's turnstile, the free exit's.

import type { BusValidatorOptions } from '../boards/bus_validator.js';
import type { GateBoardOptions } from '../boards/gate_board.js';
import { gateTurnstileSpecParse, type GateTurnstileSpec } from '../boards/gate_turnstile.js';
import type { CliIo } from './cli_args.js';

/** Flags `run` accepts for the gate (appended to its flag list). */
export const RUN_GATE_FLAGS: readonly string[] = ['board', 'turnstile', 'exit-turnstile', 'lane'];

export const RUN_GATE_USAGE = `Scenic-area gate (闸机): the same flags, and
  shuaka run --board gate --turnstile SPEC [--exit-turnstile SPEC] [--lane entry|exit] ...
      --board B           bus (default) or gate: the gate application over the same reader,
                          kernel, journal, parameters (the set must carry gate.json) and depot
      --turnstile SPEC    the lane's turnstile (required with --board gate):
                            modbus:DEV?unit=N&baud=B&timeoutMs=T  an RS-485 Modbus RTU
                              gate controller (unit 1..247, timeout 20..10000 ms)
                            gpio:CHIP?entry=L&exit=L&alarm=L&sensor=L&activeLow=0|1  Linux
                              GPIO character device lines (libgpiod), all four distinct
                          every key is required, no other and none twice (exit 2); the
                          start locks the lane, a controller that does not answer refuses the
                          start (exit 6)
      --exit-turnstile SPEC  the free exit beside the lane, released one way: its pass
                          sensor counts people out (daily capacity); same SPEC forms
      --lane L            entry (default: tickets, walk-in sales, anti-passback, capacity) or
                          exit (a tap lets one person out and re-arms a re-entry ticket)
  --psam is refused with --board gate (T-Union cards are not served at the gate), and the
  reader's --port cannot be a Modbus turnstile's device.
  The gate ledger (gate-YYYY-MM-DD.log) lives beside the journal; every tap logs a
  {"event":"gate-tap"} line with the decision and the persons who passed.`;

type Values = Readonly<Record<string, string | undefined>>;

/**
 * The gate's options, null for the bus board, or false after printing the problem and
 * `usage`. The gate flags without `--board gate` are a usage error (they would be ignored).
 */
export function runGateParse(
  v: Values,
  board: BusValidatorOptions,
  io: CliIo,
  usage: string,
): GateBoardOptions | null | false {
  const fail = (problem: string): false => {
    io.err(`shuaka run: ${problem}\n${usage}`);
    return false;
  };
  const kind = v['board'] ?? 'bus';
  if (kind !== 'bus' && kind !== 'gate') return fail(`--board must be bus or gate, got '${kind}'`);
  if (kind === 'bus') {
    const stray = ['turnstile', 'exit-turnstile', 'lane'].find((f) => v[f] !== undefined);
    return stray === undefined ? null : fail(`--${stray} needs --board gate`);
  }
  // The gate board opens no PSAM (its sales are bank cards through the qPBOC kernel): taken
  // silently, the flag would leave T-Union cards refused while the operator thinks them served.
  if (v['psam'] !== undefined) return fail('--psam is not served by --board gate');
  const laneText = v['lane'] ?? 'entry';
  if (laneText !== 'entry' && laneText !== 'exit') {
    return fail(`--lane must be entry or exit, got '${laneText}'`);
  }
  const laneSpec = v['turnstile'];
  if (laneSpec === undefined || laneSpec === '') return fail('--board gate needs --turnstile');
  const turnstile = specOf(laneSpec, '--turnstile');
  if (typeof turnstile === 'string') return fail(turnstile);
  const exitText = v['exit-turnstile'];
  const exitTurnstile = exitText === undefined ? null : specOf(exitText, '--exit-turnstile');
  if (typeof exitTurnstile === 'string') return fail(exitTurnstile);
  if (exitTurnstile !== null && sameDevice(turnstile, exitTurnstile)) {
    return fail('--turnstile and --exit-turnstile name the same device');
  }
  // The PN532 and a Modbus controller on one serial port would garble each other's frames.
  const onReader = ([['--turnstile', turnstile], ['--exit-turnstile', exitTurnstile]] as const)
    .find(([, spec]) => spec?.kind === 'modbus' && spec.path === board.readerPath);
  if (onReader !== undefined) return fail(`--port and ${onReader[0]} name the same device`);
  return { board, turnstile, exitTurnstile, lane: laneText };
}

function specOf(text: string, flag: string): GateTurnstileSpec | string {
  try {
    return gateTurnstileSpecParse(text);
  } catch (error) {
    return `${flag}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Two specs on one device: one serial port (different units share it only in theory). */
function sameDevice(a: GateTurnstileSpec, b: GateTurnstileSpec): boolean {
  if (a.kind === 'modbus' && b.kind === 'modbus') return a.path === b.path;
  return a.kind === 'gpio' && b.kind === 'gpio' && a.chip === b.chip
    && Object.values(a.lines).some((l) => Object.values(b.lines).includes(l));
}
