// encodePn532FrameParts builds the frame of `head` followed by `body` without joining them:
// it must be byte for byte the frame encodePn532Frame builds from the joined body (itself
// held to UM0701-02's examples in pn532_frame.test.ts), normal and extended, and decode back.

import { describe, expect, it } from 'vitest';
import {
  PN532_FRAME_LEN_MAX,
  PN532_TFI_D5_PN532_TO_HOST,
  Pn532FrameDecoder,
  encodePn532Frame,
  encodePn532FrameCode,
  encodePn532FrameParts,
} from '../src/pn532/pn532_frame.js';

/** A small LCG: the same splits every run. */
function bytes(seed: number, length: number): Uint8Array {
  let state = seed >>> 0;
  return Uint8Array.from({ length }, () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state >>> 24;
  });
}

describe('encodePn532FrameParts', () => {
  it('equalsTheFrameOfTheJoinedBody_forEverySplitAndSize', () => {
    for (let size = 1; size <= PN532_FRAME_LEN_MAX - 1; size += 7) {
      const whole = bytes(size, size);
      for (const cut of [0, 1, 2, Math.floor(size / 2), size]) {
        if (cut > size) continue;
        const head = Array.from(whole.subarray(0, cut));
        const frame = encodePn532FrameParts(0xd4, head, whole.subarray(cut));
        expect(frame, `size ${size} cut ${cut}`).toEqual(encodePn532Frame(0xd4, whole));
        const decoder = new Pn532FrameDecoder();
        decoder.push(frame);
        const ev = decoder.next();
        expect(ev?.kind === 'frame' && ev.body).toEqual(whole);
      }
    }
  });

  it('refusesAnEmptyOrOversizedBody_andABadTfi', () => {
    expect(() => encodePn532FrameParts(0xd5, [], new Uint8Array(0))).toThrow(RangeError);
    const big = new Uint8Array(PN532_FRAME_LEN_MAX - 1);
    expect(() => encodePn532FrameParts(0xd5, [0x41], big)).toThrow(RangeError);
    expect(encodePn532FrameParts(0xd5, [], big)).toHaveLength(big.length + 11);
    expect(() => encodePn532FrameParts(0x100, [0x41], big.subarray(1))).toThrow(RangeError);
    expect(encodePn532FrameParts(PN532_TFI_D5_PN532_TO_HOST, [0x41, 0x00], [0x90, 0x00])).toEqual(
      Uint8Array.of(0x00, 0x00, 0xff, 0x05, 0xfb, 0xd5, 0x41, 0x00, 0x90, 0x00, 0x5a, 0x00),
    );
  });
});

describe('encodePn532FrameCode', () => {
  it('equalsTheFrameOfCodeParamsAndDataJoined_forEverySize', () => {
    for (let size = 0; size <= PN532_FRAME_LEN_MAX - 3; size += 5) {
      const data = bytes(size + 7, size);
      const joined = Uint8Array.from([0x40, 0x01, ...data]);
      const frame = encodePn532FrameCode(0xd4, 0x40, [0x01], data);
      expect(frame, `size ${size}`).toEqual(encodePn532Frame(0xd4, joined));
    }
    expect(encodePn532FrameCode(0xd4, 0x02, [], new Uint8Array(0))).toEqual(
      Uint8Array.of(0x00, 0x00, 0xff, 0x02, 0xfe, 0xd4, 0x02, 0x2a, 0x00),
    );
  });

  it('refusesAFrameBeyondTheLimit', () => {
    const data = new Uint8Array(PN532_FRAME_LEN_MAX - 2);
    expect(() => encodePn532FrameCode(0xd4, 0x40, [0x01], data)).toThrow(RangeError);
  });
});

describe('frame and body ownership', () => {
  it('framesAndBodies_ownTheirBytes_whateverLaterFramesAndDecodesDo', () => {
    // Long frames and bodies may share one buffer underneath: each must still be the caller's
    // alone, with every byte where the frame format puts it, however many follow it.
    const kept: { frame: Uint8Array; body: Uint8Array; expected: Uint8Array }[] = [];
    const decoder = new Pn532FrameDecoder();
    for (let k = 0; k < 400; k += 1) {
      const size = 1 + ((k * 37) % (PN532_FRAME_LEN_MAX - 1));
      const expected = bytes(k + 1, size);
      const frame = encodePn532Frame(PN532_TFI_D5_PN532_TO_HOST, expected);
      decoder.push(frame);
      const ev = decoder.next();
      if (ev?.kind !== 'frame') throw new Error(`frame ${k} not decoded`);
      kept.push({ frame, body: ev.body, expected });
    }
    // Scribble over every body: no other frame or body may change.
    for (const { body } of kept) body.fill(0xee);
    for (const [k, { frame, body, expected }] of kept.entries()) {
      expect(body.length, `body ${k}`).toBe(expected.length);
      const dataAt = expected.length + 1 > 255 ? 9 : 6;
      expect(frame.subarray(dataAt, dataAt + expected.length), `frame ${k}`).toEqual(expected);
      expect(body.every((b) => b === 0xee)).toBe(true);
    }
  });
});
