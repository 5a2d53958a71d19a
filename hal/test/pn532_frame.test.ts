// PN532 frame codec against hand-built frames and frames measured from libnfc (pn532.md §1, §7).

import { describe, expect, it } from 'vitest';
import {
  PN532_ACK_FRAME,
  PN532_DECODER_CAPACITY_BYTES,
  PN532_ERROR_FRAME,
  PN532_NACK_FRAME,
  Pn532FrameDecoder,
  decodePn532Frame,
  encodePn532Frame,
  pn532FrameLengthBytes,
  type Pn532FrameEvent,
} from '../src/pn532/pn532_frame.js';
import { ACK, CMD, ERR, HEX, NACK, RSP, cat, hexOf, seq, withBadDcs } from './pn532_test_frames.js';

function events(bytes: Uint8Array, chunk: number): Pn532FrameEvent[] {
  const decoder = new Pn532FrameDecoder();
  const out: Pn532FrameEvent[] = [];
  for (let at = 0; at < bytes.length; at += chunk) {
    decoder.push(bytes.subarray(at, at + chunk));
    for (let ev = decoder.next(); ev !== undefined; ev = decoder.next()) out.push(ev);
  }
  return out;
}

describe('encodePn532Frame', () => {
  it.each([
    ['GetFirmwareVersion, measured', 0xd4, '02', '00 00 FF 02 FE D4 02 2A 00'],
    ['SAMConfiguration normal, measured', 0xd4, '14 01', '00 00 FF 03 FD D4 14 01 17 00'],
    ['firmware answer, measured', 0xd5, '03 32 01 06 07', '00 00 FF 06 FA D5 03 32 01 06 07 E8 00'],
    [
      'Diagnose libnfc, measured',
      0xd4,
      '00 00 6C 69 62 6E 66 63',
      '00 00 FF 09 F7 D4 00 00 6C 69 62 6E 66 63 BE 00',
    ],
    ['InRelease(all), measured', 0xd4, '52 00', '00 00 FF 03 FD D4 52 00 DA 00'],
    ['PowerDown, measured', 0xd4, '16 F0', '00 00 FF 03 FD D4 16 F0 26 00'],
  ])('encode_%s_matchesWire', (_name, tfi, body, wire) => {
    expect(hexOf(encodePn532Frame(tfi, HEX(body)))).toBe(hexOf(HEX(wire)));
  });

  it.each([1, 100, 253, 254, 255, 256, 264])('encode_body%iBytes_matchesBuilder', (n) => {
    const body = seq(n, 0x40);
    expect(hexOf(encodePn532Frame(0xd4, HEX(body)))).toBe(hexOf(CMD(body)));
    expect(encodePn532Frame(0xd4, HEX(body)).length).toBe(pn532FrameLengthBytes(n));
  });

  it('encodeDecode_everyBodySize_matchesBuilderRoundTripsAndCatchesABadDcs', () => {
    // Every size, so that each way a checksum or a copy can split (four bytes a step, short
    // copies byte by byte) is met, in normal and extended frames, whole and byte by byte.
    for (let n = 1; n <= 264; n += 1) {
      const body = seq(n, n);
      const frame = encodePn532Frame(0xd5, HEX(body));
      expect(hexOf(frame)).toBe(hexOf(RSP(body)));
      const want = hexOf(HEX(body));
      for (const chunk of [1, 5, frame.length]) {
        const got = events(frame, chunk);
        expect(got.map((e) => (e.kind === 'frame' ? hexOf(e.body) : e.kind))).toEqual([want]);
      }
      expect(events(withBadDcs(frame), 3).map((e) => e.kind)).toEqual(['bad-checksum']);
    }
  });

  it('encode_258ByteRapduAnswer_isExtendedLikeLibnfcSaw', () => {
    // pn532.md §1: "00 00 FF FF FF 01 05 FA D5 41 00 ..." (LEN 0x0105 = TFI+CC+status+258).
    const frame = encodePn532Frame(0xd5, HEX(`41 00 ${seq(258, 0)}`));
    expect(hexOf(frame.subarray(0, 11))).toBe('00 00 ff ff ff 01 05 fa d5 41 00');
    expect(frame.length).toBe(258 + 3 + 10);
  });

  it('encode_emptyOrOversizedBody_throws', () => {
    expect(() => encodePn532Frame(0xd4, new Uint8Array(0))).toThrow(RangeError);
    expect(() => encodePn532Frame(0xd4, new Uint8Array(265))).toThrow(RangeError);
  });

  it('constants_equalTheManualsFrames', () => {
    expect(hexOf(PN532_ACK_FRAME)).toBe(hexOf(ACK()));
    expect(hexOf(PN532_NACK_FRAME)).toBe(hexOf(NACK()));
    expect(hexOf(PN532_ERROR_FRAME)).toBe(hexOf(ERR()));
  });
});

