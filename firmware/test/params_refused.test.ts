// Bad parameter sets end to end: the validator keeps the last good set, or stays out of service.
//
// params.test.ts proves the store refuses every kind of bad file and keeps the previous set;
// this file follows the set into a started Validator: what the rider sees (the idle screen's
// fare, or 暂停服务) is the observable truth, and no card is ever polled on a refused config.

import { generateKeyPairSync, type KeyObject } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { PanVault } from '../src/app/journal/pan_vault.js';
import { loadKernel, type Kernel } from '../../assembly/host/kernel_loader.js';
import { ClockSim } from '../../host-sim/src/clock_sim.js';
import { testPki } from '../../host-sim/src/pki/test_pki.js';
import { Prng } from '../../host-sim/src/prng.js';
import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { halErr, halOk, HalStatus, type HalResult } from '../../hal/src/ports/hal_status.js';
import type { DisplayPort, DisplayScreen } from '../../hal/src/ports/display_port.js';
import type { IndicatorPort, IndicatorSignal } from '../../hal/src/ports/indicator_port.js';
import type { ReaderPort } from '../../hal/src/ports/reader_port.js';
import { Journal, JOURNAL_FILE_NAME } from '../src/app/journal/journal.js';
import { manifestBuild, manifestEncode, manifestSign } from '../src/app/params/params_manifest.js';
import {
  DEFAULT_FARES,
  ParamStore,
  paramsReadFiles,
  writeDefaultParams,
  type ParamSet,
} from '../src/app/params/params_store.js';
import { Validator } from '../src/app/validator/validator.js';
import { VALIDATOR_CONFIG_DEFAULT } from '../src/app/validator/validator_ports.js';
import { TEST_DENY_KEY } from './deny_key_fixture.js';

const WALL_EPOCH_MS = Date.UTC(2026, 10, 23, 0, 0, 0);

function newSim(seed: number): StorageSim {
  return new StorageSim({ totalBytes: 1 << 24, prng: new Prng(seed), tornModes: ['prefix'] });
}

async function goodSet(signingKey: KeyObject, version: number, fareMinor: number) {
  const sim = newSim(version);
  const written = await writeDefaultParams(sim, {
    version,
    terminal: { terminalId: 'T0001', lineId: 'L42' },
    fares: { ...DEFAULT_FARES, flatFareMinor: fareMinor },
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex),
    denyList: [{ pan: '6217990000000000001', psn: 1 }],
    caRevocations: [],
    signingKey,
    denyKey: TEST_DENY_KEY,
  });
  if (!written.ok) throw new Error(written.error.message);
  return sim;
}

