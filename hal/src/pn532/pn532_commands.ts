// PN532 command codes, status-byte table, and pure builders/parsers of command payloads.
//
// See NXP UM0701-02 §7 (command set) and §7.1 (error codes). Pure module: the emulator in
// host-sim shares it, the driver in pn532_reader.ts speaks through it.

import { HalStatus } from '../ports/hal_status.js';
import type { DetectedCardTypeA, DetectedCardTypeB } from '../ports/reader_port.js';

export const PN532_CMD_00_DIAGNOSE = 0x00;
export const PN532_CMD_02_GET_FIRMWARE_VERSION = 0x02;
export const PN532_CMD_04_GET_GENERAL_STATUS = 0x04;
export const PN532_CMD_06_READ_REGISTER = 0x06;
export const PN532_CMD_08_WRITE_REGISTER = 0x08;
export const PN532_CMD_0C_READ_GPIO = 0x0c;
export const PN532_CMD_0E_WRITE_GPIO = 0x0e;
export const PN532_CMD_10_SET_SERIAL_BAUD_RATE = 0x10;
export const PN532_CMD_12_SET_PARAMETERS = 0x12;
export const PN532_CMD_14_SAM_CONFIGURATION = 0x14;
export const PN532_CMD_16_POWER_DOWN = 0x16;
export const PN532_CMD_32_RF_CONFIGURATION = 0x32;
export const PN532_CMD_40_IN_DATA_EXCHANGE = 0x40;
export const PN532_CMD_42_IN_COMMUNICATE_THRU = 0x42;
export const PN532_CMD_44_IN_DESELECT = 0x44;
export const PN532_CMD_4A_IN_LIST_PASSIVE_TARGET = 0x4a;
export const PN532_CMD_52_IN_RELEASE = 0x52;
export const PN532_CMD_54_IN_SELECT = 0x54;
export const PN532_CMD_60_IN_AUTO_POLL = 0x60;

/** Diagnose NumTst: communication line test (echo). */
export const PN532_DIAG_00_LINE_TEST = 0x00;
/** Diagnose NumTst: ISO/IEC 14443-4 card presence detection. */
export const PN532_DIAG_06_CARD_PRESENCE = 0x06;

/** SetParameters bits. */
export const PN532_PARAM_04_AUTO_ATR_RES = 0x04;
export const PN532_PARAM_10_AUTO_RATS = 0x10;

/** RFConfiguration items. */
export const PN532_RFCI_01_FIELD = 0x01;
export const PN532_RFCI_02_TIMINGS = 0x02;
export const PN532_RFCI_04_MAX_RTY_COM = 0x04;
export const PN532_RFCI_05_MAX_RETRIES = 0x05;

/** InListPassiveTarget BrTy values. */
export const PN532_BRTY_00_106_TYPE_A = 0x00;
export const PN532_BRTY_03_106_TYPE_B = 0x03;

/** Status-byte bits of InDataExchange and friends. */
export const PN532_STATUS_40_MI = 0x40;
export const PN532_STATUS_80_NAD = 0x80;
export const PN532_STATUS_ERROR_MASK_3F = 0x3f;
/** Tg bit the host sets in InDataExchange when more DataOut follows (host-side MI). */
export const PN532_TG_40_MORE_DATA = 0x40;

/** GetFirmwareVersion IC byte of a PN532. */
export const PN532_IC_32 = 0x32;
/** Support byte bits. */
export const PN532_SUPPORT_01_ISO14443A = 0x01;
export const PN532_SUPPORT_02_ISO14443B = 0x02;

/** PowerDown WakeUpEnable: HSU, SPI, GPIO, I2C (what libnfc sends, F0). */
export const PN532_WAKE_F0_HOST_LINKS = 0xf0;

/** DataOut bytes per InDataExchange frame: LEN 265 - TFI - CC - Tg (nfcpy's arithmetic). */
export const PN532_DATA_OUT_MAX = 262;
/** DataIn bytes per InDataExchange answer frame: LEN 265 - TFI - CC - status. */
export const PN532_DATA_IN_MAX = 262;
/** The PN532's power-on HSU speed. */
export const PN532_BAUD_POWER_ON = 115200;

/** SetSerialBaudRate BR codes, index = code. See UM0701-02 §7.2.8. */
export const PN532_BAUD_RATES: readonly number[] = [
  9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1288000,
];

/** BR code for a baud rate, or undefined when the PN532 does not offer it. */
export function pn532BaudCode(baudRate: number): number | undefined {
  const code = PN532_BAUD_RATES.indexOf(baudRate);
  return code < 0 ? undefined : code;
}

/** One row of the status table: HAL mapping plus the chip's own name for logs. */
export interface Pn532StatusInfo {
  readonly hal: HalStatus;
  readonly name: string;
}

