// Test support for the qPBOC kernel: golden vectors, a recording kernel, test configuration.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Kernel, KernelFault, KernelRuntime } from '../host/kernel_loader.js';
import { REPO_ROOT } from './support/codec_vectors.js';
import type { Population } from '../../host-sim/src/cards/card_population.js';
import type { QpbocExchange } from '../host/qpboc_session.js';
import {
  parseTrace,
  prepareKernel,
  replayTrace,
  type ReplayResult,
  type Trace,
} from '../../firmware/src/cli/qpboc_trace.js';

/** The expectation block of a golden vector. */
export interface QpbocVectorExpect {
  readonly status: string;
  readonly reason?: string;
  readonly detail?: string;
  readonly recordKind?: string;
  readonly balanceMinor?: number | null;
  /** Number of host decisions asked. */
  readonly decisions?: number;
  /** The complete final kernel output (outcome header + record), hex. */
  readonly outcomeHex?: string;
}

/** A golden vector: a TRACE.json with an id and the expected outcome. */
export interface QpbocVector {
  readonly id: string;
  readonly ref: string;
  readonly file: string;
  readonly raw: unknown;
  readonly trace: Trace;
  readonly expect: QpbocVectorExpect;
}

export const VECTORS_DIR = join(REPO_ROOT, 'assembly', 'vectors');

/** Every vector of every assembly/vectors/qpboc_*.vec.json. */
export function loadQpbocVectors(): QpbocVector[] {
  const files = readdirSync(VECTORS_DIR)
    .filter((f) => /^qpboc_.*\.vec\.json$/.test(f))
    .sort();
  const out: QpbocVector[] = [];
  for (const file of files) {
    const doc = JSON.parse(readFileSync(join(VECTORS_DIR, file), 'utf8')) as {
      vectors: Array<{ id: string; ref: string; expect: QpbocVectorExpect }>;
    };
    for (const raw of doc.vectors) {
      out.push({
        id: raw.id,
        ref: raw.ref,
        file,
        raw,
        trace: parseTrace(JSON.stringify(raw)),
        expect: raw.expect,
      });
    }
  }
  return out;
}

/** One recorded kernel step. */
export interface StepRecord {
  readonly op: number;
  readonly arg: number;
  readonly input: string;
  readonly status: number;
  readonly output: string;
}

/** A kernel that records every step (to compare the core and component runtimes). */
export class RecordingKernel implements Kernel {
  readonly log: StepRecord[] = [];

  constructor(private readonly inner: Kernel) {}

  get runtime(): KernelRuntime {
    return this.inner.runtime;
  }

  get inCapacity(): number {
    return this.inner.inCapacity;
  }

  step(op: number, arg: number, input: Uint8Array): number {
    const status = this.inner.step(op, arg, input);
    this.log.push({
      op,
      arg,
      input: Buffer.from(input).toString('hex'),
      status,
      output: Buffer.from(this.inner.output()).toString('hex'),
    });
    return status;
  }

  output(): Uint8Array {
    return this.inner.output();
  }

  writeInput(input: Uint8Array): boolean {
    return this.inner.writeInput(input);
  }

  stepInPlace(op: number, arg: number, inLength: number): number {
    const status = this.inner.stepInPlace(op, arg, inLength);
    this.log.push({
      op,
      arg,
      input: `in-place:${inLength}`,
      status,
      output: Buffer.from(this.inner.output()).toString('hex'),
    });
    return status;
  }

  memoryBytes(): number {
    return this.inner.memoryBytes();
  }

  faultCount(): number {
    return this.inner.faultCount();
  }

  lastFault(): KernelFault | null {
    return this.inner.lastFault();
  }
}

/** Configures `kernel` for the vector and replays it with exact command matching. */
export async function runVector(kernel: Kernel, vector: QpbocVector): Promise<ReplayResult> {
  prepareKernel(kernel, vector.trace);
  return replayTrace(kernel, vector.trace, 'exact');
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

export function fromHex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

// ---- Live host-sim cards -------------------------------------------------------------------

/** Terminal section of a trace for the host-sim test PKI: CA keys, revocations, deny list. */
export function simTerminalJson(pop: Population): Record<string, unknown> {
  return {
    caKeys: pop.pki.caKeys.map((k) => k.tlvHex.toUpperCase()),
    revoked: pop.pki.revoked.map((r) =>
      `${r.ridHex}${r.caIndex.toString(16).padStart(2, '0')}${r.certSerialHex}`.toUpperCase(),
    ),
    denyList: pop.denyList.map((d) => ({ pan: d.pan, psn: d.psn.toString().padStart(2, '0') })),
  };
}

/** Where a live card leaves the field: before command `at` reaches it, or after processing it. */
export interface Tear {
  readonly at: number;
  readonly processed: boolean;
}

/** A live virtual card as session io, recording every exchange; optionally torn at one step. */
/**
 * A GPO answer (for C-APDU `capdu`) with bit 0 flipped in both bytes of its 9F36, in opposite
 * directions: damage a PN532 frame's 8-bit checksum cannot see (swarm seed 11, --taps 20000:
 * 059A came as 049B). Any other answer as it is.
 */
export function gpoAtcBitsFlipped(capdu: Uint8Array, rapdu: Uint8Array): Uint8Array {
  if (capdu[0] !== 0x80 || capdu[1] !== 0xa8) return rapdu;
  const out = Uint8Array.from(rapdu);
  const at = Buffer.from(out).indexOf(Buffer.from('9F3602', 'hex'));
  if (at < 0) throw new Error('no 9F36 in the GPO answer');
  out[at + 3] = (out[at + 3] ?? 0) ^ 0x01;
  out[at + 4] = (out[at + 4] ?? 0) ^ 0x01;
  return out;
}

export class LiveCardIo {
  readonly exchanges: QpbocExchange[] = [];
  private gone = false;

  constructor(
    private readonly card: { transceive(c: Uint8Array): Uint8Array | null; powerOff(): void },
    private readonly tear: Tear | null = null,
  ) {}

  async transceive(capdu: Uint8Array): Promise<Uint8Array | null> {
    const index = this.exchanges.length;
    let rapdu: Uint8Array | null;
    if (this.gone) {
      rapdu = null;
    } else if (this.tear !== null && this.tear.at === index) {
      if (this.tear.processed) this.card.transceive(capdu);
      this.card.powerOff();
      this.gone = true;
      rapdu = null;
    } else {
      rapdu = this.card.transceive(capdu);
    }
    this.exchanges.push({ capdu: capdu.slice(), rapdu: rapdu === null ? null : rapdu.slice() });
    return rapdu;
  }
}

/** The vector JSON of a recorded exchange list. */
export function exchangesJson(exchanges: readonly QpbocExchange[]): Array<Record<string, unknown>> {
  return exchanges.map((e) => ({ c: toHex(e.capdu), r: e.rapdu === null ? null : toHex(e.rapdu) }));
}
