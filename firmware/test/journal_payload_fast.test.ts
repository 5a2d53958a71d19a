// The in-place payload check against the full decoder (the second implementation): on every
// real payload and on thousands of mutated ones, a payload the fast check accepts is one the
// decoder accepts, with the same values, and written exactly as the encoder writes it.

import { describe, expect, it } from 'vitest';

import { FieldError } from '../src/app/params/json_fields.js';
import {
  FactSlot, PayloadFacts, payloadFastCheck,
} from '../src/app/journal/journal_payload_fast.js';
import {
  JOURNAL_KINDS, journalPayloadDecode, journalPayloadEncode,
} from '../src/app/journal/journal_records.js';
import type { CardKey, JournalEntry, JournalKind } from '../src/app/journal/journal_records.js';
import { PayloadRecordFacts } from '../src/app/journal/journal_scan.js';
import { recordFacts } from '../src/app/journal/journal_state.js';
import {
  card, newPrng, randomEntries, recovery, scriptedEntries,
} from './journal_fixtures.js';
import { TUNION_BLOCK_OUTCOMES } from '../src/app/journal/journal_tunion.js';
import {
  tunionBlockedEntries, tunionBlockedEntry, tunionEntries,
} from './journal_tunion_fixtures.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 5);
const ENCODER = new TextEncoder();
/** Bytes a mutation writes: JSON structure, digits, hex in both cases, escapes, non-ASCII. */
const ALPHABET = ENCODER.encode('0123456789ABCDEFabcdef{}[],:"\\ .-+eE*nulltruefalse\u00e9x');

type Decoded = ReturnType<typeof journalPayloadDecode>;

function decodeOrNull(kind: JournalKind, payload: Uint8Array): Decoded | null {
  try {
    return journalPayloadDecode(kind, payload, 'payload');
  } catch (error) {
    if (error instanceof FieldError) return null;
    throw error;
  }
}

function cardOf(entry: JournalEntry): CardKey | null {
  switch (entry.kind) {
    case 'pending':
    case 'torn':
      return entry.recovery.card;
    case 'final':
      return entry.clearing.card;
    case 'declined':
      return entry.card;
    case 'reconciled':
    case 'ack':
    case 'tunion_grey':
    case 'tunion_final':
    case 'tunion_blocked':
      return null;
    default: {
      const unreachable: never = entry;
      throw new Error(String(unreachable));
    }
  }
}

/** The facts left by the fast check agree with the decoded record. */
function expectFactsMatch(facts: PayloadFacts, decoded: Decoded): void {
  const entry = decoded.entry;
  expect(facts.num[FactSlot.TIME_WALL_MS]).toBe(decoded.timeWallMs);
  const card = cardOf(entry);
  if (card !== null) {
    expect(facts.text(FactSlot.PAN_TOKEN)).toBe(card.panToken);
    expect(facts.text(FactSlot.PAN_SEALED)).toBe(card.panSealed);
    expect(facts.text(FactSlot.PAN_MASKED)).toBe(card.panMasked);
    expect(facts.text(FactSlot.UID_HEX)).toBe(card.uidHex);
    expect(facts.num[FactSlot.PSN]).toBe(card.psn);
  }
  if (entry.kind === 'final' || entry.kind === 'declined' || entry.kind === 'torn') {
    expect(facts.intOrNull(FactSlot.PENDING_SEQ)).toBe(entry.pendingSeq);
  }
  if (entry.kind === 'torn') expect(facts.num[FactSlot.UNCERTAIN]).toBe(entry.uncertain ? 1 : 0);
  if (entry.kind === 'reconciled') {
    expect(facts.num[FactSlot.TARGET_SEQ]).toBe(entry.targetSeq);
    expect(facts.outcome()).toBe(entry.outcome);
    expect(facts.intOrNull(FactSlot.FINAL_SEQ)).toBe(entry.finalSeq);
  }
  if (entry.kind === 'ack') expect(facts.num[FactSlot.THROUGH_SEQ]).toBe(entry.throughSeq);
  if (entry.kind === 'tunion_grey' || entry.kind === 'tunion_final') {
    expect(facts.num[FactSlot.ATC]).toBe(entry.purchase.atc);
  }
  if (entry.kind === 'tunion_blocked') {
    expect(TUNION_BLOCK_OUTCOMES[facts.num[FactSlot.BLOCK_OUTCOME] ?? -1])
      .toBe(entry.blockOutcome);
    expect(facts.text(FactSlot.BLOCK_SW_HEX)).toBe(entry.blockSwHex);
    expect(facts.intOrNull(FactSlot.PENDING_SEQ)).toBe(entry.pendingSeq);
  }
  if (entry.kind === 'final') {
    expect(facts.text(FactSlot.LINE_ID)).toBe(entry.clearing.lineId);
    expect(facts.text(FactSlot.FARE_RULE)).toBe(entry.clearing.fareRule);
    expect(facts.num[FactSlot.AMOUNT_MINOR]).toBe(entry.clearing.amountMinor);
    const { card: _card, ...rest } = entry.clearing;
    const from = facts.start[FactSlot.CLEARING_REST_FROM];
    const to = facts.end[FactSlot.CLEARING_REST_TO];
    const restText = Buffer.from(facts.bytes.subarray(from, to)).toString('latin1');
    expect(`{${restText}}`).toBe(JSON.stringify(rest));
  }
}