describe('Pn532FrameDecoder', () => {
  it.each([1, 3, 7, 1000])('decode_mixedStreamInChunksOf%i_yieldsEveryFrame', (chunk) => {
    const long = seq(258, 9);
    const stream = cat(ACK(), RSP('4B 00'), NACK(), ERR(), RSP(`41 00 ${long}`), CMD('02'));
    const got = events(stream, chunk);
    expect(got.map((e) => e.kind)).toEqual(['ack', 'frame', 'nack', 'error', 'frame', 'frame']);
    const big = got[4];
    expect(big?.kind === 'frame' && big.extended).toBe(true);
    expect(big?.kind === 'frame' ? hexOf(big.body) : '').toBe(hexOf(HEX(`41 00 ${long}`)));
    const last = got[5];
    expect(last?.kind === 'frame' ? [last.tfi, hexOf(last.body)] : []).toEqual([0xd4, '02']);
  });

  it('decode_garbageBeforeFrame_resynchronisesOnStartCode', () => {
    const garbage = HEX('FF 55 13 00 FF 07 00 12 FF');
    const decoder = new Pn532FrameDecoder();
    decoder.push(cat(garbage, RSP('03 32 01 06 07')));
    const ev = decoder.next();
    expect(ev?.kind === 'frame' ? hexOf(ev.body) : ev?.kind).toBe('03 32 01 06 07');
    expect(decoder.noiseBytes).toBeGreaterThan(0);
  });

  it('decode_badLcs_skipsTheFalseStartAndFindsTheRealFrame', () => {
    const falseStart = HEX('00 FF 05 05 D5');
    const got = events(cat(falseStart, RSP('15')), 1);
    expect(got.map((e) => (e.kind === 'frame' ? hexOf(e.body) : e.kind))).toEqual(['15']);
  });

  it('decode_badDcs_reportsBadChecksumThenContinues', () => {
    const got = events(cat(withBadDcs(RSP('41 00 90 00')), RSP('41 00 90 00')), 2);
    expect(got.map((e) => e.kind)).toEqual(['bad-checksum', 'frame']);
  });

  it('decode_missingPostamble_stillDelivers', () => {
    const noPost = RSP('33').subarray(0, -1);
    expect(events(cat(noPost, RSP('15')), 1).map((e) => e.kind)).toEqual(['frame', 'frame']);
  });

  it('decode_lostZeroDataByte_isNeverDeliveredShifted', () => {
    // Without the postamble check the postamble would slide into the DCS slot and the sum
    // would still be right: the frame would be delivered one byte short.
    const full = RSP('41 00 6F 00 84 00 90 00');
    const lostZero = cat(full.subarray(0, 7), full.subarray(8)); // the status byte 00
    const decoder = new Pn532FrameDecoder();
    decoder.push(lostZero);
    expect(decoder.next()).toBeUndefined();
    expect(decoder.frameInProgress(0xd5, 0x41)).toBe(true);
    expect(decoder.frameInProgress(0xd5, 0x4b)).toBe(false);
    decoder.push(HEX('55'));
    expect(decoder.next()?.kind).toBe('bad-checksum');
  });

  it.each(['00 00 FF 00', '00 00 FF 01 FF 00'])(
    'decode_damagedAck%s_isNotAnAnswerInProgress',
    (ack) => {
      const decoder = new Pn532FrameDecoder();
      decoder.push(HEX(ack));
      expect(decoder.next()).toBeUndefined();
      expect(decoder.midFrame()).toBe(true);
      expect(decoder.frameInProgress(0xd5, 0x41)).toBe(false);
    },
  );

  it('decode_halfFrame_waitsAndReportsMidFrame', () => {
    const decoder = new Pn532FrameDecoder();
    const full = RSP('41 00 90 00');
    decoder.push(full.subarray(0, 6));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.midFrame()).toBe(true);
    decoder.push(full.subarray(6));
    expect(decoder.next()?.kind).toBe('frame');
    expect(decoder.midFrame()).toBe(false);
  });

  it('decode_lengthBeyondPn532Buffer_treatedAsNoise', () => {
    const step = decodePn532Frame(HEX('00 FF FF FF 01 20 DF D5'), 0, 8);
    expect(step).toEqual({ kind: 'skip', count: 2 });
  });

  it('decode_endlessNoise_staysBounded', () => {
    const decoder = new Pn532FrameDecoder();
    for (let k = 0; k < 10; k += 1) {
      decoder.push(new Uint8Array(PN532_DECODER_CAPACITY_BYTES).fill(0x55));
      expect(decoder.next()).toBeUndefined();
    }
    expect(decoder.pendingBytes()).toBeLessThanOrEqual(PN532_DECODER_CAPACITY_BYTES);
    decoder.push(ACK());
    expect(decoder.next()?.kind).toBe('ack');
  });
});
