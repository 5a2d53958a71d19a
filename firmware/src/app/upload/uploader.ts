// The uploader: drains the journal to the depot between taps, fetches parameters, reports.
//
// It runs beside the tap loop as async I/O. A tap in progress has priority: the uploader waits
// before each request while one runs, and it never writes the journal itself (appends are
// serial); the tap loop calls `betweenTaps`, which writes the ack the depot earned and
// switches to a newly installed parameter set. Nothing is persisted but that ack, so after a
// power cut the next contact resumes from the journal's ack point; a batch sent twice is
// harmless (the depot dedupes by terminal + seq). A pass (read and send) runs here in the
// simulator; a board hands it to a worker thread (`passRunner`) and only hears what the depot
// stored.

import type { ClockPort } from '../../../../hal/src/ports/clock_port.js';
import type { StoragePort } from '../../../../hal/src/ports/storage_port.js';
import type { Journal } from '../journal/journal.js';
import type { LogPort } from '../validator/validator_ports.js';
import type { DepotError, DepotPort, DepotResult } from './depot_port.js';
import type { PanVault } from '../journal/pan_vault.js';
import { uploadPass, type UploadBatchLimits } from './upload_batches.js';
import { UploadCursor } from './upload_cursor.js';
import type { UploadParamsPort } from './upload_params.js';
import { uploadBackoffMs, uploadDetailSafe, type UploadBackoff } from './upload_backoff.js';
import {
  uploadPassRunner, type UploadBatchStored, type UploadPassResult, type UploadPassRunner,
  type UploadReadPass,
} from './upload_send.js';

export type { UploadReadPass } from './upload_send.js';

/** Everything the uploader uses. */
export interface UploaderPorts {
  readonly depot: DepotPort;
  /** The journal's storage (read one segment at a time) and the open journal (state, ack). */
  readonly storage: StoragePort;
  readonly journalFileName: string;
  readonly journal: Journal;
  /** Opens the journal's sealed PANs for the export lines (the depot needs them clear). */
  readonly panVault: PanVault;
  readonly clock: ClockPort;
  /** Uniform in [0, 1): seeded in the simulator, any source on a board (jitter only). */
  readonly random01: () => number;
  readonly log: LogPort;
  /** True while a tap is under way (the validator is Processing). */
  readonly tapInProgress: () => boolean;
  /** Parameters down; null: this uploader only uploads. */
  readonly params: UploadParamsPort | null;
  /**
   * Where a pass reads the journal when it runs here: absent, on `storage` (uploadPass).
   * Ignored when `passRunner` is given.
   */
  readonly readPass?: UploadReadPass;
  /**
   * Where a whole pass (read and send) runs: absent, here, reading with `readPass` and
   * sending through `depot`. A board runs it in a worker thread (upload_pass_worker.ts), so
   * that neither the segment scan nor TLS on megabyte bodies holds up a tap; this thread only
   * hears which batches the depot stored.
   */
  readonly passRunner?: UploadPassRunner;
}

/** Choices of an uploader; every field explicit. */
export interface UploaderConfig {
  readonly terminalId: string;
  readonly softwareVersion: string;
  readonly batch: UploadBatchLimits;
  /** Pause between two successful contacts. */
  readonly contactIntervalMs: number;
  readonly backoff: UploadBackoff;
  /** How often to look again while a tap runs. */
  readonly tapWaitMs: number;
  /**
   * While a pass runs, the least time between two acks written into the journal (each is an
   * append, an fsync and maybe a reclaim, between taps); the pass's last ack is written at
   * the first betweenTaps after it. A power cut only means resending what was not acked yet.
   */
  readonly ackIntervalMs: number;
}

export const UPLOADER_CONFIG_DEFAULT: Omit<UploaderConfig, 'terminalId'> = {
  softwareVersion: '0.1.0',
  batch: { recordsMax: 500, bytesMax: 1 << 20 },
  contactIntervalMs: 60_000,
  backoff: { baseMs: 2_000, maxMs: 15 * 60_000 },
  tapWaitMs: 20,
  ackIntervalMs: 5_000,
};

/** Counters and the last outcome, for logs and the simulator's summary. */
export interface UploaderState {
  contacts: number;
  contactsFailed: number;
  batchesSent: number;
  recordsSent: number;
  recordsStored: number;
  duplicates: number;
  /** The seq the depot acknowledged last (the journal follows at the next betweenTaps). */
  depotAckThroughSeq: number;
  lastError: string | null;
  paramsInstalled: number;
  paramsRefused: { version: number; reason: string } | null;
}

