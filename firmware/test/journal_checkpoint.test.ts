// Checkpoint versions: version 2 (the last finals as a binary table) is what the journal
// writes; version 1 files (all JSON) written before it are still read; a table that passes
// its SHA-256 but breaks its own bounds is corruption. The growth bound the journal adds up
// instead of encoding a checkpoint per tap holds against the encoder, record by record.

import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { Journal, JournalStatus } from '../src/app/journal/journal.js';
import type { JournalOptions } from '../src/app/journal/journal.js';
import {
  checkpointEncode, checkpointGrowthBytesMax,
} from '../src/app/journal/journal_checkpoint.js';
import { CHAIN_GENESIS_HASH } from '../src/app/journal/journal_frame.js';
import { journalScanFiles } from '../src/app/journal/journal_reader.js';
import {
  journalEntryNormalise, journalPayloadEncode,
} from '../src/app/journal/journal_records.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { JournalState } from '../src/app/journal/journal_state.js';
import {
  JOURNAL_FILE, WALL_EPOCH_MS, card, clearing, journalOptions, newClock, newPrng, randomEntries,
  recovery,
} from './journal_fixtures.js';

/** The table entry of the README: hash 16, seq u32, time f64, two u16 text indexes, f64. */
const ENTRY_BYTES = 40;

function options(): JournalOptions {
  return { ...journalOptions(newClock(), 1 << 22, 8192), segmentBytesMax: 16_000 };
}

/** A journal of several segments: 120 taps by 60 cards, then a tap left open. */
async function journalOnSim(): Promise<StorageSim> {
  const sim = new StorageSim({ totalBytes: 1 << 24, prng: newPrng(5), tornModes: ['prefix'] });
  const opened = await Journal.open(sim, options());
  if (!opened.ok) throw new Error(opened.detail);
  const journal = opened.value.journal;
  const append = async (entry: JournalEntry): Promise<void> => {
    const appended = await journal.append(entry);
    if (!appended.ok) throw new Error(appended.detail);
  };
  for (let i = 0; i < 120; i += 1) {
    const key = card(i % 60);
    const pendingSeq = journal.summary().lastSeq + 1;
    await append({
      kind: 'pending', recovery: recovery(key, i), fareRule: 'flat', amountMinor: 200,
    });
    await append({ kind: 'final', pendingSeq, clearing: clearing(key, i) });
  }
  const lost = card(999);
  await append({
    kind: 'pending', recovery: recovery(lost, 1), fareRule: 'flat', amountMinor: 200,
  });
  return sim;
}

/** The parts of a version 2 file, read by the README's layout alone. */
function parts(file: Uint8Array): { json: Record<string, unknown>; table: Uint8Array } {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  expect([...file.subarray(0, 8)]).toEqual([0x53, 0x4a, 0x43, 0x4b, 2, 0, 0, 0]);
  const length = view.getUint32(8, true);
  const tableLength = view.getUint32(12 + length, true);
  expect(file.length).toBe(12 + length + 4 + tableLength + 32);
  const text = Buffer.from(file.subarray(12, 12 + length)).toString('utf8');
  const table = file.subarray(16 + length, 16 + length + tableLength);
  return { json: JSON.parse(text) as Record<string, unknown>, table };
}

/** A version 1 file: header with the JSON's length, the JSON, its SHA-256. */
function sealedVersion1(json: Uint8Array): Uint8Array {
  const head = new Uint8Array(12);
  head.set([0x53, 0x4a, 0x43, 0x4b, 1], 0);
  new DataView(head.buffer).setUint32(8, json.length, true);
  const hashed = Buffer.concat([head, json]);
  return Buffer.concat([hashed, createHash('sha256').update(hashed).digest()]);
}

/** The same checkpoint in version 1: the table back as JSON arrays. */
function asVersion1(file: Uint8Array): Uint8Array {
  const { json, table } = parts(file);
  const texts = json['lastFinalTexts'] as string[];
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const lastFinals: unknown[] = [];
  for (let at = 0; at < table.length; at += ENTRY_BYTES) {
    lastFinals.push([
      Buffer.from(table.subarray(at, at + 16)).toString('hex'),
      view.getUint32(at + 16, true),
      view.getFloat64(at + 20, true),
      texts[view.getUint16(at + 28, true)],
      texts[view.getUint16(at + 30, true)],
      view.getFloat64(at + 32, true),
    ]);
  }
  const { lastFinalTexts: _texts, ...rest } = json;
  return sealedVersion1(Buffer.from(JSON.stringify({ ...rest, lastFinals }), 'utf8'));
}

async function reopen(sim: StorageSim): Promise<Journal> {
  const opened = await Journal.open(sim, options());
  if (!opened.ok) throw new Error(`${opened.error} ${opened.detail}`);
  return opened.value.journal;
}

