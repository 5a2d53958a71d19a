// Publication on SQLite and PostgreSQL: an issuer decline puts the card in the next signed
// set's deny list, repayment takes it out of the one after; versions only go up; the set is
// checked by the validator's own loader (signature, hashes, deny-list image) and lookup.

import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileStorage } from '../../../hal/src/storage/file_storage.js';
import { DEFAULT_FARES, paramsValidate, writeDefaultParams } from
  '../../../firmware/src/app/params/params_store.js';
import { FILE_MANIFEST } from '../../../firmware/src/app/params/params_files.js';
import { DenyKey } from '../../../firmware/src/app/deny_list/deny_key.js';
import type { DenyList } from '../../../firmware/src/app/deny_list/deny_list.js';
import { testPki } from '../../../host-sim/src/pki/test_pki.js';
import { IssuerHost } from '../../../host-sim/src/acquirer_sim/issuer_host.js';
import { acquirerSimListen } from '../../../host-sim/src/acquirer_sim/acquirer_sim_server.js';
import { AcquirerLink } from '../../src/acquirer/acquirer_link.js';
import { settleOnce } from '../../src/acquirer/settlement.js';
import { debtRepay } from '../../src/acquirer/settlement_debts.js';
import { SETTLEMENT_DEFAULTS } from '../../src/acquirer/settlement_options.js';
import { paramsPublish } from '../../src/publish/params_publish.js';
import { paramsNewest } from '../../src/ingest/params_route.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import type { DepotDb } from '../../src/store/depot_db.js';
import {
  accountsOf, busTaps, ENGINES, enginesDispose, panToken, storeTaps, unsealPan,
} from '../acquirer/settlement_fixture.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 29);
const NOW_MS = Date.UTC(2026, 10, 22, 4, 0, 0);
const BASE_CARD = { pan: '6231000000000000002', psn: 0 };
const DENY_KEY = DenyKey.fromBytes(new Uint8Array(32).fill(0x5a));
let dir = '';
let keys: { privateKey: KeyObject; publicKey: KeyObject };
let base = new Map<string, Uint8Array>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-publish-'));
  keys = generateKeyPairSync('ed25519');
  const storage = await FileStorage.open(dir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version: 3, terminal: { terminalId: 'SIM00001', lineId: 'L1' }, fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex), caRevocations: [],
    denyList: [BASE_CARD], signingKey: keys.privateKey, denyKey: DENY_KEY,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  base = new Map(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name))]));
});

afterAll(() => {
  enginesDispose();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The newest stored set as a validator receives it, loaded by the validator's own code with
 * the fleet deny key; `bytes` is every file of it, concatenated (for the PAN grep).
 */
async function newestDenyList(
  db: DepotDb,
): Promise<{ version: number; list: DenyList; bytes: Buffer }> {
  const answer = await paramsNewest(db, 0);
  if (answer.kind !== 'set') throw new Error('nothing published');
  const files = new Map(Object.entries(answer.files).map(([n, b64]) =>
    [n, Uint8Array.from(Buffer.from(b64, 'base64'))]));
  const checked = paramsValidate(files, { publicKey: keys.publicKey, denyKey: DENY_KEY });
  if (!checked.ok) throw new Error(checked.error.message);
  expect(files.has(FILE_MANIFEST)).toBe(true);
  expect(checked.value.denyList.keyIdHex).toBe(DENY_KEY.idHex);
  const bytes = Buffer.concat([...files.values()]);
  return { version: answer.version, list: checked.value.denyList, bytes };
}

/** The PAN as ASCII digits, and as packed BCD (F-padded) in either byte order of a word. */
function panFootprints(pan: string): Buffer[] {
  const bcd = Buffer.from(pan.length % 2 === 0 ? pan : `${pan}F`, 'hex');
  return [Buffer.from(pan, 'latin1'), bcd.subarray(0, 8),
    Buffer.from(bcd.subarray(0, 4)).reverse()];
}

describe.each(ENGINES)('deny list publication on $name (seed ' + SEED + ')', (engine) => {
  it('declinedCard_isListedNextSet_repaidCard_dropsOut_versionsOnlyGoUp', async () => {
    const bus = await busTaps(SEED);
    const tap = bus.taps.find((t) => t.clearing.cryptogramType === 'ARQC');
    if (tap === undefined) throw new Error(`seed ${SEED}: no ODA tap`);
    const accounts = accountsOf(bus, SEED);
    for (const account of accounts.values()) {
      if (account.pan === tap.clearing.card.pan) account.status = 'blocked';
    }
    const server = await acquirerSimListen(new IssuerHost(accounts, SEED), { seed: SEED });
    const db = await openDepotDb(await engine.fresh('publish'), NOW_MS);
    const link = new AcquirerLink({ host: '127.0.0.1', port: server.port, answerTimeoutMs: 2000,
      connectTimeoutMs: 2000, attemptsMax: 2, backoffBaseMs: 5, backoffMaxMs: 20 });
    const input = { base, privateKey: keys.privateKey, unsealPan, denyKey: DENY_KEY,
      nowMs: NOW_MS };
    try {
      await storeTaps(db, [tap], NOW_MS);
      const run = await settleOnce(db, link, { ...SETTLEMENT_DEFAULTS, nowMs: () => NOW_MS,
        unsealPan });
      expect(run.declined).toBe(1);
      const { pan, psn } = tap.clearing.card;
      expect(await paramsPublish(db, input)).toEqual({ kind: 'published', version: 4,
        denyCount: 2 });
      const first = await newestDenyList(db);
      expect(first.version).toBe(4);
      expect(first.list.contains(pan, psn)).toBe(true);
      expect(first.list.contains(BASE_CARD.pan, BASE_CARD.psn)).toBe(true);
      // The publication holds tokens only: no footprint of either PAN in any of its files.
      for (const footprint of [...panFootprints(pan), ...panFootprints(BASE_CARD.pan)]) {
        expect(first.bytes.includes(footprint), footprint.toString('hex')).toBe(false);
      }
      // A depot holding another deny key cannot merge the base list (made with this one).
      const other = DenyKey.fromBytes(new Uint8Array(32).fill(0xa5));
      await expect(paramsPublish(db, { ...input, denyKey: other }))
        .rejects.toThrow(/base deny list: deny_list\.bin: keyId: made with deny key/);
      expect(await paramsPublish(db, input)).toEqual({ kind: 'unchanged', version: 4,
        denyCount: 2 });
      expect(await debtRepay(db, panToken(pan), null, NOW_MS + 1)).toBe(1);
      expect(await paramsPublish(db, input)).toEqual({ kind: 'published', version: 5,
        denyCount: 1 });
      const second = await newestDenyList(db);
      expect(second.version).toBe(5);
      expect(second.list.contains(pan, psn)).toBe(false);
      expect(second.list.contains(BASE_CARD.pan, BASE_CARD.psn)).toBe(true);
    } finally {
      link.close();
      await db.close();
      await server.close();
    }
  }, 240_000);
});
