// Gate controller on RS-485 Modbus RTU (modbus-serial over serialport): coils, sensor inputs.
//
// Register map of the controller (documented in README.md beside this file; the emulator in
// host-sim/src/turnstile_sim keeps the same map). Addresses are protocol addresses (0-based):
// coil 0 releases the entry lock, coil 1 the exit lock, coil 2 drives the alarm beacon,
// discrete input 0 is the pass sensor's "blocked" state, input register 0 counts completed
// passages modulo 2^16. Function codes: 01/05 (coils), 02 (discrete inputs), 04 (input
// registers). See Modbus Application Protocol V1.1b3, 6.1-6.6, and Modbus over Serial Line
// V1.02, 2.5.1 (RTU framing, CRC-16).

import modbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';

import { HalStatus, halErr, halOk, type HalResult } from '../ports/hal_status.js';
import type {
  TurnstileDirection,
  TurnstilePort,
  TurnstileSensor,
} from '../ports/turnstile_port.js';

export const COIL_ENTRY_RELEASE = 0;
export const COIL_EXIT_RELEASE = 1;
export const COIL_ALARM = 2;
export const INPUT_SENSOR_BLOCKED = 0;
export const REGISTER_PASS_COUNT = 0;

/** Options of the Modbus driver; every field explicit. */
export interface ModbusTurnstileOptions {
  /** Serial device of the RS-485 adapter (e.g. /dev/ttyUSB0). */
  readonly path: string;
  readonly baudRate: number;
  /** Slave address of the controller, 1..247 (Modbus over Serial Line 2.2). */
  readonly unitId: number;
  /** One request's answer deadline, ms (the controller's turnaround plus wire time). */
  readonly timeoutMs: number;
}

/**
 * modbus-serial is CommonJS: `module.exports` is the client class, which its typings call the
 * default export; under NodeNext the default import is that `module.exports` value.
 */
const MODBUS_RTU = modbusSerial as unknown as new () => ModbusRTU;

type ClientCall<T> = (client: ModbusRTU) => Promise<T>;

/** Turnstile on a Modbus RTU gate controller. Open with `ModbusTurnstile.open`. */
export class ModbusTurnstile implements TurnstilePort {
  private pending = false;
  private stopped = false;
  /** The port's own error (EIO when the adapter is pulled mid-write), or null: READER_IO. */
  private lost: string | null = null;

  private constructor(
    private client: ModbusRTU,
    private readonly options: ModbusTurnstileOptions,
  ) {
    this.watchLoss(client);
  }

  /** Opens the serial port. Errors: READER_IO (missing device, permission, bad options). */
  static async open(options: ModbusTurnstileOptions): Promise<HalResult<ModbusTurnstile>> {
    if (!Number.isInteger(options.unitId) || options.unitId < 1 || options.unitId > 247) {
      throw new RangeError(`Modbus unit id ${options.unitId} outside 1..247`);
    }
    const client = await modbusConnect(options);
    if (!client.ok) return client;
    return halOk(new ModbusTurnstile(client.value, options));
  }

  open(direction: TurnstileDirection): Promise<HalResult<void>> {
    const coil = direction === 'entry' ? COIL_ENTRY_RELEASE : COIL_EXIT_RELEASE;
    return this.call(async (c) => {
      await c.writeCoil(coil, true);
    });
  }

  close(): Promise<HalResult<void>> {
    // One Write Multiple Coils (0F) locks both directions at once: no instant in which one
    // side is still released while the other is locked.
    return this.call(async (c) => {
      await c.writeCoils(COIL_ENTRY_RELEASE, [false, false]);
    });
  }

  alarm(on: boolean): Promise<HalResult<void>> {
    return this.call(async (c) => {
      await c.writeCoil(COIL_ALARM, on);
    });
  }

