// ODA against the public Proxmark3 / emv-tools vectors: SDA chain, DDA chain (DDOL = 9F37, the
// fDDA v00 hash rule) and the CDA signature (same SDAD hash rule). Read from ../shared/vectors.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus, kernelStatusName } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import type { Kernel } from '../host/kernel_loader.js';
import { REPO_ROOT } from './support/codec_vectors.js';
import { capkTlv, fromHex, toHex } from './support/oda_emv.js';
import { runOda } from './support/oda_chain.js';
import type { OdaInputs } from './support/oda_chain.js';

interface Capk {
  readonly rid: string;
  readonly index: string;
  readonly modulus: string;
  readonly exponent: string;
}
interface Pm3Chain {
  readonly capk: Capk;
  readonly inputs: Readonly<Record<string, string>>;
  readonly derived: {
    readonly issuer: { readonly issuer_pk_modulus: string };
    readonly icc?: { readonly icc_pk_modulus: string };
    readonly sdad?: { readonly icc_dynamic_data: string };
    readonly ssad?: { readonly DAC_9F45: string };
  };
}
interface Pm3File {
  readonly sda: Pm3Chain;
  readonly dda: Pm3Chain;
  readonly cda: Pm3Chain;
}

const VECTORS = join(REPO_ROOT, '..', 'shared', 'vectors', 'pm3_emv_oda_vectors.json');
const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as Pm3File;

function input(chain: Pm3Chain, name: string): Uint8Array {
  const hex = chain.inputs[name];
  if (hex === undefined) throw new Error(`vector input ${name} missing`);
  return fromHex(hex);
}

function loadCa(kernel: Kernel, capk: Capk): void {
  kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0));
  const status = kernel.step(
    KernelOp.OP_CAPK_LOAD,
    0,
    capkTlv(fromHex(capk.rid), parseInt(capk.index, 16), {
      modulus: fromHex(capk.modulus),
      exponent: fromHex(capk.exponent),
    }),
  );
  expect(kernelStatusName(status)).toBe('STATUS_OK');
}

function issuerInputs(chain: Pm3Chain, dateHex: string): OdaInputs {
  return {
    rid: fromHex(chain.capk.rid),
    caIndex: fromHex(chain.capk.index),
    issuerCert: input(chain, '90_issuer_pk_certificate'),
    issuerRemainder: input(chain, '92_issuer_pk_remainder'),
    issuerExponent: input(chain, '9F32_issuer_pk_exponent'),
    pan: input(chain, '5A_pan'),
    date: fromHex(dateHex),
    staticData: new Uint8Array(0),
  };
}

