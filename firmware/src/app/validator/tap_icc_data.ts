// The terminal's part of a tap's ICC data (ISO 8583 field 55): capabilities, type, IFD serial,
// application version and the transaction sequence counter, added to the kernel's record.
//
// The kernel writes what the card and the transaction gave (9F26 9F27 9F10 9F37 9F36 95 9A 9C
// 9F02 9F03 5F2A 82 84 9F1A, 9F63 when the card has it); the terminal-static objects are the
// firmware's (assembly/README.md, "Outputs"). An acquirer's authorisation or clearing advice
// needs both (UnionPay field 55; EMV 4.4 Book 4, Annex C, terminal data elements).

import { decodeTlv, tlvEncode, type TlvObject } from '../../../../assembly/host/qpboc_session.js';

/** EMV 4.4 Book 3, Annex A: tags of the terminal data elements added to field 55. */
export const TAG_9F33_TERMINAL_CAPABILITIES = 0x9f33;
export const TAG_9F35_TERMINAL_TYPE = 0x9f35;
export const TAG_9F1E_IFD_SERIAL_NUMBER = 0x9f1e;
export const TAG_9F09_APPLICATION_VERSION_NUMBER = 0x9f09;
export const TAG_9F41_TRANSACTION_SEQUENCE_COUNTER = 0x9f41;
export const TAG_9F34_CVM_RESULTS = 0x9f34;

/**
 * 9F34 when the kernel reports none: '3F' no CVM performed, condition '00', result '00'
 * (EMV 4.4 Book 4, A4). A validator never asks for a PIN or a signature.
 */
export const CVM_RESULTS_NO_CVM_PERFORMED: Uint8Array = Uint8Array.of(0x3f, 0x00, 0x00);

/** The terminal data a board is configured with (hex as EMV gives the bytes). */
export interface TerminalData {
  /** 9F33, 3 bytes (EMV 4.4 Book 4, A2): card input, CVM and security capabilities. */
  readonly capabilitiesHex: string;
  /** 9F35, 1 byte n2 (EMV 4.4 Book 4, A1): operator digit 1-3, environment digit 1-6. */
  readonly typeHex: string;
  /**
   * 9F1E, an 8: the device's serial number, exactly 8 letters or digits. Null takes it from
   * the parameter set's terminal ID (its last 8 letters and digits, zero-filled on the left).
   */
  readonly ifdSerial: string | null;
  /** 9F09, 2 bytes: the payment application version the terminal implements. */
  readonly appVersionHex: string;
}

/**
 * A contactless-only, unattended bus validator: 9F33 00 08 C8 (no contact or magnetic-stripe
 * input; no CVM required; SDA, DDA and CDA), 9F35 25 (merchant-operated, unattended, offline
 * with online capability: admissions are authorised later over the data link), 9F09 0030
 * (PBOC 3.0).
 */
export const TERMINAL_DATA_BUS_VALIDATOR: TerminalData = {
  capabilitiesHex: '0008C8',
  typeHex: '25',
  ifdSerial: null,
  appVersionHex: '0030',
};

/** 9F41 is n 4-8 (EMV 4.4 Book 3, Annex A): we send 8 digits, the counter modulo 10^8. */
const TSC_MODULUS = 100_000_000;

/** 3 and 2 bytes of hex: compiled once, not at each check. */
const HEX_3_BYTES = /^[0-9A-Fa-f]{6}$/;
const HEX_2_BYTES = /^[0-9A-Fa-f]{4}$/;

/** Why `data` is unusable (a sentence naming the field), or null when it is valid. */
export function terminalDataProblem(data: TerminalData): string | null {
  if (!HEX_3_BYTES.test(data.capabilitiesHex)) return '9F33 terminal capabilities: 3 hex bytes';
  if (!/^[1-3][1-6]$/.test(data.typeHex)) return '9F35 terminal type: digits 1-3 then 1-6';
  if (data.ifdSerial !== null && !/^[A-Za-z0-9]{8}$/.test(data.ifdSerial)) {
    return '9F1E IFD serial number: exactly 8 letters or digits';
  }
  if (!HEX_2_BYTES.test(data.appVersionHex)) return '9F09 application version: 2 hex bytes';
  return null;
}

/** 9F1E of `data`, from the terminal ID when not configured. */
export function ifdSerialOf(data: TerminalData, terminalId: string): string {
  if (data.ifdSerial !== null) return data.ifdSerial;
  return terminalId
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(-8)
    .padStart(8, '0');
}

const bytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));

/**
 * 9F33 9F35 9F1E 9F09 as BER-TLV: what the kernel may put into a PDOL or CDOL and what field
 * 55 carries. `data` must be valid (terminalDataProblem); an invalid one is a programmer error.
 */
