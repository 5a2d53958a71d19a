// The uploader against the depot twin: drains a segmented backlog in bounded batches, acks
// into the journal only what the depot stored, survives outages, lost answers, power cuts,
// 413 and 400, and logs no PAN. Truth: the journal's own export (journalExport) of the files.

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { DepotLinkFaulty, DepotSim } from '../../host-sim/src/sim/depot_sim.js';
import { Journal } from '../src/app/journal/journal.js';
import { journalExport } from '../src/app/journal/journal_export.js';
import { journalScanFiles } from '../src/app/journal/journal_reader.js';
import type { DepotPort } from '../src/app/upload/depot_port.js';
import type { UploadParamsPort } from '../src/app/upload/upload_params.js';
import { Uploader, UPLOADER_CONFIG_DEFAULT } from '../src/app/upload/uploader.js';
import type { LogEvent } from '../src/app/validator/validator_ports.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import type { Prng } from '../../host-sim/src/prng.js';
import {
  card, clearing, FIXTURE_VAULT, JOURNAL_FILE, journalOptions, newClock, newPrng, recovery, torn,
} from './journal_fixtures.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 17);

interface Rig {
  readonly sim: StorageSim;
  readonly journal: Journal;
  readonly logs: LogEvent[];
  readonly clock: ReturnType<typeof newClock>;
}

async function rig(seed: number, count: number): Promise<Rig> {
  const sim = new StorageSim({ totalBytes: 1 << 26, prng: newPrng(seed), tornModes: ['prefix'] });
  const clock = newClock();
  const journal = await openJournal(sim, clock);
  for (const entry of backlogEntries(newPrng(seed), count)) {
    const appended = await journal.append(entry);
    if (!appended.ok) throw new Error(`${appended.error} ${appended.detail}`);
  }
  return { sim, journal, logs: [], clock };
}

/**
 * A validator's backlog without acks: taps (pending, then final, declined or torn), a few
 * reconciled, and the last tap left open (a power cut during it).
 */
function backlogEntries(prng: Prng, count: number): JournalEntry[] {
  const entries: JournalEntry[] = [];
  for (let n = 1; entries.length < count - 1; n += 1) {
    const key = card(n);
    const atc = n;
    const pendingSeq = entries.length + 1;
    entries.push({ kind: 'pending', recovery: recovery(key, atc), fareRule: 'flat',
      amountMinor: 200 });
    const roll = prng.below(10);
    if (roll < 7) entries.push({ kind: 'final', pendingSeq, clearing: clearing(key, atc) });
    else if (roll < 9) entries.push({ kind: 'declined', pendingSeq, card: key, reason: 'expired' });
    else entries.push(torn(pendingSeq, key, atc));
  }
  const last = card(count + 1);
  if (entries.length < count) {
    entries.push({ kind: 'pending', recovery: recovery(last, 1), fareRule: 'flat',
      amountMinor: 200 });
  }
  return entries;
}

async function openJournal(sim: StorageSim, clock: ReturnType<typeof newClock>): Promise<Journal> {
  const options = { ...journalOptions(clock, 1 << 25, 8192), segmentBytesMax: 64_000 };
  const opened = await Journal.open(sim, options);
  if (!opened.ok) throw new Error(`${opened.error} ${opened.detail}`);
  return opened.value.journal;
}

function uploader(r: Rig, depot: DepotPort, recordsMax = 100): Uploader {
  return new Uploader(
    {
      depot, storage: r.sim, journalFileName: JOURNAL_FILE, journal: r.journal, panVault: FIXTURE_VAULT, clock: r.clock,
      random01: () => newPrng(SEED).below(1000) / 1000, log: { log: (e) => r.logs.push(e) },
      tapInProgress: () => false, params: null,
    },
    { ...UPLOADER_CONFIG_DEFAULT, terminalId: 'SIM00001',
      batch: { recordsMax, bytesMax: 1 << 20 } },
  );
}

