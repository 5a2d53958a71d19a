// SM2 CA keys in the parameter files: parsed with a named field for each refusal, and handed
// to the kernel in the form it loads (the kernel checks the point and the check value again).

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus } from '../../assembly/host/abi.gen.js';
import { loadKernel } from '../../assembly/host/kernel_loader.js';
import { capkParse } from '../src/app/params/emv_capk.js';
import { FieldError } from '../src/app/params/json_fields.js';
import { caKeyTlv } from '../src/app/validator/kernel_params.js';
import { Prng } from '../../host-sim/src/prng.js';
import { sm2KeyPairFrom } from '../../host-sim/src/pki/sm2_sign.js';
import { smCapkTlv } from '../../host-sim/src/pki/sm_cert.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 0x5a3_0003);
const RID = Uint8Array.from(Buffer.from('A000000333', 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase();

function tlv(tag: string, value: Uint8Array): string {
  return `${tag}${value.length.toString(16).padStart(2, '0')}${hex(value)}`;
}

describe('SM2 CA keys in capk.txt', () => {
  const key = sm2KeyPairFrom(new Prng(SEED));
  const good = hex(smCapkTlv(RID, 0xe8, key.publicKey, '20301231'));

  it('sm2Key_parses_andTheKernelLoadsWhatTheFirmwareSends', async () => {
    const parsed = capkParse(good, 'capk.txt', 'line 1');
    expect(parsed.pkAlgorithm).toBe(4);
    expect(parsed.hashAlgorithm).toBe(7);
    expect(parsed.modulusHex).toBe(hex(key.publicKey));
    expect(parsed.exponentHex).toBe('');
    const kernel = await loadKernel({ runtime: 'core' });
    kernel.step(KernelOp.OP_CAPK_CLEAR, 0, new Uint8Array(0));
    expect(kernel.step(KernelOp.OP_CAPK_LOAD, 0, caKeyTlv(parsed))).toBe(KernelStatus.STATUS_OK);
    expect(kernel.step(KernelOp.OP_CAPK_LIST, 0, new Uint8Array(0))).toBe(KernelStatus.STATUS_OK);
    expect(hex(kernel.output())).toBe('A000000333E8004000000000' + '20301231');
  });

  it('sm3CheckValue_isAcceptedToo', () => {
    const check = createHash('sm3').update(RID).update(Uint8Array.of(0xe8)).update(key.publicKey)
      .digest();
    const body = tlv('9F06', RID) + tlv('9F22', Uint8Array.of(0xe8))
      + tlv('DF05', Buffer.from('20301231')) + tlv('DF07', Uint8Array.of(4))
      + tlv('DF02', key.publicKey) + tlv('DF03', check);
    expect(capkParse(body, 'capk.txt', 'line 1').checkValueHex).toBe(hex(check));
  });

  it('eachRefusal_namesItsField', () => {
    const base = (df02: Uint8Array, df03?: Uint8Array, df06 = 7): string => {
      const check = df03 ?? createHash('sha1').update(RID).update(Uint8Array.of(0xe8))
        .update(df02).digest();
      return tlv('9F06', RID) + tlv('9F22', Uint8Array.of(0xe8))
        + tlv('DF05', Buffer.from('20301231')) + tlv('DF06', Uint8Array.of(df06))
        + tlv('DF07', Uint8Array.of(4)) + tlv('DF02', df02) + tlv('DF03', check);
    };
    const cases: [string, RegExp][] = [
      [base(key.publicKey, new Uint8Array(20)), /DF03.*does not match/],
      [base(key.publicKey, new Uint8Array(21)), /DF03.*20 \(SHA-1\) or 32/],
      [base(key.publicKey.subarray(1)), /DF02.*got 63/],
      [base(Uint8Array.of(5, ...key.publicKey.subarray(0, 32))), /DF02.*02 or 03/],
      [base(key.publicKey, undefined, 1), /DF06.*07 \(SM3\)/],
    ];
    for (const [text, message] of cases) {
      expect(() => capkParse(text, 'capk.txt', 'line 1')).toThrow(message);
      expect(() => capkParse(text, 'capk.txt', 'line 1')).toThrow(FieldError);
    }
    expect(capkParse(base(key.publicKey), 'capk.txt', 'line 1').pkAlgorithm).toBe(4);
  });
});
