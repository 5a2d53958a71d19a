// SM3, SM2 and the SM fDDA chain under a second WebAssembly runtime (wabt's spectest-interp):
// the release binary, expectations from the official vectors, node:crypto and host-sim.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus } from '../host/abi.gen.js';
import { loadKernel } from '../host/kernel_loader.js';
import { Prng } from '../../host-sim/src/prng.js';
import {
  SM2_DEFAULT_ID, sm2Digest, sm2KeyPairFrom, sm2Sign,
} from '../../host-sim/src/pki/sm2_sign.js';
import { REPO_ROOT } from './support/codec_vectors.js';
import { requireTools } from './support/tools.js';
import { renderWast, runWast, type WastStep } from './support/wast_gen.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 0x5a3_0004);
const work = mkdtempSync(join(tmpdir(), 'shuaka-sm-wast-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Vectors { sm3: Array<{ input_hex: string; digest: string }> }

function steps(): WastStep[] {
  const vectors = JSON.parse(readFileSync(join(REPO_ROOT, '..', 'shared', 'vectors',
    'sm2_sm3_sm4_vectors.json'), 'utf8')) as Vectors;
  const out: WastStep[] = vectors.sm3.map((v) => ({
    op: KernelOp.OP_SM3, arg: 0, input: Buffer.from(v.input_hex, 'hex'),
    status: KernelStatus.STATUS_OK, output: Buffer.from(v.digest, 'hex'),
  }));
  const prng = new Prng(SEED);
  for (let round = 0; round < 3; round += 1) {
    const key = sm2KeyPairFrom(prng);
    const msg = prng.bytes(1 + prng.below(100));
    const sig = sm2Sign(key, msg, prng);
    const input = (s: Uint8Array): Uint8Array => Buffer.concat([key.publicKey, s,
      Uint8Array.of(0, 16), SM2_DEFAULT_ID, msg]);
    out.push({ op: KernelOp.OP_SM2_VERIFY, arg: 0, input: input(sig),
      status: KernelStatus.STATUS_OK, output: sm2Digest(key.publicKey, msg) });
    const bad = Uint8Array.from(sig);
    bad[63] = (bad[63] ?? 0) ^ 1;
    out.push({ op: KernelOp.OP_SM2_VERIFY, arg: 0, input: input(bad),
      status: KernelStatus.ERR_SM2_SIGNATURE_INVALID, output: new Uint8Array(0) });
  }
  const data = prng.bytes(248);
  out.push({ op: KernelOp.OP_SM3, arg: 3, input: data, status: KernelStatus.STATUS_OK,
    output: createHash('sm3').update(data).digest() });
  return out;
}

describe('SM on a second runtime (wabt spectest-interp)', () => {
  it('sm3AndSm2Verify_giveTheExpectedStatusAndBytes', async () => {
    if (!requireTools('second runtime', ['wast2json', 'spectest-interp'])) return;
    const kernel = await loadKernel();
    const bytes = new Uint8Array(readFileSync(join(REPO_ROOT, 'build', 'kernel.wasm')));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const inPtr = (instance.exports['shuaka_in_ptr'] as () => number)();
    const all = steps();
    const pages = kernel.memoryBytes() / 65536;
    const result = runWast(work, 'sm', renderWast(bytes, all, inPtr, pages));
    expect(result.total).toBe(1 + all.length * 4);
    expect(result.passed, `seed ${SEED}\n${result.output}`).toBe(result.total);
  });
});
