// libgpiod 1.6 command lines for the turnstile and the parser of gpiomon's event lines.

/** Line offsets on the chip. */
export interface GpioTurnstileLines {
  /** Output: entry-direction release relay (1 = released). */
  readonly entryRelay: number;
  /** Output: exit-direction release relay. */
  readonly exitRelay: number;
  /** Output: alarm beacon. */
  readonly alarm: number;
  /** Input: pass sensor (active = someone in the beam). */
  readonly sensor: number;
}

/** One edge as gpiomon prints it. */
export interface GpiomonEvent {
  readonly edge: 'rising' | 'falling';
  readonly offset: number;
  readonly timestampNs: bigint;
}

/** `gpioset --mode=signal CHIP entry=V exit=V alarm=V`: holds the lines until SIGTERM. */
export function gpiosetArgs(
  chip: string,
  lines: GpioTurnstileLines,
  values: { readonly entry: boolean; readonly exit: boolean; readonly alarm: boolean },
): string[] {
  const bit = (on: boolean): string => (on ? '1' : '0');
  return [
    '--mode=signal',
    chip,
    `${lines.entryRelay}=${bit(values.entry)}`,
    `${lines.exitRelay}=${bit(values.exit)}`,
    `${lines.alarm}=${bit(values.alarm)}`,
  ];
}

/** `gpiomon -b [-l] CHIP SENSOR`: both edges, line-buffered, default (human) format. */
export function gpiomonArgs(chip: string, sensor: number, activeLow: boolean): string[] {
  return ['-b', ...(activeLow ? ['-l'] : []), chip, String(sensor)];
}

/** `gpioget [-l] CHIP SENSOR`: prints the line's active state, 0 or 1. */
export function gpiogetArgs(chip: string, sensor: number, activeLow: boolean): string[] {
  return [...(activeLow ? ['-l'] : []), chip, String(sensor)];
}

/**
 * Parses one line of gpiomon's default output, e.g.
 * `event:  RISING EDGE offset: 17 timestamp: [    1605.123456789]` (libgpiod 1.6 pads the
 * edge name and the seconds). Null for anything else (gpiomon prints nothing else there).
 */
export function gpiomonEventParse(line: string): GpiomonEvent | null {
  const m = /^event:\s+(RISING|FALLING) EDGE offset:\s*(\d+) timestamp:\s*\[\s*(\d+)\.(\d{9})\]\s*$/
    .exec(line);
  if (m === null) return null;
  const [, edge, offset, seconds, nanos] = m;
  if (edge === undefined || offset === undefined || seconds === undefined || nanos === undefined) {
    return null;
  }
  return {
    edge: edge === 'RISING' ? 'rising' : 'falling',
    offset: Number(offset),
    timestampNs: BigInt(seconds) * 1_000_000_000n + BigInt(nanos),
  };
}