describe('journal checkpoint versions', () => {
  it('version1Checkpoints_areStillRead_withTheSameState', async () => {
    const sim = await journalOnSim();
    const before = await reopen(sim);
    const checkpoints = [...sim.durableFiles().keys()].filter((name) => name.endsWith('.ckpt'));
    expect(checkpoints.length).toBeGreaterThan(3);
    let tableBytes = 0;
    for (const name of checkpoints) {
      const v2 = sim.durableBytes(name);
      tableBytes += parts(v2).table.length;
      const v1 = asVersion1(v2);
      expect(v1[4]).toBe(1);
      await sim.replace(name, v1);
    }
    expect(tableBytes).toBeGreaterThan(0);
    const after = await reopen(sim);
    const { sizeBytes: _a, ...summaryAfter } = after.summary();
    const { sizeBytes: _b, ...summaryBefore } = before.summary();
    expect(summaryAfter).toEqual(summaryBefore);
    for (let n = 0; n < 60; n += 1) {
      const key = card(n);
      expect(after.lastFinalFor(key.panToken, key.psn))
        .toEqual(before.lastFinalFor(key.panToken, key.psn));
    }
    expect(after.lastFinalFor(card(0).panToken, card(0).psn)).not.toBeNull();
    const lost = card(999);
    expect(after.uncertainForCard(lost.panToken, lost.psn)).toHaveLength(1);
    const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, false);
    expect(scan.corruption).toBeNull();
  });

  it('aTableThatPassesItsHashButBreaksItsBounds_isCorrupt', async () => {
    const sim = await journalOnSim();
    const name = [...sim.durableFiles().keys()].filter((n) => n.endsWith('.ckpt')).at(-1) ?? '';
    const file = sim.durableBytes(name);
    const { json, table } = parts(file);
    expect(table.length % ENTRY_BYTES).toBe(0);
    // A line-id index past the texts, resealed so that only the bounds can catch it.
    const texts = (json['lastFinalTexts'] as string[]).length;
    const bad = file.slice(0, file.length - 32);
    const tableAt = bad.length - table.length;
    new DataView(bad.buffer).setUint16(tableAt + 28, texts, true);
    const resealed = Buffer.concat([bad, createHash('sha256').update(bad).digest()]);
    await sim.replace(name, resealed);
    const opened = await Journal.open(sim, options());
    expect(opened.ok ? null : opened.error).toBe(JournalStatus.CORRUPT);
    expect(opened.ok ? '' : opened.detail).toMatch(/lastFinals\[0\].*text index/);
    const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, false);
    expect(scan.corruption?.file).toBe(name);
  });

  it('growthBound_isAtLeastWhatEachRecordAddsToTheEncodedCheckpoint', () => {
    // Random taps, closes, recoveries and acks (over 64 finals, so the finals' window moves),
    // then texts a JSON string must escape (quotes, backslashes: records are printable ASCII).
    const entries = randomEntries(newPrng(11), 900);
    const odd = card(7);
    const oddRecovery = { ...recovery(odd, 9), staticDataSealedHex: '' };
    const quoted = 'card "gone" \\ before "READ RECORD" \\\\';
    const seq = entries.length + 1;
    entries.push(
      { kind: 'pending', recovery: oddRecovery, fareRule: 'flat', amountMinor: 1 },
      { kind: 'torn', pendingSeq: seq, recovery: oddRecovery, uncertain: true, reason: quoted },
      { kind: 'final', pendingSeq: seq, clearing: { ...clearing(odd, 9), lineId: 'L"\\9' } },
      { kind: 'ack', throughSeq: seq + 2 },
    );
    const state = new JournalState(true);
    const sizeOf = (): number => checkpointEncode({
      firstSeq: state.lastSeq + 1, headHash: CHAIN_GENESIS_HASH, state: state.snapshot(),
    }).length;
    let before = sizeOf();
    let slackMin = Infinity;
    entries.forEach((raw, i) => {
      const entry = journalEntryNormalise(raw, 'test');
      // Times jump by up to 10^12 ms: the newest time gains digits too, and goes back.
      const timeWallMs = i === 0 ? 0 : WALL_EPOCH_MS * (i % 7 === 0 ? 1000 : 1) + i;
      const record = { seq: i + 1, timeWallMs, entry };
      expect(state.check(entry, record.seq)).toBeNull();
      const newestBefore = state.newestWallMs;
      state.apply(record);
      const held = state.held(record.seq) === null
        ? null
        : journalPayloadEncode(timeWallMs, entry);
      const finalTexts = entry.kind === 'final'
        ? [entry.clearing.lineId, entry.clearing.fareRule]
        : null;
      const after = sizeOf();
      // A record dated before the newest has no bound (the journal encodes after it).
      if (timeWallMs < newestBefore) {
        before = after;
        return;
      }
      const slack = before + checkpointGrowthBytesMax(held, finalTexts) - after;
      expect(slack, `record ${record.seq} (${entry.kind})`).toBeGreaterThanOrEqual(0);
      slackMin = Math.min(slackMin, slack);
      before = after;
    });
    // A bound, but not a loose one: some record comes within a hundred bytes of it.
    expect(slackMin).toBeLessThan(100);
  });
});
