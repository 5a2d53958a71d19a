// The PSAM at boot: power it, select the transport-ministry application, read the terminal
// number (file 0016), the purchase key index and the validity dates (file 0017), or say
// exactly why not. The dates are checked at every T-Union tap (tunion_session.ts): a PSAM past
// its end date is refused as the issuer's system would refuse its purchases.
//
// See domain.md 7.2: AID "A000000632" ‖ "MOT.CPSAM01", 0016 = 6-byte terminal number, 0017 =
// key index (1) ‖ issuer id (8) ‖ receiver id (8) ‖ start date (4) ‖ end date (4).

import type { PsamPort } from '../../../../hal/src/ports/psam_port.js';
import {
  psamCommand,
  readTerminalNumber,
  selectPsamApplication,
  type PsamCommandError,
} from '../../../../hal/src/pcsc/psam_commands.js';
import type { ValidatorPsam } from './validator_ports.js';
import { isCalendarDay } from './validator_time.js';

/** READ BINARY of file 0017 by SFI (`00 B0 97 00 19`): 25 bytes. */
const READ_0017 = Uint8Array.of(0x00, 0xb0, 0x97, 0x00, 0x19);
const FILE_0017_BYTES = 0x19;

/** Timeouts of the boot dialogue, ms. */
export interface TunionPsamOptions {
  readonly powerOnTimeoutMs: number;
  readonly transmitTimeoutMs: number;
}

/** A PSAM answers its ATR in well under a second; commands take tens of ms (bench/README). */
export const TUNION_PSAM_OPTIONS_DEFAULT: TunionPsamOptions = {
  powerOnTimeoutMs: 2000,
  transmitTimeoutMs: 2000,
};

/** Why the PSAM could not be opened; `step` names the command that failed. */
export interface TunionPsamProblem {
  readonly step: 'power-on' | 'select' | 'read-0016' | 'read-0017';
  readonly detail: string;
}

export type TunionPsamResult =
  | { readonly ok: true; readonly value: ValidatorPsam }
  | { readonly ok: false; readonly problem: TunionPsamProblem };

function detailOf(error: PsamCommandError): string {
  switch (error.kind) {
    case 'hal':
      return `${error.status}: ${error.detail}`;
    case 'status':
      return `SW ${error.sw.toString(16).padStart(4, '0').toUpperCase()}`;
    case 'malformed':
      return error.detail;
    default: {
      const never: never = error;
      return String(never);
    }
  }
}

/**
 * Powers the PSAM on `port` and reads what the validator needs. Never throws on PSAM or port
 * behaviour: a missing card, a dead reader, a refused SELECT, a short or refused READ BINARY
 * each give a problem naming the step and the cause (HAL status, status word or length).
 */
export async function tunionPsamOpen(
  port: PsamPort,
  options: TunionPsamOptions,
): Promise<TunionPsamResult> {
  const failed = (step: TunionPsamProblem['step'], detail: string): TunionPsamResult => ({
    ok: false,
    problem: { step, detail },
  });
  // Powered but not opened is unpowered again: a slot left powered reads as a PSAM in use
  // (slotState 'powered'), and the keeper would never try it again.
  const fail = async (step: TunionPsamProblem['step'], detail: string)
    : Promise<TunionPsamResult> => {
    await port.powerOff();
    return failed(step, detail);
  };
  const atr = await port.powerOn({ timeoutMs: options.powerOnTimeoutMs });
  if (!atr.ok) return failed('power-on', `${atr.error}: ${atr.detail}`);
  const command = { timeoutMs: options.transmitTimeoutMs };
  const selected = await selectPsamApplication(port, command);
  if (!selected.ok) return fail('select', detailOf(selected.error));
  const terminal = await readTerminalNumber(port, command);
  if (!terminal.ok) return fail('read-0016', detailOf(terminal.error));
  const keyFile = await psamCommand(port, READ_0017, FILE_0017_BYTES, command);
  if (!keyFile.ok) return fail('read-0017', detailOf(keyFile.error));
  const validity = psamValidity(keyFile.value);
  if (typeof validity === 'string') return fail('read-0017', validity);
  return {
    ok: true,
    value: {
      port,
      terminalNumber: terminal.value,
      keyIndex: keyFile.value[0] ?? 0,
      ...validity,
      transmitTimeoutMs: options.transmitTimeoutMs,
    },
  };
}

/**
 * File 0017's start and end dates (bytes 18-21 and 22-25, BCD YYYYMMDD; domain.md 7.2), or
 * why they cannot be used: not BCD, not a calendar day, or an end before the start.
 */
export function psamValidity(file0017: Uint8Array)
  : Pick<ValidatorPsam, 'validFromDigits' | 'validToDigits'> | string {
  const digits = (at: number): string =>
    Buffer.from(file0017.subarray(at, at + 4)).toString('hex').toUpperCase();
  const from = digits(17);
  const to = digits(21);
  for (const [name, day] of [['start', from], ['end', to]] as const) {
    if (!isCalendarDay(day)) return `${name} date ${day} is not a date YYYYMMDD`;
  }
  if (to < from) return `validity ends (${to}) before it starts (${from})`;
  return { validFromDigits: from, validToDigits: to };
}

/** The problem as one sentence for the operator. */
export function tunionPsamProblemText(problem: TunionPsamProblem): string {
  return `PSAM ${problem.step} failed: ${problem.detail}`;
}
