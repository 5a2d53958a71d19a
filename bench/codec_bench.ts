// Codec benchmarks: kernel TLV walk, TLV lookup and PDOL build next to plain TypeScript.

import { KernelOp, KernelStatus } from '../assembly/host/abi.gen.js';
import { loadKernel, type Kernel } from '../assembly/host/kernel_loader.js';
import { encodeTag } from '../assembly/host/kernel_codec.js';
import {
  refDolBuild,
  refTlvFind,
  refTlvParse,
  refTlvWalkCount,
} from '../assembly/test/support/ref_codecs.js';
import { measure, printFigures } from './bench_util.js';

const hex = (text: string): Uint8Array =>
  Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

/** SELECT AID FCI (domain.md 1.4) followed by a TC-path GPO response with a 1152-bit SDAD. */
export const SELECT_GPO_RESPONSE = hex(`
  6F598408A000000333010101A54D500A50424F43204445424954870101
  9F38189F66049F02069F03069F1A0295055F2A029A039C019F3704
  5F2D027A689F1101019F120A50424F43204445424954BF0C0A9F4D020B0ADF4D020C0A
  7781FD 82027C00 941008030300100508011801020018040400 9F36020003
  57116226000000000001D30122010000012345 9F10080701010390000001
  9F26082D3956FFD0DEF08A 5F340101 9F6C020000 9F5D06000000010000
  9F6310 3031303433333230000000000000A000
  9F4B8190 ${'5A'.repeat(144)}`);

/** OP_DOL_BUILD arg flag: reuse the terminal data stored by the previous call. */
const DOL_REUSE = 0x8000_0000;

/** The KATA PDOL (9 entries, 33 bytes) plus DF60 and DF69: 11 entries, 35 bytes. */
const PDOL = hex('9F66049F02069F03069F1A0295055F2A029A039C019F3704DF6001DF6901');
const TERMINAL = hex(`9F660436800000 9F0206000000000200 9F0306000000000000 9F1A020156
  95050000000000 5F2A020156 9A03261122 9C0100 9F37042B29EBE4`);

export async function runCodecBench(): Promise<void> {
  const kernel = await loadKernel();
  if (kernel.step(KernelOp.OP_TLV_PARSE, 0, SELECT_GPO_RESPONSE) !== KernelStatus.STATUS_OK) {
    throw new Error('benchmark input does not parse');
  }
  await benchWalk(kernel);
  await benchFind(kernel);
  await benchDol(kernel);
}

async function benchWalk(kernel: Kernel): Promise<void> {
  const data = SELECT_GPO_RESPONSE;
  const ends = new Int32Array(8);
  console.log(`\ncodec input: SELECT+GPO response of ${data.length} bytes`);
  const walk = await measure(
    [
      [
        'kernel TLV walk -> entry list (OP_TLV_PARSE)',
        () => kernel.step(KernelOp.OP_TLV_PARSE, 0, data),
      ],
      [
        'kernel walk only, input already in IN (OP_TLV_WALK)',
        () => kernel.stepInPlace(KernelOp.OP_TLV_WALK, 0, data.length),
      ],
      ['TypeScript walk, zero allocation', () => refTlvWalkCount(data, ends)],
      ['TypeScript parse -> entry list', () => refTlvParse(data)],
    ],
    { batch: 100 },
  );
  printFigures(
    'TLV walk of a SELECT+GPO response (target kernel <= 0.15 µs)',
    walk,
    'TypeScript walk, zero allocation',
  );
}

async function benchFind(kernel: Kernel): Promise<void> {
  const data = SELECT_GPO_RESPONSE;
  const path = [0x77, 0x9f4b];
  const pathBytes = Buffer.concat(path.map(encodeTag));
  const findInput = Buffer.concat([pathBytes, data]);
  const find = await measure(
    [
      [
        'kernel TLV lookup 77 > 9F4B (OP_TLV_FIND)',
        () => kernel.step(KernelOp.OP_TLV_FIND, pathBytes.length, findInput),
      ],
      ['TypeScript lookup 77 > 9F4B', () => refTlvFind(data, path)],
    ],
    { batch: 100 },
  );
  printFigures('TLV lookup', find, 'TypeScript lookup 77 > 9F4B');
}

async function benchDol(kernel: Kernel): Promise<void> {
  const dolInput = Buffer.concat([PDOL, TERMINAL]);
  const values = new Map<number, Uint8Array>();
  const terminal = refTlvParse(TERMINAL);
  if (!terminal.ok) throw new Error('terminal data does not parse');
  for (const e of terminal.entries) {
    values.set(e.tag, TERMINAL.subarray(e.valueOffset, e.valueOffset + e.valueLength));
  }
  const built = refDolBuild(PDOL, values);
  if (typeof built === 'string') throw new Error(`PDOL does not build: ${built}`);
  // Prime the kernel's terminal store once, as a transaction does at its start.
  kernel.step(KernelOp.OP_DOL_BUILD, PDOL.length, dolInput);
  const dol = await measure(
    [
      [
        'kernel PDOL build incl. terminal TLV (OP_DOL_BUILD)',
        () => kernel.step(KernelOp.OP_DOL_BUILD, PDOL.length, dolInput),
      ],
      [
        'kernel PDOL build, terminal data already stored',
        () => kernel.step(KernelOp.OP_DOL_BUILD, DOL_REUSE | PDOL.length, PDOL),
      ],
      ['TypeScript PDOL build from a tag map', () => refDolBuild(PDOL, values)],
    ],
    { batch: 100 },
  );
  printFigures(
    `PDOL build, 11 entries -> ${built.length} bytes (target kernel <= 0.15 µs)`,
    dol,
    'TypeScript PDOL build from a tag map',
  );
}