/** Valid payloads of every kind, some with the rarer shapes (SDAD, quotes in a text). */
function payloads(): { kind: JournalKind; bytes: Uint8Array }[] {
  const entries = [...scriptedEntries(), ...randomEntries(newPrng(SEED), 400)];
  const first = scriptedEntries()[0];
  if (first?.kind === 'pending') {
    const withSdad = { ...recovery(first.recovery.card, 7), sdadHex: 'AB'.repeat(40) };
    entries.push({ ...first, recovery: withSdad });
  }
  entries.push({ kind: 'reconciled', targetSeq: 4, outcome: 'debited', finalSeq: 3, note: 'ok' });
  entries.push({ kind: 'declined', pendingSeq: null, card: card(9), reason: 'said "no" \\ twice' });
  entries.push(...tunionEntries(1, 17, 5), ...tunionEntries(2, 65535, null));
  entries.push(...tunionBlockedEntries(3), ...tunionBlockedEntries(8));
  return entries.map((entry, i) => ({
    kind: entry.kind,
    bytes: journalPayloadEncode(1_714_550_400_000 + i, entry),
  }));
}

function mutate(bytes: Uint8Array, prng: ReturnType<typeof newPrng>): Uint8Array {
  const at = prng.below(bytes.length);
  const byte = ALPHABET[prng.below(ALPHABET.length)] ?? 0x30;
  const out = Array.from(bytes);
  switch (prng.below(4)) {
    case 0:
      out[at] = byte;
      break;
    case 1:
      out.splice(at, 1);
      break;
    case 2:
      out.splice(at, 0, byte);
      break;
    default:
      out.splice(at, 0, ...out.slice(at, at + 1 + prng.below(12)));
  }
  return Uint8Array.from(out);
}

