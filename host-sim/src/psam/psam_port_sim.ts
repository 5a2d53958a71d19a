// The PSAM emulator as a PsamPort on an injected clock: the simulated board's SAM slot.
//
// Timing: each exchange takes `commandMs` of the clock (a PSAM at the ISO 7816-3 default rate
// answers an INIT SAM FOR PURCHASE in tens of ms: bench/tunion_bench.ts). T=0 answers are made
// whole (61xx GET RESPONSE, 6Cxx) by the same routine as the PC/SC driver, so the kernel sees
// what it sees on a board. The slot can be emptied (`pull`) to test a PSAM gone mid-shift.

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

/** Timing of the simulated slot. */
export interface PsamPortSimOptions {
  /** Simulated ms per exchange (each GET RESPONSE round is one more). */
  readonly commandMs: number;
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
    if (!this.inserted) return { kind: 'empty' };
    return this.psam.isPowered()
      ? { kind: 'powered', atr: this.psam.atr() }
      : { kind: 'present', atr: this.psam.atr() };
  }

  async powerOn(_options: PsamPowerOptions): Promise<HalResult<Uint8Array>> {
    if (this.busy) return halErr(HalStatus.BUSY, 'PSAM operation pending');
    if (!this.inserted) return halErr(HalStatus.CARD_GONE, 'no card in the PSAM slot');
    this.busy = true;
    try {
      await this.clock.sleepMs(this.options.commandMs);
      return halOk(this.psam.powerOn());
    } finally {
      this.busy = false;
    }
  }

  async transmit(capdu: Uint8Array, _options: PsamTransmitOptions)
    : Promise<HalResult<Uint8Array>> {
    if (this.busy) return halErr(HalStatus.BUSY, 'PSAM operation pending');
    this.busy = true;
    try {
      return await transmitT0Complete((c) => this.raw(c), capdu);
    } finally {
      this.busy = false;
    }
  }

  async powerOff(): Promise<HalResult<void>> {
    this.psam.powerOff();
    return halOk(undefined);
  }

  private async raw(capdu: Uint8Array): Promise<HalResult<Uint8Array>> {
    if (!this.inserted || !this.psam.isPowered()) {
      return halErr(HalStatus.CARD_GONE, 'PSAM not powered');
    }
    await this.clock.sleepMs(this.options.commandMs);
    return halOk(this.psam.transmit(capdu));
  }
}
