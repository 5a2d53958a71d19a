// A PAN under a tag the refused list does not name never reaches a journal record. The case is
// swarm seed 20139 (--taps 500): two bit flips on the PN532 line that cancel in its checksum
// turned a READ RECORD answer's `5A 08 <PAN>` into `1A 08 <PAN>`, and the torn record of the
// pending stored the PAN in clear. The truth is the PAN itself, searched in the stored hex as
// BCD and as ASCII.

import { describe, expect, it } from 'vitest';

import { clearingOf, recoveryOf, tornRecordOf } from '../src/app/validator/tap_records.js';
import { FIXTURE_VAULT } from './journal_fixtures.js';

const PAN = '6258073079118280';
const PAN_ASCII_HEX = Buffer.from(PAN, 'latin1').toString('hex').toUpperCase();

/** One BER-TLV object as hex (a tag given as hex, a definite length of at most 255). */
function tlv(tagHex: string, valueHex: string): string {
  const length = valueHex.length / 2;
  const lengthHex = length.toString(16).padStart(2, '0').toUpperCase();
  return `${tagHex}${length < 0x80 ? '' : '81'}${lengthHex}${valueHex}`;
}

/** The card's data of a torn record, as the kernel keeps what the card answered. */
function cardData(extra: string): string {
  return [
    tlv('82', '7C00'),
    tlv('94', '08010100100101011801040060010101200102'),
    tlv('9F36', '001A'),
    tlv('57', `${PAN}D49122200000000000000F`),
    tlv('9F10', '07010103900000010A01000002600000000000'),
    tlv('9F26', '10CBB4CB533280AE'),
    tlv('5F24', '491231'),
    extra,
  ].join('');
}

/** A torn record laid out as the kernel writes it (qpboc_torn.ts). */
function tornRecord(extra: string): Uint8Array {
  const terminal = [
    tlv('9F02', '000000000200'), tlv('9F37', 'A27999D4'), tlv('5F2A', '0156'),
    tlv('9F66', '28000080'), tlv('9A', '261122'), tlv('9F21', '080000'), tlv('9C', '00'),
    tlv('95', '0000000000'), tlv('9F1A', '0156'),
  ].join('');
  const hex = [
    tlv('DF8101', '01'), tlv('DF8102', '00'), tlv('DF8103', '0104'),
    tlv('DF8104', '5F24034912315A08'), tlv('DF8105', '00'), tlv('84', 'A000000333010101'),
    tlv('E1', terminal), tlv('E2', cardData(extra)),
  ].join('');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** Where the stored hex holds the whole PAN (BCD digits or ASCII as hex), or []. */
function panIn(hex: string): string[] {
  const upper = hex.toUpperCase();
  return [
    ...(upper.includes(PAN) ? ['BCD'] : []),
    ...(upper.includes(PAN_ASCII_HEX) ? ['ASCII'] : []),
  ];
}

describe('tap records: no PAN under a tag the refused list does not name', () => {
  const damaged = [
    ['5A damaged into 1A (swarm seed 20139)', tlv('1A', PAN)],
    ['a proprietary tag holding the PAN in ASCII', tlv('DF7F', PAN_ASCII_HEX)],
    ['the PAN inside a proprietary template', tlv('BF0C', tlv('9F4D', `00${PAN}00`))],
    ['the PAN in BCD from a low nibble', tlv('DF7E', `A${PAN}A`)],
  ] as const;

  for (const [what, extra] of damaged) {
    it(`torn record: ${what}`, () => {
      const recovery = recoveryOf(tornRecord(extra), '4DD86310', FIXTURE_VAULT);
      expect(recovery).not.toBeNull();
      const stored = recovery?.tornRecordHex ?? '';
      expect(panIn(stored)).toEqual([]);
      // The rest of the card's data stays: the kernel needs it to finish the torn tap.
      expect(stored).toContain(tlv('9F10', '07010103900000010A01000002600000000000'));
      expect(stored).toContain(tlv('94', '08010100100101011801040060010101200102'));
      // And the PAN comes back from the sealed one for the kernel, as track 2.
      const back = Buffer.from(tornRecordOf(recovery!, FIXTURE_VAULT) ?? []).toString('hex');
      expect(back.toUpperCase()).toMatch(new RegExp(`57[0-9A-F]{2}${PAN}D4912`));
    });

    it(`clearing record: ${what}`, () => {
      const clearingTlv = Buffer.from([
        tlv('9F26', '10CBB4CB533280AE'), tlv('9F36', '001A'), tlv('9F02', '000000000200'),
        tlv('5F2A', '0156'), tlv('9A', '261122'), tlv('5A', PAN), tlv('84', 'A000000333010101'),
        extra,
      ].join(''), 'hex');
      const record = clearingOf(clearingTlv, {
        uidHex: '4DD86310', fareRule: 'flat', cryptogramType: 'TC', terminalId: 'T0001',
        lineId: 'L1', paramsVersion: 1,
      }, FIXTURE_VAULT);
      expect(record).not.toBeNull();
      expect(panIn(record?.iccDataHex ?? '')).toEqual([]);
      expect(record?.iccDataHex).toContain(tlv('9F26', '10CBB4CB533280AE'));
      expect(FIXTURE_VAULT.openPan(record?.card.panSealed ?? '')).toEqual({ ok: true, value: PAN });
    });
  }
});
