// What the tap's records keep of the card's data: no PAN in clear under any tag, and no
// cardholder identity. The PAN case is swarm seed 20139 (--taps 500): two bit flips on the
// PN532 line that cancel in its checksum turned a READ RECORD answer's `5A 08 <PAN>` into
// `1A 08 <PAN>`, and the torn record of the pending stored the PAN in clear. An SM2 ICC
// certificate holds the PAN in clear by design: a torn record keeps such objects sealed and
// hands them back to the kernel. PBOC cards also carry the cardholder's ID document (9F61
// number, 9F62 type) and a long name in 9F0B. The truth is the data itself, searched in the
// stored hex.

import { describe, expect, it } from 'vitest';

import {
  journalEntryNormalise, tlvHexTagsFind, type JournalEntry,
} from '../src/app/journal/journal_records.js';
import {
  clearingOf, recoveryOf, recoveryRestored, tornRecordOf,
} from '../src/app/validator/tap_records.js';
import { FIXTURE_VAULT, card, panOf, recovery as fixtureRecovery } from './journal_fixtures.js';

const PAN = '6258073079118280';
const PAN_ASCII_HEX = Buffer.from(PAN, 'latin1').toString('hex').toUpperCase();
/** A resident identity card number (GB 11643 layout, check digit valid) and a long name. */
const ID_NUMBER = '11010519491231002X';
const LONG_NAME = 'ZHANGSAN/WANGWU LIMITED EDITION HOLDER';
const asciiHex = (text: string): string => Buffer.from(text, 'latin1').toString('hex').toUpperCase();
const IDENTITY = tlv('9F61', asciiHex(ID_NUMBER)) + tlv('9F62', '00')
  + tlv('9F0B', asciiHex(LONG_NAME));

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

/** Where the stored hex holds the whole PAN (BCD digits or ASCII as hex) or the identity. */
function panIn(hex: string): string[] {
  const upper = hex.toUpperCase();
  return [
    ...(upper.includes(PAN) ? ['BCD'] : []),
    ...(upper.includes(PAN_ASCII_HEX) ? ['ASCII'] : []),
    ...(upper.includes(asciiHex(ID_NUMBER)) ? ['ID number'] : []),
    ...(upper.includes(asciiHex(LONG_NAME)) ? ['name'] : []),
    ...(tlvHexTagsFind(upper, [0x9f61, 0x9f62, 0x9f0b]) !== null ? ['identity tag'] : []),
  ];
}

