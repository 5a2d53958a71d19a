// PN532 benchmarks: frame codec throughput, and the UART share of a simulated qPBOC tap.

import {
  Pn532FrameDecoder,
  encodePn532Frame,
  pn532FrameLengthBytes,
} from '../hal/src/pn532/pn532_frame.js';
import { ClockSim } from '../host-sim/src/clock_sim.js';
import {
  QPBOC_CAPDU,
  SCRIPTED_IDENTITY_A,
  hexBytes,
  qpbocScriptedCard,
} from '../host-sim/src/pn532_sim/pn532_scripted_card.js';
import {
  PN532_SIM_RIG_DEFAULT_OPTIONS,
  createPn532SimRig,
} from '../host-sim/src/pn532_sim/pn532_sim_rig.js';
import { formatNs, measure, printFigures } from './bench_util.js';

/** The qPBOC-style tap of pn532.md §6: 7 exchanges, about 1.4 KB of APDU payload. */
const TAP = [
  QPBOC_CAPDU.selectPpse,
  QPBOC_CAPDU.selectAid,
  QPBOC_CAPDU.gpo,
  QPBOC_CAPDU.readRecord1,
  QPBOC_CAPDU.readRecord2,
  QPBOC_CAPDU.readRecord3,
  QPBOC_CAPDU.readRecord4,
];

export async function runPn532Bench(): Promise<void> {
  await benchCodec();
  console.log('\nqPBOC tap through the paced PN532 emulator (simulated time, 106 kbit/s RF model)');
  console.log('  baud      UART h>p  UART p>h  UART sum   RF air   card    total   wire bytes');
  for (const baud of [115200, 921600]) await benchTap(baud);
  console.log('  (pn532.md §6 estimate: UART 140 ms at 115200, 17.5 ms at 921600;');
  console.log('   total about 400 ms and 280 ms)');
}

async function benchCodec(): Promise<void> {
  const select = hexBytes(`40 01 ${QPBOC_CAPDU.selectPpse}`);
  const answer258 = Uint8Array.of(0x41, 0x00, ...new Uint8Array(256).fill(0x5a), 0x90, 0x00);
  const selectFrame = encodePn532Frame(0xd4, select);
  const answerFrame = encodePn532Frame(0xd5, answer258);
  const decoder = new Pn532FrameDecoder();
  const decode = (frame: Uint8Array): void => {
    decoder.push(frame);
    if (decoder.next()?.kind !== 'frame') throw new Error('frame did not decode');
  };
  const figures = await measure(
    [
      [
        `encode SELECT PPSE command (${selectFrame.length} B)`,
        () => encodePn532Frame(0xd4, select),
      ],
      [
        `encode 258-byte R-APDU answer (${answerFrame.length} B)`,
        () => encodePn532Frame(0xd5, answer258),
      ],
      [`decode SELECT PPSE command (${selectFrame.length} B)`, () => decode(selectFrame)],
      [`decode 258-byte R-APDU answer (${answerFrame.length} B)`, () => decode(answerFrame)],
    ],
    { batch: 50 },
  );
  printFigures('PN532 frame codec', figures, figures[0]?.name ?? '');
  const sizes = [selectFrame.length, answerFrame.length, selectFrame.length, answerFrame.length];
  figures.forEach((f, i) => {
    const mbPerS = ((sizes[i] ?? 0) / f.nsPerOp) * 1e3;
    console.log(`  ${f.name.padEnd(48)} ${mbPerS.toFixed(0).padStart(6)} MB/s`);
  });
  const frameAt921600Ns = (pn532FrameLengthBytes(259) * 10 * 1e9) / 921600;
  console.log(
    `  for scale: that answer frame spends ${formatNs(frameAt921600Ns)} on a 921600-baud wire`,
  );
}

async function benchTap(baud: number): Promise<void> {
  const clock = new ClockSim(0);
  const rig = createPn532SimRig(clock, PN532_SIM_RIG_DEFAULT_OPTIONS);
  const card = qpbocScriptedCard('bench', SCRIPTED_IDENTITY_A);
  rig.sim.placeCard(card);
  const rf = { activationAttempts: 2, exchangeRetries: 0, cardAnswerTimeoutMs: 51.2 };
  const started = await rig.run(rig.reader.start({ baudRate: baud, rf }));
  if (!started.ok) throw new Error(`start: ${started.detail}`);
  const polled = await rig.run(rig.reader.poll({ technologies: ['ISO14443A'], timeoutMs: 500 }));
  if (!polled.ok || polled.value.kind !== 'one') throw new Error('no card');
  rig.line.resetRecords();
  rig.sim.resetTimings();
  const t0 = clock.nowMs();
  for (const capdu of TAP) {
    const r = await rig.run(rig.reader.transceive(hexBytes(capdu), { timeoutMs: 1000 }));
    if (!r.ok) throw new Error(`${capdu}: ${r.detail}`);
  }
  const totalMs = clock.nowMs() - t0;
  const up = rig.line.stats('host-to-device');
  const down = rig.line.stats('device-to-host');
  const rfMs = rig.sim.exchangeTimings().reduce((s, t) => s + t.rfMs, 0);
  const cardMs = rig.sim.exchangeTimings().reduce((s, t) => s + t.cardMs, 0);
  const cells = [up.wireMs, down.wireMs, up.wireMs + down.wireMs, rfMs, cardMs, totalMs];
  const row = cells.map((ms) => `${ms.toFixed(1)} ms`.padStart(9)).join('');
  console.log(`  ${String(baud).padEnd(8)}${row}   ${up.bytes + down.bytes}`);
  rig.sim.detach();
}
