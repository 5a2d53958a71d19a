// One gate lane: unlock for each person of a party, watch the pass sensor, lock again.
//
// Passage rules: the lane opens for one person at a time; when nobody passes within
// `noPassCloseMs` it locks again and the party's remaining places stay unused (a ticket keeps
// them, a paid admission becomes a credit for the next tap). A passage counter that moves by
// more than one while open, or at all while locked, is tailgating: the alarm sounds and the
// extra people are recorded. A sensor blocked for `sensorStuckMs` without a passage is stuck:
// the lane locks and goes out of service until the sensor clears.

import type { ClockPort } from '../../../../hal/src/ports/clock_port.js';
import { HalStatus } from '../../../../hal/src/ports/hal_status.js';
import {
  turnstilePassesSince,
  type TurnstileDirection,
  type TurnstilePort,
} from '../../../../hal/src/ports/turnstile_port.js';

/** Timing of a lane; every field explicit. */
export interface GateLaneConfig {
  /** Lock again when nobody passed this long after unlocking (tripod: about 8 s). */
  readonly noPassCloseMs: number;
  /** A sensor blocked this long without a passage is stuck. */
  readonly sensorStuckMs: number;
  /** Pass-sensor poll interval while open. */
  readonly sensorPollMs: number;
  /** How long the tailgating alarm sounds. */
  readonly alarmMs: number;
}

export const GATE_LANE_CONFIG_DEFAULT: GateLaneConfig = {
  noPassCloseMs: 8_000,
  sensorStuckMs: 20_000,
  sensorPollMs: 50,
  alarmMs: 3_000,
};

/** How one admission of a party ended. */
export interface LaneOutcome {
  /** Persons who walked through, each counted once (at most the admitted number). */
  readonly passed: number;
  /** People beyond the admitted number (tailgating), in this admission or while locked. */
  readonly tailgaters: number;
  /** Why the lane stopped before the party was through, or null. */
  readonly stopped: LaneStop | null;
}

/** Why a lane stopped admitting. */
export type LaneStop =
  | { readonly kind: 'no-pass' }
  | { readonly kind: 'stuck' }
  | { readonly kind: 'fault'; readonly error: HalStatus; readonly detail: string };

/**
 * More passages than this between two readings of the counter are nobody: the controller
 * restarted (power cycle, watchdog) and its counter began again at 0, which modulo 2^16 reads as
 * some 65,000 people. The readings are a poll apart and a tripod lets about one person a second
 * through; the ledger's tailgate count stops at 99, so counting such a jump would write a line
 * the gate's own ledger refuses at its next start. Such a reading re-bases the count instead.
 */
const PASSES_BETWEEN_READINGS_MAX = 99;

/**
 * A turnstile whose device was lost (READER_IO: the USB RS-485 adapter pulled, a GPIO monitor
 * dead) stays lost until `reopen()`; the idle check tries that at most this often, so a
 * device plugged back serves again without a restart, and a missing one costs one open a second.
 */
const LOST_REOPEN_INTERVAL_MS = 1_000;

/**
 * Passages from `before` to `after`; 0 for no earlier reading or a restarted counter. The
 * free exit's counter is read the same way (gate_app.ts).
 */
export function gatePassesBetween(before: number | null, after: number): number {
  if (before === null) return 0;
  const passes = turnstilePassesSince(before, after);
  return passes > PASSES_BETWEEN_READINGS_MAX ? 0 : passes;
}

/** What the idle check found: people over the locked arms, late passages, a stop. */
export interface IdleCheck {
  readonly tailgaters: number;
  /**
   * Passages of an admission a fault cut short while the lane was unlocked (the controller
   * went silent or its device was lost with the visitor in front free to walk): counted once
   * the controller answers again, up to the places left, so that they use those places.
   */
  readonly latePassed: number;
  readonly stop: LaneStop | null;
}

type Watch =
  | { readonly kind: 'passed'; readonly passes: number; readonly count: number }
  | { readonly kind: 'stop'; readonly stop: LaneStop };

