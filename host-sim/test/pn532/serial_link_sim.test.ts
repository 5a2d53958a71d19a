// SerialLinkSim: 8N1 pacing on the injected clock, chunking, seeded faults, baud mismatch; and
// quietWholeWrites (the swarm's line): a write that starts on a quiet line arrives in one chunk
// when its last byte would, under noise it still goes chunk by chunk with its byte faults;
// `send` is `write` without the promise (nor the copy).

import { describe, expect, it } from 'vitest';
import { ClockSim } from '../../src/clock_sim.js';
import { runOnClock } from '../../src/pn532_sim/pn532_sim_rig.js';
import { Prng } from '../../src/prng.js';
import { createSerialLinkPairSim, type SerialLinkSimOptions } from '../../src/serial_link_sim.js';

const BASE: SerialLinkSimOptions = {
  baudRate: 115200,
  pace: true,
  chunkBytes: 16,
  hostToDeviceFaults: undefined,
  deviceToHostFaults: undefined,
};

function collect(options: SerialLinkSimOptions): {
  clock: ClockSim;
  line: ReturnType<typeof createSerialLinkPairSim>;
  got: { atMs: number; bytes: number[] }[];
} {
  const clock = new ClockSim(0);
  const line = createSerialLinkPairSim(clock, options);
  const got: { atMs: number; bytes: number[] }[] = [];
  line.device.setReceiver((b) => got.push({ atMs: clock.nowMs(), bytes: Array.from(b) }));
  return { clock, line, got };
}

describe('SerialLinkSim', () => {
  it('write_100Bytes_arrivesInChunksAtTenBitTimesPerByte', async () => {
    const { clock, line, got } = collect(BASE);
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
    await runOnClock(clock, line.host.write(bytes));
    expect(got.map((g) => g.bytes.length)).toEqual([16, 16, 16, 16, 16, 16, 4]);
    expect(got.flatMap((g) => g.bytes)).toEqual(Array.from(bytes));
    expect(got.at(-1)?.atMs).toBeCloseTo((100 * 10 * 1000) / 115200, 9);
    expect(line.stats('host-to-device').wireMs).toBeCloseTo((100 * 10 * 1000) / 115200, 9);
  });

  it('twoWrites_queueOnTheWire_oneAfterTheOther', async () => {
    const { clock, line, got } = collect({ ...BASE, chunkBytes: 4096 });
    const a = line.host.write(new Uint8Array(10));
    const b = line.host.write(new Uint8Array(20));
    await runOnClock(clock, Promise.all([a, b]));
    expect(got[0]?.atMs).toBeCloseTo((10 * 10_000) / 115200, 9);
    expect(got[1]?.atMs).toBeCloseTo((30 * 10_000) / 115200, 9);
    expect(line.transcript()[1]?.atMs).toBeCloseTo((10 * 10_000) / 115200, 9);
  });

  it('faults_sameSeed_sameDamage_andCounted', async () => {
    const run = async (seed: number): Promise<number[]> => {
      const faults = { prng: new Prng(seed), lossRatio: 0.05, corruptRatio: 0.05 };
      const { clock, line, got } = collect({ ...BASE, hostToDeviceFaults: faults });
      await runOnClock(clock, line.host.write(new Uint8Array(1000).fill(0x55)));
      const stats = line.stats('host-to-device');
      const delivered = got.flatMap((g) => g.bytes);
      expect(delivered.length, `seed ${seed}`).toBe(1000 - stats.lostBytes);
      expect(delivered.filter((b) => b !== 0x55).length, `seed ${seed}`).toBe(stats.corruptedBytes);
      expect(stats.lostBytes + stats.corruptedBytes, `seed ${seed}`).toBeGreaterThan(0);
      return delivered;
    };
    expect(await run(42)).toEqual(await run(42));
    expect(await run(42)).not.toEqual(await run(43));
  });

  it('faults_survivorsKeepTheirOrder_asDrawnByteByByte', async () => {
    const faults = { prng: new Prng(5), lossRatio: 0.02, corruptRatio: 0.02 };
    const { clock, line, got } = collect({ ...BASE, hostToDeviceFaults: faults });
    const bytes = Uint8Array.from({ length: 400 }, (_, i) => i & 0xff);
    await runOnClock(clock, line.host.write(bytes));
    // The model, byte by byte: a loss draw, then a corruption draw, then the flipped bit.
    const model = new Prng(5);
    const expected: number[] = [];
    for (const b of bytes) {
      if (model.chance(0.02)) continue;
      expected.push(model.chance(0.02) ? b ^ (1 << model.below(8)) : b);
    }
    expect(got.flatMap((g) => g.bytes)).toEqual(expected);
    expect(expected.length).toBeLessThan(400);
  });

  it('writesUnchanged_theLineKeepsTheSendersArray_otherwiseACopy', async () => {
    for (const writesUnchanged of [true, false]) {
      const { clock, line, got } = collect({ ...BASE, writesUnchanged });
      const source = Uint8Array.of(1, 2, 3);
      const written = line.host.write(source);
      // Breaks the option's promise, to see which array the line holds.
      source[0] = 9;
      await runOnClock(clock, written);
      expect(got.flatMap((g) => g.bytes), `${writesUnchanged}`).toEqual(
        writesUnchanged ? [9, 2, 3] : [1, 2, 3],
      );
    }
  });

  it('baudMismatch_receiverSamplesGarbage', async () => {
    const { clock, line, got } = collect(BASE);
    await line.device.setBaudRate(921600);
    await runOnClock(clock, line.host.write(Uint8Array.of(0x00, 0x00, 0xff)));
    expect(got.flatMap((g) => g.bytes)).not.toEqual([0x00, 0x00, 0xff]);
    expect(line.stats('host-to-device').garbledBytes).toBe(3);
  });

  it('closedEnd_writeIsCancelled', async () => {
    const { line } = collect(BASE);
    await line.host.close();
    const r = await line.host.write(Uint8Array.of(1));
    expect(r.ok).toBe(false);
  });
});