/** How one contact ended: ok, or the failed call. */
export type ContactResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: DepotError | 'journal'; readonly detail: string };

export class Uploader {
  private readonly stateValue: UploaderState = {
    contacts: 0, contactsFailed: 0, batchesSent: 0, recordsSent: 0, recordsStored: 0,
    duplicates: 0, depotAckThroughSeq: 0, lastError: null, paramsInstalled: 0,
    paramsRefused: null,
  };
  private failures = 0;
  /** The last contact's drain stored a batch, then failed (see `run`). */
  private drainStoppedAfterStoring = false;
  private passRunning = false;
  /** When betweenTaps last wrote an ack (the clock's nowMs), -Infinity before the first. */
  private ackWrittenMs = Number.NEGATIVE_INFINITY;
  /** Where the next pass read here goes on from (see UploadCursor). */
  private readonly cursor = new UploadCursor();

  constructor(
    private readonly ports: UploaderPorts,
    private readonly config: UploaderConfig,
  ) {}

  state(): Readonly<UploaderState> {
    return this.stateValue;
  }

  /**
   * Contacts until `stopRequested`: after a good contact waits `contactIntervalMs`, after a
   * failed one the seeded backoff (so a fleet back from an outage does not knock at once).
   * A contact whose drain stored a batch and then failed starts the backoff again: the link
   * works, only not for long (a bus's mobile link); counted on, it backed a backlog off to
   * maxMs between two batches until the journal filled (swarm seed 92, --taps 5000). A
   * contact that drained everything but failed later (the status call) counts on: a depot
   * that stores but refuses the status is not knocked at every second.
   */
  async run(stopRequested: () => boolean): Promise<void> {
    while (!stopRequested()) {
      const result = await this.contact(stopRequested);
      this.failures = result.ok ? 0 : this.drainStoppedAfterStoring ? 1 : this.failures + 1;
      const waitMs = result.ok ? this.config.contactIntervalMs
        : uploadBackoffMs(this.failures, this.config.backoff, this.ports.random01);
      if (!result.ok) this.ports.log.log({ event: 'upload-retry', inMs: Math.round(waitMs) });
      await this.sleepUnless(waitMs, stopRequested);
    }
  }

  /**
   * One contact: newer parameters first (a deny-list change matters more than the backlog),
   * then the backlog, then the status. Never throws on an operating error.
   */
  async contact(stopRequested: () => boolean = () => false): Promise<ContactResult> {
    this.stateValue.contacts += 1;
    const params = this.ports.params === null ? { ok: true as const }
      : await this.ports.params.check(this.ports.depot);
    // A stop asked during a call starts no other: each call to a mute depot is bounded by
    // 30 s, and a validator's SIGTERM waited them out past systemd's stop timeout.
    if (stopRequested()) return params;
    const batchesBefore = this.stateValue.batchesSent;
    // The records go up whatever became of the parameters (logged params-fetch-failed): a
    // depot whose parameter table failed held a backlog of 2,270 fares back, for good.
    const drained = await this.drain();
    this.drainStoppedAfterStoring = !drained.ok && this.stateValue.batchesSent > batchesBefore;
    if (stopRequested()) return drained;
    const status = await this.sendStatus();
    const result = !drained.ok ? drained : !params.ok ? params : status;
    if (!result.ok) {
      this.stateValue.contactsFailed += 1;
      this.stateValue.lastError = `${result.error}: ${result.detail}`;
    }
    return result;
  }

  /**
   * Writes the ack the depot earned and switches to an installed parameter set. The tap loop
   * calls it between taps (never during one): the journal's appends are serial. While a pass
   * runs, acks are written at most every `ackIntervalMs`; once it ended, at once.
   */
  async betweenTaps(): Promise<void> {
    const journal = this.ports.journal;
    const through = Math.min(this.stateValue.depotAckThroughSeq, journal.lastSeq());
    const nowMs = this.ports.clock.nowMs();
    const due = !this.passRunning || nowMs - this.ackWrittenMs >= this.config.ackIntervalMs;
    if (due && through > journal.ackThroughSeq() && !journal.isFailed()) {
      this.ackWrittenMs = nowMs;
      const appended = await journal.append({ kind: 'ack', throughSeq: through });
      if (appended.ok) this.ports.log.log({ event: 'journal-ack', throughSeq: through });
      else this.ports.log.log({ event: 'journal-ack-failed', error: appended.error,
        detail: appended.detail });
    }
    await this.ports.params?.activatePending();
  }

