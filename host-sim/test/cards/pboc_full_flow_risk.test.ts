// Full-flow card risk management and refusals: the CID a GENERATE AC answers for each request,
// failing twins of every ODA method, and the status word of every bad command.

import { describe, expect, it } from 'vitest';
import { population } from '../../src/cards/card_population.js';
import type { PopulationName } from '../../src/cards/card_population.js';
import type { AppProfile } from '../../src/cards/card_profile.js';
import { rsaSignMs } from '../../src/cards/card_timing.js';
import { createCard } from '../../src/cards/qpboc_card.js';
import type { QpbocCard } from '../../src/cards/qpboc_card.js';
import { Prng } from '../../src/prng.js';
import { sha1Of, verifyCdaSdad, verifySdad, verifySsad } from './support/emv_verifier.js';
import {
  P1_AAC,
  P1_ARQC,
  P1_CDA,
  P1_TC,
  TTQ_FULL_FLOW,
  cdolData,
  fullFlowValues,
  generateAcApdu,
  internalAuthenticateApdu,
  parseGenAc,
  recoverKeys,
  startFullFlow,
} from './support/full_flow_terminal.js';
import type { FullFlowStart } from './support/full_flow_terminal.js';
import { cvn01Cryptogram } from './support/pboc_ac.js';
import { DEFAULT_TAP, runTap, send, tapValue } from './support/test_terminal.js';
import { hex } from './support/tlv_walk.js';

const SEED = 11;
const INPUT = { ...DEFAULT_TAP, ttqHex: TTQ_FULL_FLOW, amountMinor: 200 };
const CREDIT = 'a000000333010102';
const DEBIT = 'a000000333010101';

function cardWith(name: PopulationName, patch: (app: AppProfile) => AppProfile): QpbocCard {
  const pop = population(SEED);
  const profile = pop.profiles[name];
  const applications = profile.applications.map((a) =>
    a.aidHex.startsWith('a000000333') ? patch(a) : a,
  );
  const card = createCard({ ...profile, applications }, { prng: new Prng(SEED), pki: pop.pki });
  card.powerOn();
  return card;
}

function genAc(card: QpbocCard, start: FullFlowStart, p1: number, arc = 'Z3') {
  const values = fullFlowValues(start.tap.input, arc);
  const answer = send(card, generateAcApdu(p1, cdolData(start, 0x8c, values)));
  return { answer, parts: answer.sw === 0x9000 ? parseGenAc(answer) : null, values };
}

function second(card: QpbocCard, start: FullFlowStart, p1: number, arc: string) {
  const answer = send(card, generateAcApdu(p1, cdolData(start, 0x8d, fullFlowValues(INPUT, arc))));
  return { answer, parts: answer.sw === 0x9000 ? parseGenAc(answer) : null };
}

describe('first GENERATE AC: the card never answers more than asked', () => {
  const cases: readonly (readonly [string, PopulationName, number, string, number])[] = [
    ['aacAsked_aac', 'stock-debit-dda', P1_AAC, TTQ_FULL_FLOW, 0x00],
    ['arqcAsked_arqc', 'stock-debit-dda', P1_ARQC, TTQ_FULL_FLOW, 0x80],
    ['tcAskedOnlineOnlyCard_arqc', 'stock-debit-dda', P1_TC, TTQ_FULL_FLOW, 0x80],
    ['tcAskedOnlineOnlyCardOfflineOnlyTerminal_aac', 'stock-debit-dda', P1_TC, '48000000', 0x00],
    ['tcAskedWithinLimits_tc', 'offline-limit-credit', P1_TC, TTQ_FULL_FLOW, 0x40],
  ];
  for (const [label, name, p1, ttqHex, cid] of cases) {
    it(label, () => {
      const card = population(SEED).card(name);
      card.powerOn();
      const aid = name === 'offline-limit-credit' ? CREDIT : DEBIT;
      const start = startFullFlow(card, aid, { ...INPUT, ttqHex });
      const { parts, values } = genAc(card, start, p1);
      expect(parts?.cid).toBe(cid);
      expect(((parts?.iad[4] ?? 0) & 0x30) >> 4).toBe(cid >> 6);
      const mk = card.profile.applications.find((a) => a.aidHex === aid)?.mkAcHex ?? '';
      const ac = cvn01Cryptogram(mk, values, start.aip, parts?.atc ?? -1, parts?.iad ?? hex(''));
      expect(parts?.cryptogram).toEqual(ac);
    });
  }

  it('tcWithinLimits_spendsAllowance_ledgerAndIad05', () => {
    const card = population(SEED).card('offline-limit-credit');
    card.powerOn();
    const ctta = card.cumulativeOfflineMinor(CREDIT) ?? -1;
    const start = startFullFlow(card, CREDIT, INPUT);
    const { parts } = genAc(card, start, P1_TC);
    expect(card.cumulativeOfflineMinor(CREDIT)).toBe(ctta + 200);
    expect(card.ledger()).toMatchObject([
      { source: 'offline-allowance', amountMinor: 200, atc: parts?.atc, recovered: false },
    ]);
    // IAD type 05: the 5-byte value is the available offline amount after this approval.
    expect(parts?.iad[9]).toBe(0x05);
    const available = 50_000 - ctta - 200;
    expect(Buffer.from(parts?.iad.subarray(10, 15) ?? []).toString('hex')).toBe(
      available.toString().padStart(10, '0'),
    );
  });

  it('tcOverLimits_arqc_nothingSpent', () => {
    const card = cardWith('offline-limit-credit', (a) => ({
      ...a,
      offlineLimits: { cumulativeLimitMinor: 300, cumulativeTotalMinor: 200, iadType: 0x02 },
    }));
    const start = startFullFlow(card, CREDIT, INPUT);
    const { parts } = genAc(card, start, P1_TC);
    expect(parts?.cid).toBe(0x80);
    expect(card.cumulativeOfflineMinor(CREDIT)).toBe(200);
    expect(card.ledger()).toHaveLength(0);
    // IAD type 02 carries CTTA.
    expect(parts?.iad[9]).toBe(0x02);
    expect(Buffer.from(parts?.iad.subarray(10, 15) ?? []).toString('hex')).toBe('0000000200');
  });
});

