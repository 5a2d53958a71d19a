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
import { FILE_DENY_LIST, FILE_MANIFEST } from
  '../../../firmware/src/app/params/params_files.js';
import { denyDeltaChainApply } from '../../../firmware/src/app/upload/upload_deny_delta.js';
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
/** A base set of `version` listing `cards`, as files. */
async function baseSet(name: string, version: number, cards: readonly typeof BASE_CARD[]):
  Promise<Map<string, Uint8Array>> {
  const path = join(dir, name);
  const storage = await FileStorage.open(path, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  const written = await writeDefaultParams(storage.value, {
    version, terminal: { terminalId: 'SIM00001', lineId: 'L1' }, fares: DEFAULT_FARES,
    caKeysTlvHex: testPki().caKeys.map((k) => k.tlvHex), caRevocations: [],
    denyList: [...cards], signingKey: keys.privateKey, denyKey: DENY_KEY,
  });
  await storage.value.close();
  if (!written.ok) throw new Error(written.error.message);
  return new Map(readdirSync(path).map((n) => [n, readFileSync(join(path, n))]));
}

const decoded = (files: Record<string, string>): Map<string, Uint8Array> =>
  new Map(Object.entries(files).map(([n, b64]) => [n, Uint8Array.from(Buffer.from(b64,
    'base64'))]));

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
      // A list of one card is sent whole: its delta would not be smaller.
      const small = await paramsNewest(db, 4);
      expect(small.kind === 'set' && small.denyDeltas).toBeUndefined();
      expect(second.list.contains(pan, psn)).toBe(false);
      expect(second.list.contains(BASE_CARD.pan, BASE_CARD.psn)).toBe(true);
    } finally {
      link.close();
      await db.close();
      await server.close();
    }
  }, 240_000);
});

describe.each(ENGINES)('the base set on $name', (engine) => {
  it('changedAfterSigning_unsigned_orSignedWithAnotherKey_isRefused_andNothingStored',
    async () => {
      const db = await openDepotDb(await engine.fresh('base_refused'), NOW_MS);
      const input = { base, privateKey: keys.privateKey, unsealPan, denyKey: DENY_KEY,
        nowMs: NOW_MS };
      const fares = JSON.parse(Buffer.from(base.get('fares.json') ?? []).toString('utf8')) as
        { flatFareMinor: number };
      const cheaper = Buffer.from(JSON.stringify({ ...fares,
        flatFareMinor: fares.flatFareMinor - 50 }));
      const unsigned = new Map(base);
      unsigned.delete(FILE_MANIFEST);
      const other = await baseSet(`${engine.name}-other-key`, 3, [BASE_CARD]);
      try {
        // Old code published each (re-signed for the fleet with the publishing key).
        for (const [label, files, why] of [
          ['edited', new Map([...base, ['fares.json', cheaper]]), /base fares\.json: changed/],
          ['unsigned', unsigned, /no manifest\.json/],
        ] as const) {
          await expect(paramsPublish(db, { ...input, base: files }), label).rejects.toThrow(why);
        }
        const otherKey = generateKeyPairSync('ed25519').privateKey;
        await expect(paramsPublish(db, { ...input, base: other, privateKey: otherKey }))
          .rejects.toThrow(/signature does not verify with the publishing key/);
        expect(await db.query('SELECT version FROM params_sets')).toEqual([]);
        // The base as signed still publishes.
        expect((await paramsPublish(db, input)).kind).toBe('published');
      } finally {
        await db.close();
      }
    });
});

describe.each(ENGINES)('deny list deltas on $name', (engine) => {
  it('largeList_isSentAsAChainOfSignedDeltas_thatRebuildsTheWholeList', async () => {
    const cards = Array.from({ length: 20_000 }, (_, i) =>
      ({ pan: `62310000${String(i).padStart(11, '0')}`, psn: i % 3 }));
    const setA = await baseSet(`${engine.name}-a`, 3, cards);
    const setB = await baseSet(`${engine.name}-b`, 3,
      [...cards.slice(2), { pan: '6258000011112222', psn: 1 }]);
    const db = await openDepotDb(await engine.fresh('deltas'), NOW_MS);
    const input = { privateKey: keys.privateKey, unsealPan, denyKey: DENY_KEY, nowMs: NOW_MS };
    try {
      expect(await paramsPublish(db, { ...input, base: setA })).toMatchObject({ version: 4 });
      expect(await paramsPublish(db, { ...input, base: setB })).toMatchObject({ version: 5 });
      expect(await paramsPublish(db, { ...input, base: setA })).toMatchObject({ version: 6 });
      const whole = await paramsNewest(db, 4, true);
      const chained = await paramsNewest(db, 4);
      if (whole.kind !== 'set' || chained.kind !== 'set') throw new Error('nothing newer');
      expect(whole.denyDeltas).toBeUndefined();
      expect(chained.denyDeltas).toHaveLength(2);
      expect(Object.keys(chained.files).sort())
        .toEqual(Object.keys(whole.files).filter((n) => n !== FILE_DENY_LIST).sort());
      const wholeFiles = decoded(whole.files);
      const installed = decoded((await paramsNewestAt(db, 4)).files).get(FILE_DENY_LIST);
      const rebuilt = denyDeltaChainApply(installed ?? new Uint8Array(), 4,
        (chained.denyDeltas ?? []).map((d) => Uint8Array.from(Buffer.from(d, 'base64'))), 6,
        keys.publicKey);
      if (!rebuilt.ok) throw new Error(rebuilt.reason);
      expect(Buffer.from(rebuilt.image).equals(Buffer.from(wholeFiles.get(FILE_DENY_LIST)
        ?? []))).toBe(true);
      const files = decoded(chained.files).set(FILE_DENY_LIST, rebuilt.image);
      expect(paramsValidate(files, { publicKey: keys.publicKey, denyKey: DENY_KEY }).ok)
        .toBe(true);
      // From a version the depot has no delta from (the base's 3, never published): whole.
      const unknown = await paramsNewest(db, 3);
      expect(unknown.kind === 'set' && unknown.denyDeltas).toBeUndefined();
      expect(await paramsNewest(db, 6)).toEqual({ kind: 'none-newer' });
    } finally {
      await db.close();
    }
  }, 240_000);
});

/** The files of published set `version` as stored. */
async function paramsNewestAt(db: DepotDb, version: number): Promise<{
  files: Record<string, string>;
}> {
  const row = (await db.query('SELECT files_json FROM params_sets WHERE version = $1',
    [version]))[0];
  return { files: JSON.parse(String(row?.['files_json'] ?? '{}')) as Record<string, string> };
}
