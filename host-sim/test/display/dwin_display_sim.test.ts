// DWIN emulator: parses hand-written DGUS frames (published examples) the way the display does.

import { describe, expect, it } from 'vitest';
import { HalStatus } from '../../../hal/src/ports/hal_status.js';
import { Prng } from '../../src/prng.js';
import {
  crc16ModbusSim,
  DWIN_PROJECT_SIM_DEFAULT,
  DwinDisplaySim,
} from '../../src/display_sim/dwin_display_sim.js';

const bytesOf = (text: string): Uint8Array =>
  Uint8Array.from(text.split(' ').map((h) => Number.parseInt(h, 16)));
const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

const PAGE_3 = '5a a5 07 82 00 84 5a 01 00 03';
const TITLE_QING_CHONG_SHUA = '5a a5 0b 82 50 00 c7 eb d6 d8 cb a2 ff ff'; // 请重刷

describe('DwinDisplaySim', () => {
  it('pageSwitch_changesPageAndAnswersOk', async () => {
    const sim = new DwinDisplaySim();
    await sim.write(bytesOf(PAGE_3));
    expect(sim.pageId).toBe(3);
    expect(sim.snapshot().pageName).toBe('approved');
    expect(hex(sim.takeOutput())).toBe('5a a5 03 82 4f 4b');
    expect(sim.errors).toEqual([]);
  });

  it('textNotGbk_onOneDisplay_leavesTheNextDisplaysTextAsAFreshDecoderReadsIt', async () => {
    // The displays share one decoder: a text cut mid-character (C7 then the end word) fails
    // on the first and leaves nothing behind for the second.
    const broken = new DwinDisplaySim();
    await broken.write(bytesOf('5a a5 07 82 50 00 41 c7 ff ff'));
    expect(broken.snapshot().texts['title']).toBe('\uFFFD');
    expect(broken.errors).toEqual(['text at VP 0x5000 is not valid GBK']);
    const next = new DwinDisplaySim();
    await next.write(bytesOf('5a a5 07 82 50 00 eb d6 ff ff'));
    const fresh = new TextDecoder('gbk', { fatal: true }).decode(bytesOf('eb d6'));
    expect(next.snapshot().texts['title']).toBe(fresh);
    expect(next.errors).toEqual([]);
  });

  it('picSet_isClearedByTheDisplayAfterSwitching', async () => {
    const sim = new DwinDisplaySim();
    await sim.write(bytesOf(PAGE_3));
    sim.takeOutput();
    await sim.write(bytesOf('5a a5 04 83 00 84 02'));
    expect(hex(sim.takeOutput())).toBe('5a a5 08 83 00 84 02 00 01 00 03');
  });

  it('textWrite_rendersGbkUpToTheEndWord', async () => {
    const sim = new DwinDisplaySim();
    await sim.write(bytesOf(TITLE_QING_CHONG_SHUA));
    expect(sim.snapshot().texts['title']).toBe('请重刷');
  });

  it('textWithoutEndWord_showsTheStaleTailOfTheOldText', async () => {
    // Why the driver always writes 0xFFFF: the display keeps old bytes past a shorter text.
    const sim = new DwinDisplaySim();
    await sim.write(bytesOf(TITLE_QING_CHONG_SHUA));
    await sim.write(bytesOf('5a a5 05 82 50 00 b6 e0')); // 多 without an end word
    expect(sim.snapshot().texts['title']).toBe('多重刷');
  });

  it('framesSplitByteByByte_areReassembled', async () => {
    const sim = new DwinDisplaySim();
    for (const byte of bytesOf(`${TITLE_QING_CHONG_SHUA} ${PAGE_3}`)) {
      await sim.write(Uint8Array.of(byte));
    }
    expect(sim.snapshot().pageId).toBe(3);
    expect(sim.snapshot().texts['title']).toBe('请重刷');
    expect(sim.frames.length).toBe(2);
    expect(sim.errors).toEqual([]);
  });

  it('junkBeforeAHeader_isSkippedAndCounted', async () => {
    const sim = new DwinDisplaySim();
    await sim.write(bytesOf(`00 13 a5 ${PAGE_3}`));
    expect(sim.pageId).toBe(3);
    expect(sim.errors).toEqual(['3 junk byte(s) before a frame header']);
  });

  it('oddLengthWrite_isRejectedAndMemoryUnchanged', async () => {
    const sim = new DwinDisplaySim();
    await sim.write(bytesOf('5a a5 04 82 50 00 41'));
    expect(sim.snapshot().texts['title']).toBe('');
    expect(sim.errors.length).toBe(1);
  });

  it('writePastATextControl_isFlagged', async () => {
    const sim = new DwinDisplaySim({
      ...DWIN_PROJECT_SIM_DEFAULT,
      textVariables: [{ name: 'title', vp: 0x5000, capacityBytes: 4 }],
    });
    await sim.write(bytesOf('5a a5 09 82 50 00 41 42 43 44 ff ff'));
    expect(sim.errors).toEqual(['write overruns text control title']);
  });

  it('crcMode_acceptsAGoodCrcAndDropsABadOne', async () => {
    expect(crc16ModbusSim(new TextEncoder().encode('123456789'))).toBe(0x4b37);
    const body = bytesOf('82 00 84 5a 01 00 05');
    const crc = crc16ModbusSim(body);
    const good = Uint8Array.of(0x5a, 0xa5, body.length + 2, ...body, crc & 0xff, crc >> 8);
    const sim = new DwinDisplaySim({ ...DWIN_PROJECT_SIM_DEFAULT, crc: true });
    await sim.write(good);
    expect(sim.pageId).toBe(5);
    const reply = sim.takeOutput();
    expect(hex(reply.subarray(0, 6))).toBe('5a a5 05 82 4f 4b');
    const bad = Uint8Array.from(good);
    bad[9] = 0x07; // page 7, CRC left for page 5
    await sim.write(bad);
    expect(sim.pageId).toBe(5);
    expect(sim.errors).toEqual(['CRC mismatch: frame dropped']);
  });

  it('injectedFault_failsOneWriteAndDeliversNothing', async () => {
    const sim = new DwinDisplaySim();
    sim.injectWriteFault(HalStatus.READER_IO);
    const failed = await sim.write(bytesOf(PAGE_3));
    expect(failed.ok).toBe(false);
    expect(sim.pageId).toBe(0);
    expect((await sim.write(bytesOf(PAGE_3))).ok).toBe(true);
    expect(sim.pageId).toBe(3);
  });

  it('anySplitOfAStream_andRecordsOff_giveTheSameScreenAndErrors', async () => {
    // Frames, junk, lone 5A bytes and a bad write length, written whole to one emulator and in
    // random pieces to another (records off): the parser must not depend on where a write
    // ends, and turning records off must change nothing but the frames and answers kept.
    const seed = Number(process.env['SHUAKA_SEED'] ?? 0xd1);
    const prng = new Prng(seed);
    const parts = [PAGE_3, TITLE_QING_CHONG_SHUA, '5a a5 07 82 00 84 5a 01 00 05', '13 37 5a',
      '5a a5 04 83 50 00 02', '5a a5 04 82 50 00 41', 'a5 5a', '5a a5 05 82 50 20 b4 f3'];
    for (let round = 0; round < 50; round += 1) {
      const picks = Array.from({ length: prng.between(1, 12) }, () => parts[prng.below(8)] ?? '');
      const stream = bytesOf(picks.join(' '));
      const whole = new DwinDisplaySim();
      await whole.write(stream);
      const pieces = new DwinDisplaySim();
      pieces.keepRecords(false);
      const kept = new DwinDisplaySim();
      for (let at = 0; at < stream.length;) {
        const next = Math.min(stream.length, at + prng.between(1, 9));
        await pieces.write(stream.subarray(at, next));
        await kept.write(stream.subarray(at, next));
        at = next;
      }
      expect(pieces.snapshot(), `seed ${seed} round ${round}`).toEqual(whole.snapshot());
      // A junk run split across writes is reported in pieces: compare the bytes counted.
      const junk = (sim: DwinDisplaySim): number => sim.errors
        .map((e) => /^([0-9]+) junk/.exec(e)?.[1]).reduce((sum, n) => sum + Number(n ?? 0), 0);
      expect(junk(pieces), `seed ${seed} round ${round}`).toBe(junk(whole));
      const others = (sim: DwinDisplaySim): string[] => sim.errors.filter((e) => !/junk/.test(e));
      expect(others(pieces), `seed ${seed} round ${round}`).toEqual(others(whole));
      expect(pieces.frames).toEqual([]);
      expect(pieces.takeOutput().length).toBe(0);
      expect(kept.frames, `seed ${seed} round ${round}`).toEqual(whole.frames);
      expect(kept.takeOutput(), `seed ${seed} round ${round}`).toEqual(whole.takeOutput());
    }
  });

  it('render_printsPageAndNonEmptyRegions', async () => {
    const sim = new DwinDisplaySim();
    await sim.write(bytesOf(`${TITLE_QING_CHONG_SHUA} 5a a5 07 82 00 84 5a 01 00 05`));
    expect(sim.render()).toBe('[DWIN page 5 tryAgain]\n  title   请重刷');
  });
});
