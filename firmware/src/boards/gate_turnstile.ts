// The gate board's turnstile from its command-line spec: a Modbus RTU controller or GPIO lines.
//
//   modbus:/dev/ttyUSB0?unit=1&baud=9600&timeoutMs=300
//   gpio:gpiochip0?entry=17&exit=18&alarm=27&sensor=22&activeLow=0
//
// Every key is required (no hidden defaults, hal/README.md rule 5), no other is taken, none
// twice; a bad spec is a usage error naming the key, a device that does not open is READER_IO
// from the driver.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { HalResult } from '../../../hal/src/ports/hal_status.js';
import type { TurnstilePort } from '../../../hal/src/ports/turnstile_port.js';
import { GpioTurnstile } from '../../../hal/src/turnstile/gpio_turnstile.js';
import { ModbusTurnstile } from '../../../hal/src/turnstile/modbus_turnstile.js';

/** A parsed turnstile spec. */
export type GateTurnstileSpec =
  | {
      readonly kind: 'modbus';
      readonly path: string;
      readonly unitId: number;
      readonly baudRate: number;
      readonly timeoutMs: number;
    }
  | {
      readonly kind: 'gpio';
      readonly chip: string;
      readonly lines: { entryRelay: number; exitRelay: number; alarm: number; sensor: number };
      readonly sensorActiveLow: boolean;
    };

const BAUD_RATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200];

/** The keys of each kind: a spec with any other key, or a key twice, is refused. */
const SPEC_KEYS: Readonly<Record<'modbus' | 'gpio', readonly string[]>> = {
  modbus: ['unit', 'baud', 'timeoutMs'],
  gpio: ['entry', 'exit', 'alarm', 'sensor', 'activeLow'],
};

/** Parses a spec; an Error names the problem (the CLI prints it with its usage). */
export function gateTurnstileSpecParse(text: string): GateTurnstileSpec {
  const m = /^(modbus|gpio):([^?]+)\?(.*)$/.exec(text);
  if (m === null) {
    throw new Error(`turnstile spec '${text}': expected modbus:PATH?... or gpio:CHIP?...`);
  }
  const [, kind, target, query] = m;
  const params = new URLSearchParams(query);
  specKeysCheck(params, SPEC_KEYS[kind === 'modbus' ? 'modbus' : 'gpio']);
  const int = (key: string, min: number, max: number): number => {
    const value = params.get(key);
    const inRange = value !== null && /^[0-9]{1,7}$/.test(value)
      && Number(value) >= min && Number(value) <= max;
    if (!inRange) {
      throw new Error(`turnstile spec: ${key} must be an integer in ${min}..${max}`);
    }
    return Number(value);
  };
  if (kind === 'modbus') {
    const baudRate = int('baud', 1200, 115200);
    if (!BAUD_RATES.includes(baudRate)) throw new Error(`turnstile spec: baud ${baudRate} unusual`);
    return {
      kind, path: target ?? '', unitId: int('unit', 1, 247), baudRate,
      timeoutMs: int('timeoutMs', 20, 10_000),
    };
  }
  const lines = {
    entryRelay: int('entry', 0, 511), exitRelay: int('exit', 0, 511), alarm: int('alarm', 0, 511),
    sensor: int('sensor', 0, 511),
  };
  if (new Set(Object.values(lines)).size !== 4) {
    throw new Error('turnstile spec: lines must differ');
  }
  return { kind: 'gpio', chip: target ?? '', lines, sensorActiveLow: int('activeLow', 0, 1) === 1 };
}

/**
 * Refuses keys the driver does not take (ignored, `parity=E` would leave 8N1 on the wire while
 * the operator reads 8E1) and a key given twice (only the first would count).
 */
function specKeysCheck(params: URLSearchParams, known: readonly string[]): void {
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (!known.includes(key)) {
      throw new Error(`turnstile spec: unknown key '${key}' (keys: ${known.join(', ')})`);
    }
    if (seen.has(key)) throw new Error(`turnstile spec: '${key}' given twice`);
    seen.add(key);
  }
}

/** Opens the turnstile a spec names. Errors: the driver's (READER_IO when absent). */
export async function gateTurnstileOpen(
  spec: GateTurnstileSpec,
  clock: ClockPort,
): Promise<HalResult<TurnstilePort>> {
  if (spec.kind === 'modbus') {
    return ModbusTurnstile.open({
      path: spec.path, baudRate: spec.baudRate, unitId: spec.unitId, timeoutMs: spec.timeoutMs,
    });
  }
  return GpioTurnstile.open({
    chip: spec.chip, lines: spec.lines, sensorActiveLow: spec.sensorActiveLow, settleMs: 100,
    clock,
  });
}
