// Vocabulary of the swarm: the invariants it checks, the faults it injects, its exit codes.
//
// See style.md 10.7 item 4 (modelled on TigerBeetle's VOPR): one seed drives every choice,
// every invariant is checked after every event, and crash, correctness and liveness failures
// exit with distinct codes (the same ones as `shuaka sim`).

/** Invariants; each can be switched on or off with `--check`. */
export const SWARM_CHECKS = [
  /** At most one debit per physical tap (a fare: a tap and its re-taps), one record per debit. */
  'double-charge',
  /**
   * Every debit a card committed has a durable journal record (pending, torn or final; a
   * T-Union grey or final), and a T-Union final is the card's own debit (amount, TAC).
   */
  'durable-debit',
  /** Every record the validator reported written is still there, byte for byte, after reboots. */
  'committed',
  /** The durable journal scans without corruption (a torn tail only between a cut and boot). */
  'journal-verifies',
  /** Deny-listed, cloned, revoked and expired cards are never debited. */
  'refused-cards',
  /** No full PAN or track-2 image in the journal medium or in the log. */
  'no-pan',
  /** The active parameter version never goes down; a corrupt set is never activated. */
  'params',
  /**
   * A T-Union debit torn from its final (card pulled after DEBIT, power cut) is finished by the
   * card's proof at its next approved tap within the torn window, and not charged again.
   */
  'torn-recovered',
  /**
   * A deny-listed T-Union card the validator blocked has a durable block record (the pending
   * one, durable before APPLICATION BLOCK, or its final), power cut or not; a record says
   * blocked only of a card that is; a final names its pending record.
   */
  'tunion-block',
  /** The kernel never traps. */
  'kernel',
  /** Every rider gets an answer; once faults stop, the validator is back in WaitForCard. */
  'liveness',
  /**
   * What the depot stored is what the journal holds, and a record is acknowledged (and may be
   * reclaimed) only once the depot stored it.
   */
  'uploaded',
] as const;

export type SwarmCheck = (typeof SWARM_CHECKS)[number];

/** Fault kinds; each seed switches a random subset of the allowed ones on (swarm testing). */
export const SWARM_FAULTS = [
  /** Power cut at a random storage write point (any byte of an append), then a reboot. */
  'power-cut',
  /** The rider pulls the card at a random step of the tap (before/after command N, byte N). */
  'card-pull',
  /** Byte loss and bit flips on the PN532 UART, in bursts. */
  'line-noise',
  /** PN532 faults: lost command, lost ACK, hung command, bad checksum, error frame/status. */
  'pn532',
  /** The reader's USB serial device disappears for a while, then comes back power-cycled. */
  'unplug',
  /** Another writer fills the journal's medium, later frees it. */
  'disk-full',
  /** The wall clock steps forward or backward (RTC correction, dead RTC battery). */
  'clock-jump',
  /** Parameter updates at reboot: newer sets, older signed sets (rollback), corrupt sets. */
  'params',
  /** The depot link: failed calls, and answers lost after the depot stored a batch. */
  'depot',
  /**
   * The PSAM in its slot (T-Union taps): at INIT SAM FOR PURCHASE (before MAC1) or at CREDIT
   * SAM FOR PURCHASE (the card has debited, MAC2 unchecked) the contacts lose it, it answers
   * nothing until the timeout, or it answers an error status word; or it is pulled out between
   * taps and put back later (the firmware must power it on again).
   */
  'psam',
] as const;

export type SwarmFault = (typeof SWARM_FAULTS)[number];

/** Exit codes (aligned with `shuaka sim`). */
export const SWARM_EXIT_OK = 0;
/** An invariant other than liveness failed. */
export const SWARM_EXIT_VIOLATION = 1;
export const SWARM_EXIT_USAGE = 2;
/** The simulation threw (a firmware exception, an assertion, a deadlock of the simulated line). */
export const SWARM_EXIT_CRASH = 3;
/** A rider got no answer without a fault to explain it, or the validator did not come back. */
export const SWARM_EXIT_LIVENESS = 4;

/** What one swarm run is asked to do. */
export interface SwarmOptions {
  readonly seed: number;
  /** Rider taps (events) to simulate. */
  readonly taps: number;
  /** Fault kinds a seed may switch on. */
  readonly faults: readonly SwarmFault[];
  /** Invariants checked. */
  readonly checks: readonly SwarmCheck[];
  /** Taps at the end with every fault off (liveness: the validator must recover). */
  readonly quietTaps: number;
}

/** Fault kinds that hold on every branch today are on by default; see the README. */
export const SWARM_FAULTS_DEFAULT: readonly SwarmFault[] = SWARM_FAULTS;
export const SWARM_CHECKS_DEFAULT: readonly SwarmCheck[] = SWARM_CHECKS;
export const SWARM_QUIET_TAPS = 4;

/**
 * Parses a comma list against `allowed`; `all` means every name, `none` none. Throws
 * RangeError for an unknown name or an empty value.
 */
export function parseNameList<T extends string>(
  text: string,
  allowed: readonly T[],
  flag: string,
): T[] {
  if (text === 'all') return [...allowed];
  if (text === 'none') return [];
  // An empty value is a script's unset variable more often than a choice: `none` says it.
  if (text === '') throw new RangeError(`--${flag} needs a list, 'all' or 'none', got nothing`);
  const names: T[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    const known = allowed.find((a) => a === name);
    if (known === undefined) {
      throw new RangeError(`--${flag}: unknown '${name}' (one of: ${allowed.join(', ')})`);
    }
    if (!names.includes(known)) names.push(known);
  }
  return names;
}