/** A copy of `source` with its files changed by `change`, signed again by `signingKey`. */
async function resigned(
  source: StorageSim,
  change: (files: Map<string, Uint8Array>) => void,
  signingKey: KeyObject,
  version: number,
): Promise<StorageSim> {
  const read = await paramsReadFiles(source, true);
  if (!read.ok) throw new Error(read.error.message);
  const files = read.value;
  files.delete('manifest.json');
  change(files);
  const target = newSim(1000 + version);
  for (const [name, bytes] of files) await target.replace(name, bytes);
  const manifest = manifestSign(manifestBuild(files, version), signingKey);
  await target.replace('manifest.json', manifestEncode(manifest));
  return target;
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const decode = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

/** Everything the validator did that a rider or a test can see. */
interface Board {
  readonly validator: Validator;
  readonly screens: DisplayScreen[];
  readonly signals: IndicatorSignal[];
  readonly storage: StorageSim;
  readonly readerCalls: string[];
  readonly kernel: Kernel;
}

/** A reader that records every use; a refused configuration must never reach it. */
function recordingReader(calls: string[]): ReaderPort {
  const refuse = <T>(name: string): Promise<HalResult<T>> => {
    calls.push(name);
    return Promise.resolve(halErr(HalStatus.NOT_SUPPORTED, 'test reader'));
  };
  return {
    poll: () => refuse('poll'),
    transceive: () => refuse('transceive'),
    release: () => refuse('release'),
    isCardPresent: () => refuse('isCardPresent'),
    waitForRemoval: () => refuse('waitForRemoval'),
    cancel: () => {
      calls.push('cancel');
    },
  };
}

/** A validator on test ports, started with the set `params()` returns. */
async function startValidator(params: () => ParamSet): Promise<Board> {
  const clock = new ClockSim(WALL_EPOCH_MS);
  const storage = newSim(7);
  const opened = await Journal.open(storage, {
    fileName: JOURNAL_FILE_NAME,
    clock,
    reserveBytes: 64 * 1024,
    sizeBytesMax: 1 << 20,
  });
  if (!opened.ok) throw new Error(opened.detail);
  const screens: DisplayScreen[] = [];
  const signals: IndicatorSignal[] = [];
  const readerCalls: string[] = [];
  const display: DisplayPort = {
    show: (screen) => {
      screens.push(screen);
      return Promise.resolve(halOk(undefined));
    },
  };
  const indicator: IndicatorPort = {
    signal: (signal) => {
      signals.push(signal);
      return Promise.resolve(halOk(undefined));
    },
    whenDone: () => Promise.resolve(halOk(undefined)),
  };
  const kernel = await loadKernel();
  const prng = new Prng(3);
  const validator = new Validator(
    {
      reader: recordingReader(readerCalls),
      display,
      indicator,
      clock,
      kernel,
      journal: opened.value.journal,
      params,
      unpredictableNumber: () => prng.bytes(4),
      panVault: PanVault.fromKey(new Uint8Array(32), (n) => prng.bytes(n)),
      log: { log: () => undefined },
    },
    VALIDATOR_CONFIG_DEFAULT,
  );
  await validator.start();
  return { validator, screens, signals, storage, readerCalls, kernel };
}

function activeOf(store: ParamStore): () => ParamSet {
  return () => {
    const set = store.active();
    if (set === null) throw new Error('no active set');
    return set;
  };
}

/** The bad files of issue 6, each with the error the store must name. */
function badChanges(): [string, (files: Map<string, Uint8Array>) => void, RegExp][] {
  const flipLastByte = (line: string): string =>
    line.slice(0, -2) + (line.endsWith('00') ? '01' : '00');
  return [
    [
      'truncated file',
      (f) => f.set('fares.json', (f.get('fares.json') ?? new Uint8Array(0)).subarray(0, 12)),
      /fares\.json: not valid JSON/,
    ],
    [
      'bad CA check value',
      (f) => {
        const lines = decode(f.get('capk.txt')).split('\n');
        f.set('capk.txt', text(lines.map((l, i) => (i === 0 ? flipLastByte(l) : l)).join('\n')));
      },
      /capk\.txt: line 1 .*DF03: check value/,
    ],
    [
      'wrong type',
      (f) => {
        const fares = JSON.parse(decode(f.get('fares.json'))) as Record<string, unknown>;
        fares['flatFareMinor'] = '300';
        f.set('fares.json', text(JSON.stringify(fares)));
      },
      /fares\.json: flatFareMinor: expected an integer/,
    ],
  ];
}

describe('refused parameter sets, end to end', () => {
  it('keeps the validator in service on the previous set after every refused one', async () => {
    const keys = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const store = new ParamStore({ publicKey: keys.publicKey, denyKey: TEST_DENY_KEY });
    const v1 = await goodSet(keys.privateKey, 1, 200);
    expect((await store.activate(v1)).ok).toBe(true);
    const previous = store.active();
    const cases: [string, StorageSim, RegExp][] = [
      [
        'bad signature',
        await resigned(v1, () => undefined, other.privateKey, 2),
        /manifest\.json: signatureHex: signature does not verify/,
      ],
    ];
    for (const [label, change, message] of badChanges()) {
      cases.push([label, await resigned(v1, change, keys.privateKey, 2), message]);
    }
    for (const [label, source, message] of cases) {
      const result = await store.activate(source);
      expect(result.ok ? '' : result.error.message, label).toMatch(message);
      expect(store.active(), label).toBe(previous);
      // A validator (re)started now runs on version 1: in service, with its fare.
      const board = await startValidator(activeOf(store));
      expect(board.validator.outOfServiceReason(), label).toBeNull();
      expect(board.validator.state(), label).toBe('WaitForCard');
      expect(board.screens, label).toEqual([{ kind: 'idle', fareMinor: 200, lineName: 'L42' }]);
    }
    // The positive control: a good newer set is taken, and the validator shows its fare.
    const fare300 = await resigned(
      v1,
      (f) => {
        const fares = JSON.parse(decode(f.get('fares.json'))) as Record<string, unknown>;
        fares['flatFareMinor'] = 300;
        f.set('fares.json', text(JSON.stringify(fares)));
      },
      keys.privateKey,
      2,
    );
    expect((await store.activate(fare300)).ok).toBe(true);
    const board = await startValidator(activeOf(store));
    expect(board.screens).toEqual([{ kind: 'idle', fareMinor: 300, lineName: 'L42' }]);
  });

  it('stays out of service when the kernel refuses the configuration', async () => {
    const keys = generateKeyPairSync('ed25519');
    const store = new ParamStore({ publicKey: keys.publicKey, denyKey: TEST_DENY_KEY });
    expect((await store.activate(await goodSet(keys.privateKey, 1, 200))).ok).toBe(true);
    const good = store.active();
    if (good === null) throw new Error('no set');
    const firstKey = good.caKeys[0];
    if (firstKey === undefined) throw new Error('no CA key');
    // The kernel checks what it loads on its own (defence in depth behind the store), and
    // holds at most 64 revoked certificates (assembly/src/emv/emv_capk.ts CAPK_REVOKED_MAX).
    const flipped = firstKey.checkValueHex.endsWith('0') ? '1' : '0';
    const badCheck: ParamSet = {
      ...good,
      caKeys: [
        { ...firstKey, checkValueHex: firstKey.checkValueHex.slice(0, -1) + flipped },
        ...good.caKeys.slice(1),
      ],
    };
    const manyRevoked: ParamSet = {
      ...good,
      caRevocations: Array.from({ length: 65 }, (_, i) => ({
        ridHex: 'A000000333',
        caIndex: 0x08,
        certificateSerialHex: (0x100000 + i).toString(16).toUpperCase(),
      })),
    };
    const noAid: ParamSet = { ...good, aids: [] };
    const cases: [string, ParamSet, RegExp][] = [
      ['CA key check value', badCheck, /CA key .*ERR_CAPK_CHECK_VALUE/],
      ['65 revocations', manyRevoked, /CA revocation list: ERR_CAPK_REVOCATION_FULL/],
      ['no AID', noAid, /terminal configuration: ERR_TXN_CONFIG/],
    ];
    for (const [label, set, reason] of cases) {
      const board = await startValidator(() => set);
      expect(board.validator.outOfServiceReason(), label).toMatch(reason);
      expect(board.validator.state(), label).toBe('WaitForStart');
      expect(board.screens, label).toEqual([{ kind: 'outOfService' }]);
      expect(board.readerCalls, label).toEqual([]);
      expect(board.storage.writePoints(), `${label}: nothing journaled`).toBe(0);
      expect(board.kernel.faultCount(), label).toBe(0);
    }
  });
  it('refuses at signing a set beyond the kernel capacities (65 revocations)', async () => {
    const keys = generateKeyPairSync('ed25519');
    const written = await writeDefaultParams(newSim(2), {
      version: 2,
      terminal: { terminalId: 'T0001', lineId: 'L42' },
      fares: DEFAULT_FARES,
      caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex),
      denyList: [],
      caRevocations: Array.from({ length: 65 }, (_, i) => ({
        ridHex: 'A000000333',
        caIndex: 0x08,
        certificateSerialHex: (0x100000 + i).toString(16).toUpperCase(),
      })),
      signingKey: keys.privateKey,
      denyKey: TEST_DENY_KEY,
    });
    expect(written.ok).toBe(false);
    expect(written.ok ? '' : written.error.message).toMatch(/capk_revocation\.json: revoked/);
  });
});