describe('second GENERATE AC after an ARQC', () => {
  const cases: readonly (readonly [string, number, string, number])[] = [
    ['issuerApproved00_tc', P1_TC, '00', 0x40],
    ['issuerDeclined05_aac', P1_TC, '05', 0x00],
    ['unableOnlineZ3_onlineOnlyCard_aac', P1_TC, 'Z3', 0x00],
    ['aacAsked_aac', P1_AAC, '00', 0x00],
  ];
  for (const [label, p1, arc, cid] of cases) {
    it(label, () => {
      const card = population(SEED).card('stock-debit-dda');
      card.powerOn();
      const start = startFullFlow(card, DEBIT, INPUT);
      expect(genAc(card, start, P1_ARQC).parts?.cid).toBe(0x80);
      const { parts } = second(card, start, p1, arc);
      expect(parts?.cid).toBe(cid);
      // CVR byte 1: bits 8-7 the second cryptogram, bits 6-5 the first (ARQC).
      expect(parts?.iad[4]).toBe(((cid >> 6) << 6) | 0x20);
      expect(card.ledger()).toHaveLength(0);
      expect(second(card, start, P1_TC, '00').answer.sw).toBe(0x6985);
    });
  }

  it('unableOnlineZ3_withinLimits_tcSpendsAllowance', () => {
    const card = population(SEED).card('offline-limit-credit');
    card.powerOn();
    const start = startFullFlow(card, CREDIT, INPUT);
    expect(genAc(card, start, P1_ARQC).parts?.cid).toBe(0x80);
    expect(second(card, start, P1_TC, 'Z3').parts?.cid).toBe(0x40);
    expect(card.ledger()).toMatchObject([{ source: 'offline-allowance', amountMinor: 200 }]);
  });

  it('arqcAskedInSecond_6985', () => {
    const card = population(SEED).card('stock-debit-dda');
    card.powerOn();
    const start = startFullFlow(card, DEBIT, INPUT);
    genAc(card, start, P1_ARQC);
    expect(second(card, start, P1_ARQC, '00').answer.sw).toBe(0x6985);
  });
});