/**
 * Chip status code (low 6 bits) to HAL status: the one table the driver maps through (nfcpy's
 * ERR, libnfc's pn53x_transceive switch). Why these choices:
 * - 01 (target did not answer): the PN532 has already handled WTX and its own retries, so
 *   silence means the card is out of the field: CARD_GONE, the tearing signal.
 * - RF damage (CRC, parity, bit count, collision) is TRANSMISSION: the same card may succeed.
 * - Chip-internal trouble (buffers, overheating, over-current) is READER_IO (Keyple's
 *   reader-versus-card split).
 * - Type B "card swapped/disappeared" and "released" are CARD_GONE.
 * - Everything else means we or the card broke the protocol: PROTOCOL.
 */
export const PN532_STATUS_TABLE: ReadonlyMap<number, Pn532StatusInfo> = new Map([
  [0x01, { hal: HalStatus.CARD_GONE, name: 'timeout, target did not answer' }],
  [0x02, { hal: HalStatus.TRANSMISSION, name: 'CRC error' }],
  [0x03, { hal: HalStatus.TRANSMISSION, name: 'parity error' }],
  [0x04, { hal: HalStatus.TRANSMISSION, name: 'erroneous bit count in anticollision' }],
  [0x05, { hal: HalStatus.TRANSMISSION, name: 'MIFARE framing error' }],
  [0x06, { hal: HalStatus.TRANSMISSION, name: 'abnormal bit collision' }],
  [0x07, { hal: HalStatus.READER_IO, name: 'communication buffer too small' }],
  [0x09, { hal: HalStatus.READER_IO, name: 'RF buffer overflow' }],
  [0x0a, { hal: HalStatus.PROTOCOL, name: 'active-mode peer field not on in time' }],
  [0x0b, { hal: HalStatus.PROTOCOL, name: 'RF protocol error' }],
  [0x0d, { hal: HalStatus.READER_IO, name: 'overheating, antenna drivers off' }],
  [0x0e, { hal: HalStatus.READER_IO, name: 'internal buffer overflow' }],
  [0x10, { hal: HalStatus.PROTOCOL, name: 'invalid parameter' }],
  [0x12, { hal: HalStatus.PROTOCOL, name: 'DEP: unsupported command' }],
  [0x13, { hal: HalStatus.PROTOCOL, name: 'format error in RF frame' }],
  [0x14, { hal: HalStatus.PROTOCOL, name: 'MIFARE authentication error' }],
  [0x23, { hal: HalStatus.TRANSMISSION, name: 'UID check byte (BCC) wrong' }],
  [0x25, { hal: HalStatus.PROTOCOL, name: 'DEP: invalid state' }],
  [0x26, { hal: HalStatus.PROTOCOL, name: 'operation not allowed in this configuration' }],
  [0x27, { hal: HalStatus.PROTOCOL, name: 'command not acceptable in current context' }],
  [0x29, { hal: HalStatus.CARD_GONE, name: 'released by initiator' }],
  [0x2a, { hal: HalStatus.CARD_GONE, name: 'type B card ID mismatch (card swapped)' }],
  [0x2b, { hal: HalStatus.CARD_GONE, name: 'type B card disappeared' }],
  [0x2c, { hal: HalStatus.PROTOCOL, name: 'NFCID3 mismatch' }],
  [0x2d, { hal: HalStatus.READER_IO, name: 'over-current' }],
  [0x2e, { hal: HalStatus.PROTOCOL, name: 'NAD missing in DEP frame' }],
]);

/** HAL mapping of a non-zero status code; unknown codes are PROTOCOL. */
export function pn532StatusInfo(code: number): Pn532StatusInfo {
  const masked = code & PN532_STATUS_ERROR_MASK_3F;
  return (
    PN532_STATUS_TABLE.get(masked) ?? {
      hal: HalStatus.PROTOCOL,
      name: `unknown status 0x${masked.toString(16)}`,
    }
  );
}

/**
 * RFConfiguration timeout code for at least `timeoutMs`: code n means 100 µs * 2^(n-1),
 * 1..16 (0x10 = 3.28 s). See UM0701-02 §7.3.1 item 2.
 */
export function pn532RfTimeoutCode(timeoutMs: number): number {
  for (let code = 1; code <= 0x10; code += 1) {
    if (0.1 * 2 ** (code - 1) >= timeoutMs) return code;
  }
  return 0x10;
}

/** Milliseconds a timeout code stands for (0 = no timeout, reported as 0). */
export function pn532RfTimeoutMs(code: number): number {
  return code === 0 ? 0 : 0.1 * 2 ** (code - 1);
}

/** A parsed target or the reason it could not be parsed. */
export type Pn532TargetParse<T> =
  | { readonly ok: true; readonly target: T; readonly tg: number; readonly next: number }
  | { readonly ok: false; readonly detail: string };

/**
 * Parses one 106 kbit/s type A target of an InListPassiveTarget answer at `offset`:
 * Tg SENS_RES(2) SEL_RES NFCIDLength NFCID1 [ATS]. The ATS is present when SEL_RES bit 0x20
 * says ISO 14443-4 (auto-RATS on), and its first byte TL counts the whole ATS.
 * Cascade tags (88) are stripped from 8- and 12-byte NFCIDs, as libnfc does.
 */
