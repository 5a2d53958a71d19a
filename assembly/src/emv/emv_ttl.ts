// EMV terminal transport layer for the step machine: stages C-APDUs, chains 61xx and 6Cxx.
//
// emv-utils' TTL calls the reader itself; ours only stages bytes. The kernel asks for a command
// (ttlCommand), the host sends ttlPending*, and every R-APDU goes through ttlReceive, which
// either completes the exchange (SW and the accumulated data) or stages the follow-up that
// ISO/IEC 7816-4 5.3.4 asks for: GET RESPONSE after 61xx, the same command with Le = SW2 after
// 6Cxx. See EMV 4.4 Book 1, 9.3.1 (transport of APDUs) and Annex A.

import { STATUS_OK, ERR_GET_RESPONSE_LOOP, ERR_CARD_RESPONSE_TOO_LONG } from '../status/status';
import { bytesCopy } from '../util/bytes';
import {
  apduBuild,
  apduParseResponse,
  rapduSw,
  rapduDataLength,
  CAPDU_SHORT_MAX,
  APDU_LE_MAX,
  INS_C0_GET_RESPONSE,
} from '../iso7816/iso7816_apdu';

/** Most response data one exchange may accumulate over GET RESPONSE rounds. */
export const TTL_RESPONSE_MAX: u32 = 1024;
/** Most follow-up commands (GET RESPONSE or re-send) one exchange may need. */
export const TTL_ROUNDS_MAX: u32 = 8;
/** ttlReceive: a follow-up command is staged; send ttlPending* and feed its answer back. */
export const TTL_SEND: i32 = 1;

const command = memory.data(<i32>CAPDU_SHORT_MAX, 4);
let commandLength: u32 = 0;
let commandHasLe: bool = false;
const pending = memory.data(<i32>CAPDU_SHORT_MAX, 4);
let pendingLength: u32 = 0;
const response = memory.data(<i32>TTL_RESPONSE_MAX, 4);
let responseLength: u32 = 0;
let rounds: u32 = 0;
const header = memory.data(4, 4);

/** SW1 SW2 of the last completed exchange. */
export let ttlSw: u32 = 0;

/**
 * Stages a new command `cla ins p1 p2 [data] [Le]` and forgets the previous exchange.
 * Returns STATUS_OK, ERR_APDU_DATA_TOO_LONG, ERR_APDU_LE_INVALID or ERR_OUTPUT_TOO_SMALL.
 */
export function ttlCommand(
  cla: u8,
  ins: u8,
  p1: u8,
  p2: u8,
  data: usize,
  dataLength: u32,
  hasLe: bool,
  le: u32,
): i32 {
  store<u8>(header, cla);
  store<u8>(header + 1, ins);
  store<u8>(header + 2, p1);
  store<u8>(header + 3, p2);
  const built = apduBuild(header, data, dataLength, hasLe, le, command, CAPDU_SHORT_MAX);
  if (built < 0) return built;
  commandLength = <u32>built;
  commandHasLe = hasLe;
  bytesCopy(pending, command, commandLength);
  pendingLength = commandLength;
  responseLength = 0;
  rounds = 0;
  ttlSw = 0;
  assert(pendingLength >= 4 && pendingLength <= CAPDU_SHORT_MAX, 'staged command length');
  return STATUS_OK;
}

/** The command the host must send now. */
export function ttlPendingPtr(): usize {
  return pending;
}

/** Length of the command the host must send now. */
export function ttlPendingLength(): u32 {
  return pendingLength;
}

/** Response data accumulated by the last completed exchange (without SW1 SW2). */
export function ttlResponsePtr(): usize {
  return response;
}

/** Length of the response data of the last completed exchange. */
export function ttlResponseLength(): u32 {
  return responseLength;
}

/**
 * Takes the R-APDU answering the pending command. Returns STATUS_OK (exchange complete: ttlSw
 * and ttlResponse* hold the result), TTL_SEND (a follow-up command is staged),
 * ERR_RAPDU_TOO_SHORT, ERR_RAPDU_TOO_LONG, ERR_CARD_RESPONSE_TOO_LONG or ERR_GET_RESPONSE_LOOP.
 */
export function ttlReceive(rapdu: usize, length: u32): i32 {
  const parsed = apduParseResponse(rapdu, length);
  if (parsed != STATUS_OK) return parsed;
  const sw = rapduSw;
  const sw1 = sw >> 8;
  const dataLength = rapduDataLength;
  if (sw1 == 0x6c) {
    // Wrong Le: the card sends nothing useful with 6Cxx; repeat the command with its Le.
    if (++rounds > TTL_ROUNDS_MAX) return ERR_GET_RESPONSE_LOOP;
    ttlStageResend(sw & 0xff);
    return TTL_SEND;
  }
  if (dataLength > TTL_RESPONSE_MAX - responseLength) return ERR_CARD_RESPONSE_TOO_LONG;
  bytesCopy(response + <usize>responseLength, rapdu, dataLength);
  responseLength += dataLength;
  if (sw1 == 0x61) {
    if (++rounds > TTL_ROUNDS_MAX) return ERR_GET_RESPONSE_LOOP;
    ttlStageGetResponse(sw & 0xff);
    return TTL_SEND;
  }
  ttlSw = sw;
  assert(responseLength <= TTL_RESPONSE_MAX, 'response accumulation');
  return STATUS_OK;
}

function ttlStageGetResponse(sw2: u32): void {
  store<u8>(pending, 0x00);
  store<u8>(pending + 1, INS_C0_GET_RESPONSE);
  store<u8>(pending + 2, 0x00);
  store<u8>(pending + 3, 0x00);
  store<u8>(pending + 4, <u8>sw2);
  pendingLength = 5;
  assert(sw2 <= 0xff, 'GET RESPONSE Le');
}

function ttlStageResend(sw2: u32): void {
  bytesCopy(pending, command, commandLength);
  // Le 00 means 256 in a short APDU, so SW2 is copied verbatim either way.
  if (commandHasLe) {
    store<u8>(pending + <usize>(commandLength - 1), <u8>sw2);
    pendingLength = commandLength;
  } else {
    store<u8>(pending + <usize>commandLength, <u8>sw2);
    pendingLength = commandLength + 1;
  }
  assert(pendingLength <= CAPDU_SHORT_MAX && APDU_LE_MAX == 256, 'resend length');
}
