// T=0 chaining wire-exact: the C-APDUs sent for 61xx and 6Cxx answers, and the bounds.

import { describe, expect, it } from 'vitest';
import { HalStatus, halOk } from '../../src/ports/hal_status.js';
import type { HalResult } from '../../src/ports/hal_status.js';
import { GET_RESPONSE_ROUNDS_MAX, transmitT0Complete } from '../../src/pcsc/iso7816_t0_response.js';
import { pcscErrorStatus } from '../../src/pcsc/pcsc_binding.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

/** A card answering from a script; records what it was sent. */
function scripted(answers: string[]) {
  const sent: string[] = [];
  const send = async (capdu: Uint8Array): Promise<HalResult<Uint8Array>> => {
    sent.push(hex(capdu));
    return halOk(bytes(answers.shift() ?? '6f00'));
  };
  return { sent, send };
}

describe('transmitT0Complete', () => {
  it('61xx_fetchesWithGetResponse_concatenates', async () => {
    const card = scripted(['611a', `${'ab'.repeat(0x10)}610a`, `${'cd'.repeat(10)}9000`]);
    const r = await transmitT0Complete(card.send, bytes('00a4040002aabb00'));
    expect(card.sent).toEqual(['00a4040002aabb00', '00c000001a', '00c000000a']);
    expect(r.ok && hex(r.value)).toBe(`${'ab'.repeat(16)}${'cd'.repeat(10)}9000`);
  });

  it('6Cxx_repeatsWithLe_forCase2And4', async () => {
    const a = scripted(['6c06', '0000000001239000']);
    await transmitT0Complete(a.send, bytes('00b0960000'));
    expect(a.sent).toEqual(['00b0960000', '00b0960006']);
    const b = scripted(['6c08', '9000']);
    await transmitT0Complete(b.send, bytes('8070000002aabb00'));
    expect(b.sent).toEqual(['8070000002aabb00', '8070000002aabb08']);
    const c = scripted(['6c08', '6c08']);
    const r = await transmitT0Complete(c.send, bytes('00b0960000'));
    expect(r.ok ? null : r.error).toBe(HalStatus.PROTOCOL);
  });

  it('endless61xxOrShortAnswer_isProtocol', async () => {
    const endless = scripted(new Array<string>(GET_RESPONSE_ROUNDS_MAX + 5).fill('6101'));
    const r = await transmitT0Complete(endless.send, bytes('00b0960000'));
    expect(r.ok ? null : r.error).toBe(HalStatus.PROTOCOL);
    expect(endless.sent.length).toBe(GET_RESPONSE_ROUNDS_MAX + 1);
    const short = scripted(['90']);
    const s = await transmitT0Complete(short.send, bytes('00b0960000'));
    expect(s.ok ? null : s.error).toBe(HalStatus.PROTOCOL);
  });
});

describe('pcscErrorStatus', () => {
  it('mapsScardCodes', () => {
    const e = (m: string) => pcscErrorStatus(new Error(m));
    expect(e('SCardTransmit error: Card was removed.(0x80100069)')).toBe(HalStatus.CARD_GONE);
    expect(e('SCardGetStatusChange error: RPC transport error.(0x80100013)')).toBe(
      HalStatus.READER_IO,
    );
    expect(e('SCardConnect error: Sharing violation.(0x8010000B)')).toBe(HalStatus.BUSY);
    expect(e('Card Reader not connected')).toBe(HalStatus.READER_IO);
  });
});
