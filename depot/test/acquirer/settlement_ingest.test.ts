// The whole depot path on SQLite and PostgreSQL: a validator's `journal export` lines through
// ingest's own validation and storage (PAN sealed under a real data key, 5A/57 stripped from
// field 55), then settlement with the acquirer simulator: every clearing tap once.

import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';

import { IssuerHost } from '../../../host-sim/src/acquirer_sim/issuer_host.js';
import { acquirerSimListen } from '../../../host-sim/src/acquirer_sim/acquirer_sim_server.js';
import { AcquirerLink } from '../../src/acquirer/acquirer_link.js';
import { settleOnce } from '../../src/acquirer/settlement.js';
import { SETTLEMENT_DEFAULTS } from '../../src/acquirer/settlement_options.js';
import { batchStore } from '../../src/ingest/batch_store.js';
import { batchValidate } from '../../src/ingest/batch_validate.js';
import { openDepotDb } from '../../src/store/open_depot_db.js';
import { panVault } from '../../src/store/pan_vault.js';
import { accountsOf, busTaps, ENGINES, enginesDispose } from './settlement_fixture.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 37);
const NOW_MS = Date.UTC(2026, 10, 22, 4, 0, 0);

afterAll(() => enginesDispose());

describe.each(ENGINES)('ingest then settle on $name (seed ' + SEED + ')', (engine) => {
  it('exportedTaps_storedByIngest_areEachAuthorisedOrClearedOnce', async () => {
    const bus = await busTaps(SEED);
    const terminalId = bus.taps[0]?.clearing.terminalId ?? '';
    const vault = panVault(randomBytes(32));
    const db = await openDepotDb(await engine.fresh('ingest_settle'), NOW_MS);
    const host = new IssuerHost(accountsOf(bus, SEED), SEED);
    const server = await acquirerSimListen(host, { seed: SEED });
    const link = new AcquirerLink({ host: '127.0.0.1', port: server.port, answerTimeoutMs: 2000,
      connectTimeoutMs: 2000, attemptsMax: 2, backoffBaseMs: 5, backoffMaxMs: 20 });
    try {
      await db.run(`INSERT INTO terminals (terminal_id, cert_sha256, route_id, status,
        registered_at_ms) VALUES ($1, $2, 'L1', 'active', $3)`,
        [terminalId, 'c'.repeat(64), NOW_MS]);
      const batch = batchValidate({ terminalId, firstSeq: 1, throughSeq: bus.throughSeq,
        records: bus.exportLines.map((line) => JSON.parse(line) as unknown) }, terminalId);
      const receipt = await batchStore(db, batch, vault, NOW_MS);
      expect(receipt.stored).toBe(bus.exportLines.length);
      const run = await settleOnce(db, link, { ...SETTLEMENT_DEFAULTS, nowMs: () => NOW_MS,
        unsealPan: vault.unseal });
      expect(run.approved).toBe(bus.taps.length);
      const rows = await db.query(
        "SELECT cryptogram_type, state FROM taps WHERE type = 'clearing' ORDER BY seq");
      expect(rows.map((r) => r['state'])).toEqual(bus.taps.map((t) =>
        (t.clearing.cryptogramType === 'ARQC' ? 'authorised' : 'cleared')));
      expect(host.movements().length).toBe(bus.taps.length);
    } finally {
      link.close();
      await db.close();
      await server.close();
    }
  }, 240_000);
});
