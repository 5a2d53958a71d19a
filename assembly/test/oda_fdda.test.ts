// fDDA v00/v01 and SDA on generated key chains; every ODA check has a failing twin that must
// return its own status. Keys come from a seeded generator (assembly/test/support/oda_rsa.ts).

import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus, kernelStatusName } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import type { Kernel } from '../host/kernel_loader.js';
import { Prng } from '../../host-sim/src/prng.js';
import {
  DEFAULT_CARD,
  buildChain,
  buildFddaCard,
  buildSdaCard,
  loadChainCa,
  runOda,
} from './support/oda_chain.js';
import type { CardOverrides, CardSpec, OdaInputs, TestChain } from './support/oda_chain.js';
import { capkTlv, concat, fromHex, publicParts, signSsad, toHex } from './support/oda_emv.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 0xfdda_0001);

type Twin = readonly [label: string, inputs: OdaInputs, status: string];

describe('fDDA and SDA on generated chains', () => {
  let kernel: Kernel;
  let chain: TestChain;
  let memoryBytes = 0;
  beforeAll(async () => {
    kernel = await loadKernel({ runtime: 'core' });
    memoryBytes = kernel.memoryBytes();
    console.log(`oda_fdda seed 0x${SEED.toString(16)} (replay: SHUAKA_SEED=${SEED})`);
    // CA 1152 bits, issuer 1024 (needs a 20-byte 92), ICC 768 (needs a 10-byte 9F48).
    chain = buildChain(new Prng(SEED), { caBytes: 144, issuerBytes: 128, iccBytes: 96 });
  });

  function card(spec: Partial<CardSpec> = {}, overrides: CardOverrides = {}): OdaInputs {
    return buildFddaCard(chain, { ...DEFAULT_CARD, ...spec }, overrides);
  }

  function fdda(inputs: OdaInputs): string {
    return kernelStatusName(runOda(kernel, KernelOp.OP_ODA_FDDA, inputs).status);
  }

  function expectTwins(twins: readonly Twin[]): void {
    expect(loadChainCa(kernel, chain)).toBe(KernelStatus.STATUS_OK);
    for (const [label, inputs, status] of twins) expect(fdda(inputs), label).toBe(status);
    expect(kernel.faultCount()).toBe(0);
    expect(kernel.memoryBytes()).toBe(memoryBytes);
  }

  it('fddaV01_goodCard_isVerifiedAndReturnsTheDynamicData', () => {
    expect(loadChainCa(kernel, chain)).toBe(KernelStatus.STATUS_OK);
    const good = card();
    expect(good.issuerRemainder?.length).toBe(20);
    expect(good.iccRemainder?.length).toBe(10);
    const result = runOda(kernel, KernelOp.OP_ODA_FDDA, good);
    expect(kernelStatusName(result.status)).toBe('STATUS_OK');
    expect(toHex(result.output)).toBe(`02${DEFAULT_CARD.atcHex}`);
  });

  it('fddaV00_goodCard_isVerified_andTheStepOpsAgree', () => {
    expect(loadChainCa(kernel, chain)).toBe(KernelStatus.STATUS_OK);
    const { cardAuthHex: _omitted, ...v00 } = DEFAULT_CARD;
    const good = buildFddaCard(chain, v00);
    expect(good.cardAuth).toBeUndefined();
    expect(fdda(good)).toBe('STATUS_OK');
    const issuer = runOda(kernel, KernelOp.OP_ODA_RECOVER_ISSUER, {
      ...good,
      staticData: new Uint8Array(0),
    });
    expect(kernelStatusName(issuer.status)).toBe('STATUS_OK');
    expect(issuer.output.length).toBe(128);
    const icc = runOda(kernel, KernelOp.OP_ODA_RECOVER_ICC, good);
    expect(kernelStatusName(icc.status)).toBe('STATUS_OK');
    expect(icc.output.length).toBe(96);
    const sdad = runOda(kernel, KernelOp.OP_ODA_VERIFY_SDAD, {
      ...good,
      staticData: new Uint8Array(0),
    });
    expect(kernelStatusName(sdad.status)).toBe('STATUS_OK');
  });

  it('fdda_panFromTrack2_isAccepted', () => {
    expect(loadChainCa(kernel, chain)).toBe(KernelStatus.STATUS_OK);
    const { pan: _pan, ...noPan } = card();
    const track2 = fromHex('6228480012345678901D28122010000000000F');
    expect(fdda({ ...noPan, pan: track2 })).toBe('STATUS_OK');
  });

  it('fdda_e65537ChainWithoutRemainders_isVerified', () => {
    const other = buildChain(
      new Prng(SEED + 1),
      {
        caBytes: 176,
        issuerBytes: 128,
        iccBytes: 64,
        caE: 65537n,
        issuerE: 65537n,
        iccE: 65537n,
      },
      0x0a,
    );
    expect(loadChainCa(kernel, other)).toBe(KernelStatus.STATUS_OK);
    const good = buildFddaCard(other);
    expect(good.issuerRemainder).toBeUndefined();
    expect(good.iccRemainder).toBeUndefined();
    expect(fdda(good)).toBe('STATUS_OK');
  });

  it('sda_goodCard_isVerified_andItsTwinsFail', () => {
    expect(loadChainCa(kernel, chain)).toBe(KernelStatus.STATUS_OK);
    const good = buildSdaCard(chain);
    const sda = (inputs: OdaInputs): string =>
      kernelStatusName(runOda(kernel, KernelOp.OP_ODA_SDA, inputs).status);
    const result = runOda(kernel, KernelOp.OP_ODA_SDA, good);
    expect(kernelStatusName(result.status)).toBe('STATUS_OK');
    expect(toHex(result.output)).toBe('DAC1');
    const ssad = (spec: Parameters<typeof signSsad>[1]): OdaInputs => ({
      ...good,
      ssad: signSsad(chain.issuer, spec),
    });
    const staticData = DEFAULT_CARD.staticData;
    const twins: Twin[] = [
      ['ssad header', ssad({ dacHex: 'DAC1', staticData, header: 0x6b }), 'ERR_ODA_SSAD_HEADER'],
      ['ssad trailer', ssad({ dacHex: 'DAC1', staticData, trailer: 0xbd }), 'ERR_ODA_SSAD_TRAILER'],
      ['ssad format', ssad({ dacHex: 'DAC1', staticData, format: 0x05 }), 'ERR_ODA_SSAD_FORMAT'],
      [
        'ssad hash algorithm',
        ssad({ dacHex: 'DAC1', staticData, hashAlgorithm: 2 }),
        'ERR_ODA_SSAD_HASH_ALGORITHM',
      ],
      [
        'ssad bad hash',
        ssad({ dacHex: 'DAC1', staticData, corruptHash: true }),
        'ERR_ODA_SSAD_HASH',
      ],
      [
        'ssad other static data',
        { ...good, staticData: concat(staticData, Uint8Array.of(0)) },
        'ERR_ODA_SSAD_HASH',
      ],
      [
        'ssad one byte short',
        { ...good, ssad: good.ssad?.subarray(1) ?? new Uint8Array(0) },
        'ERR_ODA_SSAD_LENGTH',
      ],
      [
        'ssad above modulus',
        { ...good, ssad: new Uint8Array(128).fill(0xff) },
        'ERR_ODA_SSAD_RANGE',
      ],
    ];
    for (const [label, inputs, status] of twins) expect(sda(inputs), label).toBe(status);
    const { ssad: _ssad, ...noSsad } = good;
    expect(sda(noSsad)).toBe('ERR_ODA_SSAD_MISSING');
  });

  it('issuerCertificate_eachCheck_hasAFailingTwin', () => {
    const issuer = (o: CardOverrides['issuerCert']): OdaInputs => card({}, { issuerCert: o ?? {} });
    const good = card();
    const { issuerRemainder: _r, ...noRemainder } = good;
    expectTwins([
      ['header 6B', issuer({ header: 0x6b }), 'ERR_ODA_ISSUER_CERT_HEADER'],
      ['trailer BD', issuer({ trailer: 0xbd }), 'ERR_ODA_ISSUER_CERT_TRAILER'],
      ['format 12 (SM2)', issuer({ format: 0x12 }), 'ERR_ODA_ISSUER_CERT_FORMAT'],
      ['format 04', issuer({ format: 0x04 }), 'ERR_ODA_ISSUER_CERT_FORMAT'],
      ['hash algorithm 02', issuer({ hashAlgorithm: 2 }), 'ERR_ODA_ISSUER_HASH_ALGORITHM'],
      ['pk algorithm 04', issuer({ pkAlgorithm: 4 }), 'ERR_ODA_ISSUER_PK_ALGORITHM'],
      ['bad hash', issuer({ corruptHash: true }), 'ERR_ODA_ISSUER_HASH'],
      [
        'remainder tampered',
        { ...good, issuerRemainder: fromHex('00'.repeat(20)) },
        'ERR_ODA_ISSUER_HASH',
      ],
      ['issuer id other BIN', issuer({ idHex: '622849FF' }), 'ERR_ODA_ISSUER_ID_MISMATCH'],
      ['issuer id two digits', issuer({ idHex: '62FFFFFF' }), 'ERR_ODA_ISSUER_ID_MISMATCH'],
      ['issuer id digit after F', issuer({ idHex: '6228F8FF' }), 'ERR_ODA_ISSUER_ID_MISMATCH'],
      ['expired May 2025', issuer({ expiryHex: '0525' }), 'ERR_ODA_ISSUER_CERT_EXPIRED'],
      ['expiry month 13', issuer({ expiryHex: '1325' }), 'ERR_ODA_ISSUER_CERT_DATE_INVALID'],
      ['remainder missing', noRemainder, 'ERR_ODA_ISSUER_REMAINDER_MISSING'],
      [
        'remainder short',
        { ...good, issuerRemainder: good.issuerRemainder?.subarray(1) ?? new Uint8Array(0) },
        'ERR_ODA_ISSUER_REMAINDER_LENGTH',
      ],
      [
        '9F32 010001 for a 1-byte exponent',
        { ...good, issuerExponent: fromHex('010001') },
        'ERR_ODA_ISSUER_EXPONENT',
      ],
      [
        'exponent 05 signed',
        { ...issuer({ hashedExponent: Uint8Array.of(5) }), issuerExponent: Uint8Array.of(5) },
        'ERR_ODA_ISSUER_EXPONENT',
      ],
      ['exponent length 2 declared', issuer({ exponentLength: 2 }), 'ERR_ODA_ISSUER_EXPONENT'],
      ['key length 40', issuer({ keyLength: 40 }), 'ERR_ODA_ISSUER_PK_LENGTH'],
      ['key length above N_CA', issuer({ keyLength: 145 }), 'ERR_ODA_ISSUER_PK_LENGTH'],
      [
        'certificate one byte short',
        { ...good, issuerCert: good.issuerCert?.subarray(1) ?? new Uint8Array(0) },
        'ERR_ODA_ISSUER_CERT_LENGTH',
      ],
      [
        'certificate above modulus',
        { ...good, issuerCert: new Uint8Array(144).fill(0xff) },
        'ERR_ODA_ISSUER_CERT_RANGE',
      ],
      ['unknown CA index', { ...good, caIndex: Uint8Array.of(0x0c) }, 'ERR_ODA_CA_KEY_UNKNOWN'],
      ['other RID', { ...good, rid: fromHex('A000000334') }, 'ERR_ODA_CA_KEY_UNKNOWN'],
      [
        'transaction date month 13',
        { ...good, date: fromHex('251315') },
        'ERR_ODA_TRANSACTION_DATE',
      ],
      ['PAN not digits', { ...good, pan: fromHex('62A8480012345678901F') }, 'ERR_ODA_PAN_INVALID'],
    ]);
  });

  it('issuerCertificate_revokedSerial_isRefused_andOtherSerialsPass', () => {
    expect(loadChainCa(kernel, chain)).toBe(KernelStatus.STATUS_OK);
    const entry = (serialHex: string): Uint8Array =>
      concat(chain.rid, Uint8Array.of(chain.caIndex), fromHex(serialHex));
    expect(kernel.step(KernelOp.OP_CAPK_REVOKE, 0, entry('654321'))).toBe(KernelStatus.STATUS_OK);
    expect(fdda(card())).toBe('STATUS_OK');
    expect(kernel.step(KernelOp.OP_CAPK_REVOKE, 0, entry(DEFAULT_CARD.issuerSerialHex))).toBe(
      KernelStatus.STATUS_OK,
    );
    expect(fdda(card())).toBe('ERR_ODA_ISSUER_CERT_REVOKED');
  });

  it('caKey_afterItsExpiry_isRefused', () => {
    kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0));
    expect(
      kernel.step(
        KernelOp.OP_CAPK_LOAD,
        0,
        capkTlv(chain.rid, chain.caIndex, publicParts(chain.ca), { expiry: fromHex('20250614') }),
      ),
    ).toBe(KernelStatus.STATUS_OK);
    expect(fdda(card())).toBe('ERR_ODA_CA_KEY_EXPIRED');
    expect(fdda(card({ dateHex: '250614' }))).toBe('STATUS_OK');
  });

  it('iccCertificate_eachCheck_hasAFailingTwin', () => {
    const icc = (o: CardOverrides['iccCert']): OdaInputs => card({}, { iccCert: o ?? {} });
    const good = card();
    const { iccRemainder: _r, ...noRemainder } = good;
    expectTwins([
      ['header 6B', icc({ header: 0x6b }), 'ERR_ODA_ICC_CERT_HEADER'],
      ['trailer BD', icc({ trailer: 0xbd }), 'ERR_ODA_ICC_CERT_TRAILER'],
      ['format 02', icc({ format: 0x02 }), 'ERR_ODA_ICC_CERT_FORMAT'],
      ['hash algorithm 07', icc({ hashAlgorithm: 7 }), 'ERR_ODA_ICC_HASH_ALGORITHM'],
      ['pk algorithm 04', icc({ pkAlgorithm: 4 }), 'ERR_ODA_ICC_PK_ALGORITHM'],
      ['bad hash', icc({ corruptHash: true }), 'ERR_ODA_ICC_HASH'],
      [
        'static data tampered',
        {
          ...good,
          staticData: Uint8Array.from(DEFAULT_CARD.staticData, (b, i) => (i === 5 ? b ^ 1 : b)),
        },
        'ERR_ODA_ICC_HASH',
      ],
      ['PAN other digit', icc({ idHex: '6228480012345678902F' }), 'ERR_ODA_ICC_PAN_MISMATCH'],
      ['PAN one digit shorter', icc({ idHex: '622848001234567890FF' }), 'ERR_ODA_ICC_PAN_MISMATCH'],
      [
        'card PAN differs',
        { ...good, pan: fromHex('6228480012345678909F') },
        'ERR_ODA_ICC_PAN_MISMATCH',
      ],
      ['expired May 2025', icc({ expiryHex: '0525' }), 'ERR_ODA_ICC_CERT_EXPIRED'],
      ['expiry month 00', icc({ expiryHex: '0025' }), 'ERR_ODA_ICC_CERT_DATE_INVALID'],
      ['remainder missing', noRemainder, 'ERR_ODA_ICC_REMAINDER_MISSING'],
      [
        'remainder long',
        { ...good, iccRemainder: concat(good.iccRemainder ?? new Uint8Array(0), Uint8Array.of(0)) },
        'ERR_ODA_ICC_REMAINDER_LENGTH',
      ],
      [
        '9F47 010001 for a 1-byte exponent',
        { ...good, iccExponent: fromHex('010001') },
        'ERR_ODA_ICC_EXPONENT',
      ],
      [
        'exponent 05 signed',
        { ...icc({ hashedExponent: Uint8Array.of(5) }), iccExponent: Uint8Array.of(5) },
        'ERR_ODA_ICC_EXPONENT',
      ],
      ['key length above N_I', icc({ keyLength: 129 }), 'ERR_ODA_ICC_PK_LENGTH'],
      [
        'certificate one byte long',
        { ...good, iccCert: concat(good.iccCert ?? new Uint8Array(0), Uint8Array.of(0)) },
        'ERR_ODA_ICC_CERT_LENGTH',
      ],
      [
        'certificate above modulus',
        { ...good, iccCert: new Uint8Array(128).fill(0xff) },
        'ERR_ODA_ICC_CERT_RANGE',
      ],
    ]);
  });

  it('sdad_eachCheck_hasAFailingTwin', () => {
    const sdad = (o: CardOverrides['sdad']): OdaInputs => card({}, { sdad: o ?? {} });
    const good = card();
    const { cardAuthHex: _v01, ...v00Card } = DEFAULT_CARD;
    const v00 = buildFddaCard(chain, v00Card);
    const { cardAuth: _c, ...v01WithoutCardAuth } = good;
    expectTwins([
      ['header 6B', sdad({ header: 0x6b }), 'ERR_ODA_SDAD_HEADER'],
      ['trailer BD', sdad({ trailer: 0xbd }), 'ERR_ODA_SDAD_TRAILER'],
      ['format 95', sdad({ format: 0x95 }), 'ERR_ODA_SDAD_FORMAT'],
      ['hash algorithm 02', sdad({ hashAlgorithm: 2 }), 'ERR_ODA_SDAD_HASH_ALGORITHM'],
      ['bad hash', sdad({ corruptHash: true }), 'ERR_ODA_SDAD_HASH'],
      ['L_DD past the padding', sdad({ dynamicLength: 96 - 24 }), 'ERR_ODA_SDAD_DYNAMIC_LENGTH'],
      ['IDN = ATC + 1', { ...good, atc: fromHex('0043') }, 'ERR_ODA_SDAD_IDN_MISMATCH'],
      ['IDN of 3 bytes', sdad({ dynamicData: fromHex('03000042') }), 'ERR_ODA_SDAD_IDN_MISMATCH'],
      ['no IDN room', sdad({ dynamicData: fromHex('02') }), 'ERR_ODA_SDAD_DYNAMIC_LENGTH'],
      [
        'v01 with a tampered 9F69',
        { ...good, cardAuth: fromHex('0101020304000001') },
        'ERR_ODA_SDAD_HASH',
      ],
      [
        'v01 with another amount',
        { ...good, amount: fromHex('000000000201') },
        'ERR_ODA_SDAD_HASH',
      ],
      ['v01 with another UN', { ...good, un: fromHex('1A2B3C4E') }, 'ERR_ODA_SDAD_HASH'],
      ['v01 signature checked as v00', v01WithoutCardAuth, 'ERR_ODA_SDAD_HASH'],
      [
        'v00 signature checked as v01',
        { ...v00, cardAuth: fromHex(DEFAULT_CARD.cardAuthHex ?? '') },
        'ERR_ODA_SDAD_HASH',
      ],
      [
        '9F69 version 02',
        { ...good, cardAuth: fromHex('0201020304000000') },
        'ERR_ODA_FDDA_VERSION',
      ],
      ['9F37 of 3 bytes', { ...good, un: fromHex('1A2B3C') }, 'ERR_ODA_TERMINAL_DATA'],
      [
        'v01 amount of 5 bytes',
        { ...good, amount: fromHex('0000000002') },
        'ERR_ODA_TERMINAL_DATA',
      ],
      [
        'SDAD one byte short',
        { ...good, sdad: good.sdad?.subarray(1) ?? new Uint8Array(0) },
        'ERR_ODA_SDAD_LENGTH',
      ],
      [
        'SDAD above modulus',
        { ...good, sdad: new Uint8Array(96).fill(0xff) },
        'ERR_ODA_SDAD_RANGE',
      ],
    ]);
  });

  it('missingInputs_andOutOfOrderSteps_haveTheirOwnStatus', () => {
    const good = card();
    const without = (field: keyof OdaInputs): OdaInputs => {
      const copy: Record<string, unknown> = { ...good };
      delete copy[field];
      return copy as unknown as OdaInputs;
    };
    expectTwins([
      ['no RID', without('rid'), 'ERR_ODA_RID_MISSING'],
      ['no 8F', without('caIndex'), 'ERR_ODA_CA_INDEX_MISSING'],
      ['no 90', without('issuerCert'), 'ERR_ODA_ISSUER_CERT_MISSING'],
      ['no 9F32', without('issuerExponent'), 'ERR_ODA_ISSUER_EXPONENT_MISSING'],
      ['no 9F46', without('iccCert'), 'ERR_ODA_ICC_CERT_MISSING'],
      ['no 9F47', without('iccExponent'), 'ERR_ODA_ICC_EXPONENT_MISSING'],
      ['no 9F4B', without('sdad'), 'ERR_ODA_SDAD_MISSING'],
      ['no PAN', without('pan'), 'ERR_ODA_PAN_MISSING'],
      ['no 9F36', without('atc'), 'ERR_ODA_ATC_MISSING'],
      ['no 9F37', without('un'), 'ERR_ODA_TERMINAL_DATA'],
      ['no 9A', without('date'), 'ERR_ODA_TRANSACTION_DATE'],
      ['no static data', { ...good, staticData: new Uint8Array(0) }, 'ERR_ODA_ICC_HASH'],
    ]);
    // A cleared store also forgets recovered keys: the later steps refuse to run.
    kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0));
    expect(kernelStatusName(runOda(kernel, KernelOp.OP_ODA_RECOVER_ICC, good).status)).toBe(
      'ERR_ODA_ISSUER_KEY_MISSING',
    );
    expect(kernelStatusName(runOda(kernel, KernelOp.OP_ODA_VERIFY_SDAD, good).status)).toBe(
      'ERR_ODA_ICC_KEY_MISSING',
    );
    expect(
      kernelStatusName(runOda(kernel, KernelOp.OP_ODA_VERIFY_SSAD, buildSdaCard(chain)).status),
    ).toBe('ERR_ODA_ISSUER_KEY_MISSING');
  });
});
