// The PSAM while the validator runs: the one in use, whether it may sign a purchase now (in
// its slot and powered, and within its file 0017 dates), and bringing it back when it lost
// power: a transmit error unpowers it (the PC/SC port does), a technician pulls it and puts it
// back. Without this a PSAM that failed once stayed dead until the next start. Bank taps never
// wait on it: it is reopened only at a T-Union card's decision point. A PSAM configured but
// not opened at the start (slot empty, SELECT refused: `psamUnopened`) is opened the same way,
// so a validator rebooted with its PSAM pulled serves bank cards and waits for it.

import {
  TUNION_PSAM_OPTIONS_DEFAULT,
  tunionPsamOpen,
  tunionPsamProblemText,
} from './tunion_psam.js';
import type { TunionPsamRefusal } from './tunion_tap.js';
import type { PsamPort } from '../../../../hal/src/ports/psam_port.js';
import type { ValidatorPorts, ValidatorPsam } from './validator_ports.js';
import { localDayDigits } from './validator_time.js';

/** Shortest time between two attempts to open an unpowered PSAM again (a tap's cost bound). */
export const TUNION_PSAM_REOPEN_MS = 5_000;

export class TunionPsamKeeper {
  private psam: ValidatorPsam | null;
  /** The slot of a PSAM configured but not opened since the start; null once it opened. */
  private unopened: PsamPort | null;
  private lastTryMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ports: Pick<ValidatorPorts, 'psam' | 'psamUnopened' | 'clock' | 'log'>,
    private readonly utcOffsetMinutes: number,
  ) {
    this.psam = ports.psam ?? null;
    this.unopened = this.psam === null ? ports.psamUnopened ?? null : null;
  }

  /** The PSAM in use, null on a validator without one (or whose PSAM has not opened yet). */
  current(): ValidatorPsam | null {
    return this.psam;
  }

  /** True while a PSAM was configured but has not opened since the start. */
  awaitingFirstOpen(): boolean {
    return this.unopened !== null;
  }

  /** The local calendar day, YYYYMMDD (what the file 0017 dates are compared with). */
  today(): string {
    return localDayDigits(this.ports.clock.wallMs(), this.utcOffsetMinutes);
  }

  /** Why `psam` may not be used on `today` (its file 0017 dates), or null. */
  dateRefusal(psam: ValidatorPsam, today = this.today()): TunionPsamRefusal | null {
    if (today > psam.validToDigits) return 'psam-expired';
    if (today < psam.validFromDigits) return 'psam-not-yet-valid';
    return null;
  }

  /**
   * At a T-Union card's decision point: opens an unpowered PSAM again (power-on, SELECT,
   * files 0016 and 0017), at most every TUNION_PSAM_REOPEN_MS, so that only T-Union taps ever
   * wait on a PSAM. 'up': powered (as it was, or the same PSAM back); 'down': not back;
   * 'changed': a PSAM with another terminal number or key index, or the first one to open on
   * a validator started without it, which the kernel must be given (outside a transaction)
   * before it can sign.
   */
  async reopen(): Promise<'up' | 'down' | 'changed'> {
    const psam = this.psam;
    if (psam === null) return this.openFirst();
    if (psam.port.slotState().kind === 'powered') return 'up';
    const next = await this.open(psam.port, psam.transmitTimeoutMs);
    if (next === null) return 'down';
    const same = next.keyIndex === psam.keyIndex
      && Buffer.from(next.terminalNumber).equals(Buffer.from(psam.terminalNumber));
    return same ? 'up' : 'changed';
  }

  /** The PSAM configured but not opened at the start, tried as a PSAM that lost power is. */
  private async openFirst(): Promise<'down' | 'changed'> {
    const port = this.unopened;
    if (port === null) return 'down';
    const opened = await this.open(port, TUNION_PSAM_OPTIONS_DEFAULT.transmitTimeoutMs);
    if (opened === null) return 'down';
    this.unopened = null;
    return 'changed';
  }

  /** One rate-limited attempt to open the PSAM in `port`; logs psam-down or psam-back. */
  private async open(port: PsamPort, transmitTimeoutMs: number): Promise<ValidatorPsam | null> {
    const nowMs = this.ports.clock.nowMs();
    if (nowMs - this.lastTryMs < TUNION_PSAM_REOPEN_MS) return null;
    this.lastTryMs = nowMs;
    const opened = await tunionPsamOpen(port, {
      powerOnTimeoutMs: TUNION_PSAM_OPTIONS_DEFAULT.powerOnTimeoutMs,
      transmitTimeoutMs,
    });
    if (!opened.ok) {
      this.ports.log.log({ event: 'psam-down', detail: tunionPsamProblemText(opened.problem) });
      return null;
    }
    const next = opened.value;
    this.psam = next;
    const terminalNumber = Buffer.from(next.terminalNumber).toString('hex').toUpperCase();
    this.ports.log.log({ event: 'psam-back', terminalNumber, keyIndex: next.keyIndex,
      validFrom: next.validFromDigits, validTo: next.validToDigits });
    return next;
  }
}
