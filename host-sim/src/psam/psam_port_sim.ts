// The PSAM emulator as a PsamPort on an injected clock: the simulated board's SAM slot.
//
// Timing: each exchange takes `commandMs` of the clock (a PSAM at the ISO 7816-3 default rate
// answers an INIT SAM FOR PURCHASE in tens of ms: bench/tunion_bench.ts). T=0 answers are made
// whole (61xx GET RESPONSE, 6Cxx) by the same routine as the PC/SC driver, so the kernel sees
// what it sees on a board. The slot can be emptied (`pull`) to test a PSAM gone mid-shift, and
// `faults` (the swarm's slot) can take the PSAM out, or make one exchange fail: the contacts
// lose the card, the card answers nothing until the caller's timeout, or it answers an error
// status word. A transmit that fails for the card or the time unpowers the PSAM, as the PC/SC
// port does (hal/src/pcsc/pcsc_psam.ts): the firmware must power it on again.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { HalStatus, halErr, halOk, type HalResult } from '../../../hal/src/ports/hal_status.js';
import type {
  PsamPort,
  PsamPowerOptions,
  PsamSlotState,
  PsamTransmitOptions,
} from '../../../hal/src/ports/psam_port.js';
import { transmitT0Complete } from '../../../hal/src/pcsc/iso7816_t0_response.js';
import { PsamEmulator } from './psam_emulator.js';
import { swBytes } from './psam_status.js';

/** How one exchange with the PSAM fails. */
export type PsamExchangeFault =
  /** The contacts lose the card: it is unpowered and the exchange ends CARD_GONE. */
  | { readonly kind: 'card-gone' }
  /**
   * No answer: the exchange ends TIMEOUT once the caller's bound has passed. `executed`: the
   * PSAM ran the command (its answer is what was lost), else the command was.
   */
  | { readonly kind: 'mute'; readonly executed: boolean }
  /** The PSAM answers this status word (no data) instead of running the command. */
  | { readonly kind: 'status'; readonly sw: number };

/** What a slot's faults decide (host-sim/src/swarm: the swarm's PSAM slot). */
export interface PsamSlotFaults {
  /** False while the PSAM is out of its slot (pulled and not put back yet). */
  inserted(): boolean;
  /** The fault of one raw exchange (a command, or a GET RESPONSE round), or null: none. */
  exchange(capdu: Uint8Array): PsamExchangeFault | null;
}

/** Timing of the simulated slot, and its faults. */
export interface PsamPortSimOptions {
  /** Simulated ms per exchange (each GET RESPONSE round is one more). */
  readonly commandMs: number;
  /** Absent: the PSAM stays in and answers every exchange. */
  readonly faults?: PsamSlotFaults;
}

/** A PSAM in a simulated slot. See PsamPort for the errors of each method. */
export class PsamPortSim implements PsamPort {
  private inserted = true;
  private busy = false;

  constructor(
    readonly psam: PsamEmulator,
    private readonly clock: ClockPort,
    private readonly options: PsamPortSimOptions,
  ) {}

  /** Takes the PSAM out of its slot (CARD_GONE from then on) or puts it back. */
  pull(out: boolean): void {
    this.inserted = !out;
    if (out) this.psam.powerOff();
  }

  slotState(): PsamSlotState {
    if (!this.present()) return { kind: 'empty' };
    return this.psam.isPowered()
      ? { kind: 'powered', atr: this.psam.atr() }
      : { kind: 'present', atr: this.psam.atr() };
  }

  async powerOn(_options: PsamPowerOptions): Promise<HalResult<Uint8Array>> {
    if (this.busy) return halErr(HalStatus.BUSY, 'PSAM operation pending');
    if (!this.present()) return halErr(HalStatus.CARD_GONE, 'no card in the PSAM slot');
    this.busy = true;
    try {
      await this.clock.sleepMs(this.options.commandMs);
      return halOk(this.psam.powerOn());
    } finally {
      this.busy = false;
    }
  }

  async transmit(capdu: Uint8Array, options: PsamTransmitOptions)
    : Promise<HalResult<Uint8Array>> {
    if (this.busy) return halErr(HalStatus.BUSY, 'PSAM operation pending');
    this.busy = true;
    try {
      const answer = await transmitT0Complete((c) => this.raw(c, options.timeoutMs), capdu);
      // As the PC/SC port: a card gone or mute must be powered on again.
      if (!answer.ok && answer.error !== HalStatus.PROTOCOL && answer.error !== HalStatus.SIZE) {
        this.psam.powerOff();
      }
      return answer;
    } finally {
      this.busy = false;
    }
  }

  async powerOff(): Promise<HalResult<void>> {
    this.psam.powerOff();
    return halOk(undefined);
  }

  private present(): boolean {
    return this.inserted && (this.options.faults?.inserted() ?? true);
  }

  private async raw(capdu: Uint8Array, timeoutMs: number): Promise<HalResult<Uint8Array>> {
    if (!this.present() || !this.psam.isPowered()) {
      return halErr(HalStatus.CARD_GONE, 'PSAM not powered');
    }
    const fault = this.options.faults?.exchange(capdu) ?? null;
    if (fault !== null) return this.failed(capdu, fault, timeoutMs);
    await this.clock.sleepMs(this.options.commandMs);
    return halOk(this.psam.transmit(capdu));
  }

  private async failed(capdu: Uint8Array, fault: PsamExchangeFault, timeoutMs: number)
    : Promise<HalResult<Uint8Array>> {
    switch (fault.kind) {
      case 'card-gone':
        await this.clock.sleepMs(this.options.commandMs);
        this.psam.powerOff();
        return halErr(HalStatus.CARD_GONE, 'PSAM lost its contacts');
      case 'mute':
        if (fault.executed) this.psam.transmit(capdu);
        await this.clock.sleepMs(timeoutMs);
        return halErr(HalStatus.TIMEOUT, `no answer in ${timeoutMs} ms`);
      case 'status':
        await this.clock.sleepMs(this.options.commandMs);
        return halOk(swBytes(fault.sw));
      default: {
        const never: never = fault;
        throw new Error(`PSAM fault ${String(never)}`);
      }
    }
  }
}