/** A lane over a turnstile. The app calls `admit` after the records are durable. */
export class GateLane {
  private lastPassCount: number | null = null;
  private blockedSinceMs: number | null = null;
  private reopenAtMs: number | null = null;
  /**
   * An unlock a fault cut short (see IdleCheck.latePassed): the count when it opened and the
   * places it still had; null when none.
   */
  private cutShort: { readonly base: number; readonly places: number } | null = null;

  constructor(
    private readonly turnstile: TurnstilePort,
    private readonly clock: ClockPort,
    private readonly config: GateLaneConfig,
    /** Called for each person through, before the next unlock (the ledger's entry record). */
    private readonly onPassed: (index: number) => Promise<void>,
  ) {}

  /**
   * Checks the lane while idle: people who passed while locked (jumped over), passages of an
   * unlock a fault cut short, and a stuck sensor. Returns them, 'stuck', or a fault.
   */
  async idleCheck(): Promise<IdleCheck> {
    const sensor = await this.turnstile.readSensor();
    if (!sensor.ok) {
      // A controller that stopped answering may come back restarted: its next reading is a
      // new base, not people who passed (an unlock cut short keeps its own base).
      this.lastPassCount = null;
      if (sensor.error === HalStatus.READER_IO) await this.reopenLost();
      return { tailgaters: 0, latePassed: 0, stop: { kind: 'fault', ...faultOf(sensor) } };
    }
    this.reopenAtMs = null;
    const nowMs = this.clock.nowMs();
    const count = sensor.value.passCount;
    let tailgaters = gatePassesBetween(this.lastPassCount, count);
    let latePassed = 0;
    const cut = this.cutShort;
    if (cut !== null) {
      // A restarted controller (a jump gatePassesBetween reads as 0) leaves the places unused.
      const since = gatePassesBetween(cut.base, count);
      latePassed = Math.min(since, cut.places);
      tailgaters = this.lastPassCount === null ? since - latePassed
        : Math.max(0, tailgaters - latePassed);
      this.cutShort = null;
    }
    this.lastPassCount = count;
    if (!sensor.value.blocked) {
      this.blockedSinceMs = null;
      return { tailgaters, latePassed, stop: null };
    }
    this.blockedSinceMs ??= nowMs;
    const stuck = nowMs - this.blockedSinceMs >= this.config.sensorStuckMs;
    return { tailgaters, latePassed, stop: stuck ? { kind: 'stuck' } : null };
  }

  /** Lets `persons` through one at a time in `direction`. Never throws on device errors. */
  async admit(persons: number, direction: TurnstileDirection): Promise<LaneOutcome> {
    let passed = 0;
    let tailgaters = 0;
    for (let i = 0; i < persons; i += 1) {
      const before = await this.turnstile.readSensor();
      if (!before.ok) {
        this.lastPassCount = null;
        return { passed, tailgaters, stopped: { kind: 'fault', ...faultOf(before) } };
      }
      tailgaters += gatePassesBetween(this.lastPassCount, before.value.passCount);
      this.lastPassCount = before.value.passCount;
      const opened = await this.turnstile.open(direction);
      if (!opened.ok && !mayHaveActed(opened.error)) {
        await this.turnstile.close();
        return { passed, tailgaters, stopped: { kind: 'fault', ...faultOf(opened) } };
      }
      // An unlock whose answer was lost or garbled may have been carried out: the visitor in
      // front, shown "admit", walks through. Watched as an unlock, that passage is this
      // admission's; taken for a fault, it was counted as tailgating at the next idle check
      // and the place left unused, to be given again (two people on one payment).
      const watched = await this.watch(before.value.passCount);
      const closed = await this.turnstile.close();
      if (watched.kind === 'stop') {
        // Unlocked when the controller fell silent: the visitor in front may walk through
        // meanwhile (the idle check counts it once the controller answers again).
        if (watched.stop.kind === 'fault') {
          this.cutShort = { base: before.value.passCount, places: persons - passed };
        }
        return { passed, tailgaters, stopped: watched.stop };
      }
      this.lastPassCount = watched.count;
      passed += 1;
      tailgaters += watched.passes - 1;
      await this.onPassed(i);
      if (!closed.ok) {
        // The lock did not reach the controller: the arm may stay released for the rest of
        // the party, whose passages are theirs once it answers (as a silent watch's).
        if (passed < persons) this.cutShort = { base: watched.count, places: persons - passed };
        return { passed, tailgaters, stopped: { kind: 'fault', ...faultOf(closed) } };
      }
    }
    return { passed, tailgaters, stopped: null };
  }

