// JT/T 978 terminal configuration: the PSAM's terminal number and purchase key index.
//
// The host reads them from the PSAM (file 0016, and file 0017 byte 1; domain.md 7.2) when it
// opens the PSAM, and loads them with OP_JTT978_CONFIGURE before the first T-Union tap.

import { STATUS_OK, ERR_TXN_CONFIG_INVALID } from '../status/status';
import { bytesCopy } from '../util/bytes';
import {
  TLV_END,
  tlvDecodeOne,
  tlvTag,
  tlvValueStart,
  tlvValueLength,
  tlvNext,
} from '../iso8825/ber_tlv';

/** PSAM terminal number (6 bytes, PSAM file 0016). */
export const TAG_DF8140_PSAM_TERMINAL: u32 = 0xdf8140;
/** Purchase key index (1 byte, PSAM file 0017 byte 1), sent in INITIALIZE FOR PURCHASE. */
export const TAG_DF8141_KEY_INDEX: u32 = 0xdf8141;

const terminal = memory.data(6, 4);
let keyIndex: u8 = 0;
let configured: bool = false;

/** True once a PSAM was configured. */
export function jconfigReady(): bool {
  return configured;
}

export function jconfigTerminalPtr(): usize {
  return terminal;
}

export function jconfigKeyIndex(): u8 {
  return keyIndex;
}

/**
 * OP_JTT978_CONFIGURE: `DF8140` (6) and `DF8141` (1), both mandatory, nothing else. A refused
 * configuration keeps the previous one. Returns STATUS_OK, ERR_TXN_CONFIG_INVALID or a TLV
 * error.
 */
export function jconfigLoad(base: usize, length: u32): i32 {
  let found: u32 = 0;
  let index: u8 = 0;
  let terminalAt: u32 = 0;
  let pos: u32 = 0;
  for (;;) {
    const status = tlvDecodeOne(base, pos, length);
    if (status == TLV_END) break;
    if (status != STATUS_OK) return status;
    if (tlvTag == TAG_DF8140_PSAM_TERMINAL && tlvValueLength == 6 && (found & 1) == 0) {
      terminalAt = tlvValueStart;
      found |= 1;
    } else if (tlvTag == TAG_DF8141_KEY_INDEX && tlvValueLength == 1 && (found & 2) == 0) {
      index = load<u8>(base + <usize>tlvValueStart);
      found |= 2;
    } else {
      return ERR_TXN_CONFIG_INVALID;
    }
    pos = tlvNext;
  }
  if (found != 3) return ERR_TXN_CONFIG_INVALID;
  bytesCopy(terminal, base + <usize>terminalAt, 6);
  keyIndex = index;
  configured = true;
  assert(configured && found == 3, 'PSAM configured');
  return STATUS_OK;
}
