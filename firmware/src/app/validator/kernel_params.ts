// Loads the active parameter set into the kernel: terminal configuration, CA keys, revocations.

import { KernelOp, KernelStatus, kernelStatusName } from '../../../../assembly/host/abi.gen.js';
import type { Kernel } from '../../../../assembly/host/kernel_loader.js';
import {
  configureQpboc,
  tlvEncode,
  type QpbocTerminalConfig,
} from '../../../../assembly/host/qpboc_session.js';
import type { TerminalLimits } from '../params/params_files.js';
import type { ParamSet } from '../params/params_store.js';
import { ifdSerialOf, terminalDataProblem, type TerminalData } from './tap_icc_data.js';

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

function bcd4(value: number): string {
  return value.toString().padStart(4, '0');
}

/** The UnionPay parameter TLV of one CA key (9F06 9F22 DF05 DF06 DF07 DF02 DF04 DF03). */
export function caKeyTlv(key: ParamSet['caKeys'][number]): Uint8Array {
  return Buffer.concat([
    tlvEncode(0x9f06, bytes(key.ridHex)),
    tlvEncode(0x9f22, Uint8Array.of(key.index)),
    tlvEncode(0xdf05, bytes(key.expiryYyyymmdd)),
    tlvEncode(0xdf06, Uint8Array.of(key.hashAlgorithm)),
    tlvEncode(0xdf07, Uint8Array.of(key.pkAlgorithm)),
    tlvEncode(0xdf02, bytes(key.modulusHex)),
    ...(key.exponentHex === '' ? [] : [tlvEncode(0xdf04, bytes(key.exponentHex))]),
    tlvEncode(0xdf03, bytes(key.checkValueHex)),
  ]);
}

/** The parameter set's DF19/DF20/DF21 as the kernel configuration's limits (none: no limit). */
function kernelLimitsOf(limits: TerminalLimits | undefined): Partial<QpbocTerminalConfig> {
  if (limits === undefined) return {};
  return {
    floorLimitMinor: limits.contactlessFloorLimitMinor,
    contactlessLimitMinor: limits.contactlessTransactionLimitMinor,
    cvmLimitMinor: limits.cvmLimitMinor,
  };
}

/**
 * Configures the kernel from `params` and the board's `terminal` data (offered to the card's
 * PDOL and CDOL). Returns null on success, or a message naming the part that is invalid or
 * that the kernel refused (the validator then stays out of service).
 */
export function kernelLoadParams(
  kernel: Kernel,
  params: ParamSet,
  terminal: TerminalData,
): string | null {
  const problem = terminalDataProblem(terminal);
  if (problem !== null) return `terminal data: ${problem}`;
  const configured = configureQpboc(kernel, {
    countryCode: bcd4(params.fares.currencyCode),
    currencyCode: bcd4(params.fares.currencyCode),
    aids: params.aids.map((a) => ({ aid: bytes(a.aidHex), partialMatch: a.partialMatch })),
    terminalCapabilities: terminal.capabilitiesHex,
    terminalType: terminal.typeHex,
    ifdSerialNumber: ifdSerialOf(terminal, params.terminal.terminalId),
    applicationVersion: terminal.appVersionHex,
    ...kernelLimitsOf(params.terminal.limits),
  });
  if (configured !== KernelStatus.STATUS_OK)
    return `terminal configuration: ${kernelStatusName(configured)}`;
  kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0));
  for (const key of params.caKeys) {
    const status = kernel.step(KernelOp.OP_CAPK_LOAD, 0, caKeyTlv(key));
    if (status !== KernelStatus.STATUS_OK) {
      return `CA key ${key.ridHex}/${key.index.toString(16)}: ${kernelStatusName(status)}`;
    }
  }
  if (params.caRevocations.length > 0) {
    const revoked = Buffer.concat(
      params.caRevocations.map((r) =>
        Buffer.concat([bytes(r.ridHex), Uint8Array.of(r.caIndex), bytes(r.certificateSerialHex)]),
      ),
    );
    const status = kernel.step(KernelOp.OP_CAPK_REVOKE, 0, revoked);
    if (status !== KernelStatus.STATUS_OK) return `CA revocation list: ${kernelStatusName(status)}`;
  }
  return null;
}