describe('ODA on the Proxmark3 vectors', () => {
  let kernel: Kernel;
  beforeAll(async () => {
    kernel = await loadKernel({ runtime: 'core' });
  });

  it('sda_issuerRecoveryAndSsad_recoverTheVectorKeyAndDac', () => {
    const chain = file.sda;
    loadCa(kernel, chain.capk);
    // The issuer certificate expiry is MMYY 1209: December 2009.
    const issuer = runOda(kernel, KernelOp.OP_ODA_RECOVER_ISSUER, issuerInputs(chain, '091130'));
    expect(kernelStatusName(issuer.status)).toBe('STATUS_OK');
    expect(toHex(issuer.output)).toBe(chain.derived.issuer.issuer_pk_modulus);
    const ssad = runOda(kernel, KernelOp.OP_ODA_VERIFY_SSAD, {
      ssad: input(chain, '93_signed_static_app_data'),
      staticData: input(chain, 'static_data_to_be_authenticated'),
    });
    expect(kernelStatusName(ssad.status)).toBe('STATUS_OK');
    expect(toHex(ssad.output)).toBe(chain.derived.ssad?.DAC_9F45);
    // The same through the one-call chain.
    const full = runOda(kernel, KernelOp.OP_ODA_SDA, {
      ...issuerInputs(chain, '091130'),
      ssad: input(chain, '93_signed_static_app_data'),
      staticData: input(chain, 'static_data_to_be_authenticated'),
    });
    expect(kernelStatusName(full.status)).toBe('STATUS_OK');
    expect(toHex(full.output)).toBe(chain.derived.ssad?.DAC_9F45);
  });

  it('sda_throughTheComponentRuntime_givesTheSameDac', async () => {
    const component = await loadKernel({ runtime: 'component' });
    const chain = file.sda;
    loadCa(component, chain.capk);
    const full = runOda(component, KernelOp.OP_ODA_SDA, {
      ...issuerInputs(chain, '091130'),
      ssad: input(chain, '93_signed_static_app_data'),
      staticData: input(chain, 'static_data_to_be_authenticated'),
    });
    expect(kernelStatusName(full.status)).toBe('STATUS_OK');
    expect(toHex(full.output)).toBe(chain.derived.ssad?.DAC_9F45);
  });

  it('sda_afterExpiryOrWithOtherStaticData_fails', () => {
    const chain = file.sda;
    loadCa(kernel, chain.capk);
    expect(
      kernelStatusName(
        runOda(kernel, KernelOp.OP_ODA_RECOVER_ISSUER, issuerInputs(chain, '100101')).status,
      ),
    ).toBe('ERR_ODA_ISSUER_CERT_EXPIRED');
    expect(
      runOda(kernel, KernelOp.OP_ODA_RECOVER_ISSUER, issuerInputs(chain, '091231')).status,
    ).toBe(KernelStatus.STATUS_OK);
    const staticData = input(chain, 'static_data_to_be_authenticated');
    staticData[3] = (staticData[3] ?? 0) ^ 1;
    const ssad = runOda(kernel, KernelOp.OP_ODA_VERIFY_SSAD, {
      ssad: input(chain, '93_signed_static_app_data'),
      staticData,
    });
    expect(kernelStatusName(ssad.status)).toBe('ERR_ODA_SSAD_HASH');
  });

  it('dda_issuerIccSdad_recoverTheVectorKeysAndDynamicData', () => {
    const chain = file.dda;
    loadCa(kernel, chain.capk);
    // Issuer certificate expires 12/2021, ICC certificate 06/2015.
    const issuer = runOda(kernel, KernelOp.OP_ODA_RECOVER_ISSUER, issuerInputs(chain, '150601'));
    expect(kernelStatusName(issuer.status)).toBe('STATUS_OK');
    expect(toHex(issuer.output)).toBe(chain.derived.issuer.issuer_pk_modulus);
    const icc = runOda(kernel, KernelOp.OP_ODA_RECOVER_ICC, {
      iccCert: input(chain, '9F46_icc_pk_certificate'),
      iccExponent: input(chain, '9F47_icc_pk_exponent'),
      pan: input(chain, '5A_pan'),
      date: fromHex('150630'),
      staticData: input(chain, 'static_data_to_be_authenticated'),
    });
    expect(kernelStatusName(icc.status)).toBe('STATUS_OK');
    expect(toHex(icc.output)).toBe(chain.derived.icc?.icc_pk_modulus);
    // DDOL = 9F37 only: the SDAD hash is the fDDA v00 rule. The IDN is 8 bytes (no ATC check).
    const sdad = runOda(kernel, KernelOp.OP_ODA_VERIFY_SDAD, {
      sdad: input(chain, '9F4B_signed_dynamic_app_data'),
      un: input(chain, 'ddol_data_9F37_unpredictable_number'),
      staticData: new Uint8Array(0),
    });
    expect(kernelStatusName(sdad.status)).toBe('STATUS_OK');
    expect(toHex(sdad.output)).toBe(chain.derived.sdad?.icc_dynamic_data);
    // With an ATC the 8-byte IDN cannot match: fDDA would refuse this card.
    const withAtc = runOda(kernel, KernelOp.OP_ODA_VERIFY_SDAD, {
      sdad: input(chain, '9F4B_signed_dynamic_app_data'),
      un: input(chain, 'ddol_data_9F37_unpredictable_number'),
      atc: fromHex('7A33'),
      staticData: new Uint8Array(0),
    });
    expect(kernelStatusName(withAtc.status)).toBe('ERR_ODA_SDAD_IDN_MISMATCH');
    // fDDA v01 hashing of a v00 signature fails on the hash.
    const asV01 = runOda(kernel, KernelOp.OP_ODA_VERIFY_SDAD, {
      sdad: input(chain, '9F4B_signed_dynamic_app_data'),
      un: input(chain, 'ddol_data_9F37_unpredictable_number'),
      amount: fromHex('000000000100'),
      currency: fromHex('0156'),
      cardAuth: fromHex('0100000000000000'),
      staticData: new Uint8Array(0),
    });
    expect(kernelStatusName(asV01.status)).toBe('ERR_ODA_SDAD_HASH');
  });

  it('dda_iccCertificate_afterItsExpiry_isRefused', () => {
    const chain = file.dda;
    loadCa(kernel, chain.capk);
    expect(
      runOda(kernel, KernelOp.OP_ODA_RECOVER_ISSUER, issuerInputs(chain, '150701')).status,
    ).toBe(KernelStatus.STATUS_OK);
    const icc = runOda(kernel, KernelOp.OP_ODA_RECOVER_ICC, {
      iccCert: input(chain, '9F46_icc_pk_certificate'),
      iccExponent: input(chain, '9F47_icc_pk_exponent'),
      pan: input(chain, '5A_pan'),
      date: fromHex('150701'),
      staticData: input(chain, 'static_data_to_be_authenticated'),
    });
    expect(kernelStatusName(icc.status)).toBe('ERR_ODA_ICC_CERT_EXPIRED');
  });

  it('cda_sdad_verifiesWithTheUnpredictableNumberRule', () => {
    const chain = file.cda;
    loadCa(kernel, chain.capk);
    expect(
      runOda(kernel, KernelOp.OP_ODA_RECOVER_ISSUER, issuerInputs(chain, '150601')).status,
    ).toBe(KernelStatus.STATUS_OK);
    expect(
      runOda(kernel, KernelOp.OP_ODA_RECOVER_ICC, {
        iccCert: input(chain, '9F46_icc_pk_certificate'),
        iccExponent: input(chain, '9F47_icc_pk_exponent'),
        pan: input(chain, '5A_pan'),
        date: fromHex('150601'),
        staticData: input(chain, 'static_data_to_be_authenticated'),
      }).status,
    ).toBe(KernelStatus.STATUS_OK);
    const sdad = runOda(kernel, KernelOp.OP_ODA_VERIFY_SDAD, {
      sdad: input(chain, '9F4B_signed_dynamic_app_data'),
      un: input(chain, 'ddol_data_9F37_unpredictable_number'),
      staticData: new Uint8Array(0),
    });
    expect(kernelStatusName(sdad.status)).toBe('STATUS_OK');
    expect(toHex(sdad.output)).toBe(chain.derived.sdad?.icc_dynamic_data);
  });
});
