// The emulated gate controller's state and Modbus data model: relays, pass sensor, counter.
//
// Register map (hal/src/turnstile/README.md): coil 0 entry release, coil 1 exit release, coil 2
// alarm, discrete input 0 pass sensor blocked, input register 0 passage counter (mod 2^16),
// holding register 0 the controller's relock time in 100 ms units (kept, not acted on).

import {
  EXCEPTION_01_ILLEGAL_FUNCTION,
  EXCEPTION_02_ILLEGAL_DATA_ADDRESS,
  EXCEPTION_03_ILLEGAL_DATA_VALUE,
  FC_01_READ_COILS,
  FC_02_READ_DISCRETE_INPUTS,
  FC_03_READ_HOLDING_REGISTERS,
  FC_04_READ_INPUT_REGISTERS,
  FC_05_WRITE_SINGLE_COIL,
  FC_06_WRITE_SINGLE_REGISTER,
  FC_0F_WRITE_MULTIPLE_COILS,
  FC_10_WRITE_MULTIPLE_REGISTERS,
} from './modbus_rtu_frame.js';

export const CONTROLLER_COILS = 3;
export const CONTROLLER_DISCRETE_INPUTS = 1;
export const CONTROLLER_INPUT_REGISTERS = 1;
export const CONTROLLER_HOLDING_REGISTERS = 1;

/** What happened to a visitor who tried to walk through. */
export type WalkResult = 'passed' | 'locked';

/** A gate controller: what the relays and the sensor are, as a PLC would hold them. */
export class TurnstileControllerSim {
  readonly coils = [false, false, false];
  blocked = false;
  passCount = 0;
  readonly holding = [30];
  /** Passages walked while the lane was locked (jumped over): the sensor still counts them. */
  forcedPassages = 0;

  /** A visitor walks through in `direction`: counted if released there (or forced). */
  walk(direction: 'entry' | 'exit', force: boolean): WalkResult {
    const released = direction === 'entry' ? this.coils[0] : this.coils[1];
    if (released !== true && !force) return 'locked';
    if (released !== true) this.forcedPassages += 1;
    this.passCount = (this.passCount + 1) & 0xffff;
    return 'passed';
  }

  /** The PDU answering request PDU `pdu` (an exception PDU for a bad one). */
  answer(pdu: Uint8Array): Uint8Array {
    const fc = pdu[0] ?? 0;
    const view = new DataView(pdu.buffer, pdu.byteOffset, pdu.byteLength);
    const address = pdu.length >= 3 ? view.getUint16(1) : 0;
    const value = pdu.length >= 5 ? view.getUint16(3) : 0;
    switch (fc) {
      case FC_01_READ_COILS:
        return this.readBits(fc, address, value, this.coils);
      case FC_02_READ_DISCRETE_INPUTS:
        return this.readBits(fc, address, value, [this.blocked]);
      case FC_03_READ_HOLDING_REGISTERS:
        return readWords(fc, address, value, this.holding);
      case FC_04_READ_INPUT_REGISTERS:
        return readWords(fc, address, value, [this.passCount]);
      case FC_05_WRITE_SINGLE_COIL:
        return this.writeCoil(pdu, address, value);
      case FC_06_WRITE_SINGLE_REGISTER:
        if (address >= CONTROLLER_HOLDING_REGISTERS) return exception(fc, 2);
        this.holding[address] = value;
        return pdu.slice(0, 5);
      case FC_0F_WRITE_MULTIPLE_COILS:
        return this.writeCoils(pdu, address, value);
      case FC_10_WRITE_MULTIPLE_REGISTERS:
        return this.writeRegisters(pdu, address, value);
      default:
        return exception(fc, EXCEPTION_01_ILLEGAL_FUNCTION);
    }
  }

  private readBits(fc: number, address: number, count: number, bits: boolean[]): Uint8Array {
    if (count < 1 || count > 2000) return exception(fc, EXCEPTION_03_ILLEGAL_DATA_VALUE);
    if (address + count > bits.length) return exception(fc, EXCEPTION_02_ILLEGAL_DATA_ADDRESS);
    const bytes = Math.ceil(count / 8);
    const out = new Uint8Array(2 + bytes);
    out[0] = fc;
    out[1] = bytes;
    for (let i = 0; i < count; i += 1) {
      if (bits[address + i] === true) out[2 + (i >> 3)] = (out[2 + (i >> 3)] ?? 0) | (1 << (i & 7));
    }
    return out;
  }

  private writeCoil(pdu: Uint8Array, address: number, value: number): Uint8Array {
    const fc = FC_05_WRITE_SINGLE_COIL;
    // 6.5: FF00 = ON, 0000 = OFF, anything else is ILLEGAL DATA VALUE.
    if (value !== 0xff00 && value !== 0x0000) return exception(fc, EXCEPTION_03_ILLEGAL_DATA_VALUE);
    if (address >= CONTROLLER_COILS) return exception(fc, EXCEPTION_02_ILLEGAL_DATA_ADDRESS);
    this.coils[address] = value === 0xff00;
    return pdu.slice(0, 5);
  }

  private writeCoils(pdu: Uint8Array, address: number, count: number): Uint8Array {
    const fc = FC_0F_WRITE_MULTIPLE_COILS;
    const byteCount = pdu[5] ?? 0;
    if (count < 1 || count > 0x7b0 || byteCount !== Math.ceil(count / 8)) {
      return exception(fc, EXCEPTION_03_ILLEGAL_DATA_VALUE);
    }
    if (address + count > CONTROLLER_COILS) return exception(fc, EXCEPTION_02_ILLEGAL_DATA_ADDRESS);
    for (let i = 0; i < count; i += 1) {
      this.coils[address + i] = (((pdu[6 + (i >> 3)] ?? 0) >> (i & 7)) & 1) === 1;
    }
    return pdu.slice(0, 5);
  }

  private writeRegisters(pdu: Uint8Array, address: number, count: number): Uint8Array {
    const fc = FC_10_WRITE_MULTIPLE_REGISTERS;
    if (count < 1 || count > 123 || (pdu[5] ?? 0) !== count * 2) {
      return exception(fc, EXCEPTION_03_ILLEGAL_DATA_VALUE);
    }
    if (address + count > CONTROLLER_HOLDING_REGISTERS) {
      return exception(fc, EXCEPTION_02_ILLEGAL_DATA_ADDRESS);
    }
    for (let i = 0; i < count; i += 1) {
      this.holding[address + i] = ((pdu[6 + 2 * i] ?? 0) << 8) | (pdu[7 + 2 * i] ?? 0);
    }
    return pdu.slice(0, 5);
  }
}

function readWords(fc: number, address: number, count: number, words: number[]): Uint8Array {
  if (count < 1 || count > 125) return exception(fc, EXCEPTION_03_ILLEGAL_DATA_VALUE);
  if (address + count > words.length) return exception(fc, EXCEPTION_02_ILLEGAL_DATA_ADDRESS);
  const out = new Uint8Array(2 + 2 * count);
  out[0] = fc;
  out[1] = 2 * count;
  for (let i = 0; i < count; i += 1) {
    const word = words[address + i] ?? 0;
    out[2 + 2 * i] = word >> 8;
    out[3 + 2 * i] = word & 0xff;
  }
  return out;
}

function exception(fc: number, code: number): Uint8Array {
  return Uint8Array.of((fc | 0x80) & 0xff, code);
}
