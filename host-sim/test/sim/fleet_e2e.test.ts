// Issue 17's loop end to end, on SQLite and on PostgreSQL: `shuaka depot serve` as a child
// process (mutual TLS on loopback), a fleet of production validators (simulated time) that
// uploads through seeded outages and lost answers and takes parameters down, the acquirer and
// issuer simulator on real TCP (ISO 8583), and `shuaka depot settle|publish|debt` as processes.
// Truths: the validators' own journals (their export lines), the issuer's accounts and ledger
// (balances drawn again from the seed), and the depot's rows read back with a second query.
// SHUAKA_SEED=N replays a run.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { DepotHttps, depotIdentityRead } from '../../../firmware/src/boards/depot_https.js';
import type { DepotDb } from '../../../depot/src/store/depot_db.js';
import { openDepotDb } from '../../../depot/src/store/open_depot_db.js';
import { panVault, readDataKey } from '../../../depot/src/store/pan_vault.js';
import {
  issuerAccountsOf, type IssuerAccount,
} from '../../src/acquirer_sim/issuer_accounts.js';
import { IssuerHost } from '../../src/acquirer_sim/issuer_host.js';
import {
  acquirerSimListen, type AcquirerSimServer,
} from '../../src/acquirer_sim/acquirer_sim_server.js';
import type { RiderCard } from '../../src/sim/bus_riders.js';
import {
  fleetBaseParamsWrite, fleetDenyKeyBytes, fleetPools,
} from '../../src/sim/fleet_params.js';
import { fleetExportLines, fleetTerminalId, runFleet, type FleetBus } from
  '../../src/sim/fleet_run.js';
import { fleetBusVisit, type FleetVisit } from '../../src/sim/fleet_visit.js';
import type { PostgresScratch } from '../../../test_support/postgres_scratch.js';
import {
  createScratchDatabase, postgresRequired, startPostgresScratch,
} from '../../../test_support/postgres_scratch.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'shuaka.js');
const SEED = Number(process.env['SHUAKA_SEED'] ?? 17);
const BUSES = 3;
const RIDERS = 12;
/** Two hours between the day and each visit: no fare window of the day is still open. */
const VISIT_IDLE_MS = 2 * 3_600_000;

let scratch: PostgresScratch | null = null;
let phaseStartMs = Date.now();

/** Prints how long the last phase took (where the wall time of this test goes). */
function phase(name: string): void {
  const now = Date.now();
  process.stdout.write(`fleet e2e (seed ${SEED}): ${name} ${now - phaseStartMs} ms\n`);
  phaseStartMs = now;
}
afterAll(() => scratch?.stop());

function shuaka(...args: string[]): { code: number | null; out: string; err: string } {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8',
    timeout: 120_000 });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

function shuakaOk(...args: string[]): string {
  const run = shuaka(...args);
  expect(run.code, `shuaka ${args.join(' ')} (seed ${SEED})\n${run.out}\n${run.err}`).toBe(0);
  return run.out;
}

/** A clearing line of a validator's journal export (the fields this test reads). */
interface ClearingLine {
  readonly type: string;
  readonly seq: number;
  readonly terminalId: string;
  readonly pan: string;
  readonly psn: string;
  readonly atc: number;
  readonly amountMinor: number;
  readonly cryptogramType: 'TC' | 'ARQC';
}

/** Every clearing the fleet's journals exported, one per card + ATC (the depot's key too). */
function journalClearings(buses: readonly FleetBus[]): Map<string, ClearingLine> {
  const byCardAtc = new Map<string, ClearingLine>();
  for (const bus of buses) {
    for (const text of fleetExportLines(bus.run, 0).values()) {
      const line = JSON.parse(text) as ClearingLine;
      if (line.type !== 'clearing') continue;
      byCardAtc.set(`${line.pan}/${Number.parseInt(line.psn, 16)}/${line.atc}`, line);
    }
  }
  return byCardAtc;
}

/** The depot serve child and what it printed. */
interface Serve {
  readonly child: ChildProcess;
  readonly port: number;
  readonly output: () => string;
}

async function serveStart(depotDir: string, db: string): Promise<Serve> {
  const child = spawn(process.execPath, [BIN, 'depot', 'serve', '--dir', depotDir, '--db', db,
    '--port', '0', '--host', '127.0.0.1'], { cwd: ROOT });
  let text = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const match = /listening https:\/\/[^:]+:(\d+)/.exec(text);
      if (match !== null) resolve(Number(match[1]));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`depot serve exited ${code}: ${text}`)));
  });
  return { child, port, output: () => text };
}

