// A depot twin in memory (contract v1 as the validator sees it) and a faulty transport wrapper.
//
// DepotSim keeps what a depot would commit: records by terminal + seq (a replay stores
// nothing new, another record at a held seq is refused), the newest parameter set, the last
// status. DepotLinkFaulty wraps any DepotPort (the twin or the real HTTPS one) and injects
// the network's faults from a seed: outages (every call fails), lost answers (the depot
// stored the batch, the validator never heard: the replay must be harmless), and refusals.

import type {
  DepotBatch, DepotBatchAck, DepotError, DepotParams, DepotPort, DepotResult, DepotStatus,
} from '../../../firmware/src/app/upload/depot_port.js';
import { depotBatchBody } from '../../../firmware/src/app/upload/depot_port.js';
import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { Prng } from '../prng.js';

/**
 * The 400 a depot answers when a record's seq is not a number within the batch's range
 * (depot/README.md, POST /v1/batches), or null when every seq is.
 */
export function depotBatchSeqRefusal(
  batch: Pick<DepotBatch, 'firstSeq' | 'throughSeq'>,
  records: readonly Readonly<Record<string, unknown>>[],
): DepotResult<never> | null {
  for (const [index, record] of records.entries()) {
    const seq = record['seq'];
    if (typeof seq !== 'number' || seq < batch.firstSeq || seq > batch.throughSeq) {
      const detail = `400 bad-batch: records[${index}].seq`;
      return { ok: false, error: 'bad-request', httpStatus: 400, detail };
    }
  }
  return null;
}

/**
 * The 409 a depot answers when a seq it holds comes with another record (kind or time differ:
 * a replaced journal numbering again, depot/src/ingest/seq_conflict.ts), or null.
 */
function depotSeqConflict(
  stored: ReadonlyMap<number, Readonly<Record<string, unknown>>>,
  records: readonly Readonly<Record<string, unknown>>[],
): DepotResult<never> | null {
  for (const record of records) {
    const held = stored.get(record['seq'] as number);
    if (held === undefined) continue;
    if (held['type'] !== record['type'] || held['timeWallMs'] !== record['timeWallMs']) {
      const detail = `409 seq-conflict: seq ${String(record['seq'])} is held as another record`;
      return { ok: false, error: 'conflict', httpStatus: 409, detail };
    }
  }
  return null;
}

/** The twin: stores batches like the depot (by terminal + seq), answers params and status. */
export class DepotSim implements DepotPort {
  /** terminalId → seq → record (parsed from the body the transport would send). */
  readonly records = new Map<string, Map<number, Record<string, unknown>>>();
  readonly statuses = new Map<string, DepotStatus>();
  batches = 0;
  params: DepotParams | null = null;
  /** Largest body accepted (the real depot: 8 MiB); larger is 413. */
  bodyBytesMax = 8 << 20;

  async postBatch(batch: DepotBatch): Promise<DepotResult<DepotBatchAck>> {
    const body = depotBatchBody(batch);
    if (Buffer.byteLength(body) > this.bodyBytesMax) {
      return { ok: false, error: 'too-large', httpStatus: 413, detail: '413 too-large' };
    }
    const parsed = JSON.parse(body) as { records: Record<string, unknown>[] };
    const refused = depotBatchSeqRefusal(batch, parsed.records);
    if (refused !== null) return refused;
    const stored = this.records.get(batch.terminalId) ?? new Map();
    const conflict = depotSeqConflict(stored, parsed.records);
    if (conflict !== null) return conflict;
    this.records.set(batch.terminalId, stored);
    let fresh = 0;
    for (const record of parsed.records) {
      const seq = record['seq'] as number;
      if (stored.has(seq)) continue;
      stored.set(seq, record);
      fresh += 1;
    }
    this.batches += 1;
    const duplicates = parsed.records.length - fresh;
    return { ok: true, value: { ackThroughSeq: batch.throughSeq, stored: fresh, duplicates } };
  }

  async getParams(haveVersion: number): Promise<DepotResult<DepotParams | null>> {
    const params = this.params;
    return { ok: true, value: params !== null && params.version > haveVersion ? params : null };
  }

  async postStatus(status: DepotStatus): Promise<DepotResult<void>> {
    this.statuses.set(status.terminalId, status);
    return { ok: true, value: undefined };
  }
}

/** Fault ratios of a link; outages are windows of simulated time. */
export interface DepotLinkFaults {
  /** Chance that a call fails as the network would (connection refused, reset). */
  readonly failChance: number;
  /** Chance that a batch is delivered and stored but its answer is lost (timeout). */
  readonly lostAnswerChance: number;
  /** [fromMs, toMs) windows of the clock's nowMs when every call fails. */
  readonly outages: readonly (readonly [number, number])[];
}

export const DEPOT_LINK_FAULTS_NONE: DepotLinkFaults = {
  failChance: 0, lostAnswerChance: 0, outages: [],
};

/** A DepotPort that injects the network's faults into another (seeded, replayable). */
export class DepotLinkFaulty implements DepotPort {
  faultsInjected = 0;

  constructor(
    private readonly inner: DepotPort,
    private readonly faults: DepotLinkFaults,
    private readonly prng: Prng,
    private readonly clock: ClockPort,
  ) {}

  async postBatch(batch: DepotBatch): Promise<DepotResult<DepotBatchAck>> {
    const down = this.down();
    if (down !== null) return down;
    const result = await this.inner.postBatch(batch);
    if (result.ok && this.prng.chance(this.faults.lostAnswerChance)) {
      return this.fail('timeout', 'answer lost after the depot stored the batch');
    }
    return result;
  }

  async getParams(haveVersion: number): Promise<DepotResult<DepotParams | null>> {
    return this.down() ?? this.inner.getParams(haveVersion);
  }

  async postStatus(status: DepotStatus): Promise<DepotResult<void>> {
    return this.down() ?? this.inner.postStatus(status);
  }

  private down(): DepotResult<never> | null {
    const nowMs = this.clock.nowMs();
    if (this.faults.outages.some(([from, to]) => nowMs >= from && nowMs < to)) {
      return this.fail('network', 'ECONNREFUSED (simulated outage)');
    }
    if (this.prng.chance(this.faults.failChance)) {
      return this.fail('network', 'ECONNRESET (simulated)');
    }
    return null;
  }

  private fail(error: DepotError, detail: string): DepotResult<never> {
    this.faultsInjected += 1;
    return { ok: false, error, httpStatus: null, detail };
  }
}