describe('tap records: no PAN under another tag, no cardholder identity', () => {
  // Objects holding the PAN: sealed in the torn record, handed back to the kernel as they were
  // (an SM2 certificate holds the PAN in clear, and the kernel needs it to finish the tap).
  const holdingPan = [
    ['5A damaged into 1A (swarm seed 20139)', tlv('1A', PAN)],
    ['a proprietary tag holding the PAN in ASCII', tlv('DF7F', PAN_ASCII_HEX)],
    ['the PAN inside a proprietary template', tlv('BF0C', tlv('9F4D', `00${PAN}00`))],
    ['the PAN in BCD from a low nibble', tlv('DF7E', `A${PAN}A`)],
    ['an SM2 ICC certificate (9F46: the PAN in clear)',
      tlv('9F46', `14${PAN}FFFF1231000001000411${'5C'.repeat(64)}${'A7'.repeat(64)}`)],
  ] as const;
  const identity = ['the cardholder\'s ID document and long name (9F61, 9F62, 9F0B)', IDENTITY];
  const damaged = [...holdingPan, identity] as const;

  for (const [what, extra] of damaged) {
    it(`torn record: ${what}`, () => {
      const recovery = recoveryOf(tornRecord(extra), '4DD86310', FIXTURE_VAULT);
      expect(recovery).not.toBeNull();
      const stored = recovery?.tornRecordHex ?? '';
      expect(panIn(stored)).toEqual([]);
      // The rest of the card's data stays: the kernel needs it to finish the torn tap.
      expect(stored).toContain(tlv('9F10', '07010103900000010A01000002600000000000'));
      expect(stored).toContain(tlv('94', '08010100100101011801040060010101200102'));
      // The PAN comes back from the sealed one for the kernel, as track 2, and an object that
      // held it comes back whole; the identity does not come back.
      const back = Buffer.from(tornRecordOf(recovery!, FIXTURE_VAULT) ?? []).toString('hex')
        .toUpperCase();
      expect(back).toMatch(new RegExp(`57[0-9A-F]{2}${PAN}D4912`));
      if (extra === IDENTITY) expect(back).not.toContain(asciiHex(ID_NUMBER));
      else expect(back).toContain(extra);
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

describe('a stored recovery carried into a new record', () => {
  const withIdentity = (hex: string): JournalEntry => ({
    kind: 'torn', pendingSeq: null, uncertain: true, reason: 'torn: card removed',
    recovery: { ...fixtureRecovery(card(7), 21), tornRecordHex: hex },
  });

  it('drops the tags an earlier build kept, so that the append takes it', () => {
    const old = fixtureRecovery(card(7), 21);
    const stored = { ...old, tornRecordHex: `${old.tornRecordHex}${IDENTITY}` };
    // What the codec of an append says of it as it was stored.
    expect(() => journalEntryNormalise(withIdentity(stored.tornRecordHex), 'test')).toThrow(/9F61/);
    const restored = recoveryRestored(stored, FIXTURE_VAULT);
    expect(panIn(restored.tornRecordHex)).toEqual([]);
    expect(restored.tornRecordHex).toBe(old.tornRecordHex);
    expect(() => journalEntryNormalise(withIdentity(restored.tornRecordHex), 'test')).not.toThrow();
    expect({ ...restored, tornRecordHex: '' }).toEqual({ ...stored, tornRecordHex: '' });
  });

  it('seals an object an earlier build kept with the PAN in clear (an SM2 certificate)', () => {
    const old = fixtureRecovery(card(9), 23);
    const pan = panOf(9);
    const padded = pan.length % 2 === 0 ? pan : `${pan}F`;
    const certificate = tlv('9F46', `14${padded}FFFF1231000001000411${'5C'.repeat(64)}`);
    const stored = { ...old, tornRecordHex: `${old.tornRecordHex}${certificate}` };
    const restored = recoveryRestored(stored, FIXTURE_VAULT);
    expect(restored.tornRecordHex).not.toContain(pan);
    expect(restored.tornRecordHex).toContain('DF8170');
    const back = Buffer.from(tornRecordOf(restored, FIXTURE_VAULT) ?? []).toString('hex');
    expect(back.toUpperCase()).toContain(certificate);
    expect(() => journalEntryNormalise(withIdentity(restored.tornRecordHex), 'test')).not.toThrow();
  });

  it('gives a recovery without them back as it is', () => {
    const clean = fixtureRecovery(card(8), 22);
    expect(recoveryRestored(clean, FIXTURE_VAULT)).toBe(clean);
  });
});

describe('a sealed card object that does not open', () => {
  it('refuses the torn record rather than hand the kernel less than it stored', () => {
    const recovery = recoveryOf(tornRecord(tlv('1A', PAN)), '4DD86310', FIXTURE_VAULT);
    const stored = recovery?.tornRecordHex ?? '';
    const at = stored.indexOf('DF8170') + 10;
    const flipped = `${stored.slice(0, at)}${stored[at] === '0' ? '1' : '0'}${stored.slice(at + 1)}`;
    expect(tornRecordOf({ ...recovery!, tornRecordHex: flipped }, FIXTURE_VAULT)).toBeNull();
    expect(tornRecordOf(recovery!, FIXTURE_VAULT)).not.toBeNull();
  });
});