async function serveStop(serve: Serve | null): Promise<void> {
  if (serve === null || serve.child.exitCode !== null) return;
  const exited = new Promise((resolve) => serve.child.once('exit', resolve));
  serve.child.kill('SIGTERM');
  await exited;
}

/** The fleet's world: depot directory, database, issuer, serve, acquirer. */
interface World {
  readonly dir: string;
  readonly db: string;
  readonly serve: Serve;
  readonly host: IssuerHost;
  readonly acquirer: AcquirerSimServer;
  readonly accounts: Map<string, IssuerAccount>;
  readonly cards: Map<string, RiderCard>;
  /** Each account's opening balance (PAN/PSN → minor units), as drawn from the seed. */
  readonly opening: ReadonlyMap<string, number>;
  /** Balance the test took off an account by hand (PAN/PSN → minor units). */
  readonly zeroed: Map<string, number>;
  readonly paramsPublicKey: KeyObject;
}

async function worldOpen(db: string): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'shuaka-fleet-e2e-'));
  const depotDir = join(dir, 'depot');
  shuakaOk('depot', 'init', '--dir', depotDir);
  // The fleet's deny key: the depot publishes with it, every bus holds it.
  writeFileSync(join(depotDir, 'deny.key'), fleetDenyKeyBytes(SEED), { mode: 0o600 });
  for (let index = 0; index < BUSES; index += 1) {
    const id = fleetTerminalId(index);
    shuakaOk('depot', 'terminal', 'add', '--db', db, '--id', id, '--route', 'L101',
      '--dir', depotDir, '--out', join(dir, 'ids', id));
    copyFileSync(join(depotDir, 'ca.pem'), join(dir, 'ids', id, 'ca.pem'));
  }
  phase('depot init, terminals');
  const keys = generateKeyPairSync('ed25519');
  writeFileSync(join(dir, 'params.key.pem'),
    keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await fleetBaseParamsWrite(join(dir, 'base'), SEED, BUSES, keys.privateKey);
  const pools = fleetPools(SEED, BUSES);
  const cards = new Map<string, RiderCard>();
  for (const card of pools.flatMap((p) => p.cards)) {
    for (const app of card.card.profile.applications) cards.set(`${app.pan}/${app.psn}`, card);
  }
  const accounts = issuerAccountsOf(pools.flatMap((p) => p.cards)
    .map((c) => [c.name, c.card.profile] as const), SEED);
  const host = new IssuerHost(accounts, SEED);
  // Some answers are lost after the issuer applied them: settle sends again, never twice.
  const acquirer = await acquirerSimListen(host, { port: 0, seed: SEED,
    faults: { dropBeforeRatio: 0.03, dropAfterRatio: 0.03 } });
  const serve = await serveStart(depotDir, db);
  const opening = new Map([...accounts].map(([key, a]) => [key, a.balanceMinor] as const));
  return { dir, db, serve, host, acquirer, accounts, cards, opening, zeroed: new Map(),
    paramsPublicKey: keys.publicKey };
}

async function worldClose(world: World | null): Promise<void> {
  if (world === null) return;
  await serveStop(world.serve);
  await world.acquirer.close();
  rmSync(world.dir, { recursive: true, force: true });
}

/** `depot publish` from the fleet's base set; returns the published version and deny count. */
function publish(world: World): { event: string; version: number; denyCount: number } {
  return JSON.parse(shuakaOk('depot', 'publish', '--db', world.db, '--dir',
    join(world.dir, 'depot'), '--base', join(world.dir, 'base'), '--key',
    join(world.dir, 'params.key.pem'))) as { event: string; version: number; denyCount: number };
}