  /** Sends every unacknowledged record; stops at the first failure (the rest waits). */
  private async drain(): Promise<ContactResult> {
    const journal = this.ports.journal;
    const context = {
      ackThroughSeq: Math.max(journal.ackThroughSeq(), this.stateValue.depotAckThroughSeq),
      openSeqs: new Set(journal.uncertainAll().map((tap) => tap.seq)),
      vault: this.ports.panVault,
    };
    const run = this.ports.passRunner ?? uploadPassRunner(
      this.ports.readPass
        ?? ((c, l, send) => uploadPass(this.ports.storage, this.ports.journalFileName, c, l, send,
          undefined, this.cursor)),
      { depot: this.ports.depot, terminalId: this.config.terminalId,
        waitForNoTap: () => this.waitForNoTap() },
    );
    this.passRunning = true;
    let end: UploadPassResult;
    try {
      end = await run(context, this.config.batch, (batch) => this.stored(batch));
    } finally {
      this.passRunning = false;
    }
    switch (end.kind) {
      case 'drained':
        return { ok: true };
      case 'read-failed':
        this.ports.log.log({ event: 'upload-journal-unreadable', detail: end.detail });
        return { ok: false, error: 'journal', detail: end.detail };
      case 'stopped':
        return { ok: false, error: 'network', detail: 'upload stopped' };
      case 'failed': {
        const f = end.failure;
        this.ports.log.log({
          event: 'upload-failed', call: 'batch', error: f.error, httpStatus: f.httpStatus,
          detail: f.detail, firstSeq: f.firstSeq, throughSeq: f.throughSeq,
        });
        return { ok: false, error: f.error, detail: f.detail };
      }
      default: {
        const never: never = end;
        return never;
      }
    }
  }

  /** A batch the depot stored: counted, and the ack the next betweenTaps may write. */
  private stored(batch: UploadBatchStored): void {
    const state = this.stateValue;
    state.batchesSent += 1;
    state.recordsSent += batch.records;
    state.recordsStored += batch.stored;
    state.duplicates += batch.duplicates;
    state.depotAckThroughSeq = Math.max(state.depotAckThroughSeq, batch.throughSeq);
    this.ports.log.log({
      event: 'upload-batch', firstSeq: batch.firstSeq, throughSeq: batch.throughSeq,
      records: batch.records, stored: batch.stored, duplicates: batch.duplicates,
    });
  }

  private async sendStatus(): Promise<ContactResult> {
    const summary = this.ports.journal.summary();
    await this.waitForNoTap();
    const sent = await this.ports.depot.postStatus({
      terminalId: this.config.terminalId,
      paramsVersion: this.ports.params?.installedVersion() ?? 0,
      paramsRefused: this.ports.params?.refused() ?? null,
      backlogRecords: summary.unacknowledgedFinalCount + summary.uncertainCount,
      lastSeq: summary.lastSeq,
      ackThroughSeq: summary.ackThroughSeq,
      softwareVersion: this.config.softwareVersion,
    });
    return sent.ok ? { ok: true } : this.statusFailed(sent);
  }

  private statusFailed(result: Extract<DepotResult<unknown>, { ok: false }>): ContactResult {
    const detail = uploadDetailSafe(result.detail);
    this.ports.log.log({
      event: 'upload-failed', call: 'status', error: result.error, httpStatus: result.httpStatus,
      detail, firstSeq: null, throughSeq: null,
    });
    return { ok: false, error: result.error, detail };
  }

  private async waitForNoTap(): Promise<void> {
    // Bounded by the tap itself: a tap ends within the validator's own timeouts.
    while (this.ports.tapInProgress()) await this.ports.clock.sleepMs(this.config.tapWaitMs);
  }

  private async sleepUnless(durationMs: number, stopRequested: () => boolean): Promise<void> {
    const stepMs = 1_000;
    const endMs = this.ports.clock.nowMs() + durationMs;
    while (!stopRequested() && this.ports.clock.nowMs() < endMs) {
      await this.ports.clock.sleepMs(Math.min(stepMs, endMs - this.ports.clock.nowMs()));
    }
  }
}
