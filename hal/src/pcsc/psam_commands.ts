// The PSAM commands of a JT/T 978 purchase over any PsamPort, with every bad answer mapped to
// one defined error: select the application, read the terminal number, INIT and CREDIT SAM.
//
// See domain.md 7.2 (AID, file 0016) and 7.4 steps 3 and 7. Lives beside the PC/SC driver for
// now; it uses only the port, so any PSAM driver can use it.

import type { HalStatus } from '../ports/hal_status.js';
import type { PsamPort } from '../ports/psam_port.js';

/** Transport-ministry PSAM AID "A000000632" ‖ "MOT.CPSAM01" (domain.md 7.2). */
export const PSAM_AID_HEX = 'a0000006324d4f542e435053414d3031';

/** Why a PSAM command failed. */
export type PsamCommandError =
  /** The port failed (card gone, reader gone, timeout...). */
  | { readonly kind: 'hal'; readonly status: HalStatus; readonly detail: string }
  /** The PSAM answered a status word other than 9000. */
  | { readonly kind: 'status'; readonly sw: number }
  /** 9000 with data of the wrong length. */
  | { readonly kind: 'malformed'; readonly detail: string };

export type PsamCommandResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: PsamCommandError };

/** Options of every command: the port's timeout for the whole exchange, ms. */
export interface PsamCommandOptions {
  readonly timeoutMs: number;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Sends `capdu`, insists on 9000 and, when `dataBytes` is given, on that many data bytes.
 * Errors: hal (the port's), status (SW not 9000), malformed (data length).
 */
export async function psamCommand(
  port: PsamPort,
  capdu: Uint8Array,
  dataBytes: number | null,
  options: PsamCommandOptions,
): Promise<PsamCommandResult<Uint8Array>> {
  const answer = await port.transmit(capdu, { timeoutMs: options.timeoutMs });
  if (!answer.ok)
    return { ok: false, error: { kind: 'hal', status: answer.error, detail: answer.detail } };
  const r = answer.value;
  const sw = ((r[r.length - 2] ?? 0) << 8) | (r[r.length - 1] ?? 0);
  if (sw !== 0x9000) return { ok: false, error: { kind: 'status', sw } };
  const data = r.slice(0, r.length - 2);
  if (dataBytes !== null && data.length !== dataBytes) {
    const detail = `${data.length} data bytes, expected ${dataBytes}`;
    return { ok: false, error: { kind: 'malformed', detail } };
  }
  return { ok: true, value: data };
}

/** SELECT the PSAM application by name (`00 A4 04 00 10` AID); returns the FCI. */
export function selectPsamApplication(
  port: PsamPort,
  options: PsamCommandOptions,
): Promise<PsamCommandResult<Uint8Array>> {
  const capdu = Uint8Array.of(0x00, 0xa4, 0x04, 0x00, 0x10, ...hexBytes(PSAM_AID_HEX), 0x00);
  return psamCommand(port, capdu, null, options);
}

/** READ BINARY of file 0016 (`00 B0 96 00 06`): the 6-byte terminal number. */
export function readTerminalNumber(
  port: PsamPort,
  options: PsamCommandOptions,
): Promise<PsamCommandResult<Uint8Array>> {
  return psamCommand(port, Uint8Array.of(0x00, 0xb0, 0x96, 0x00, 0x06), 6, options);
}

/** The answer of INIT SAM FOR PURCHASE. */
export interface InitSamAnswer {
  /** Terminal transaction serial (4 bytes binary, as a number). */
  readonly terminalSerial: number;
  readonly mac1: Uint8Array;
}

/**
 * INIT SAM FOR PURCHASE `80 70 00 00 24` ‖ data (36 bytes, domain.md 7.4 step 3) → terminal
 * transaction serial (4) ‖ MAC1 (4). Errors as `psamCommand`; malformed when `data` is not 36
 * bytes (nothing is sent then) or the answer is not 8 bytes.
 */
export async function initSamForPurchase(
  port: PsamPort,
  data: Uint8Array,
  options: PsamCommandOptions,
): Promise<PsamCommandResult<InitSamAnswer>> {
  if (data.length !== 0x24) {
    return {
      ok: false,
      error: { kind: 'malformed', detail: `INIT SAM data ${data.length} bytes` },
    };
  }
  const capdu = Uint8Array.of(0x80, 0x70, 0x00, 0x00, 0x24, ...data, 0x08);
  const result = await psamCommand(port, capdu, 8, options);
  if (!result.ok) return result;
  const v = result.value;
  const terminalSerial =
    (((v[0] ?? 0) << 24) | ((v[1] ?? 0) << 16) | ((v[2] ?? 0) << 8) | (v[3] ?? 0)) >>> 0;
  return { ok: true, value: { terminalSerial, mac1: v.slice(4, 8) } };
}

/**
 * CREDIT SAM FOR PURCHASE `80 72 00 00 04` ‖ MAC2 (domain.md 7.4 step 7): 9000 when the PSAM
 * accepts the card's MAC2; status 9302 when it does not. Errors as `psamCommand`; malformed
 * when `mac2` is not 4 bytes (nothing sent) or the PSAM answers data.
 */
export async function creditSamForPurchase(
  port: PsamPort,
  mac2: Uint8Array,
  options: PsamCommandOptions,
): Promise<PsamCommandResult<void>> {
  if (mac2.length !== 4) {
    return { ok: false, error: { kind: 'malformed', detail: `MAC2 ${mac2.length} bytes` } };
  }
  const result = await psamCommand(
    port,
    Uint8Array.of(0x80, 0x72, 0x00, 0x00, 0x04, ...mac2),
    0,
    options,
  );
  return result.ok ? { ok: true, value: undefined } : result;
}