describe('failing twins of each ODA method', () => {
  const clone = (a: AppProfile): AppProfile =>
    a.oda === null ? a : { ...a, oda: { ...a.oda, signingKeySlot: 'clone-foreign' } };

  it('sda_tamperedStaticRecord_ssadFails_genuinePasses', () => {
    const card = population(SEED).card('stock-debit-sda');
    card.powerOn();
    const start = startFullFlow(card, DEBIT, INPUT);
    const keys = recoverKeys(start, population(SEED).pki.caKeys, DEBIT);
    if (typeof keys === 'string') throw new Error(keys);
    const ssad = tapValue(start.tap, 0x93) ?? hex('');
    expect(typeof verifySsad(keys.issuer, ssad, keys.staticData)).not.toBe('string');
    const tampered = keys.staticData.slice();
    tampered[5] = (tampered[5] ?? 0) ^ 0x01;
    expect(verifySsad(keys.issuer, ssad, tampered)).toBe('hash mismatch');
  });

  it('dda_cloneSignsWithForeignKey_sdadFails', () => {
    const card = cardWith('stock-debit-dda', clone);
    const start = startFullFlow(card, DEBIT, INPUT);
    const keys = recoverKeys(start, population(SEED).pki.caKeys, DEBIT);
    if (typeof keys === 'string' || keys.icc === null) throw new Error('keys');
    const un = hex(INPUT.unHex);
    const ia = send(card, internalAuthenticateApdu(un));
    expect(ia.sw).toBe(0x9000);
    const sdad = ia.data.slice(3);
    expect(typeof verifySdad(keys.icc, sdad, un, hex(''), hex(''), null)).toBe('string');
  });

  it('dda_genuineSdad_otherUnpredictableNumber_fails', () => {
    const card = population(SEED).card('stock-debit-dda');
    card.powerOn();
    const start = startFullFlow(card, DEBIT, INPUT);
    const keys = recoverKeys(start, population(SEED).pki.caKeys, DEBIT);
    if (typeof keys === 'string' || keys.icc === null) throw new Error('keys');
    const ia = send(card, internalAuthenticateApdu(hex(INPUT.unHex)));
    const sdad = ia.data.slice(3);
    expect(verifySdad(keys.icc, sdad, hex('00000001'), hex(''), hex(''), null)).toBe(
      'hash mismatch',
    );
  });

  it('cda_cloneSignsWithForeignKey_sdadFails', () => {
    const card = cardWith('stock-credit-cda', clone);
    const start = startFullFlow(card, CREDIT, INPUT);
    const keys = recoverKeys(start, population(SEED).pki.caKeys, CREDIT);
    if (typeof keys === 'string' || keys.icc === null) throw new Error('keys');
    const { parts } = genAc(card, start, P1_ARQC | P1_CDA);
    expect(typeof verifyCdaSdad(keys.icc, parts?.sdad ?? hex(''), hex(INPUT.unHex))).toBe('string');
  });

  it('cda_aacAsked_noSignature_acIn9F26', () => {
    const card = population(SEED).card('stock-credit-cda');
    card.powerOn();
    const start = startFullFlow(card, CREDIT, INPUT);
    const { parts } = genAc(card, start, P1_AAC | P1_CDA);
    expect(parts?.cid).toBe(0x00);
    expect(parts?.sdad).toBeNull();
    expect(parts?.cryptogram?.length).toBe(8);
  });

  it('stockCard_qpbocOdaForOnline_arqcWithoutAflOrSdad_odaCapableCardSignsFdda', () => {
    const ttqHex = '21800080';
    const stock = population(SEED).card('stock-debit-dda');
    stock.powerOn();
    const tap = runTap(stock, DEBIT, { ...DEFAULT_TAP, ttqHex });
    expect(tap.afl).toBeNull();
    expect(tapValue(tap, 0x9f4b)).toBeUndefined();
    const capable = population(SEED).card('oda-capable-credit');
    capable.powerOn();
    const odaTap = runTap(capable, CREDIT, { ...DEFAULT_TAP, ttqHex });
    expect(odaTap.afl).not.toBeNull();
    expect(tapValue(odaTap, 0x9f4b)).toBeDefined();
  });
});

