// The parameter set's contactless limits (terminal.json limits: DF19/DF20/DF21) reach the kernel.
//
// A signed set is written to a temp directory, loaded and verified as the validator does, then
// handed to kernelLoadParams; the kernel's own refusal (outcome header: reason, detail = the tag
// of the limit crossed) is the proof, with the twin set one minor unit away accepted.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { KernelOp, KernelStatus } from '../../assembly/host/abi.gen.js';
import { loadKernel } from '../../assembly/host/kernel_loader.js';
import { encodeQpbocInput, type QpbocMode } from '../../assembly/host/qpboc_session.js';
import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { testPki } from '../../host-sim/src/pki/test_pki.js';
import type { TerminalLimits } from '../src/app/params/params_files.js';
import { DEFAULT_FARES, paramsLoad, writeDefaultParams } from '../src/app/params/params_store.js';
import { kernelLoadParams } from '../src/app/validator/kernel_params.js';
import { TERMINAL_DATA_BUS_VALIDATOR } from '../src/app/validator/tap_icc_data.js';
import { TEST_DENY_KEY } from './deny_key_fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'shuaka-kernel-limits-'));
const FARE_MINOR = DEFAULT_FARES.flatFareMinor;
const MODE_ARG: Readonly<Record<QpbocMode, number>> = { ec: 0, oda: 1, auto: 2, full: 3 };

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes, signs, loads and applies a set with `limits`; returns OP_TXN_BEGIN's status/OUT. */
async function beginWith(
  name: string,
  limits: TerminalLimits | undefined,
  mode: QpbocMode,
): Promise<{ status: number; reason: number; detail: number }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const storage = await FileStorage.open(join(dir, name), { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version: 1,
    terminal: { terminalId: 'BUS00042', lineId: 'L101', ...(limits === undefined ? {} : { limits }) },
    fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex),
    denyList: [],
    caRevocations: [],
    signingKey: privateKey,
    denyKey: TEST_DENY_KEY,
  });
  if (!written.ok) throw new Error(written.error.message);
  const set = await paramsLoad(storage.value, { publicKey, denyKey: TEST_DENY_KEY });
  await storage.value.close();
  if (!set.ok) throw new Error(set.error.message);
  const kernel = await loadKernel();
  expect(kernelLoadParams(kernel, set.value, TERMINAL_DATA_BUS_VALIDATOR)).toBeNull();
  const input = encodeQpbocInput({
    mode,
    amountMinor: FARE_MINOR,
    date: '250601',
    time: '101010',
    unpredictableNumber: Uint8Array.of(1, 2, 3, 4),
  });
  const status = kernel.step(KernelOp.OP_TXN_BEGIN, MODE_ARG[mode], input);
  const out = kernel.output();
  const header = status === KernelStatus.STATUS_NOT_ACCEPTED;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  return {
    status,
    reason: header ? (out[1] ?? 0) : 0,
    detail: header ? view.getInt32(8) : 0,
  };
}

const limitsOf = (floor: number, transaction: number, cvm: number): TerminalLimits => ({
  contactlessFloorLimitMinor: floor,
  contactlessTransactionLimitMinor: transaction,
  cvmLimitMinor: cvm,
});

describe('kernelLoadParams: terminal.json limits reach the kernel', () => {
  it('floor limit below the fare, EC lane: refused before SELECT (42, detail DF19)', async () => {
    const r = await beginWith('floor-ec', limitsOf(FARE_MINOR - 1, 100_000, 30_000), 'ec');
    expect(r.status).toBe(KernelStatus.STATUS_NOT_ACCEPTED);
    expect(r.reason).toBe(42);
    expect(r.detail).toBe(0xdf19);
  });

  it('twin: floor limit equal to the fare: the transaction starts (SELECT PPSE)', async () => {
    const r = await beginWith('floor-equal', limitsOf(FARE_MINOR, 100_000, 30_000), 'ec');
    expect(r.status).toBe(KernelStatus.STATUS_NEED_APDU);
  });

  it('floor limit below the fare, mode auto: the transaction starts (ODA path)', async () => {
    const r = await beginWith('floor-auto', limitsOf(0, 100_000, 30_000), 'auto');
    expect(r.status).toBe(KernelStatus.STATUS_NEED_APDU);
  });

  it('no limits in terminal.json: nothing refused', async () => {
    const r = await beginWith('none', undefined, 'ec');
    expect(r.status).toBe(KernelStatus.STATUS_NEED_APDU);
  });
});
