// Exact domain.md 1 APDUs against the population: FCI layouts, GPO templates, GET DATA, log.

import { describe, expect, it } from 'vitest';
import { population } from '../../src/cards/card_population.js';
import type { QpbocCard } from '../../src/cards/qpboc_card.js';
import { withSeed } from './support/seeded.js';
import {
  DEFAULT_TAP,
  SELECT_PPSE_HEX,
  acType,
  runTap,
  send,
  tapValue,
} from './support/test_terminal.js';
import { findTag, hex, parseTlv, toHexT } from './support/tlv_walk.js';
import type { TlvNode } from './support/tlv_walk.js';

const SEED = 20250601;
/** The KATA trace's GPO (domain.md 1.5), byte for byte: TTQ 36800000, 0.01 CNY. */
const KATA_GPO =
  '80A8000023832136800000000000000001000000000000015600000000000156170601002B29EBE400';
const SELECT_DEBIT = '00A4040008A00000033301010100';

function debitCard(seed = SEED): QpbocCard {
  const card = population(seed).card('unionpay-debit-ec');
  card.powerOn();
  return card;
}

function children(node: TlvNode | undefined): readonly TlvNode[] {
  return node?.children ?? [];
}

describe('SELECT PPSE', () => {
  it('selectPpse_returnsFciWithDirectoryEntries', () => {
    withSeed(SEED, () => {
      const card = debitCard();
      const a = send(card, SELECT_PPSE_HEX);
      expect(a.sw).toBe(0x9000);
      const fci = parseTlv(a.data);
      expect(fci.map((n) => n.tag)).toEqual([0x6f]);
      expect(toHexT(findTag(fci, 0x84)?.value ?? new Uint8Array(0))).toBe(
        toHexT(new TextEncoder().encode('2PAY.SYS.DDF01')),
      );
      const bf0c = findTag(fci, 0xbf0c);
      const entry = children(bf0c)[0];
      expect(entry?.tag).toBe(0x61);
      const aid = findTag(children(entry), 0x4f)?.value ?? new Uint8Array(0);
      expect(toHexT(aid)).toBe('a000000333010101');
      expect(new TextDecoder().decode(findTag(children(entry), 0x50)?.value)).toBe('PBOC DEBIT');
      expect(toHexT(findTag(children(entry), 0x87)?.value ?? new Uint8Array(0))).toBe('01');
    });
  });

  it('cobadge_listsVisaFirstWithPriority1_unionPaySecond', () => {
    withSeed(SEED, () => {
      const card = population(SEED).card('cobadge-visa-unionpay');
      card.powerOn();
      const entries = children(findTag(parseTlv(send(card, SELECT_PPSE_HEX).data), 0xbf0c));
      const summary = entries.map((e) => [
        toHexT(findTag(children(e), 0x4f)?.value ?? new Uint8Array(0)),
        toHexT(findTag(children(e), 0x87)?.value ?? new Uint8Array(0)),
      ]);
      expect(summary).toEqual([
        ['a0000000031010', '01'],
        ['a000000333010102', '02'],
      ]);
    });
  });
});

describe('SELECT AID', () => {
  it('selectDebit_returnsFciWithPdolLogEntryAndLabel', () => {
    withSeed(SEED, () => {
      const card = debitCard();
      const a = send(card, SELECT_DEBIT);
      expect(a.sw).toBe(0x9000);
      const fci = parseTlv(a.data);
      expect(toHexT(findTag(fci, 0x84)?.value ?? new Uint8Array(0))).toBe('a000000333010101');
      expect(toHexT(findTag(fci, 0x9f38)?.value ?? new Uint8Array(0))).toBe(
        '9f66049f02069f03069f1a0295055f2a029a039c019f3704',
      );
      expect(toHexT(findTag(fci, 0x9f4d)?.value ?? new Uint8Array(0))).toBe('0b0a');
      expect(toHexT(findTag(fci, 0x5f2d)?.value ?? new Uint8Array(0))).toBe('7a68');
    });
  });

  it('partialAid_selectsFirstMatch_nextOccurrenceFindsNone', () => {
    withSeed(SEED, () => {
      const card = debitCard();
      expect(send(card, '00A4040007A000000333010100').sw).toBe(0x9000);
      expect(send(card, '00A4040207A000000333010100').sw).toBe(0x6a82);
    });
  });
});