describe('status words of the full-flow commands (the card never throws)', () => {
  function afterGpo(name: PopulationName = 'stock-debit-dda', aid = DEBIT) {
    const card = population(SEED).card(name);
    card.powerOn();
    return { card, start: startFullFlow(card, aid, INPUT) };
  }
  const cdol1 = (start: FullFlowStart): string =>
    generateAcApdu(P1_ARQC, cdolData(start, 0x8c, fullFlowValues(INPUT))).slice(8);

  it('generateAc_badP1P2Length_6A86_6700', () => {
    const { card, start } = afterGpo();
    const body = cdol1(start);
    expect(send(card, `80AEC000${body}`).sw).toBe(0x6a86);
    expect(send(card, `80AE8800${body}`).sw).toBe(0x6a86);
    expect(send(card, `80AE8001${body}`).sw).toBe(0x6a86);
    expect(send(card, '80AE8000020000').sw).toBe(0x6700);
    expect(send(card, '80AE8000').sw).toBe(0x6700);
    expect(send(card, `00AE8000${body}`).sw).toBe(0x6e00);
    expect(send(card, `80AE8000${body}`).sw).toBe(0x9000);
  });

  it('generateAc_withoutFullFlowGpo_orAfterTheLast_6985', () => {
    const card = population(SEED).card('stock-debit-dda');
    card.powerOn();
    const start = startFullFlow(card, DEBIT, INPUT);
    const apdu = `80AE8000${cdol1(start)}`;
    send(card, '00A4040008A00000033301010100');
    expect(send(card, apdu).sw).toBe(0x6985);
    runTap(card, DEBIT, { ...DEFAULT_TAP, ttqHex: '26000080' });
    expect(send(card, apdu).sw).toBe(0x6985);
    const again = startFullFlow(card, DEBIT, INPUT);
    expect(send(card, `80AE0000${cdol1(again)}`).sw).toBe(0x9000);
    expect(send(card, `80AE4000${cdol1(again)}`).sw).toBe(0x6985);
    card.powerOff();
    card.powerOn();
    expect(send(card, apdu).sw).toBe(0x6985);
  });

  it('internalAuthenticate_refusals', () => {
    const { card } = afterGpo();
    expect(send(card, '0088000104aabbccdd00').sw).toBe(0x6a86);
    expect(send(card, '00880000').sw).toBe(0x6700);
    expect(send(card, '0088000003aabbcc00').sw).toBe(0x6700);
    expect(send(card, '0088000004aabbccdd00').sw).toBe(0x9000);
    expect(send(card, '0088000004aabbccdd00').sw).toBe(0x6985);
    const sda = afterGpo('stock-debit-sda').card;
    expect(send(sda, '0088000004aabbccdd00').sw).toBe(0x6d00);
    const ec = population(SEED).card('unionpay-debit-ec');
    ec.powerOn();
    expect(send(ec, '0088000004aabbccdd00').sw).toBe(0x6985);
    send(ec, '00A4040008A00000033301010100');
    expect(send(ec, '0088000004aabbccdd00').sw).toBe(0x6d00);
    expect(send(ec, '8088000004aabbccdd00').sw).toBe(0x6e00);
  });

  it('internalAuthenticate_beforeGpo_orAfterGenerateAc_6985', () => {
    const card = population(SEED).card('stock-debit-dda');
    card.powerOn();
    send(card, '00A4040008A00000033301010100');
    expect(send(card, '0088000004aabbccdd00').sw).toBe(0x6985);
    const start = startFullFlow(card, DEBIT, INPUT);
    send(card, `80AE8000${cdol1(start)}`);
    expect(send(card, '0088000004aabbccdd00').sw).toBe(0x6985);
  });

  it('fullFlowGpo_onQpbocOnlyCard_6985_formatTwoCarriesOnlyAipAfl', () => {
    const ec = population(SEED).card('unionpay-debit-ec');
    ec.powerOn();
    send(ec, '00A4040008A00000033301010100');
    const gpo = `80A8000023832140000000${'0'.repeat(58)}00`;
    expect(send(ec, gpo).sw).toBe(0x6985);
    // startFullFlow asserts a format 2 GPO holds exactly 82 and 94.
    expect(afterGpo('stock-credit-cda', CREDIT).start.gpoFormat).toBe(2);
  });
});

describe('CDA on the second GENERATE AC', () => {
  it('unableOnlineWithinLimits_tcSigned_hashCoversPdolCdol1Cdol2', () => {
    const card = population(SEED).card('offline-limit-credit');
    card.powerOn();
    const start = startFullFlow(card, CREDIT, INPUT);
    const keys = recoverKeys(start, population(SEED).pki.caKeys, CREDIT);
    if (typeof keys === 'string' || keys.icc === null) throw new Error('keys');
    const values = fullFlowValues(INPUT, 'Z3');
    const cdol1 = cdolData(start, 0x8c, values);
    expect(send(card, generateAcApdu(P1_ARQC | P1_CDA, cdol1)).sw).toBe(0x9000);
    const cdol2 = cdolData(start, 0x8d, values);
    const answer = send(card, generateAcApdu(P1_TC | P1_CDA, cdol2));
    const parts = parseGenAc(answer);
    expect(parts.cid).toBe(0x40);
    const content = verifyCdaSdad(keys.icc, parts.sdad ?? hex(''), hex(INPUT.unHex));
    if (typeof content === 'string') throw new Error(content);
    const tdhc = sha1Of(start.pdolData, cdol1, cdol2, parts.tlvsExceptSdad);
    expect(content.transactionDataHash).toEqual(tdhc);
    expect(content.cid).toBe(0x40);
  });
});

describe('processing time of the signing commands', () => {
  it('internalAuthenticateAndCdaGenerateAc_costOneRsaSignature_plainGenerateAcDoesNot', () => {
    const card = population(SEED).card('stock-credit-cda');
    card.powerOn();
    const model = card.profile.processing;
    const bits = card.personalised.apps[0]?.signingKey?.bits ?? 0;
    const start = startFullFlow(card, CREDIT, INPUT);
    send(card, internalAuthenticateApdu(hex(INPUT.unHex)));
    expect(card.lastProcessingMs()).toBeGreaterThanOrEqual(model.otherMs + rsaSignMs(model, bits));
    genAc(card, start, P1_ARQC | P1_CDA);
    expect(card.lastProcessingMs()).toBeGreaterThanOrEqual(model.gpoMs + rsaSignMs(model, bits));
    const plain = startFullFlow(card, CREDIT, INPUT);
    genAc(card, plain, P1_ARQC);
    expect(card.lastProcessingMs()).toBeLessThan(model.gpoMs + rsaSignMs(model, bits));
  });
});