export function parsePn532TargetTypeA(
  data: Uint8Array,
  offset: number,
): Pn532TargetParse<DetectedCardTypeA> {
  if (data.length < offset + 5) return { ok: false, detail: 'type A target truncated' };
  const tg = data[offset] ?? 0;
  const atqa = data.slice(offset + 1, offset + 3);
  const sak = data[offset + 3] ?? 0;
  const uidLen = data[offset + 4] ?? 0;
  let next = offset + 5 + uidLen;
  if (data.length < next) return { ok: false, detail: 'type A NFCID truncated' };
  let uid = data.slice(offset + 5, next);
  if (uid.length === 8 && uid[0] === 0x88) uid = uid.slice(1);
  if (uid.length === 12 && uid[0] === 0x88 && uid[4] === 0x88) {
    uid = Uint8Array.of(...uid.subarray(1, 4), ...uid.subarray(5));
  }
  const isoDep = (sak & 0x20) !== 0;
  let ats = new Uint8Array(0);
  if (isoDep && data.length > next) {
    const tl = data[next] ?? 0;
    if (tl === 0 || data.length < next + tl) return { ok: false, detail: 'ATS truncated' };
    ats = data.slice(next, next + tl);
    next += tl;
  }
  return { ok: true, tg, next, target: { technology: 'ISO14443A', uid, atqa, sak, ats, isoDep } };
}

/** ATQB length: 0x50, PUPI (4), application data (4), protocol info (3). */
export const ISO14443B_ATQB_BYTES = 12;

/**
 * Parses one 106 kbit/s type B target at `offset`: Tg ATQB(12) ATTRIB_RES_Length ATTRIB_RES.
 */
export function parsePn532TargetTypeB(
  data: Uint8Array,
  offset: number,
): Pn532TargetParse<DetectedCardTypeB> {
  const attribAt = offset + 1 + ISO14443B_ATQB_BYTES;
  if (data.length < attribAt + 1) return { ok: false, detail: 'type B target truncated' };
  const tg = data[offset] ?? 0;
  const atqb = data.slice(offset + 1, attribAt);
  if (atqb[0] !== 0x50) return { ok: false, detail: 'ATQB does not start with 50' };
  const attribLen = data[attribAt] ?? 0;
  const next = attribAt + 1 + attribLen;
  if (data.length < next) return { ok: false, detail: 'ATTRIB_RES truncated' };
  const attribRes = data.slice(attribAt + 1, next);
  const pupi = atqb.slice(1, 5);
  return {
    ok: true,
    tg,
    next,
    target: { technology: 'ISO14443B', atqb, pupi, attribRes, isoDep: true },
  };
}

/** Human name of a command code for logs ("InDataExchange"), hex when unknown. */
export function pn532CommandName(code: number): string {
  return PN532_COMMAND_NAMES.get(code) ?? `0x${code.toString(16).padStart(2, '0')}`;
}

const PN532_COMMAND_NAMES: ReadonlyMap<number, string> = new Map([
  [PN532_CMD_00_DIAGNOSE, 'Diagnose'],
  [PN532_CMD_02_GET_FIRMWARE_VERSION, 'GetFirmwareVersion'],
  [PN532_CMD_04_GET_GENERAL_STATUS, 'GetGeneralStatus'],
  [PN532_CMD_06_READ_REGISTER, 'ReadRegister'],
  [PN532_CMD_08_WRITE_REGISTER, 'WriteRegister'],
  [PN532_CMD_0C_READ_GPIO, 'ReadGPIO'],
  [PN532_CMD_0E_WRITE_GPIO, 'WriteGPIO'],
  [PN532_CMD_10_SET_SERIAL_BAUD_RATE, 'SetSerialBaudRate'],
  [PN532_CMD_12_SET_PARAMETERS, 'SetParameters'],
  [PN532_CMD_14_SAM_CONFIGURATION, 'SAMConfiguration'],
  [PN532_CMD_16_POWER_DOWN, 'PowerDown'],
  [PN532_CMD_32_RF_CONFIGURATION, 'RFConfiguration'],
  [PN532_CMD_40_IN_DATA_EXCHANGE, 'InDataExchange'],
  [PN532_CMD_42_IN_COMMUNICATE_THRU, 'InCommunicateThru'],
  [PN532_CMD_44_IN_DESELECT, 'InDeselect'],
  [PN532_CMD_4A_IN_LIST_PASSIVE_TARGET, 'InListPassiveTarget'],
  [PN532_CMD_52_IN_RELEASE, 'InRelease'],
  [PN532_CMD_54_IN_SELECT, 'InSelect'],
  [PN532_CMD_60_IN_AUTO_POLL, 'InAutoPoll'],
]);
