// A depot publishes one parameter set for its whole fleet; its terminal file names one
// terminal. paramsOwnTerminal keeps the validator's own id and nothing else of it changes.
// Truth: the set as paramsLoadDir validated it from signed files on disk.

import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { TEST_DENY_KEY } from './deny_key_fixture.js';
import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { paramsLoadDir } from '../src/app/params/params_install.js';
import { DEFAULT_FARES, writeDefaultParams } from '../src/app/params/params_store.js';
import { paramsOwnTerminal } from '../src/app/upload/upload_params.js';

const VECTORS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared',
  'vectors', 'unionpay_capk.json');

describe('paramsOwnTerminal', () => {
  it('fleetSetNamingAnotherTerminal_keepsOwnId_restUnchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shuaka-own-terminal-'));
    try {
      const keys = generateKeyPairSync('ed25519');
      const capk = (JSON.parse(readFileSync(VECTORS, 'utf8')) as {
        keys: { index: string; source_tlv: string }[] }).keys
        .filter((k) => k.index !== '61').map((k) => k.source_tlv);
      const storage = await FileStorage.open(dir, { quotaBytes: null });
      if (!storage.ok) throw new Error(storage.detail);
      const written = await writeDefaultParams(storage.value, { version: 7,
        terminal: { terminalId: 'SIM00001', lineId: 'L42' }, fares: DEFAULT_FARES,
        caKeysTlvHex: capk, caRevocations: [], denyList: [{ pan: '6231000000000000002',
          psn: 1 }], signingKey: keys.privateKey, denyKey: TEST_DENY_KEY });
      await storage.value.close();
      if (!written.ok) throw new Error(written.error.message);
      const fleetSet = await paramsLoadDir(dir,
        { publicKey: keys.publicKey, denyKey: TEST_DENY_KEY });
      const own = paramsOwnTerminal(fleetSet, 'SIM00002');
      expect(own.terminal).toEqual({ ...fleetSet.terminal, terminalId: 'SIM00002' });
      expect({ ...own, terminal: null }).toEqual({ ...fleetSet, terminal: null });
      expect(own.denyList.contains('6231000000000000002', 1)).toBe(true);
      expect(fleetSet.terminal.terminalId).toBe('SIM00001');
      expect(paramsOwnTerminal(fleetSet, 'SIM00001')).toBe(fleetSet);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
