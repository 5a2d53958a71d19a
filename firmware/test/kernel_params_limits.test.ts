// Terminal limits of a signed parameter set reach the kernel: the contactless transaction
// limit DF20 in terminal.json `limits` makes the kernel refuse an amount at or above it before
// any card command (its own rule, REASON_AMOUNT_OVER_LIMIT), and a set without limits leaves
// the kernel unlimited. DF19 and DF21 have no field in the kernel's configuration ABI.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { KernelOp, KernelStatus } from '../../assembly/host/abi.gen.js';
import { loadKernel } from '../../assembly/host/kernel_loader.js';
import { encodeQpbocInput } from '../../assembly/host/qpboc_session.js';
import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { testPki } from '../../host-sim/src/pki/test_pki.js';
import type { TerminalLimits } from '../src/app/params/params_files.js';
import { DEFAULT_FARES, paramsLoad, writeDefaultParams } from '../src/app/params/params_store.js';
import type { ParamSet } from '../src/app/params/params_store.js';
import { kernelLoadParams } from '../src/app/validator/kernel_params.js';
import { TERMINAL_DATA_BUS_VALIDATOR } from '../src/app/validator/tap_icc_data.js';

let dir = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-limits-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes, signs and loads back a set whose terminal.json carries `limits` (or none). */
async function signedSet(limits: TerminalLimits | undefined): Promise<ParamSet> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const storage = await FileStorage.open(join(dir, 'set'), { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const terminal = { terminalId: 'BUS00042', lineId: 'L101', ...(limits ? { limits } : {}) };
  const written = await writeDefaultParams(storage.value, {
    version: 1,
    terminal,
    fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex),
    denyList: [],
    caRevocations: [],
    signingKey: privateKey,
  });
  if (!written.ok) throw new Error(written.error.message);
  const loaded = await paramsLoad(storage.value, publicKey);
  await storage.value.close();
  if (!loaded.ok) throw new Error(loaded.error.message);
  return loaded.value;
}

function begin(kernel: Awaited<ReturnType<typeof loadKernel>>, amountMinor: number): number {
  const input = encodeQpbocInput({
    mode: 'auto',
    amountMinor,
    date: '261202',
    time: '120000',
    unpredictableNumber: Uint8Array.of(1, 2, 3, 4),
  });
  return kernel.step(KernelOp.OP_TXN_BEGIN, 2, input);
}

describe('terminal limits from the parameter set to the kernel', () => {
  it('df20FromTerminalJson_kernelRefusesAtTheLimit_acceptsBelow', async () => {
    // Fares 200 and 100 stay below every limit, as params_semantic.ts requires.
    const limit = DEFAULT_FARES.flatFareMinor + 1;
    const set = await signedSet({
      contactlessFloorLimitMinor: 0,
      contactlessTransactionLimitMinor: limit,
      cvmLimitMinor: limit,
    });
    expect(set.terminal.limits?.contactlessTransactionLimitMinor).toBe(limit);
    const kernel = await loadKernel();
    expect(kernelLoadParams(kernel, set, TERMINAL_DATA_BUS_VALIDATOR)).toBeNull();
    expect(begin(kernel, limit)).toBe(KernelStatus.STATUS_NOT_ACCEPTED);
    expect(begin(kernel, limit + 1)).toBe(KernelStatus.STATUS_NOT_ACCEPTED);
    expect(begin(kernel, DEFAULT_FARES.flatFareMinor)).toBe(KernelStatus.STATUS_NEED_APDU);
  });

  it('noLimitsInTheSet_kernelUnlimited', async () => {
    const set = await signedSet(undefined);
    const kernel = await loadKernel();
    expect(kernelLoadParams(kernel, set, TERMINAL_DATA_BUS_VALIDATOR)).toBeNull();
    expect(begin(kernel, 999_999_999_999)).toBe(KernelStatus.STATUS_NEED_APDU);
  });
});
