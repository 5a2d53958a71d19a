// Fault plans around a virtual card: removal before/after command N or after N bytes, dropped
// and corrupted answers. Counting restarts at each powerOn (each presentation).

import type { Prng } from '../prng.js';
import type { CardIdentity, VirtualCard } from './card_model.js';

/**
 * One fault. `command` is 1-based within a presentation; `presentation` is 1-based and
 * defaults to 1 (the first powerOn).
 * - remove-before-command: the card leaves before it sees command N (nothing processed).
 * - remove-after-command: the card processes command N, then leaves before the answer is
 *   delivered (the torn case: a last READ RECORD here means the card committed).
 * - remove-after-bytes: the card leaves when the bytes exchanged in this presentation (C-APDUs
 *   and R-APDUs) would exceed `bytes`; before processing if the C-APDU crosses the limit,
 *   after processing if the answer does.
 * - drop-response: command N is processed, its answer is lost, the card stays in the field.
 * - corrupt-response: answer N has byte `byteIndex` (modulo its length) XORed with `xorMask`.
 */
export type CardFault =
  | ({ readonly kind: 'remove-before-command'; readonly command: number } & Scope)
  | ({ readonly kind: 'remove-after-command'; readonly command: number } & Scope)
  | ({ readonly kind: 'remove-after-bytes'; readonly bytes: number } & Scope)
  | ({ readonly kind: 'drop-response'; readonly command: number } & Scope)
  | {
      readonly kind: 'corrupt-response';
      readonly command: number;
      readonly byteIndex: number;
      readonly xorMask: number;
      readonly presentation?: number;
    };

/** Which presentation a fault applies to (1-based; default 1). */
interface Scope {
  readonly presentation?: number;
}

/** A set of faults applied together. */
export interface CardFaultPlan {
  readonly faults: readonly CardFault[];
}

/** A fault that fired, for coverage marks and reports. */
export interface TriggeredFault {
  readonly fault: CardFault;
  readonly presentation: number;
  readonly command: number;
  /** Whether the card processed the command before the fault took effect. */
  readonly processed: boolean;
}

/** A card behind a fault plan. The wrapped card stays reachable for inspection. */
export interface FaultyCard<C extends VirtualCard> extends VirtualCard {
  readonly inner: C;
  /** False once a removal fault fired, until the next powerOn. */
  present(): boolean;
  triggered(): readonly TriggeredFault[];
}

/** Wraps `card` so that `plan` fires during the matching presentations. */
export function withFaults<C extends VirtualCard>(card: C, plan: CardFaultPlan): FaultyCard<C> {
  return new FaultyCardImpl(card, plan);
}

class FaultyCardImpl<C extends VirtualCard> implements FaultyCard<C> {
  readonly label: string;
  private presentation = 0;
  private command = 0;
  private bytes = 0;
  private removed = false;
  private lastMs = 0;
  private readonly fired: TriggeredFault[] = [];

  constructor(
    readonly inner: C,
    private readonly plan: CardFaultPlan,
  ) {
    this.label = inner.label;
  }

  identity(): CardIdentity {
    return this.inner.identity();
  }

  powerOn(): void {
    this.presentation += 1;
    this.command = 0;
    this.bytes = 0;
    this.removed = false;
    this.inner.powerOn();
  }

  present(): boolean {
    return !this.removed;
  }

  triggered(): readonly TriggeredFault[] {
    return this.fired.slice();
  }

  lastProcessingMs(): number {
    return this.lastMs;
  }

  transceive(capdu: Uint8Array): Uint8Array | null {
    this.lastMs = 0;
    if (this.removed) return null;
    this.command += 1;
    const active = this.plan.faults.filter((f) => (f.presentation ?? 1) === this.presentation);
    const before = active.find(
      (f) =>
        (f.kind === 'remove-before-command' && f.command === this.command) ||
        (f.kind === 'remove-after-bytes' && this.bytes + capdu.length > f.bytes),
    );
    if (before !== undefined) return this.remove(before, false);
    this.bytes += capdu.length;
    const answer = this.inner.transceive(capdu);
    this.lastMs = this.inner.lastProcessingMs();
    if (answer === null) return null;
    return this.afterProcessing(active, answer);
  }

  private afterProcessing(active: readonly CardFault[], answer: Uint8Array): Uint8Array | null {
    for (const f of active) {
      switch (f.kind) {
        case 'remove-after-command':
          if (f.command === this.command) return this.remove(f, true);
          break;
        case 'remove-after-bytes':
          if (this.bytes + answer.length > f.bytes) return this.remove(f, true);
          break;
        case 'drop-response':
          if (f.command === this.command) {
            this.note(f, true);
            return null;
          }
          break;
        case 'corrupt-response':
          if (f.command === this.command && answer.length > 0) {
            this.note(f, true);
            const out = answer.slice();
            const i = f.byteIndex % out.length;
            out[i] = (out[i] ?? 0) ^ (f.xorMask & 0xff || 0x01);
            return out;
          }
          break;
        case 'remove-before-command':
          break;
        default: {
          const never: never = f;
          throw new Error(`unknown fault ${String(never)}`);
        }
      }
    }
    this.bytes += answer.length;
    return answer;
  }

  private remove(fault: CardFault, processed: boolean): null {
    this.removed = true;
    this.note(fault, processed);
    return null;
  }

  private note(fault: CardFault, processed: boolean): void {
    this.fired.push({ fault, presentation: this.presentation, command: this.command, processed });
  }
}

/** Bounds for drawFaultPlan. */
export interface FaultDrawOptions {
  /** Commands in a typical tap; removal points are drawn in 1..commandsMax. */
  readonly commandsMax: number;
  /** Probability that the first presentation ends in a removal. */
  readonly removalChance: number;
  /** Probability of one dropped or corrupted answer. */
  readonly glitchChance: number;
}

/** A random plan for swarm runs (at most one removal and one glitch, first presentation). */
export function drawFaultPlan(prng: Prng, options: FaultDrawOptions): CardFaultPlan {
  const faults: CardFault[] = [];
  if (prng.chance(options.removalChance)) {
    const command = prng.between(1, options.commandsMax);
    faults.push(
      prng.chance(0.5)
        ? { kind: 'remove-before-command', command }
        : { kind: 'remove-after-command', command },
    );
  }
  if (prng.chance(options.glitchChance)) {
    const command = prng.between(1, options.commandsMax);
    faults.push(
      prng.chance(0.5)
        ? { kind: 'drop-response', command }
        : {
            kind: 'corrupt-response',
            command,
            byteIndex: prng.below(256),
            xorMask: prng.between(1, 255),
          },
    );
  }
  return { faults };
}
