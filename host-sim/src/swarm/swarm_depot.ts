// The swarm's depot: what the validator's uploader sends reaches it (contract v1 as the
// validator sees it), and it outlives every board, as the real depot outlives a power cut on
// the bus. Lean on purpose: a run of 10^6 taps keeps the seqs stored and hands each new line
// to the model once (the model checks it and keeps only what it needs).

import type {
  DepotBatch,
  DepotBatchAck,
  DepotParams,
  DepotPort,
  DepotResult,
  DepotStatus,
} from '../../../firmware/src/app/upload/depot_port.js';
import { depotBatchSeqRefusal } from '../sim/depot_sim.js';

/** A line the depot stored, not yet taken by the model. */
export interface SwarmDepotLine {
  readonly seq: number;
  readonly text: string;
  readonly line: Readonly<Record<string, unknown>>;
}

export class SwarmDepot implements DepotPort {
  /** Seqs stored (a replay stores nothing new, as the depot's terminal+seq key). */
  private readonly stored = new Set<number>();
  private fresh: SwarmDepotLine[] = [];
  batches = 0;
  linesStored = 0;

  constructor(private readonly terminalId: string) {}

  has(seq: number): boolean {
    return this.stored.has(seq);
  }

  /** Lines stored since the last call, in the order they were stored. */
  takeFresh(): SwarmDepotLine[] {
    const out = this.fresh;
    this.fresh = [];
    return out;
  }

  async postBatch(batch: DepotBatch): Promise<DepotResult<DepotBatchAck>> {
    if (batch.terminalId !== this.terminalId) {
      return { ok: false, error: 'forbidden', httpStatus: 403, detail: '403 another terminal' };
    }
    const parsed = batch.recordLines.map((text) => JSON.parse(text) as Record<string, unknown>);
    const refused = depotBatchSeqRefusal(batch, parsed);
    if (refused !== null) return refused;
    // Every seq is a number now (depotBatchSeqRefusal).
    const lines = parsed.map((line, i) => ({
      seq: line['seq'] as number, text: batch.recordLines[i] ?? '', line,
    }));
    let stored = 0;
    for (const line of lines) {
      if (this.stored.has(line.seq)) continue;
      this.stored.add(line.seq);
      this.fresh.push(line);
      stored += 1;
    }
    this.batches += 1;
    this.linesStored += stored;
    return {
      ok: true,
      value: { ackThroughSeq: batch.throughSeq, stored, duplicates: lines.length - stored },
    };
  }

  /** The swarm pushes parameter sets its own way (swarm_params.ts): nothing newer here. */
  async getParams(): Promise<DepotResult<DepotParams | null>> {
    return { ok: true, value: null };
  }

  async postStatus(_status: DepotStatus): Promise<DepotResult<void>> {
    return { ok: true, value: undefined };
  }
}
