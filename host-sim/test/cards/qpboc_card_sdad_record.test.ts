// An SDAD a record holds (the 'sdad-in-record' layout): signed when that record is first read,
// it is the one the GPO fixed: the terminal's fDDA verifies it, with the IDN of the GPO's ATC,
// whether the record is read in the tap or only after a tear, and re-reads return its bytes.

import { describe, expect, it } from 'vitest';
import { population } from '../../src/cards/card_population.js';
import {
  DEFAULT_TAP,
  SELECT_PPSE_HEX,
  aflEntries,
  readRecordApdu,
  runTap,
  send,
  terminalOda,
} from './support/test_terminal.js';
import type { Tap } from './support/test_terminal.js';
import { toHexT } from './support/tlv_walk.js';

const OFFLINE = { ...DEFAULT_TAP, ttqHex: '28000080' };
const SEED = 5;

function slowCard() {
  const pop = population(SEED);
  const card = pop.card('slow-wtx');
  card.powerOn();
  return { pop, card, aid: card.profile.applications[0]?.aidHex ?? '' };
}

function aflRecords(tap: Tap): [number, number][] {
  const out: [number, number][] = [];
  for (const [sfi, first, last] of aflEntries(tap.afl ?? new Uint8Array(0))) {
    for (let r = first; r <= last; r += 1) out.push([sfi, r]);
  }
  return out;
}

describe('an SDAD in a record', () => {
  it('readInTheTap_verifiesWithTheGposAtc', () => {
    const { pop, card, aid } = slowCard();
    const tap = runTap(card, aid, OFFLINE);
    expect(tap.records.some(([, , bytes]) => toHexT(bytes).includes('9f4b'))).toBe(true);
    const oda = terminalOda(tap, pop.pki.caKeys, aid);
    expect(oda).toMatchObject({ ok: true, idn: card.atc() });
  });

  it('readOnlyAfterATear_isTheSameBytes_andRereadsReturnThem', () => {
    const reference = slowCard();
    const full = runTap(reference.card, reference.aid, OFFLINE);
    const records = aflRecords(full);
    const { card, aid } = slowCard();
    // Torn before the last record (the SDAD's, SFI 4): that record was never read.
    runTap(card, aid, OFFLINE, records.length - 1);
    card.powerOn();
    expect(send(card, SELECT_PPSE_HEX).sw).toBe(0x9000);
    expect(send(card, `00A40400${(aid.length / 2).toString(16).padStart(2, '0')}${aid}00`).sw)
      .toBe(0x9000);
    const [sfi, rec] = records[records.length - 1] ?? [0, 0];
    const first = send(card, readRecordApdu(sfi, rec));
    expect(toHexT(first.data)).toContain('9f4b');
    const again = send(card, readRecordApdu(sfi, rec));
    expect(first.sw).toBe(0x9000);
    expect(toHexT(first.data)).toBe(toHexT(full.records[records.length - 1]?.[2] ?? new
      Uint8Array(0)));
    expect(toHexT(again.data)).toBe(toHexT(first.data));
  });
});
