// Records for getting paid: every approved or admitted tap's clearing record carries the ICC
// data an authorisation or clearing advice needs (ISO 8583 field 55), in the journal and in
// `journal export`, with a transaction sequence counter (9F41) that survives power cuts.
//
// The truth is the tag list of issue 10 (EMV 4.4 Book 3 Annex A names) and a BER-TLV walk
// written here, independent of the kernel's and the firmware's decoders.

import { describe, expect, it } from 'vitest';
import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalExport } from '../../../firmware/src/app/journal/journal_export.js';
import { journalScan } from '../../../firmware/src/app/journal/journal_scan.js';
import { testPki } from '../../src/pki/test_pki.js';
import { riderPool, type RiderCard } from '../../src/sim/bus_riders.js';
import type { PopulationName } from '../../src/cards/card_population.js';
import { runWithCuts } from './support/crash_run.js';
import { boardOptions, testSeed, type Ride } from './support/sim_ride.js';

const SEED = testSeed(11);

/** Field 55 of issue 10 (9F63 only where the card has it). */
const FIELD_55_TAGS = [
  '9F26',
  '9F27',
  '9F10',
  '9F37',
  '9F36',
  '95',
  '9A',
  '9C',
  '9F02',
  '9F03',
  '5F2A',
  '82',
  '84',
  '9F1A',
  '9F33',
  '9F34',
  '9F35',
  '9F1E',
  '9F09',
  '9F41',
];

/** Top-level primitive objects of BER-TLV hex as tag hex -> value hex (EMV Book 3 Annex B). */
function tlvWalk(hex: string): Map<string, string> {
  const bytes = Buffer.from(hex, 'hex');
  const out = new Map<string, string>();
  let p = 0;
  while (p < bytes.length) {
    const start = p;
    if (((bytes[p++] ?? 0) & 0x1f) === 0x1f) while (((bytes[p++] ?? 0) & 0x80) !== 0);
    const tag = bytes.subarray(start, p).toString('hex').toUpperCase();
    let length = bytes[p++] ?? 0;
    if (length & 0x80) {
      const count = length & 0x7f;
      length = bytes.subarray(p, p + count).reduce((n, b) => n * 256 + b, 0);
      p += count;
    }
    if (p + length > bytes.length) throw new Error(`TLV overflow at ${tag}`);
    out.set(
      tag,
      bytes
        .subarray(p, p + length)
        .toString('hex')
        .toUpperCase(),
    );
    p += length;
  }
  return out;
}

/** The `group`-th card of kind `name` (a pool holds one of each kind per group). */
function ride(cards: readonly RiderCard[], name: PopulationName, group: number): Ride {
  const card = cards.filter((c) => c.name === name)[group];
  if (card === undefined) throw new Error(`no ${name}`);
  return { card, gapMs: 4_000, holdMs: 300, faults: [] };
}

describe(`field 55 in the clearing records (seed ${SEED})`, () => {
  it('carriesEveryTag_andA9F41ThatNeverRepeatsAcrossPowerCuts', async () => {
    const pool = riderPool(SEED, 2, testPki());
    const names: PopulationName[] = [
      'unionpay-debit-ec',
      'unionpay-credit-ec',
      'social-security',
      'unionpay-quasi-credit-ec',
      'cobadge-visa-unionpay',
    ];
    const rides = [0, 1].flatMap((group) => names.map((n) => ride(pool.cards, n, group)));
    // Cut the power twice, each time a few writes into the line, and reboot on the medium.
    const run = await runWithCuts(boardOptions(SEED, pool, 'ec'), rides, [5, 6]);
    try {
      expect(run.crashes.length, `seed ${SEED}`).toBe(2);
      const last = run.boards[run.boards.length - 1];
      if (last === undefined) throw new Error('no board');
      const scan = journalScan(last.storage.durableBytes(JOURNAL_FILE_NAME), 'j', true);
      const counters: number[] = [];
      for (const record of scan.records) {
        if (record.entry.kind !== 'final') continue;
        const icc = tlvWalk(record.entry.clearing.iccDataHex);
        for (const tag of FIELD_55_TAGS)
          expect(icc.has(tag), `${tag} seq ${record.seq}`).toBe(true);
        expect(icc.get('9F33')).toBe('0008C8');
        expect(icc.get('9F35')).toBe('25');
        expect(Buffer.from(icc.get('9F1E') ?? '', 'hex').toString('ascii')).toBe('SIM00001');
        const tsc = icc.get('9F41') ?? '';
        expect(tsc, `9F41 is n8 BCD, seq ${record.seq}`).toMatch(/^[0-9]{8}$/);
        // The counter is the journal seq of the tap's grey record.
        expect(Number(tsc)).toBe(record.entry.pendingSeq ?? record.seq);
        counters.push(Number(tsc));
      }
      expect(counters.length, `seed ${SEED}`).toBeGreaterThanOrEqual(9);
      expect(new Set(counters).size, 'no 9F41 twice').toBe(counters.length);
      expect(
        [...counters].sort((a, b) => a - b),
        'in journal order',
      ).toEqual(counters);

      const exported = journalExport(scan, last.panVault).lines.map(
        (l) => JSON.parse(l) as Record<string, unknown>,
      );
      const clearing = exported.filter((l) => l['type'] === 'clearing');
      expect(clearing.length).toBe(counters.length);
      for (const line of clearing) {
        const icc = tlvWalk(String(line['iccDataHex']));
        for (const tag of FIELD_55_TAGS) expect(icc.has(tag), `export ${tag}`).toBe(true);
      }
    } finally {
      for (const board of run.boards) board.dispose();
    }
  });
});