/** A shuaka process run without blocking this one (the acquirer simulator lives here). */
function shuakaAsync(...args: string[]): Promise<{ code: number | null; out: string;
  err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** `depot settle` until no request is left unanswered (exit 13 means: run again). */
async function settle(world: World): Promise<void> {
  for (let run = 1; ; run += 1) {
    const result = await shuakaAsync('depot', 'settle', '--db', world.db, '--dir',
      join(world.dir, 'depot'), '--acquirer', `127.0.0.1:${world.acquirer.port}`,
      '--exposure-limit', '1000000');
    if (result.code === 0) return;
    expect(result.code, `settle run ${run} (seed ${SEED}): ${result.err}`).toBe(13);
    expect(run, `settle keeps leaving requests unanswered (seed ${SEED})`).toBeLessThan(8);
  }
}

async function depotOpen(world: World, terminalId: string): Promise<DepotHttps> {
  const identity = await depotIdentityRead(join(world.dir, 'ids', terminalId));
  if (!identity.ok) throw new Error(identity.detail);
  return new DepotHttps({ url: new URL(`https://localhost:${world.serve.port}/`),
    identity: identity.value, timeoutMs: 20_000 });
}

async function visitOne(world: World, bus: FleetBus, cards: readonly RiderCard[],
  contactsMax: number): Promise<FleetVisit> {
  const depot = await depotOpen(world, bus.terminalId);
  try {
    return await fleetBusVisit(bus, depot, cards, VISIT_IDLE_MS, contactsMax);
  } finally {
    depot.close();
  }
}

async function visitAll(world: World, buses: readonly FleetBus[], card: RiderCard):
  Promise<FleetVisit[]> {
  const visits: FleetVisit[] = [];
  for (const bus of buses) {
    const depot = await depotOpen(world, bus.terminalId);
    try {
      visits.push(await fleetBusVisit(bus, depot, [card], VISIT_IDLE_MS));
    } finally {
      depot.close();
    }
  }
  return visits;
}

/** The depot's rows this test checks, read back with plain queries. */
type Rows = readonly Record<string, unknown>[];

async function depotRows(db: DepotDb): Promise<{
  taps: Rows; messages: Rows; debts: Rows; deny: Rows;
}> {
  return {
    taps: await db.query(`SELECT id, terminal_id, seq, pan_token, psn, atc, amount_minor, state
      FROM taps WHERE type = 'clearing' ORDER BY id`),
    messages: await db.query(`SELECT id, tap_id, mti, stan, response_code, amount_minor
      FROM acquirer_messages ORDER BY id`),
    debts: await db.query('SELECT pan_token, psn, amount_minor, state, tap_id FROM debts'),
    deny: await db.query('SELECT pan_token, psn, removed_at_ms FROM deny_entries'),
  };
}

/**
 * Every card's money against its ledger, every tap authorised or cleared once. Returns the
 * violations (empty when the loop holds).
 */
async function ledgerViolations(world: World, buses: readonly FleetBus[]): Promise<string[]> {
  const vault = panVault(readDataKey(join(world.dir, 'depot', 'data.key')));
  const journal = journalClearings(buses);
  const db = await openDepotDb(world.db, Date.now());
  let rows;
  try {
    rows = await depotRows(db);
  } finally {
    await db.close();
  }
  const v: string[] = [];
  const num = (r: Record<string, unknown>, k: string): number => Number(r[k]);
  const str = (r: Record<string, unknown>, k: string): string => String(r[k]);
  const cardOf = (token: string, psn: string): string => `${token}/${Number.parseInt(psn, 16)}`;
  const counted = rows.taps.filter((t) => str(t, 'state') !== 'duplicate');
  // None missing, none extra, across terminals: the depot counts each journal clearing once.
  const depotKeys = new Set(counted.map((t) => `${cardOf(str(t, 'pan_token'), str(t, 'psn'))}`
    + `/${num(t, 'atc')}`));
  const journalKeys = new Set([...journal.values()].map((l) =>
    `${vault.token(l.pan)}/${Number.parseInt(l.psn, 16)}/${l.atc}`));
  for (const key of journalKeys) if (!depotKeys.has(key)) v.push(`journal tap ${key} missing`);
  for (const key of depotKeys) if (!journalKeys.has(key)) v.push(`depot tap ${key} unknown`);
  if (counted.length !== depotKeys.size) v.push('a card + ATC counted twice');
  const moves = world.host.movements();
  const stanCount = new Map<string, number>();
  for (const m of moves) stanCount.set(m.stan, (stanCount.get(m.stan) ?? 0) + 1);
  const approved = rows.messages.filter((m) => str(m, 'response_code') === '00'
    && (str(m, 'mti') === '0100' || str(m, 'mti') === '0220'));
  const openDebtCards = new Set(rows.debts.filter((d) => str(d, 'state') === 'open')
    .map((d) => cardOf(str(d, 'pan_token'), str(d, 'psn'))));
  for (const tap of counted) {
    const mine = approved.filter((m) => num(m, 'tap_id') === num(tap, 'id'));
    const state = str(tap, 'state');
    const at = `${str(tap, 'terminal_id')} seq ${num(tap, 'seq')} (${state})`;
    const once = state === 'authorised' || state === 'cleared';
    if (mine.length !== (once ? 1 : 0)) v.push(`${at}: ${mine.length} approvals`);
    for (const m of mine) {
      const issued = moves.filter((x) => x.stan === str(m, 'stan'));
      if (issued.length !== 1 || issued[0]?.amountMinor !== -num(tap, 'amount_minor')) {
        v.push(`${at}: issuer ledger has ${issued.length} charges for stan ${str(m, 'stan')}`);
      }
    }
    const card = cardOf(str(tap, 'pan_token'), str(tap, 'psn'));
    if ((state === 'new' || state === 'sent') && !openDebtCards.has(card)) {
      v.push(`${at}: left unsettled without an open debt`);
    }
  }
  for (const [stan, n] of stanCount) if (n > 1) v.push(`issuer applied stan ${stan} ${n} times`);
  v.push(...moneyViolations(world, journal, counted, rows, vault.token));
  return v;
}

/**
 * Per card: tapped (journals) = charged (issuer ledger) + declined (= its debts) + waiting;
 * per account: the seed's opening balance plus its movements is its balance; a card has a
 * live deny entry exactly while it has an open debt.
 */
function moneyViolations(
  world: World,
  journal: Map<string, ClearingLine>,
  counted: Rows,
  rows: Awaited<ReturnType<typeof depotRows>>,
  token: (pan: string) => string,
): string[] {
  const v: string[] = [];
  for (const [key, account] of world.accounts) {
    // A clearing is paid from the card's EC purse at the tap: the bank balance stays.
    const moved = world.host.movements().filter((m) => `${m.pan}/${m.psn}` === key
      && m.kind !== 'clearing').reduce((s, m) => s + m.amountMinor, 0);
    const before = world.opening.get(key) ?? Number.NaN;
    const zeroed = world.zeroed.get(key) ?? 0;
    if (before - zeroed + moved !== account.balanceMinor) v.push(`${key}: balance off`);
  }
  const sumWhere = (list: Rows, card: string,
    keep: (r: Record<string, unknown>) => boolean): number => list
    .filter((r) => `${String(r['pan_token'])}/${Number.parseInt(String(r['psn']), 16)}` === card)
    .filter(keep).reduce((s, r) => s + Number(r['amount_minor']), 0);
  const cards = new Map<string, string>();
  for (const line of journal.values()) {
    cards.set(`${token(line.pan)}/${Number.parseInt(line.psn, 16)}`, accountKeyOf(world, line));
  }
  for (const [card, key] of cards) {
    const tapped = [...journal.values()].filter((l) => accountKeyOf(world, l) === key)
      .reduce((s, l) => s + l.amountMinor, 0);
    const charged = -world.host.movements().filter((m) => `${m.pan}/${m.psn}` === key
      && m.kind !== 'top-up').reduce((s, m) => s + m.amountMinor, 0);
    const declined = sumWhere(counted, card, (r) => r['state'] === 'declined');
    const waiting = sumWhere(counted, card, (r) => r['state'] === 'new' || r['state'] === 'sent');
    const debts = sumWhere(rows.debts, card, () => true);
    const tail = key.slice(-8);
    if (tapped !== charged + declined + waiting) {
      v.push(`card …${tail}: tapped ${tapped} != charged ${charged} + declined ${declined}`
        + ` + waiting ${waiting}`);
    }
    if (declined !== debts) v.push(`card …${tail}: declined ${declined}, debts ${debts}`);
    const open = rows.debts.some((d) => `${String(d['pan_token'])}/${Number.parseInt(
      String(d['psn']), 16)}` === card && d['state'] === 'open');
    const denied = rows.deny.some((d) => `${String(d['pan_token'])}/${Number.parseInt(
      String(d['psn']), 16)}` === card && d['removed_at_ms'] === null);
    if (open !== denied) v.push(`card …${tail}: open debt ${open}, deny entry ${denied}`);
  }
  return v;
}

/**
 * The issuer's account of a tap: PAN + PSN, or a card that sent no PSN (0 on the wire) by its
 * PAN's only account, as the issuer simulator identifies it.
 */
function accountKeyOf(world: World, line: ClearingLine): string {
  const psn = Number.parseInt(line.psn, 16);
  const exact = `${line.pan}/${psn}`;
  if (world.accounts.has(exact) || psn !== 0) return exact;
  const only = [...world.accounts.values()].filter((a) => a.pan === line.pan);
  return only.length === 1 && only[0] !== undefined ? `${line.pan}/${only[0].psn}` : exact;
}

/** The victim: a card the fleet admitted with ODA (ARQC), an ordinary active account. */
function victimOf(world: World, buses: readonly FleetBus[]): { key: string; line: ClearingLine } {
  const ordinary = [...journalClearings(buses).values()].filter((l) => {
    const key = `${l.pan}/${Number.parseInt(l.psn, 16)}`;
    const account = world.accounts.get(key);
    return l.cryptogramType === 'ARQC' && account?.status === 'active'
      && account.balanceMinor > 1_000 && world.cards.get(key)?.name !== 'ec-insufficient';
  }).sort((a, b) => a.pan.localeCompare(b.pan));
  const line = ordinary[0];
  if (line === undefined) throw new Error(`seed ${SEED}: no ODA admission in the fleet's day`);
  return { key: `${line.pan}/${Number.parseInt(line.psn, 16)}`, line };
}

const engines = [
  { name: 'sqlite', target: (dir: string) => Promise.resolve(join(dir, 'depot.sqlite')) },
  ...(postgresRequired() ? [{ name: 'postgres', target: async () => {
    scratch ??= await startPostgresScratch();
    return createScratchDatabase(scratch, `fleet_e2e_${Date.now() % 1e9}`);
  } }] : []),
];

describe.each(engines)(`fleet end to end on $name (seed ${SEED}; SHUAKA_SEED replays)`,
  (engine) => {
  let world: World | null = null;
  let buses: FleetBus[] = [];
  const scratchDir = mkdtempSync(join(tmpdir(), 'shuaka-fleet-e2e-db-'));
  afterAll(async () => {
    await worldClose(world);
    rmSync(scratchDir, { recursive: true, force: true });
  });

  it('ridesUploadsSettles_declinedCardRefusedEverywhere_servedAgainAfterRepay', async () => {
    phaseStartMs = Date.now();
    const target = await engine.target(scratchDir);
    phase('database');
    const w = await worldOpen(target);
    world = w;
    phase('depot, identities, acquirer');
    const first = publish(w);
    expect(first).toMatchObject({ event: 'published', version: 2 });
    buses = await runFleet({ seed: SEED, buses: BUSES, ridersPerBus: RIDERS,
      depotFor: (id) => depotOpen(w, id), failChance: 0.1, lostAnswerChance: 0.05,
      params: { publicKey: w.paramsPublicKey, denyKeyBytes: fleetDenyKeyBytes(SEED),
        dir: join(w.dir, 'buses') } },
    () => undefined, () => undefined);
    phase('publish v2, fleet day');
    for (const bus of buses) {
      expect(bus.backlogLines, `${bus.terminalId} (seed ${SEED}) ${JSON.stringify(bus.upload)}`)
        .toBe(0);
      expect(bus.board.params.set.version).toBe(2);
    }
    expect(buses.reduce((s, b) => s + b.faultsInjected, 0)).toBeGreaterThan(0);
    // The issuer declines the victim from now on (its account emptied).
    const victim = victimOf(w, buses);
    const account = w.accounts.get(victim.key);
    if (account === undefined) throw new Error('victim without account');
    w.zeroed.set(victim.key, account.balanceMinor);
    account.balanceMinor = 0;
    await settle(w);
    phase('settle');
    expect(await ledgerViolations(w, buses), `seed ${SEED}`).toEqual([]);
    const token = panVault(readDataKey(join(w.dir, 'depot', 'data.key'))).token(victim.line.pan);
    const debts = shuakaOk('depot', 'debt', 'list', '--db', w.db).trim().split('\n')
      .map((l) => JSON.parse(l) as { panToken: string });
    expect(debts.map((d) => d.panToken)).toContain(token);
    const second = publish(w);
    expect(second.version).toBe(3);
    expect(second.denyCount).toBeGreaterThan(first.denyCount);
    const card = w.cards.get(victim.key);
    if (card === undefined) throw new Error('victim card not in any pool');
    const psn = Number.parseInt(victim.line.psn, 16);
    phase('ledger, debt list, publish v3');
    for (const [index, visit] of (await visitAll(w, buses, card)).entries()) {
      const at = `${fleetTerminalId(index)} (seed ${SEED})`;
      expect(visit.paramsVersion, at).toBe(3);
      expect(visit.taps[0]?.report?.result, at).toBe('denyList');
      expect(buses[index]?.board.params.set.denyList.contains(victim.line.pan, psn), at)
        .toBe(true);
      expect(visit.backlogLines, at).toBe(0);
    }
    await expectTerminalsOn(w, 3);
    phase('visits: refused');
    w.host.topUp(victim.line.pan, psn, 100_000);
    shuakaOk('depot', 'debt', 'repay', '--db', w.db, '--pan-token', token);
    const third = publish(w);
    expect(third).toMatchObject({ version: 4, denyCount: second.denyCount - 1 });
    for (const [index, visit] of (await visitAll(w, buses, card)).entries()) {
      const at = `${fleetTerminalId(index)} (seed ${SEED})`;
      expect(visit.paramsVersion, at).toBe(4);
      expect(['approved', 'admitted'], at).toContain(visit.taps[0]?.report?.result);
      expect(visit.backlogLines, at).toBe(0);
    }
    await expectTerminalsOn(w, 4);
    phase('repay, publish v4, visits: served');
    await settle(w);
    expect(await ledgerViolations(w, buses), `seed ${SEED}`).toEqual([]);
    phase('settle, ledger');
  }, 600_000);

  // Only PostgreSQL can be stopped under a running depot (SQLite is a file in its process).
  if (engine.name === 'postgres') it(
    'deadDatabase_503_tapsStayUnacknowledged_uploadedOnceWhenItIsBack', async () => {
      const w = world;
      const bus = buses[0];
      if (w === null || bus === undefined || scratch === null) throw new Error('no fleet rode');
      const card = bus.run.pool.cards.find((c) => c.name === 'unionpay-debit-ec');
      if (card === undefined) throw new Error('no ordinary card in the pool');
      scratch.halt();
      let down: FleetVisit;
      try {
        down = await visitOne(w, bus, [card], 3);
      } finally {
        scratch.resume();
      }
      const seqs = down.taps[0]?.report?.journalSeqs ?? [];
      expect(['approved', 'admitted']).toContain(down.taps[0]?.report?.result);
      expect(down.contacts.length).toBe(6);
      for (const c of down.contacts) expect(c).toMatchObject({ ok: false, error: 'unavailable' });
      expect(down.backlogLines).toBeGreaterThan(0);
      expect(w.serve.child.exitCode).toBeNull();
      expect(w.serve.output()).toMatch(/-> 503|store-unavailable/);
      const back = await visitOne(w, bus, [], 8);
      expect(back.contacts.at(-1)).toEqual({ ok: true });
      expect(back.backlogLines).toBe(0);
      const db = await openDepotDb(w.db, Date.now());
      try {
        const rows = await db.query(`SELECT seq FROM taps WHERE terminal_id = $1
          AND seq >= $2 ORDER BY seq`, [bus.terminalId, Math.min(...seqs)]);
        expect(rows.map((r) => Number(r['seq']))).toEqual(seqs.filter((seq) =>
          fleetExportLines(bus.run, 0).has(seq)));
      } finally {
        await db.close();
      }
      await settle(w);
      expect(await ledgerViolations(w, buses), `seed ${SEED}`).toEqual([]);
    }, 300_000);
});

/** Terminal management: every bus reported `version` installed and nothing refused. */
async function expectTerminalsOn(world: World, version: number): Promise<void> {
  const db = await openDepotDb(world.db, Date.now());
  try {
    const rows = await db.query(`SELECT terminal_id, params_version, params_refused_version
      FROM terminal_status ORDER BY terminal_id`);
    expect(rows.map((r) => [r['terminal_id'], Number(r['params_version']),
      r['params_refused_version']])).toEqual(Array.from({ length: BUSES },
      (_, i) => [fleetTerminalId(i), version, null]));
  } finally {
    await db.close();
  }
}