describe(`payloadFastCheck against journalPayloadDecode (SHUAKA_SEED=${SEED})`, () => {
  it('payloadFastCheck_everyEncodedPayload_acceptsWithTheDecodedValues', () => {
    const facts = new PayloadFacts();
    for (const { kind, bytes } of payloads()) {
      const decoded = decodeOrNull(kind, bytes);
      expect(decoded, `${kind} decodes`).not.toBeNull();
      const text = Buffer.from(bytes).toString('latin1');
      const escaped = text.includes('\\');
      // A string with an escape is left to the decoder; everything else is fast.
      expect(payloadFastCheck(kind, bytes, facts), text).toBe(!escaped);
      if (!escaped && decoded !== null) expectFactsMatch(facts, decoded);
    }
  });

  it('PayloadRecordFacts_everyFastPayload_givesTheFactsOfItsDecodedRecord', () => {
    // What the reference rules read (journal_state.ts) from the bytes (verify, export, an
    // upload pass, a checkpoint's held records) and from the decoded record (a validator).
    const facts = new PayloadFacts();
    const fromBytes = new PayloadRecordFacts(facts);
    const fields = ['seq', 'timeWallMs', 'kind', 'pendingSeq', 'panToken', 'psn', 'atc',
      'uncertain', 'targetSeq', 'outcome', 'finalSeq', 'throughSeq'] as const;
    const kinds = new Set<JournalKind>();
    payloads().forEach(({ kind, bytes }, i) => {
      if (!payloadFastCheck(kind, bytes, facts)) return;
      const decoded = recordFacts({ seq: i + 1, ...journalPayloadDecode(kind, bytes, 'p') });
      const filled = fromBytes.fill(i + 1, kind, bytes, false);
      for (const field of fields) expect(filled[field], `${kind} ${field}`).toBe(decoded[field]);
      kinds.add(kind);
    });
    expect([...kinds].sort()).toEqual([...JOURNAL_KINDS].sort());
  });

  it('payloadFastCheck_anotherKindInTheHeader_isLeftToTheDecoder', () => {
    const facts = new PayloadFacts();
    for (const { kind, bytes } of payloads().slice(0, 20)) {
      for (const other of JOURNAL_KINDS.filter((k) => k !== kind)) {
        expect(payloadFastCheck(other, bytes, facts)).toBe(false);
        expect(decodeOrNull(other, bytes)).toBeNull();
      }
    }
  });

  it('payloadFastCheck_blockOutcomeAndAnswerDisagree_refusedAsTheDecoderRefuses', () => {
    const facts = new PayloadFacts();
    const cases: [typeof TUNION_BLOCK_OUTCOMES[number], string, number | null, boolean][] = [
      ['blocked', '9000', null, true], ['blocked', '', null, false],
      ['blocked', '6988', null, false], ['not-confirmed', '', null, true],
      ['not-confirmed', '6A81', null, true], ['not-confirmed', '9000', null, false],
      ['not-sent', '', null, true], ['not-sent', '6988', null, false],
      ['pending', '', null, true], ['pending', '9000', null, false],
      // A final names the pending record written before the command; those two never do.
      ['blocked', '9000', 7, true], ['not-confirmed', '', 7, true],
      ['not-confirmed', '6988', 7, true], ['not-sent', '', 7, false], ['pending', '', 7, false],
    ];
    for (const [outcome, sw, pendingSeq, valid] of cases) {
      const where = `${outcome} ${sw} ${pendingSeq}`;
      const bytes = journalPayloadEncode(1_714_550_400_000,
        tunionBlockedEntry(1, outcome, sw, pendingSeq));
      expect(payloadFastCheck('tunion_blocked', bytes, facts), where).toBe(valid);
      const decoded = decodeOrNull('tunion_blocked', bytes);
      expect(decoded !== null, where).toBe(valid);
      if (valid && decoded !== null) expectFactsMatch(facts, decoded);
    }
  });

  it('payloadFastCheck_blockWrittenBeforePendingRecords_leftToTheDecoderWhichReadsIt', () => {
    // Records written before pending block records existed have no pendingSeq key: not the
    // canonical form (the fast check declines), read by the decoder as naming none.
    const facts = new PayloadFacts();
    for (const [outcome, sw] of [['blocked', '9000'], ['not-confirmed', ''],
      ['not-sent', '']] as const) {
      const { pendingSeq: _none, ...old } = tunionBlockedEntry(2, outcome, sw);
      const bytes = ENCODER.encode(JSON.stringify({ timeWallMs: 1_714_550_400_000, ...old }));
      expect(payloadFastCheck('tunion_blocked', bytes, facts), outcome).toBe(false);
      expect(decodeOrNull('tunion_blocked', bytes)?.entry, outcome)
        .toEqual({ ...old, pendingSeq: null });
    }
  });

  it('payloadFastCheck_mutatedPayloads_acceptsOnlyWhatTheDecoderAcceptsCanonically', () => {
    const prng = newPrng(SEED);
    const facts = new PayloadFacts();
    const tally = { fast: 0, decoderOnly: 0, refused: 0 };
    for (const { kind, bytes } of payloads()) {
      for (let i = 0; i < 40; i += 1) {
        let mutated = mutate(bytes, prng);
        if (prng.below(3) === 0) mutated = mutate(mutated, prng);
        const decoded = decodeOrNull(kind, mutated);
        const where = `${kind}: ${Buffer.from(mutated).toString('latin1')}`;
        if (payloadFastCheck(kind, mutated, facts)) {
          tally.fast += 1;
          expect(decoded, where).not.toBeNull();
          if (decoded === null) continue;
          expect(journalPayloadEncode(decoded.timeWallMs, decoded.entry), where).toEqual(mutated);
          expectFactsMatch(facts, decoded);
        } else if (decoded !== null) tally.decoderOnly += 1;
        else tally.refused += 1;
      }
    }
    // The mutations reach all three verdicts, so the comparison above is not vacuous.
    expect(tally.fast).toBeGreaterThan(100);
    expect(tally.decoderOnly).toBeGreaterThan(20);
    expect(tally.refused).toBeGreaterThan(1000);
  });
});
