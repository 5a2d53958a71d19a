// Bringing a lost reader back: reopen its serial device with backoff until the chip answers.
// (Here, not in boards/, so that the simulated boards of host-sim run the same policy.)
//
// A USB-serial PN532 that is unplugged (or whose cable shakes loose) comes back under the same
// path when it is plugged in again. The board reports the loss, shows "out of service", and
// tries again and again, first quickly (a glitch), then every ~10 s (a reader being replaced),
// with jitter so that validators on one bus power rail do not retry in lockstep.

import type { ClockPort } from '../../../../hal/src/ports/clock_port.js';
import type { HalResult } from '../../../../hal/src/ports/hal_status.js';
import type {
  ReaderControlPort,
  ReaderStartOptions,
} from '../../../../hal/src/ports/reader_control_port.js';
import type { LogPort } from './validator_ports.js';

/**
 * Consecutive turns ending in a reader error before the board restarts the reader: about a
 * second of a dead link at 50 ms per turn, well past a glitch a retry would cure.
 */
export const READER_ERROR_TURNS_MAX = 20;

/** Reopen timing; every field explicit. */
export interface ReopenBackoff {
  /** Wait before the first reopen, ms. */
  readonly firstMs: number;
  /** Upper bound of a wait, ms; the wait doubles until it gets here. */
  readonly maxMs: number;
  /** Each wait is scaled by a factor drawn in [1 - jitter, 1 + jitter). */
  readonly jitterRatio: number;
  /** Longest single sleep, ms: a stop request is noticed at least this often. */
  readonly stopCheckMs: number;
}

/** The board's policy: 0.5 s doubling to 10 s, ±20 % jitter. */
export const READER_REOPEN_BACKOFF: ReopenBackoff = {
  firstMs: 500,
  maxMs: 10_000,
  jitterRatio: 0.2,
  stopCheckMs: 100,
};

/**
 * Wait before reopen try `attempt` (0 = first): firstMs * 2^attempt capped at maxMs, then
 * scaled by the jitter drawn from `random01` (a value in [0, 1)). Never negative.
 */
export function reopenDelayMs(
  attempt: number,
  backoff: ReopenBackoff,
  random01: () => number,
): number {
  const doublings = Math.min(Math.max(attempt, 0), 30);
  const base = Math.min(backoff.firstMs * 2 ** doublings, backoff.maxMs);
  const factor = 1 + backoff.jitterRatio * (2 * random01() - 1);
  return Math.max(0, base * factor);
}

/** What recovery needs; the board wires the real ones, tests the simulator's. */
export interface ReaderRecoveryPorts {
  /** The serial device: `reopen` lets go of the dead one and opens the path again. */
  readonly link: { reopen(): Promise<HalResult<void>> };
  readonly reader: ReaderControlPort;
  readonly clock: ClockPort;
  /** Jitter source, [0, 1): the OS on a board, the seeded PRNG in simulation. */
  readonly random01: () => number;
  /** True once the board was asked to stop. */
  readonly stopRequested: () => boolean;
  readonly log: LogPort;
}

/** How a recovery ended. */
export type ReaderRecovery =
  | { readonly kind: 'back'; readonly tries: number; readonly downMs: number }
  | { readonly kind: 'stopped'; readonly tries: number; readonly downMs: number };

/**
 * Reopens and restarts the reader until it answers or a stop is requested, waiting
 * `reopenDelayMs` before each try. Logs each failed try as `reader-reopen` (ok false, the
 * error) and the end as `reader-back`. Never fails: a reader that never returns keeps the
 * board out of service, which is what a rider must see, until someone stops it.
 */
export async function recoverReader(
  ports: ReaderRecoveryPorts,
  start: ReaderStartOptions,
  backoff: ReopenBackoff,
): Promise<ReaderRecovery> {
  const lostAtMs = ports.clock.nowMs();
  for (let tries = 0; ; tries += 1) {
    const delayMs = reopenDelayMs(tries, backoff, ports.random01);
    const slept = await sleepUnlessStopped(ports, delayMs, backoff.stopCheckMs);
    const downMs = (): number => Math.round(ports.clock.nowMs() - lostAtMs);
    if (!slept) return { kind: 'stopped', tries, downMs: downMs() };
    const opened = await ports.link.reopen();
    const started = opened.ok ? await ports.reader.start(start) : opened;
    if (started.ok) {
      ports.log.log({ event: 'reader-back', tries: tries + 1, downMs: downMs() });
      return { kind: 'back', tries: tries + 1, downMs: downMs() };
    }
    ports.log.log({
      event: 'reader-reopen',
      ok: false,
      step: opened.ok ? 'start' : 'open',
      error: started.error,
      detail: started.detail,
      try: tries + 1,
    });
  }
}

/** Sleeps `durationMs` in slices; false as soon as a stop is requested. */
async function sleepUnlessStopped(
  ports: ReaderRecoveryPorts,
  durationMs: number,
  sliceMs: number,
): Promise<boolean> {
  const endMs = ports.clock.nowMs() + durationMs;
  for (;;) {
    if (ports.stopRequested()) return false;
    const leftMs = endMs - ports.clock.nowMs();
    if (leftMs <= 0) return true;
    await ports.clock.sleepMs(Math.min(leftMs, sliceMs));
  }
}