describe('GPO', () => {
  it('kataGpo_forcesArqc_withoutAfl_iadLayoutOfDomain24', () => {
    withSeed(SEED, () => {
      const card = debitCard();
      send(card, SELECT_DEBIT);
      const atcBefore = card.atc();
      const a = send(card, KATA_GPO);
      expect(a.sw).toBe(0x9000);
      const tlv = parseTlv(a.data);
      expect(tlv[0]?.tag).toBe(0x77);
      const tags = children(tlv[0]).map((n) => n.tag);
      expect(tags.slice(0, 8)).toEqual([
        0x82, 0x9f36, 0x57, 0x9f10, 0x9f26, 0x5f34, 0x9f6c, 0x9f5d,
      ]);
      const iad = findTag(tlv, 0x9f10)?.value ?? new Uint8Array(0);
      expect(iad.length).toBe(0x13);
      const fixed = [iad[0], iad[2], iad[3], iad[7], iad[8], iad[9]];
      expect(fixed).toEqual([0x07, 0x01, 0x03, 0x01, 0x0a, 0x01]);
      expect((iad[4] ?? 0) & 0x30).toBe(0x20);
      // IAD bytes 10-14: the EC balance in BCD, as in the KATA trace (0000038787 = 387.87).
      expect(Number.parseInt(toHexT(iad.subarray(10, 15)), 10)).toBe(card.balanceMinor());
      expect(findTag(tlv, 0x9f26)?.value.length).toBe(8);
      expect(Number.parseInt(toHexT(findTag(tlv, 0x9f36)?.value ?? new Uint8Array(0)), 16)).toBe(
        atcBefore + 1,
      );
      expect(findTag(tlv, 0x94)).toBeUndefined();
    });
  });

  it('tcPath_usesBerLength81_andAflListsEveryRecord', () => {
    withSeed(SEED, () => {
      const card = debitCard();
      const tap = runTap(card, 'a000000333010101', { ...DEFAULT_TAP, ttqHex: '28000080' });
      expect(acType(tap)).toBe('TC');
      expect(toHexT(tap.gpo.data.subarray(0, 2))).toBe('7781');
      expect(toHexT(tap.afl ?? new Uint8Array(0))).toBe('08010100' + '10010202' + '18010500');
      const order = tap.records.map(([s, r]) => `${s}.${r}`).join(' ');
      expect(order).toBe('1.1 2.1 2.2 3.1 3.2 3.3 3.4 3.5');
    });
  });

  it('slowCard_1984BitSdadInRecord_usesLength81F8', () => {
    withSeed(SEED, () => {
      const card = population(SEED).card('slow-wtx');
      card.powerOn();
      const tap = runTap(card, 'a000000333010101', { ...DEFAULT_TAP, ttqHex: '28000080' });
      const last = tap.records[tap.records.length - 1]?.[2] ?? new Uint8Array(0);
      expect(toHexT(last.subarray(0, 7))).toBe('7081fc9f4b81f8');
      expect(tapValue(tap, 0x9f4b)?.length).toBe(248);
    });
  });

  it('gpoWithoutSelect_6985_wrongLength_6700_notTemplate83_6A80', () => {
    withSeed(SEED, () => {
      const card = debitCard();
      expect(send(card, KATA_GPO).sw).toBe(0x6985);
      send(card, SELECT_DEBIT);
      expect(send(card, '80A80000028300').sw).toBe(0x6700);
      expect(send(card, KATA_GPO.replace('8321', '8421')).sw).toBe(0x6a80);
      expect(send(card, KATA_GPO.replace('80A80000', '80A80100')).sw).toBe(0x6a86);
      expect(send(card, KATA_GPO.replace('80A8', '00A8')).sw).toBe(0x6e00);
    });
  });
});

