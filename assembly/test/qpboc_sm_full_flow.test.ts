// An SM-certified card on the full contactless PBOC flow (DDA, CDA). The kernel runs SM ODA
// for qPBOC fDDA only (assembly/README.md: SM DDA/CDA have no public layout), so such a card
// must be declined; above all, its DDA or CDA signature must never be checked with an RSA ICC
// key the card never presented: the key a previous card left behind.
//
// The hostile card: records with valid SM certificates (host-sim's SM2 signer) chaining to a
// loaded SM2 CA key, and INTERNAL AUTHENTICATE / GENERATE AC answers signed with the RSA ICC
// key of the stock card tapped just before (support/full_flow_card.ts, the independent card).

import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus } from '../host/abi.gen.js';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import {
  DEFAULT_TERMINAL_CONFIG, configureQpboc, decodeTlv, runQpbocTransaction, type QpbocOutcome,
} from '../host/qpboc_session.js';
import { Prng } from '../../host-sim/src/prng.js';
import { sm2KeyPairFrom, type Sm2KeyPair } from '../../host-sim/src/pki/sm2_sign.js';
import { smCapkTlv, smIccCert, smIssuerCert } from '../../host-sim/src/pki/sm_cert.js';
import { detailName } from '../../firmware/src/cli/qpboc_trace.js';
import { buildChain, loadChainCa, type TestChain } from './support/oda_chain.js';
import { FULL_FLOW_PAN, FullFlowCard, type OdaKind } from './support/full_flow_card.js';
import { concat, fromHex, tlv } from './support/oda_emv.js';
import { toHex } from './qpboc_support.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 20261205);
const SM_CA_INDEX = 0xe9;
const AIP: Record<string, string> = { dda: '3800', cda: '3900' };

let kernel: Kernel;
let chain: TestChain;
let sm: { ca: Sm2KeyPair; issuer: Sm2KeyPair; icc: Sm2KeyPair };
let prng: Prng;

beforeAll(async () => {
  kernel = await loadKernel();
  prng = new Prng(SEED);
  chain = buildChain(prng, { caBytes: 144, issuerBytes: 128, iccBytes: 112 });
  sm = { ca: sm2KeyPairFrom(prng), issuer: sm2KeyPairFrom(prng), icc: sm2KeyPairFrom(prng) };
  console.log(`qpboc_sm_full_flow seed ${SEED} (replay: SHUAKA_SEED=${SEED})`);
});

/** The value of the record template (70) in a READ RECORD answer. */
function recordBody(answer: Uint8Array): Uint8Array {
  const template = decodeTlv(answer.subarray(0, answer.length - 2))[0];
  return template?.value ?? new Uint8Array(0);
}

/**
 * The stock card of `oda`, except SFI 2's records: SM certificates (8F = the SM CA key, issuer
 * format 12, ICC format 14 over the same static data: record SFI 1/1 || AIP).
 */
function smCertifiedCard(oda: OdaKind): { transceive(c: Uint8Array): Uint8Array } {
  const inner = new FullFlowCard(chain, { oda });
  const signed = recordBody(inner.transceive(fromHex('00B2010C00')));
  const staticData = concat(signed, fromHex(AIP[oda] ?? ''));
  const issuerCert = smIssuerCert({ caKey: sm.ca, issuerId: fromHex('622848FF'),
    expiry: fromHex('1230'), serial: fromHex('000042'), issuerPublicKey: sm.issuer.publicKey },
  prng);
  const iccCert = smIccCert({ issuerKey: sm.issuer, pan: fromHex(FULL_FLOW_PAN),
    expiry: fromHex('1230'), serial: fromHex('000007'), iccPublicKey: sm.icc.publicKey,
    staticData }, prng);
  const records = [
    concat(tlv('8F', Uint8Array.of(SM_CA_INDEX)), tlv('90', issuerCert), tlv('9F4A', fromHex('82'))),
    tlv('9F46', iccCert),
  ];
  return {
    transceive: (c) => {
      const record = records[(c[2] ?? 0) - 1];
      if (toHex(c.subarray(0, 2)) === '00B2' && (c[3] ?? 0) >> 3 === 2 && record !== undefined) {
        return concat(tlv('70', record), fromHex('9000'));
      }
      return inner.transceive(c);
    },
  };
}

async function tap(card: { transceive(c: Uint8Array): Uint8Array }): Promise<QpbocOutcome> {
  expect(configureQpboc(kernel, DEFAULT_TERMINAL_CONFIG)).toBe(KernelStatus.STATUS_OK);
  return runQpbocTransaction(kernel, {
    transceive: async (c) => card.transceive(c), decide: () => 'proceed',
  }, {
    mode: 'full', amountMinor: 200, date: '250615', time: '081500',
    unpredictableNumber: Uint8Array.of(0x1a, 0x2b, 0x3c, 0x4d), sequenceCounter: 1,
  });
}

describe('full flow: an SM-certified card', () => {
  for (const oda of ['dda', 'cda'] as const) {
    it(`${oda}: is declined, never verified with the previous card's RSA ICC key`, async () => {
      expect(loadChainCa(kernel, chain)).toBe(KernelStatus.STATUS_OK);
      const smCa = smCapkTlv(fromHex('A000000333'), SM_CA_INDEX, sm.ca.publicKey, '20301231');
      expect(kernel.step(KernelOp.OP_CAPK_LOAD, 0, smCa)).toBe(KernelStatus.STATUS_OK);
      // The genuine stock card first: its RSA ICC key is recovered and its signature holds.
      const genuine = await tap(new FullFlowCard(chain, { oda }));
      expect(genuine.kind, `seed ${SEED}`).toBe('admitted');
      expect(genuine.odaPassed).toBe(true);
      // Then the SM-certified card signing with that RSA key.
      const outcome = await tap(smCertifiedCard(oda));
      expect(outcome.statusName, `seed ${SEED} ${detailName(outcome.detail)}`).toBe(
        'STATUS_DECLINED');
      expect(outcome.odaPassed).toBe(false);
      expect(outcome.reason).toBe('oda-failed');
      expect(detailName(outcome.detail)).toBe('ERR_ODA_SM_CA_KEY_TYPE');
    });
  }
});