export function terminalDataTlv(data: TerminalData, terminalId: string): Uint8Array {
  const problem = terminalDataProblem(data);
  if (problem !== null) throw new RangeError(`terminal data: ${problem}`);
  return Buffer.concat([
    tlvEncode(TAG_9F33_TERMINAL_CAPABILITIES, bytes(data.capabilitiesHex)),
    tlvEncode(TAG_9F35_TERMINAL_TYPE, bytes(data.typeHex)),
    tlvEncode(TAG_9F1E_IFD_SERIAL_NUMBER, Buffer.from(ifdSerialOf(data, terminalId), 'ascii')),
    tlvEncode(TAG_9F09_APPLICATION_VERSION_NUMBER, bytes(data.appVersionHex)),
  ]);
}

/**
 * terminalDataTlv of the last inputs, encoded again only when one of them changed (by value:
 * the four fields and the terminal ID). Every clearing record needs it, and it changes only
 * with the configuration or a parameter set with another terminal ID. The bytes it returns
 * are shared between calls: read them, never write them.
 */
export class TerminalDataTlvMemo {
  private capabilitiesHex = '';
  private typeHex = '';
  private ifdSerial: string | null = null;
  private appVersionHex = '';
  private terminalId = '';
  private tlv: Uint8Array | null = null;

  of(data: TerminalData, terminalId: string): Uint8Array {
    if (
      this.tlv !== null &&
      data.capabilitiesHex === this.capabilitiesHex &&
      data.typeHex === this.typeHex &&
      data.ifdSerial === this.ifdSerial &&
      data.appVersionHex === this.appVersionHex &&
      terminalId === this.terminalId
    ) {
      return this.tlv;
    }
    // An invalid `data` throws here, as terminalDataTlv does, and leaves the memo as it was.
    const tlv = terminalDataTlv(data, terminalId);
    this.capabilitiesHex = data.capabilitiesHex;
    this.typeHex = data.typeHex;
    this.ifdSerial = data.ifdSerial;
    this.appVersionHex = data.appVersionHex;
    this.terminalId = terminalId;
    this.tlv = tlv;
    return tlv;
  }
}

/**
 * 9F41 of the tap whose first journal record gets `seq` (its grey record, or its declined or
 * final record): the counter modulo 10^8. The host computes it as the journal's last seq + 1
 * when the transaction begins. The journal's seq is durable and strictly increasing across
 * restarts and power cuts, so no two records ever carry the same counter within 10^8 taps;
 * a tap that wrote nothing leaves its counter to the next tap, and no record shows it.
 * `seq` must be a positive safe integer.
 */
export function transactionSequenceCounterOf(seq: number): number {
  if (!(Number.isSafeInteger(seq) && seq >= 1)) throw new RangeError(`journal seq ${seq}`);
  return seq % TSC_MODULUS;
}

/** 9F41 of `seq` as n8 BCD (4 bytes): see transactionSequenceCounterOf. */
export function transactionSequenceCounter(seq: number): Uint8Array {
  let value = transactionSequenceCounterOf(seq);
  const out = new Uint8Array(4);
  // Two decimal digits a byte, the lowest two in the last byte: no string on the way.
  for (let at = 3; at >= 0; at -= 1) {
    const pair = value % 100;
    out[at] = (Math.floor(pair / 10) << 4) | pair % 10;
    value = Math.floor(value / 100);
  }
  return out;
}

/**
 * The kernel's record with the terminal's objects added: `terminalTlv` (terminalDataTlv), 9F41
 * `tsc` and 9F34 (no CVM performed), each only when the kernel's record does not already carry
 * that tag. Null when `record` is not a well-formed BER-TLV list (the caller keeps the
 * kernel's bytes then).
 */
export function iccDataWithTerminal(
  record: Uint8Array,
  terminalTlv: Uint8Array,
  tsc: Uint8Array,
): Uint8Array | null {
  let present: readonly TlvObject[];
  let terminal: readonly TlvObject[];
  try {
    present = decodeTlv(record);
    terminal = decodeTlv(terminalTlv);
  } catch {
    return null;
  }
  // A record has a dozen or two objects: a list is searched faster than a Set is built.
  const tags = present.map((o) => o.tag);
  const added = [
    ...terminal,
    { tag: TAG_9F34_CVM_RESULTS, value: CVM_RESULTS_NO_CVM_PERFORMED },
    { tag: TAG_9F41_TRANSACTION_SEQUENCE_COUNTER, value: tsc },
  ]
    .filter((o) => !tags.includes(o.tag))
    .map((o) => tlvEncode(o.tag, o.value));
  return Buffer.concat([record, ...added]);
}