/** An uploader that also takes parameters down through `params` (the depot's params port). */
function uploaderWithParams(r: Rig, depot: DepotPort, params: UploadParamsPort): Uploader {
  return new Uploader(
    {
      depot, storage: r.sim, journalFileName: JOURNAL_FILE, journal: r.journal,
      panVault: FIXTURE_VAULT, clock: r.clock,
      random01: () => 0.5, log: { log: (e) => r.logs.push(e) }, tapInProgress: () => false,
      params,
    },
    { ...UPLOADER_CONFIG_DEFAULT, terminalId: 'SIM00001' },
  );
}

/** The lines `shuaka journal export` would print for the journal as it is on the medium. */
function exportedNow(sim: StorageSim): Map<number, string> {
  const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
  const lines = journalExport(scan, FIXTURE_VAULT).lines;
  return new Map(lines.map((line) => [(JSON.parse(line) as { seq: number }).seq, line]));
}

function storedLines(depot: DepotSim): Map<number, string> {
  const stored = depot.records.get('SIM00001') ?? new Map();
  return new Map([...stored].map(([seq, record]) => [seq, JSON.stringify(record)]));
}

describe(`uploader (SHUAKA_SEED=${SEED})`, () => {
  it('drain_segmentedBacklog_depotHoldsTheExportAndJournalReclaims', async () => {
    const r = await rig(SEED, 3000);
    const truth = exportedNow(r.sim);
    const segmentsBefore = r.journal.summary().segmentCount;
    const depot = new DepotSim();
    const up = uploader(r, depot);
    expect(await up.contact()).toEqual({ ok: true });
    expect(storedLines(depot)).toEqual(truth);
    const sizes = r.logs.filter((e) => e['event'] === 'upload-batch').map((e) => e['records']);
    expect(Math.max(...sizes.map(Number))).toBeLessThanOrEqual(100);
    await up.betweenTaps();
    const summary = r.journal.summary();
    expect(summary.ackThroughSeq).toBe(3000);
    expect(summary.segmentCount).toBeLessThan(segmentsBefore);
    expect(exportedNow(r.sim).size).toBe(0);
    // Nothing new: the next contact sends nothing (the ack record alone is never sent).
    const batches = depot.batches;
    expect(await up.contact()).toEqual({ ok: true });
    await up.betweenTaps();
    expect(depot.batches).toBe(batches);
    expect(r.journal.summary().lastSeq).toBe(summary.lastSeq);
  });

  it('replacedJournal_numberingFromOneAgain_isRefused_keepsEveryRecord_unacked', async () => {
    const first = await rig(SEED + 5, 200);
    const depot = new DepotSim();
    expect(await uploader(first, depot).contact()).toEqual({ ok: true });
    const held = storedLines(depot);
    // A month later the storage card is replaced: a new journal numbers from 1 again.
    const sim = new StorageSim({ totalBytes: 1 << 26, prng: newPrng(SEED), tornModes: ['prefix'] });
    const clock = newClock();
    clock.skipFrozen(30 * 86_400_000);
    const journal = await openJournal(sim, clock);
    for (const entry of backlogEntries(newPrng(SEED + 6), 50)) {
      const appended = await journal.append(entry);
      if (!appended.ok) throw new Error(`${appended.error} ${appended.detail}`);
    }
    const second: Rig = { sim, journal, logs: [], clock };
    const truth = exportedNow(sim);
    const up = uploader(second, depot);
    expect(await up.contact()).toMatchObject({ ok: false, error: 'conflict' });
    await up.betweenTaps();
    expect(journal.summary().ackThroughSeq).toBe(0);
    expect(exportedNow(sim)).toEqual(truth);
    expect(storedLines(depot)).toEqual(held);
    expect(second.logs.filter((e) => e['event'] === 'upload-failed')
      .map((e) => [e['error'], e['httpStatus']])).toEqual([['conflict', 409]]);
  });

  it('outagesAndLostAnswers_loseNothing_ackOnlyWhatTheDepotStored', async () => {
    const r = await rig(SEED + 1, 2000);
    const truth = exportedNow(r.sim);
    const depot = new DepotSim();
    const faults = { failChance: 0.3, lostAnswerChance: 0.2, outages: [] };
    const link = new DepotLinkFaulty(depot, faults, newPrng(SEED), r.clock);
    const up = uploader(r, link, 50);
    let contacts = 0;
    // Bounded: each good contact moves on by at least one batch; 0.3 + 0.2 fail rates.
    for (; contacts < 400 && exportedNow(r.sim).size > 0; contacts += 1) {
      await up.contact();
      const stored = storedLines(depot);
      const ack = Math.max(up.state().depotAckThroughSeq, 0);
      for (const [seq, line] of truth) if (seq <= ack) expect(stored.get(seq)).toBe(line);
      await up.betweenTaps();
    }
    expect(exportedNow(r.sim).size).toBe(0);
    expect(storedLines(depot)).toEqual(truth);
    expect(link.faultsInjected).toBeGreaterThan(0);
    expect(up.state().duplicates).toBeGreaterThan(0);
    expect(r.logs.some((e) => e['event'] === 'upload-failed' && e['error'] === 'network'))
      .toBe(true);
  });

  it('run_aLinkThatDropsEverySecondBatch_backsOffFromTheBaseAfterEachStoredBatch', async () => {
    // Each contact stores a batch, then the link resets: the backoff starts again from its
    // base each time (jittered base at most), instead of doubling to 15 minutes.
    const r = await rig(SEED + 5, 1000);
    const depot = new DepotSim();
    let calls = 0;
    const link: DepotPort = {
      postBatch: (batch) => {
        calls += 1;
        if (calls % 2 === 1) return depot.postBatch(batch);
        return Promise.resolve({ ok: false, error: 'network', httpStatus: null,
          detail: 'ECONNRESET (test)' });
      },
      getParams: (have) => depot.getParams(have),
      postStatus: (status) => depot.postStatus(status),
    };
    const up = uploader(r, link, 20);
    let done = false;
    const running = up.run(() => done);
    // Bounded: ten stored batches, or 400 clock steps (hours of board time when doubling).
    for (let i = 0; i < 400 && up.state().batchesSent < 10; i += 1) {
      await r.clock.wakeNext();
      await up.betweenTaps();
    }
    done = true;
    await r.clock.wakeUntil(() => false, 10_000);
    await running.catch(() => undefined);
    const waits = r.logs.filter((e) => e['event'] === 'upload-retry').map((e) => e['inMs']);
    for (const inMs of waits) {
      expect(inMs, `seed ${SEED + 5}`).toBeLessThanOrEqual(UPLOADER_CONFIG_DEFAULT.backoff.baseMs);
    }
    expect(waits.length, `seed ${SEED + 5}`).toBeGreaterThanOrEqual(9);
  });

  it('run_aDepotThatStoresButRefusesTheStatus_isNotKnockedAtEverySecond', async () => {
    // Taps go on; every contact stores their records, then the status call fails (a depot
    // under load). The backoff grows as for any failed contact.
    const r = await rig(SEED + 7, 50);
    const depot = new DepotSim();
    const link: DepotPort = {
      postBatch: (batch) => depot.postBatch(batch),
      getParams: (have) => depot.getParams(have),
      postStatus: () => Promise.resolve({ ok: false, error: 'network', httpStatus: null,
        detail: 'ECONNRESET (test)' }),
    };
    const up = uploader(r, link, 20);
    let done = false;
    const running = up.run(() => done);
    let n = 5000;
    // Bounded: 8 retries, or 2,000 clock steps.
    for (let i = 0; i < 2000; i += 1) {
      const retries = r.logs.filter((e) => e['event'] === 'upload-retry').length;
      if (retries >= 8) break;
      await r.clock.wakeNext();
      await up.betweenTaps();
      // A tap between two contacts: a new record for the next one to store.
      const pending = await r.journal.append({ kind: 'pending', recovery: recovery(card(n), n),
        fareRule: 'flat', amountMinor: 200 });
      if (pending.ok) {
        await r.journal.append({ kind: 'final', pendingSeq: pending.value.seq,
          clearing: clearing(card(n), n) });
      }
      n += 1;
    }
    done = true;
    await r.clock.wakeUntil(() => false, 10_000);
    await running.catch(() => undefined);
    const waits = r.logs.filter((e) => e['event'] === 'upload-retry')
      .map((e) => Number(e['inMs']));
    expect(waits.length, `seed ${SEED + 7}`).toBeGreaterThanOrEqual(8);
    // Retry k waits at least half of base x 2^(k-1) (jitter 0.5-1): the 8th, 128 s or more.
    const base = UPLOADER_CONFIG_DEFAULT.backoff.baseMs;
    expect(waits[7] ?? 0, `seed ${SEED + 7}`).toBeGreaterThanOrEqual(base * 2 ** 7 * 0.5);
    expect(up.state().batchesSent, `seed ${SEED + 7}`).toBeGreaterThanOrEqual(8);
  });

  it('powerCutBeforeTheAck_nextBootResends_depotCountsDuplicatesOnly', async () => {
    const r = await rig(SEED + 2, 800);
    const truth = exportedNow(r.sim);
    const depot = new DepotSim();
    await uploader(r, depot).contact();
    // The depot answered 200 but the power went before the tap loop wrote the ack.
    r.sim.powerCut();
    r.sim.restart();
    const rebooted = { ...r, journal: await openJournal(r.sim, r.clock) };
    const again = uploader(rebooted, depot);
    expect(await again.contact()).toEqual({ ok: true });
    expect(again.state().recordsStored).toBe(0);
    expect(again.state().duplicates).toBe(truth.size);
    expect(storedLines(depot)).toEqual(truth);
  });

  it('acksWhileAPassRuns_atMostEveryAckInterval_theLastAtOnceAfterIt', async () => {
    const r = await rig(SEED + 6, 3000);
    const truth = exportedNow(r.sim);
    const depot = new DepotSim();
    const acks: { atMs: number; through: number; storedThrough: number }[] = [];
    let storedThrough = 0;
    const holder: { up: Uploader | null } = { up: null };
    // Each batch takes a simulated second; the tap loop runs betweenTaps meanwhile.
    const slow: DepotPort = {
      postBatch: async (batch) => {
        await r.clock.advance(1_000);
        const answer = await depot.postBatch(batch);
        const before = r.journal.summary().ackThroughSeq;
        await holder.up?.betweenTaps();
        const through = r.journal.summary().ackThroughSeq;
        if (through !== before) acks.push({ atMs: r.clock.nowMs(), through, storedThrough });
        if (answer.ok) storedThrough = answer.value.ackThroughSeq;
        return answer;
      },
      getParams: (have) => depot.getParams(have),
      postStatus: (status) => depot.postStatus(status),
    };
    const up = uploader(r, slow, 50);
    holder.up = up;
    expect(await up.contact()).toEqual({ ok: true });
    const batches = up.state().batchesSent;
    expect(batches).toBeGreaterThan(15);
    expect(acks.length).toBeGreaterThan(1);
    expect(acks.length).toBeLessThanOrEqual(Math.ceil(batches / 5));
    for (const [i, ack] of acks.entries()) {
      // Never past what the depot had stored when the ack was written.
      expect(ack.through).toBeLessThanOrEqual(ack.storedThrough);
      const previous = acks[i - 1];
      if (previous !== undefined) {
        expect(ack.atMs - previous.atMs)
          .toBeGreaterThanOrEqual(UPLOADER_CONFIG_DEFAULT.ackIntervalMs);
      }
    }
    // The pass is over: the next betweenTaps acks everything at once.
    expect(r.journal.summary().ackThroughSeq).toBeLessThan(3000);
    await up.betweenTaps();
    expect(r.journal.summary().ackThroughSeq).toBeGreaterThanOrEqual(3000);
    expect(exportedNow(r.sim).size).toBe(0);
    expect(storedLines(depot)).toEqual(truth);
  });

  it('tooLarge_halvesTheBatch_untilTheDepotTakesIt', async () => {
    const r = await rig(SEED + 3, 600);
    const truth = exportedNow(r.sim);
    const depot = new DepotSim();
    depot.bodyBytesMax = 20_000;
    expect(await uploader(r, depot, 500).contact()).toEqual({ ok: true });
    expect(storedLines(depot)).toEqual(truth);
  });

  it('badBatch_keepsTheRecords_logsTheFieldPathWithoutPan', async () => {
    const r = await rig(SEED + 4, 300);
    const refusing: DepotPort = {
      postBatch: async () => ({ ok: false, error: 'bad-request', httpStatus: 400,
        detail: '400 bad-batch: records[3].pan 6231000000000000101 malformed' }),
      getParams: async () => ({ ok: true, value: null }),
      postStatus: async () => ({ ok: true, value: undefined }),
    };
    const up = uploader(r, refusing);
    const before = r.journal.summary().ackThroughSeq;
    const result = await up.contact();
    expect(result).toMatchObject({ ok: false, error: 'bad-request' });
    await up.betweenTaps();
    expect(r.journal.summary().ackThroughSeq).toBe(before);
    const logged = JSON.stringify(r.logs);
    expect(logged).toContain('records[3].pan');
    expect(logged).not.toMatch(/\d{12,19}/);
  });

  it('status_carriesVersionsBacklogAndTheRefusedSet', async () => {
    const r = await rig(SEED + 5, 200);
    const depot = new DepotSim();
    const refused = { version: 7, reason: 'rollback: version 7 is older than version 9' };
    const up = uploaderWithParams(r, depot, {
      installedVersion: () => 9, refused: () => refused,
      check: async () => ({ ok: true }), activatePending: async () => undefined,
    });
    // The depot is down for batches: the status still goes out, with the whole backlog.
    const before = r.journal.summary();
    depot.bodyBytesMax = 0;
    await up.contact();
    expect(depot.statuses.get('SIM00001')).toEqual({
      terminalId: 'SIM00001', paramsVersion: 9, paramsRefused: refused,
      backlogRecords: before.unacknowledgedFinalCount + before.uncertainCount,
      lastSeq: before.lastSeq, ackThroughSeq: before.ackThroughSeq, softwareVersion: '0.1.0',
    });
    expect(before.unacknowledgedFinalCount).toBeGreaterThan(0);
  });

  it('aStopDuringTheParameterCall_startsNoOtherCall_theRunEnds', async () => {
    // SIGTERM while the depot was mute: the validator waited out one 30 s bound per call it
    // still started after the stop (the batches, the status), past systemd's stop timeout.
    const r = await rig(SEED + 7, 50);
    const depot = new DepotSim();
    let stop = false;
    const up = uploaderWithParams(r, depot, {
      installedVersion: () => 1, refused: () => null,
      // The stop arrives while this call waits on the depot; it ends as a timeout.
      check: async () => {
        stop = true;
        return { ok: false, error: 'timeout', detail: 'no answer within 30000 ms' };
      },
      activatePending: async () => undefined,
    });
    await up.run(() => stop);
    expect([depot.batches, depot.statuses.size]).toEqual([0, 0]);
  });

  it('aFailingParameterFetch_holdsNoRecordBack_theContactSaysWhyItFailed', async () => {
    // Found on a live depot: a parameter table it could not read (503 on GET /v1/params)
    // held a backlog of 2,270 fares back, for good: the batches were never tried.
    const r = await rig(SEED + 6, 300);
    const truth = exportedNow(r.sim);
    const depot = new DepotSim();
    const failed = { ok: false as const, error: 'unavailable' as const,
      detail: '503 store-unavailable: params_sets version 9 has bad files_json' };
    const up = uploaderWithParams(r, depot, {
      installedVersion: () => 1, refused: () => null,
      check: async () => failed, activatePending: async () => undefined,
    });
    expect(await up.contact()).toEqual(failed);
    expect(storedLines(depot)).toEqual(truth);
    await up.betweenTaps();
    expect(r.journal.summary().ackThroughSeq).toBe(300);
  });
});
