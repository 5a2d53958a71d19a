// `shuaka inspect` for SM cards: decodes the SM certificates and SDAD (domain.md 3.6) and has
// the kernel verify each (OP_ODA_SM_RECOVER_ISSUER, _RECOVER_ICC, _VERIFY_SDAD).

import { KernelOp, KernelStatus, kernelStatusName } from '../../../assembly/host/abi.gen.js';
import type { Kernel } from '../../../assembly/host/kernel_loader.js';
import {
  findTlv,
  tlvEncode,
  type QpbocOutcome,
  type TlvObject,
} from '../../../assembly/host/qpboc_session.js';
import { detailName } from './qpboc_trace.js';

/** Format byte of an SM issuer certificate (domain.md 3.6): an RSA one is ciphertext. */
const SM_FORMAT_12_ISSUER = 0x12;
const SIGNATURE_BYTES = 64;

/** What the kernel collected for the card (OP_TXN_DUMP parts) and the static data. */
export interface SmInspectInput {
  readonly card: readonly TlvObject[];
  readonly terminal: readonly TlvObject[];
  readonly fci: readonly TlvObject[];
  readonly staticData: Uint8Array;
  readonly outcome: QpbocOutcome;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** The SM report: the same keys as the RSA report, plus the algorithm. */
export interface SmOdaReport {
  readonly algorithm: string;
  readonly issuerCertificate: Record<string, unknown>;
  readonly iccCertificate: Record<string, unknown>;
  readonly fdda: Record<string, unknown>;
}

/** True when the card's issuer certificate (90) has the SM layout and length. */
export function isSmCard(card: readonly TlvObject[]): boolean {
  const cert = findTlv(card, 0x90);
  if (cert === null || cert.length < 14 + SIGNATURE_BYTES) return false;
  return cert[0] === SM_FORMAT_12_ISSUER && cert.length === 14 + (cert[13] ?? 0) + SIGNATURE_BYTES;
}

/**
 * Fields of an SM certificate whose header is `header` bytes long (14 issuer, 20 ICC): the
 * identity fields, algorithm bytes, the public key and the signature r, s.
 */
function certificateFields(cert: Uint8Array, header: number): Record<string, unknown> {
  const keyLength = cert[header - 1] ?? 0;
  const key = cert.subarray(header, header + keyLength);
  const signature = cert.subarray(header + keyLength);
  const identity = header === 14
    ? { issuerId: hex(cert.subarray(1, 5)), expiryMmyy: hex(cert.subarray(5, 7)),
      serial: hex(cert.subarray(7, 10)) }
    : { pan: hex(cert.subarray(1, 11)), expiryMmyy: hex(cert.subarray(11, 13)),
      serial: hex(cert.subarray(13, 16)) };
  return {
    format: hex(cert.subarray(0, 1)),
    ...identity,
    hashAlgorithm: hex(cert.subarray(header - 4, header - 3)),
    keyAlgorithm: hex(cert.subarray(header - 3, header - 2)),
    parameterIndicator: hex(cert.subarray(header - 2, header - 1)),
    publicKey: keyLength === 64
      ? { x: hex(key.subarray(0, 32)), y: hex(key.subarray(32)) }
      : { encoded: hex(key) },
    signature: { r: hex(signature.subarray(0, 32)), s: hex(signature.subarray(32)) },
  };
}

function sdadFields(sdad: Uint8Array): Record<string, unknown> {
  const length = sdad[1] ?? 0;
  const dynamic = sdad.subarray(2, 2 + length);
  const signature = sdad.subarray(2 + length);
  return {
    format: hex(sdad.subarray(0, 1)),
    iccDynamicData: hex(dynamic),
    idn: hex(dynamic.subarray(1, 1 + (dynamic[0] ?? 0))),
    signature: { r: hex(signature.subarray(0, 32)), s: hex(signature.subarray(32)) },
  };
}

function verdict(kernel: Kernel, op: number, arg: number, input: Uint8Array): string {
  const status = kernel.step(op, arg, input);
  return status === KernelStatus.STATUS_OK ? 'verified' : kernelStatusName(status);
}

/**
 * The SM part of the inspect report: each object decoded, then verified in chain order by the
 * kernel (a later object is 'not attempted' when the key it needs was not recovered).
 */
export function smOdaReport(kernel: Kernel, input: SmInspectInput): SmOdaReport {
  const { card, terminal, fci, staticData, outcome } = input;
  const pick = (from: readonly TlvObject[], tags: readonly number[]): Uint8Array[] =>
    tags.flatMap((tag) => {
      const value = findTlv(from, tag);
      return value === null ? [] : [tlvEncode(tag, value)];
    });
  const pan = findTlv(card, 0x5a) === null ? pick(card, [0x57]) : pick(card, [0x5a]);
  const issuer = findTlv(card, 0x90) ?? new Uint8Array(0);
  const icc = findTlv(card, 0x9f46);
  const sdad = findTlv(card, 0x9f4b);
  const issuerTlv = Buffer.concat([...pick(fci, [0x84]), ...pick(terminal, [0x9a]),
    ...pick(card, [0x8f, 0x90]), ...pan]);
  const issuerVerdict = verdict(kernel, KernelOp.OP_ODA_SM_RECOVER_ISSUER, 0, issuerTlv);
  const iccVerdict = icc === null || issuerVerdict !== 'verified'
    ? 'not attempted'
    : verdict(kernel, KernelOp.OP_ODA_SM_RECOVER_ICC, staticData.length,
      Buffer.concat([staticData, ...pick(card, [0x9f46]), ...pan, ...pick(terminal, [0x9a])]));
  const sdadVerdict = sdad === null || iccVerdict !== 'verified'
    ? 'not attempted'
    : verdict(kernel, KernelOp.OP_ODA_SM_VERIFY_SDAD, 0, Buffer.concat([
      ...pick(card, [0x9f4b, 0x9f36, 0x9f69]), ...pick(terminal, [0x9f37, 0x9f02, 0x5f2a])]));
  const cardAuth = findTlv(card, 0x9f69);
  return {
    algorithm: 'SM2/SM3 (PBOC 3.0, domain.md 3.6)',
    issuerCertificate: { status: issuerVerdict, ...certificateFields(issuer, 14) },
    iccCertificate: icc === null
      ? { status: 'absent' }
      : { status: iccVerdict, staticDataBytes: staticData.length, ...certificateFields(icc, 20) },
    fdda: {
      verdict: outcome.odaPerformed ? (outcome.odaPassed ? 'passed' : 'failed') : 'not performed',
      kernelDetail: outcome.odaPerformed && !outcome.odaPassed ? detailName(outcome.detail) : null,
      version: cardAuth === null ? '00' : hex(cardAuth.subarray(0, 1)),
      sdadPresent: sdad !== null,
      sdad: sdad === null ? null : { status: sdadVerdict, ...sdadFields(sdad) },
    },
  };
}
