// T=0 answers made whole: 61xx fetched with GET RESPONSE, 6Cxx repeated with the right Le.
//
// See ISO/IEC 7816-3, 10.3.3 (procedure bytes) and ISO/IEC 7816-4, 5.3.4 (61xx: xx more bytes
// with GET RESPONSE, 00 meaning 256 or more; 6Cxx: wrong Le, xx is the right one). PC/SC
// readers pass these words up for T=0 cards, so the driver, not the transaction flow, chains.

import { HalStatus, halErr, halOk } from '../ports/hal_status.js';
import type { HalResult } from '../ports/hal_status.js';

/** Most GET RESPONSE rounds for one command (bounds a card that never stops answering 61xx). */
export const GET_RESPONSE_ROUNDS_MAX = 64;
/** Largest answer gathered, data plus SW (ISO/IEC 7816-4 extended Le is 65536). */
export const RAPDU_BYTES_MAX = 65538;
/** Largest short C-APDU: 4 header bytes, Lc, 255 data bytes, Le. */
export const CAPDU_BYTES_MAX = 261;

/** One raw exchange with the card. */
export type RawTransmit = (capdu: Uint8Array) => Promise<HalResult<Uint8Array>>;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The C-APDU with its Le replaced by `le` (appended for a case-1/3 command). */
function withLe(capdu: Uint8Array, le: number): Uint8Array {
  if (capdu.length === 4) return Uint8Array.of(...capdu, le);
  const lc = capdu[4] ?? 0;
  if (capdu.length === 5) return Uint8Array.of(...capdu.subarray(0, 4), le);
  const body = capdu.subarray(0, 5 + lc);
  return Uint8Array.of(...body, le);
}

/**
 * Sends `capdu` through `send` and returns the whole answer. A 6Cxx answer is repeated once
 * with Le = xx; 61xx answers are followed by `00 C0 00 00 xx` (CLA 00, as GET RESPONSE is an
 * interindustry command) until a final status word, their data concatenated.
 * Errors: whatever `send` returns, PROTOCOL (an answer shorter than 2 bytes, a second 6Cxx, more
 * than GET_RESPONSE_ROUNDS_MAX rounds), SIZE (answer over RAPDU_BYTES_MAX).
 */
export async function transmitT0Complete(
  send: RawTransmit,
  capdu: Uint8Array,
): Promise<HalResult<Uint8Array>> {
  let answer = await send(capdu);
  if (!answer.ok) return answer;
  if (answer.value.length < 2) return halErr(HalStatus.PROTOCOL, 'answer shorter than SW1 SW2');
  if (answer.value[answer.value.length - 2] === 0x6c) {
    const le = answer.value[answer.value.length - 1] ?? 0;
    answer = await send(withLe(capdu, le));
    if (!answer.ok) return answer;
    if (answer.value.length < 2) return halErr(HalStatus.PROTOCOL, 'answer shorter than SW');
    if (answer.value[answer.value.length - 2] === 0x6c) {
      return halErr(HalStatus.PROTOCOL, 'card answered 6Cxx twice');
    }
  }
  return gatherGetResponse(send, answer.value);
}

async function gatherGetResponse(
  send: RawTransmit,
  first: Uint8Array,
): Promise<HalResult<Uint8Array>> {
  let data: Uint8Array = first.subarray(0, first.length - 2);
  let sw = first.subarray(first.length - 2);
  for (let round = 0; sw[0] === 0x61; round += 1) {
    if (round >= GET_RESPONSE_ROUNDS_MAX) {
      return halErr(HalStatus.PROTOCOL, `more than ${GET_RESPONSE_ROUNDS_MAX} GET RESPONSE`);
    }
    const next = await send(Uint8Array.of(0x00, 0xc0, 0x00, 0x00, sw[1] ?? 0));
    if (!next.ok) return next;
    if (next.value.length < 2) return halErr(HalStatus.PROTOCOL, 'GET RESPONSE answer too short');
    data = concat(data, next.value.subarray(0, next.value.length - 2));
    sw = next.value.subarray(next.value.length - 2);
    if (data.length + 2 > RAPDU_BYTES_MAX) return halErr(HalStatus.SIZE, 'answer too long');
  }
  return halOk(concat(data, sw));
}
