// gate.json inside a signed parameter set: signed and loaded with the rest, refused when
// changed after signing, when beside the set unsigned, or when its semantics are wrong.

import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { FILE_GATE } from '../../src/app/gate/gate_params.js';
import {
  DEFAULT_FARES,
  paramsLoad,
  paramsSign,
  writeDefaultParams,
} from '../../src/app/params/params_store.js';
import { FILE_MANIFEST } from '../../src/app/params/params_files.js';
import { Prng } from '../../../host-sim/src/prng.js';
import { StorageSim } from '../../../host-sim/src/storage_sim.js';
import { testPki } from '../../../host-sim/src/pki/test_pki.js';
import { TEST_DENY_KEY } from '../deny_key_fixture.js';
import { gateJson, gateParams, ticket, TOKEN_B } from './gate_fixtures.js';

const keys = generateKeyPairSync('ed25519');
const trust = { publicKey: keys.publicKey, denyKey: TEST_DENY_KEY };
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

async function busSet(): Promise<StorageSim> {
  const sim = new StorageSim({ totalBytes: 1 << 24, prng: new Prng(3), tornModes: ['prefix'] });
  const written = await writeDefaultParams(sim, {
    version: 1, terminal: { terminalId: 'GATE0001', lineId: 'XIHU-N' }, fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex), denyList: [], caRevocations: [],
    signingKey: keys.privateKey, denyKey: TEST_DENY_KEY,
  });
  if (!written.ok) throw new Error(written.error.message);
  return sim;
}

describe('gate.json in a signed set', () => {
  const gate = gateParams([ticket({}), ticket({ ticketId: 'T2', cardToken: TOKEN_B })]);

  it('signedWithTheSet_loadsWithItsTickets; aBusSetHasNone', async () => {
    const sim = await busSet();
    const bus = await paramsLoad(sim, trust);
    expect(bus.ok && bus.value.gate).toBeUndefined();
    await sim.replace(FILE_GATE, bytes(gateJson(gate)));
    expect((await paramsSign(sim, keys.privateKey, 2)).ok).toBe(true);
    const loaded = await paramsLoad(sim, trust);
    expect(loaded.ok && loaded.value.gate).toEqual(gate);
  });

  it('changedAfterSigning_isRefusedByItsHash', async () => {
    const sim = await busSet();
    await sim.replace(FILE_GATE, bytes(gateJson(gate)));
    expect((await paramsSign(sim, keys.privateKey, 2)).ok).toBe(true);
    const more = gateParams([ticket({ persons: 6 })]);
    await sim.replace(FILE_GATE, bytes(gateJson(more)));
    const loaded = await paramsLoad(sim, trust);
    expect(loaded.ok ? 'loaded' : loaded.error.message).toMatch(/gate\.json.*SHA-256/);
  });

  it('besideASignedSetUnsigned_isRefused', async () => {
    const sim = await busSet();
    await sim.replace(FILE_GATE, bytes(gateJson(gate)));
    const loaded = await paramsLoad(sim, trust);
    expect(loaded.ok ? 'loaded' : loaded.error.message).toMatch(/gate\.json.*not listed/);
  });

  it('oversold_isRefusedAtSigning', async () => {
    const sim = await busSet();
    const oversold = gateParams([ticket({ persons: 5 }),
      ticket({ ticketId: 'T2', cardToken: TOKEN_B, persons: 5 })]);
    await sim.replace(FILE_GATE, bytes(gateJson(oversold)));
    const signed = await paramsSign(sim, keys.privateKey, 2);
    expect(signed.ok ? 'signed' : signed.error.message).toMatch(/oversold/);
    const manifest = await sim.read(FILE_MANIFEST);
    expect(manifest.ok && new TextDecoder().decode(manifest.value)).not.toMatch(/gate\.json/);
  });
});