  readSensor(): Promise<HalResult<TurnstileSensor>> {
    return this.call(async (c) => {
      const inputs = await c.readDiscreteInputs(INPUT_SENSOR_BLOCKED, 1);
      const registers = await c.readInputRegisters(REGISTER_PASS_COUNT, 1);
      // modbus-serial cuts an answer at the length the request implies and reads as many
      // values as the answer's byte count says, past its data if need be (its CRC, as a
      // register). One input is one byte of bits, one register two bytes (Modbus 6.2, 6.4).
      if (inputs.buffer.length !== 1 || registers.buffer.length !== 2) {
        throw new ModbusShapeError(`answer byte count ${inputs.buffer.length}/`
          + `${registers.buffer.length}, expected 1 (FC02) and 2 (FC04)`);
      }
      const blocked = inputs.data[0];
      const passCount = registers.data[0];
      if (blocked === undefined || passCount === undefined) {
        throw new ModbusShapeError('answer without the requested input or register');
      }
      return { passCount, blocked };
    });
  }

  async reopen(): Promise<HalResult<void>> {
    await closeClient(this.client);
    const client = await modbusConnect(this.options);
    if (!client.ok) return client;
    this.client = client.value;
    this.lost = null;
    this.watchLoss(client.value);
    return halOk(undefined);
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    await closeClient(this.client);
  }

  /**
   * modbus-serial re-emits its serial port's errors as 'error' events; without a listener
   * Node ends the process on the first (the gate, lane open, gone). The error marks the link
   * lost until `reopen()`.
   */
  private watchLoss(client: ModbusRTU): void {
    client.on('error', (err: unknown) => {
      if (client === this.client) this.lost ??= modbusErrorDetail(err);
    });
  }

  private async call<T>(run: ClientCall<T>): Promise<HalResult<T>> {
    if (this.stopped) return halErr(HalStatus.READER_IO, 'turnstile shut down');
    if (this.lost !== null) return halErr(HalStatus.READER_IO, `link lost: ${this.lost}`);
    if (this.pending) return halErr(HalStatus.BUSY, 'another Modbus request is pending');
    this.pending = true;
    try {
      return halOk(await run(this.client));
    } catch (err) {
      return halErr(modbusErrorStatus(err), modbusErrorDetail(err));
    } finally {
      this.pending = false;
    }
  }
}

class ModbusShapeError extends Error {}

/**
 * The HalStatus of an error modbus-serial raised: its timeout (errno ETIMEDOUT, "Timed out"),
 * a bad CRC on the answer ("CRC error"), a Modbus exception answer ("Modbus exception N"), an
 * answer of another shape (a byte count past the answer's end), and everything else (port
 * not open, write failed) as READER_IO.
 */
export function modbusErrorStatus(err: unknown): HalStatus {
  if (err instanceof ModbusShapeError) return HalStatus.PROTOCOL;
  // modbus-serial reading as many values as an answer's byte count says, past its end: the
  // answer is malformed, the device is not lost (READER_IO would make the lane reopen it).
  if (err instanceof RangeError) return HalStatus.PROTOCOL;
  const errno = typeof err === 'object' && err !== null ? (err as { errno?: unknown }).errno : null;
  const message = modbusErrorDetail(err).slice('modbus: '.length);
  if (errno === 'ETIMEDOUT' || message === 'Timed out') return HalStatus.TIMEOUT;
  if (message.startsWith('CRC error')) return HalStatus.TRANSMISSION;
  if (message.startsWith('Modbus exception')) return HalStatus.PROTOCOL;
  if (/unexpected|data length|bad response/i.test(message)) return HalStatus.PROTOCOL;
  return HalStatus.READER_IO;
}

/** modbus-serial rejects some calls with plain objects (its timeout: name, message, errno). */
function modbusErrorDetail(err: unknown): string {
  const message = typeof err === 'object' && err !== null
    && typeof (err as { message?: unknown }).message === 'string'
    ? (err as { message: string }).message : String(err);
  return `modbus: ${message}`;
}

async function modbusConnect(options: ModbusTurnstileOptions): Promise<HalResult<ModbusRTU>> {
  const client = new MODBUS_RTU();
  try {
    await client.connectRTUBuffered(options.path, {
      baudRate: options.baudRate,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
    });
  } catch (err) {
    return halErr(HalStatus.READER_IO, `cannot open ${options.path}: ${modbusErrorDetail(err)}`);
  }
  client.setID(options.unitId);
  client.setTimeout(options.timeoutMs);
  return halOk(client);
}

function closeClient(client: ModbusRTU): Promise<void> {
  return new Promise((resolve) => {
    if (!client.isOpen) {
      resolve();
      return;
    }
    client.close(() => resolve());
  });
}