describe('GET DATA and log', () => {
  it('getData_returnsEcFiguresAtcAndLogFormat', () => {
    withSeed(SEED, () => {
      const pop = population(SEED);
      const card = pop.card('unionpay-debit-ec');
      card.powerOn();
      const ec = pop.profiles['unionpay-debit-ec'].applications[0]?.ec;
      send(card, SELECT_DEBIT);
      const value = (p1p2: string): string => {
        const a = send(card, `80CA${p1p2}00`);
        expect(a.sw).toBe(0x9000);
        const node = parseTlv(a.data)[0];
        expect(node?.tag.toString(16)).toBe(p1p2.toLowerCase());
        return toHexT(node?.value ?? new Uint8Array(0));
      };
      expect(Number.parseInt(value('9F79'), 10)).toBe(card.balanceMinor());
      expect(Number.parseInt(value('9F77'), 10)).toBe(ec?.balanceLimitMinor);
      expect(Number.parseInt(value('9F78'), 10)).toBe(ec?.singleLimitMinor);
      expect(Number.parseInt(value('9F6D'), 10)).toBe(ec?.resetThresholdMinor);
      expect(Number.parseInt(value('9F36'), 16)).toBe(card.atc());
      expect(value('9F13')).toMatch(/^[0-9a-f]{4}$/);
      expect(value('9F4F')).toBe('9a039f21039f02069f03069f1a025f2a029f4e149c019f3602');
      expect(send(card, '80CA9F1700').sw).toBe(0x6a88);
    });
  });

  it('tcTap_writesLogRecord_readableAt00B2015C00', () => {
    withSeed(SEED, () => {
      const card = debitCard();
      expect(send(card, '00B2015C00').sw).toBe(0x6985);
      const input = { ...DEFAULT_TAP, amountMinor: 5000, ttqHex: '28000080' };
      const tap = runTap(card, 'a000000333010101', input);
      expect(acType(tap)).toBe('TC');
      const log = send(card, '00B2015C00');
      expect(log.sw).toBe(0x9000);
      // 9A 250601, 9F21 (none in PDOL, no clock: zeros), 9F02 50.00, 9F03 0, 9F1A 0156,
      // 5F2A 0156, 9F4E 20 zero bytes, 9C 00, ATC.
      const atc = card.atc().toString(16).padStart(4, '0');
      expect(toHexT(log.data)).toBe(
        `250601000000000000005000000000000000015601560${'0'.repeat(39)}00${atc}`,
      );
      expect(send(card, '00B2025C00').sw).toBe(0x6a83);
    });
  });
});

describe('status words for wrong commands', () => {
  it('rejects_withIso7816Codes', () => {
    withSeed(SEED, () => {
      const card = debitCard();
      expect(send(card, '00A4040008A00000033301019900').sw).toBe(0x6a82);
      expect(send(card, '00A4000008A00000033301010100').sw).toBe(0x6a86);
      expect(send(card, '00A4040C08A00000033301010100').sw).toBe(0x6a86);
      expect(send(card, '00A40400').sw).toBe(0x6a82);
      expect(send(card, '00A4040008A000000333').sw).toBe(0x6700);
      expect(send(card, '00B2010C00').sw).toBe(0x6985);
      expect(send(card, '80CA9F7900').sw).toBe(0x6985);
      send(card, SELECT_DEBIT);
      expect(send(card, '00840000 08'.replace(' ', '')).sw).toBe(0x6d00);
      expect(send(card, 'A0B2010C00').sw).toBe(0x6e00);
      expect(send(card, '80B2010C00').sw).toBe(0x6e00);
      expect(send(card, '00B2010800').sw).toBe(0x6a86);
      expect(send(card, '00B2000C00').sw).toBe(0x6a86);
      expect(send(card, '00B2090C00').sw).toBe(0x6a83);
      expect(send(card, '00B201F400').sw).toBe(0x6a82);
      expect(send(card, '00B2010C10').raw.length).toBe(2);
      expect(toHexT(send(card, '00B2010C10').raw.subarray(0, 1))).toBe('6c');
      expect(send(card, '00B2010C00').sw).toBe(0x9000);
      expect(card.transceive(hex('00'))).toEqual(hex('6700'));
    });
  });

  it('recordsWithDynamicData_beforeAnyGpo_6985', () => {
    withSeed(SEED, () => {
      const card = debitCard();
      send(card, SELECT_DEBIT);
      expect(send(card, '00B2051C00').sw).toBe(0x6985);
      expect(send(card, '00B2011C00').sw).toBe(0x9000);
    });
  });

  it('poweredOffCard_answersNothing', () => {
    const card = population(SEED).card('unionpay-debit-ec');
    expect(card.transceive(hex(SELECT_PPSE_HEX))).toBeNull();
    card.powerOn();
    card.powerOff();
    expect(card.transceive(hex(SELECT_PPSE_HEX))).toBeNull();
  });
});
