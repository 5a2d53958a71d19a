// PN532 status table, timeout codes, baud codes and target layouts (UM0701-02, pn532.md §4-§5).

import { describe, expect, it } from 'vitest';
import { HalStatus } from '../src/ports/hal_status.js';
import {
  PN532_STATUS_TABLE,
  parsePn532TargetTypeA,
  parsePn532TargetTypeB,
  pn532BaudCode,
  pn532RfTimeoutCode,
  pn532RfTimeoutMs,
  pn532StatusInfo,
} from '../src/pn532/pn532_commands.js';
import { HEX, hexOf } from './pn532_test_frames.js';

describe('status table', () => {
  // libnfc's grouping of the same codes (pn532.md §4) is the independent reference: each of
  // its groups must land in HAL categories that keep the card-versus-reader split.
  const libnfcGroups: Record<string, number[]> = {
    NFC_ERFTRANS: [
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x0b, 0x12, 0x13, 0x23, 0x25, 0x2a, 0x2c, 0x2e,
    ],
    NFC_ECHIP: [0x07, 0x09, 0x0d, 0x0e, 0x2d],
    NFC_EINVARG: [0x10, 0x26, 0x27],
    NFC_ETGRELEASED: [0x29, 0x2b],
    NFC_EMFCAUTHFAIL: [0x14],
  };
  const allowed: Record<string, HalStatus[]> = {
    NFC_ERFTRANS: [HalStatus.TRANSMISSION, HalStatus.PROTOCOL, HalStatus.CARD_GONE],
    NFC_ECHIP: [HalStatus.READER_IO],
    NFC_EINVARG: [HalStatus.PROTOCOL],
    NFC_ETGRELEASED: [HalStatus.CARD_GONE],
    NFC_EMFCAUTHFAIL: [HalStatus.PROTOCOL],
  };

  it('table_coversEveryCodeLibnfcKnows_withCompatibleCategories', () => {
    for (const [group, codes] of Object.entries(libnfcGroups)) {
      for (const code of codes) {
        expect(PN532_STATUS_TABLE.has(code), `0x${code.toString(16)}`).toBe(true);
        expect(allowed[group]).toContain(pn532StatusInfo(code).hal);
      }
    }
  });

  it('status01_targetSilent_isCardGone', () => {
    expect(pn532StatusInfo(0x01).hal).toBe(HalStatus.CARD_GONE);
    expect(pn532StatusInfo(0x41).hal).toBe(HalStatus.CARD_GONE); // MI bit ignored
  });

  it('unknownStatus_isProtocol', () => {
    expect(pn532StatusInfo(0x3e).hal).toBe(HalStatus.PROTOCOL);
  });
});

describe('codes', () => {
  it.each([
    [51.2, 0x0a],
    [52, 0x0b], // libnfc's 52 ms rounds up to 102.4 ms
    [102.4, 0x0b],
    [103, 0x0c],
    [3276.8, 0x10],
    [99999, 0x10],
    [0.1, 0x01],
  ])('rfTimeoutCode_%fms_is%i', (ms, code) => {
    expect(pn532RfTimeoutCode(ms)).toBe(code);
    expect(pn532RfTimeoutMs(code)).toBeCloseTo(0.1 * 2 ** (code - 1), 6);
  });

  it.each([
    [9600, 0],
    [115200, 4],
    [921600, 7],
    [1288000, 8],
  ])('baudCode_%i_is%i', (baud, code) => {
    expect(pn532BaudCode(baud)).toBe(code);
  });

  it('baudCode_unofferedRate_isUndefined', () => {
    expect(pn532BaudCode(250000)).toBeUndefined();
  });
});

describe('target layouts', () => {
  it('typeA_pn532mdExample_parses', () => {
    // pn532.md §5: D5 4B 01 | 01 00 04 20 04 08 A1 B2 C3 05 78 80 70 02
    const data = HEX('01 01 00 04 20 04 08 A1 B2 C3 05 78 80 70 02');
    const r = parsePn532TargetTypeA(data, 1);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.tg).toBe(1);
    expect(hexOf(r.target.atqa)).toBe('00 04');
    expect(r.target.sak).toBe(0x20);
    expect(hexOf(r.target.uid)).toBe('08 a1 b2 c3');
    expect(hexOf(r.target.ats)).toBe('05 78 80 70 02');
    expect(r.target.isoDep).toBe(true);
    expect(r.next).toBe(data.length);
  });

  it('typeA_twoTargets_secondParsesAfterFirst', () => {
    const data = HEX('02 01 00 04 08 04 11 22 33 44 02 00 44 20 07 04 01 02 03 04 05 06 02 80');
    const first = parsePn532TargetTypeA(data, 1);
    expect(first.ok && first.target.ats.length).toBe(0); // SAK 08: MIFARE, no ATS
    if (!first.ok) return;
    const second = parsePn532TargetTypeA(data, first.next);
    expect(second.ok && hexOf(second.target.uid)).toBe('04 01 02 03 04 05 06');
    expect(second.ok && hexOf(second.target.ats)).toBe('02 80');
  });

  it('typeA_cascadeTagIn8ByteNfcid_isStripped', () => {
    const data = HEX('01 00 44 00 08 88 04 01 02 03 04 05 06');
    const r = parsePn532TargetTypeA(data, 0);
    expect(r.ok && hexOf(r.target.uid)).toBe('04 01 02 03 04 05 06');
  });

  it('typeA_truncatedAts_isRefused', () => {
    expect(parsePn532TargetTypeA(HEX('01 00 04 20 04 08 A1 B2 C3 05 78 80'), 0).ok).toBe(false);
  });

  it('typeB_pn532mdExample_parses', () => {
    const data = HEX('01 01 50 1A 2B 3C 4D 00 00 00 00 80 71 81 01 00');
    const r = parsePn532TargetTypeB(data, 1);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(hexOf(r.target.pupi)).toBe('1a 2b 3c 4d');
    expect(hexOf(r.target.attribRes)).toBe('00');
    expect(r.next).toBe(data.length);
  });

  it('typeB_atqbWithout50_isRefused', () => {
    expect(parsePn532TargetTypeB(HEX('01 51 1A 2B 3C 4D 00 00 00 00 80 71 81 00'), 0).ok).toBe(
      false,
    );
  });
});