const NOISE = { prng: new Prng(7), lossRatio: 0, corruptRatio: 0 };
const WHOLE: SerialLinkSimOptions = {
  baudRate: 115200,
  pace: true,
  chunkBytes: 16,
  quietWholeWrites: true,
  hostToDeviceFaults: NOISE,
  deviceToHostFaults: undefined,
};

/** 8N1: ten bit-times a byte. */
function wireMs(bytes: number, baud = 115200): number {
  return (bytes * 10_000) / baud;
}

describe('SerialLinkSim quietWholeWrites', () => {
  it('quietLine_100Bytes_arriveInOneChunkWhenTheLastByteWould', async () => {
    NOISE.lossRatio = 0;
    NOISE.corruptRatio = 0;
    const { clock, line, got } = collect(WHOLE);
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
    await runOnClock(clock, line.host.write(bytes));
    expect(got).toHaveLength(1);
    expect(got[0]?.bytes).toEqual(Array.from(bytes));
    expect(got[0]?.atMs).toBeCloseTo(wireMs(100), 9);
    expect(line.stats('host-to-device')).toMatchObject({ bytes: 100, lostBytes: 0 });
    expect(line.stats('host-to-device').wireMs).toBeCloseTo(wireMs(100), 9);
  });

  it('noisyLine_goesInChunks_withByteFaults_andTheSameLastArrival', async () => {
    NOISE.lossRatio = 0.05;
    NOISE.corruptRatio = 0.05;
    const { clock, line, got } = collect(WHOLE);
    await runOnClock(clock, line.host.write(new Uint8Array(100).fill(0x55)));
    // Seven chunks of at most 16 bytes on the wire, each delivered after its own wire time.
    expect(got.map((g) => g.atMs)).toEqual(
      [16, 32, 48, 64, 80, 96, 100].map((n) => expect.closeTo(wireMs(n), 9)),
    );
    const stats = line.stats('host-to-device');
    const delivered = got.flatMap((g) => g.bytes);
    expect(stats.lostBytes + stats.corruptedBytes).toBeGreaterThan(0);
    expect(delivered).toHaveLength(100 - stats.lostBytes);
    expect(delivered.filter((b) => b !== 0x55)).toHaveLength(stats.corruptedBytes);
  });

  it('theLineIsJudgedWhenAWriteStarts_andTheOptionIsOffByDefault', async () => {
    NOISE.lossRatio = 0;
    NOISE.corruptRatio = 0;
    const { clock, line, got } = collect(WHOLE);
    const first = line.host.write(new Uint8Array(40));
    const second = line.host.write(new Uint8Array(40));
    // Noise comes on while the first is on the wire: it stays whole, the second is chunked.
    NOISE.lossRatio = 1e-9;
    await runOnClock(clock, Promise.all([first, second]));
    expect(got.map((g) => g.bytes.length)).toEqual([40, 16, 16, 8]);
    expect(got.at(-1)?.atMs).toBeCloseTo(wireMs(80), 9);

    NOISE.lossRatio = 0;
    const { quietWholeWrites, ...absent } = WHOLE;
    expect(quietWholeWrites).toBe(true);
    const plain = collect(absent);
    await runOnClock(plain.clock, plain.line.host.write(new Uint8Array(40)));
    expect(plain.got.map((g) => g.bytes.length)).toEqual([16, 16, 8]);
  });

  it('send_isWriteWithoutThePromise_sameQueueAndTimes_andQuietWhenClosed', async () => {
    NOISE.lossRatio = 0;
    NOISE.corruptRatio = 0;
    const { clock, line, got } = collect(WHOLE);
    line.host.send(Uint8Array.of(1, 2, 3, 4, 5, 6));
    const source = Uint8Array.of(7, 8);
    const after = line.host.write(source);
    source.fill(0); // write's line keeps its own copy
    await runOnClock(clock, after);
    expect(got).toEqual([
      { atMs: expect.closeTo(wireMs(6), 9), bytes: [1, 2, 3, 4, 5, 6] },
      { atMs: expect.closeTo(wireMs(8), 9), bytes: [7, 8] },
    ]);
    await line.host.close();
    line.host.send(Uint8Array.of(9));
    expect(await clock.wakeNext()).toBe(false);
    expect(got).toHaveLength(2);
  });

  it('baudMismatch_stillGarbles_aWholeWrite', async () => {
    NOISE.lossRatio = 0;
    NOISE.corruptRatio = 0;
    const { clock, line, got } = collect(WHOLE);
    await line.device.setBaudRate(921600);
    await runOnClock(clock, line.host.write(Uint8Array.of(0x00, 0x00, 0xff)));
    expect(got.flatMap((g) => g.bytes)).not.toEqual([0x00, 0x00, 0xff]);
    expect(line.stats('host-to-device').garbledBytes).toBe(3);
  });
});