  /** Sounds the alarm for the configured time. Device errors are returned, not thrown. */
  async soundAlarm(): Promise<{ ok: boolean; detail: string }> {
    const on = await this.turnstile.alarm(true);
    if (!on.ok) return { ok: false, detail: on.detail };
    await this.clock.sleepMs(this.config.alarmMs);
    const off = await this.turnstile.alarm(false);
    return off.ok ? { ok: true, detail: '' } : { ok: false, detail: off.detail };
  }

  /** Reopens a lost turnstile, at most once per LOST_REOPEN_INTERVAL_MS. */
  private async reopenLost(): Promise<void> {
    const nowMs = this.clock.nowMs();
    if (this.reopenAtMs !== null && nowMs < this.reopenAtMs) return;
    this.reopenAtMs = nowMs + LOST_REOPEN_INTERVAL_MS;
    await this.turnstile.reopen();
  }

  /** Polls the sensor until a passage, the no-pass deadline, a stuck sensor or a fault. */
  private async watch(countAtOpen: number): Promise<Watch> {
    let baseCount = countAtOpen;
    const openedMs = this.clock.nowMs();
    let blockedSinceMs: number | null = null;
    const longestMs = Math.max(this.config.noPassCloseMs, this.config.sensorStuckMs);
    const pollsMax = 2 * Math.ceil(longestMs / this.config.sensorPollMs) + 2;
    for (let poll = 0; poll < pollsMax; poll += 1) {
      await this.clock.sleepMs(this.config.sensorPollMs);
      const sensor = await this.turnstile.readSensor();
      if (!sensor.ok) return { kind: 'stop', stop: { kind: 'fault', ...faultOf(sensor) } };
      const nowMs = this.clock.nowMs();
      // The controller restarted while open: its new count is the base (see gatePassesBetween).
      const count = sensor.value.passCount;
      if (gatePassesBetween(baseCount, count) === 0) baseCount = count;
      const passes = turnstilePassesSince(baseCount, sensor.value.passCount);
      // A person still in the sensor finishes the passage before we count and lock.
      if (passes > 0 && !sensor.value.blocked) {
        return { kind: 'passed', passes, count: sensor.value.passCount };
      }
      if (sensor.value.blocked) {
        blockedSinceMs ??= nowMs;
        if (nowMs - blockedSinceMs >= this.config.sensorStuckMs) {
          return { kind: 'stop', stop: { kind: 'stuck' } };
        }
      } else {
        blockedSinceMs = null;
        if (nowMs - openedMs >= this.config.noPassCloseMs) {
          return { kind: 'stop', stop: { kind: 'no-pass' } };
        }
      }
    }
    return { kind: 'stop', stop: { kind: 'no-pass' } };
  }
}

/**
 * Whether a request that failed with `error` may still have been carried out by the
 * controller: the request went out and only its answer is missing (TIMEOUT) or damaged
 * (TRANSMISSION). A refused request (PROTOCOL), a busy port or a lost device did nothing.
 */
function mayHaveActed(error: HalStatus): boolean {
  return error === HalStatus.TIMEOUT || error === HalStatus.TRANSMISSION;
}

function faultOf(result: { error: HalStatus; detail: string }): {
  error: HalStatus;
  detail: string;
} {
  return { error: result.error, detail: result.detail };
}
