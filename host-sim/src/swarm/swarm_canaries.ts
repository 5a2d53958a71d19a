// Canaries: known defects put back on purpose, to show that the swarm catches each of them
// (style.md 10.7 item 4, "a canary scenario fails on purpose"). Each names the issue-11 defect
// it stands for, the faults and checks that find it, and what the swarm must report.

import { HalStatus, halErr, halOk } from '../../../hal/src/ports/hal_status.js';
import type { PsamPort } from '../../../hal/src/ports/psam_port.js';
import type { ReaderPort } from '../../../hal/src/ports/reader_port.js';
import type { StoragePort } from '../../../hal/src/ports/storage_port.js';
import type { DepotPort } from '../../../firmware/src/app/upload/depot_port.js';
import type { Journal } from '../../../firmware/src/app/journal/journal.js';
import {
  frameCheck,
  FRAME_HEADER_BYTES,
  FRAME_OVERHEAD_BYTES,
} from '../../../firmware/src/app/journal/journal_frame.js';
import { maskPan } from '../../../firmware/src/app/journal/journal_records.js';
import type { LogPort } from '../../../firmware/src/app/validator/validator_ports.js';
import type { Prng } from '../prng.js';
import type { RiderPool } from '../sim/bus_riders.js';
import type { StorageSim } from '../storage_sim.js';
import { journalNewestSegment } from './swarm_journal.js';
import type { SwarmMix } from './swarm_mix.js';
import type { SwarmCheck, SwarmFault } from './swarm_options.js';
import { SWARM_PARAMS_NO_FLOOR } from './swarm_params.js';
import { SWARM_HOOKS_STOCK, type SwarmHooks } from './swarm_run.js';

export const SWARM_CANARIES = [
  'committed-bit-flip',
  'lost-sync',
  'pan-in-log',
  'params-rollback',
  'hung-reader',
  'reader-never-reopened',
  'throwing-journal',
  'acked-not-stored',
  'tunion-recovery-off',
  'psam-never-reopened',
  'psam-failure-no-debit',
  'tunion-block-after-answer',
  'final-dropped',
  'pan-in-log-at-cut',
] as const;

export type SwarmCanaryName = (typeof SWARM_CANARIES)[number];

/** A defect put back, and how the swarm must see it. */
export interface SwarmCanary {
  readonly name: SwarmCanaryName;
  /** The defect, in the words. */
  readonly defect: string;
  readonly faults: readonly SwarmFault[];
  readonly checks: readonly SwarmCheck[];
  /** The checks one of which must report it (empty = a crash must). */
  readonly caughtBy: readonly SwarmCheck[];
  readonly hooks: SwarmHooks;
}

/** Flips one bit in the payload of the last intact record on the medium (bit rot). */
function flipLastRecordBit(storage: StorageSim, prng: Prng): void {
  const name = journalNewestSegment(storage);
  const image = storage.durableBytes(name);
  let offset = 0;
  let last: { offset: number; payloadBytes: number } | null = null;
  for (;;) {
    const checked = frameCheck(image, offset);
    if (!checked.ok) break;
    last = { offset, payloadBytes: checked.frame.payload.length };
    offset += FRAME_OVERHEAD_BYTES + checked.frame.payload.length;
  }
  if (last === null || last.payloadBytes === 0) return;
  const at = last.offset + FRAME_HEADER_BYTES + prng.below(last.payloadBytes);
  storage.corruptByte(name, at, (image[at] ?? 0) ^ (1 << prng.below(8)));
}

/**
 * A depot link that answers every batch as stored and stores nothing: the validator
 * acknowledges, and reclaims, records that never reached clearing (an ack written ahead of
 * the depot's answer has the same effect).
 */
function ackingWithoutStoring(): DepotPort {
  return {
    postBatch: async (batch) => ({
      ok: true,
      value: { ackThroughSeq: batch.throughSeq, stored: batch.recordLines.length, duplicates: 0 },
    }),
    getParams: async () => ({ ok: true, value: null }),
    postStatus: async () => ({ ok: true, value: undefined }),
  };
}

/** The journal's storage with fsync silently dropped (a mount without write barriers). */
function losingSyncs(storage: StorageSim): StoragePort {
  return {
    read: (name) => storage.read(name),
    append: (name, bytes) => storage.append(name, bytes),
    replace: (name, bytes) => storage.replace(name, bytes),
    sync: (name) => (storage.isDown() ? storage.sync(name) : Promise.resolve(halOk(undefined))),
    truncate: (name, length) => storage.truncate(name, length),
    list: () => storage.list(),
    capacity: () => storage.capacity(),
    size: (name) => storage.size(name),
    remove: (name) => storage.remove(name),
  };
}

/** The journal's storage whose 30th append throws (a driver bug surfacing as an exception). */
function throwingAppends(storage: StorageSim): StoragePort {
  let appends = 0;
  return {
    ...losingSyncs(storage),
    sync: (name) => storage.sync(name),
    append: (name, bytes) => {
      appends += 1;
      if (appends === 30) throw new Error('canary: storage driver exception');
      return storage.append(name, bytes);
    },
  };
}

/** A logger that echoes the full PAN of every card it reports (the CLI error of issue 11). */
function leakingLog(pool: RiderPool): (inner: LogPort) => LogPort {
  const byMask = new Map<string, string>();
  for (const card of pool.cards) {
    for (const app of card.card.profile.applications) byMask.set(maskPan(app.pan), app.pan);
  }
  return (inner) => ({
    log: (event) => {
      inner.log(event);
      const full = typeof event['pan'] === 'string' ? byMask.get(event['pan']) : undefined;
      if (full !== undefined) inner.log({ event: 'card-error', detail: `card ${full} refused` });
    },
  });
}

/**
 * A log whose journal-error lines (a write the power cut failed) echo a full PAN of the pool:
 * lines a tap cut short by the power writes just before the board dies.
 */
function leakingAtCut(pool: RiderPool): (inner: LogPort) => LogPort {
  const pan = pool.cards[0]?.card.profile.applications[0]?.pan ?? '';
  return (inner) => ({
    log: (event) => {
      inner.log(event);
      if (event['event'] === 'journal-error') {
        inner.log({ event: 'journal-error', detail: `card ${pan}: record not written` });
      }
    },
  });
}

/** A reader driver that hangs for good on its 60th poll (a wedged USB serial driver). */
function hangingReader(inner: ReaderPort): ReaderPort {
  let polls = 0;
  return {
    poll: (options) => {
      polls += 1;
      return polls >= 60 ? new Promise(() => undefined) : inner.poll(options);
    },
    transceive: (capdu, options) => inner.transceive(capdu, options),
    release: () => inner.release(),
    isCardPresent: () => inner.isCardPresent(),
    waitForRemoval: (options) => inner.waitForRemoval(options),
    cancel: () => inner.cancel(),
  };
}

const ALL_BUT_PAN: readonly SwarmCheck[] = [
  'double-charge',
  'durable-debit',
  'torn-recovered',
  'tunion-block',
  'committed',
  'journal-verifies',
  'refused-cards',
  'kernel',
  'liveness',
  'uploaded',
];

function forced(tune: Partial<SwarmMix>): (drawn: SwarmMix) => SwarmMix {
  return (drawn) => ({ ...drawn, ...tune });
}

/** The canaries of the reader's link: a driver that hangs, a board that never reopens. */
function readerCanary(name: 'hung-reader' | 'reader-never-reopened'): SwarmCanary {
  const base = { name, checks: ALL_BUT_PAN, caughtBy: ['liveness'] as const };
  if (name === 'hung-reader') {
    return {
      ...base,
      defect: 'the reader stops answering and the validator never recovers',
      faults: [],
      hooks: { ...SWARM_HOOKS_STOCK, wrapReader: hangingReader },
    };
  }
  return {
    ...base,
    defect: 'a reader whose USB serial device went away is never reopened',
    faults: ['unplug'],
    hooks: {
      ...SWARM_HOOKS_STOCK,
      superviseReader: false,
      tuneMix: forced({ unplugPerTap: 0.1 }),
    },
  };
}

/** The canary of the upload: records acknowledged that the depot never stored. */
function uploadCanary(base: { checks: readonly SwarmCheck[] }): SwarmCanary {
  return {
    ...base,
    name: 'acked-not-stored',
    defect: 'records are acknowledged and reclaimed before the depot stored them',
    faults: [],
    caughtBy: ['uploaded'],
    hooks: {
      ...SWARM_HOOKS_STOCK,
      wrapDepot: ackingWithoutStoring,
      tuneMix: forced({ depotContactMs: 1_000, segmentBytes: 16 << 10 }),
    },
  };
}

/**
 * The journal as the validator sees it, with no open T-Union grey record (an index of open
 * greys lost at a reboot, or never kept): a torn T-Union debit is never finished by the card's
 * proof, and its next tap is a new purchase.
 */
function hidingOpenGreys(journal: Journal): Journal {
  return new Proxy(journal, {
    get: (target, property) => {
      if (property === 'tunionOpenGreys') return () => [];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

/**
 * The canaries of T-Union cards: the proof recovery of torn debits is off; a block is recorded
 * only after the card's answer.
 */
function tunionCanary(name: 'tunion-recovery-off' | 'tunion-block-after-answer',
  base: { checks: readonly SwarmCheck[] }): SwarmCanary {
  if (name === 'tunion-block-after-answer') return blockCanary(base);
  return {
    ...base,
    name: 'tunion-recovery-off',
    defect: 'a torn T-Union debit is not finished by the card\'s proof at its next tap',
    faults: ['card-pull', 'power-cut'],
    caughtBy: ['double-charge', 'torn-recovered'],
    hooks: {
      ...SWARM_HOOKS_STOCK,
      wrapJournal: hidingOpenGreys,
      // Many T-Union riders, pulled or cut often, who always tap again.
      tuneMix: forced({ tunionShare: 0.9, cardPullPerTap: 0.7, powerCutPerTap: 0.15,
        reTapChance: 1 }),
    },
  };
}

/**
 * A PSAM port that powers the PSAM on at the board's start only (the validator before its PSAM
 * keeper, tunion_psam_keeper.ts): once pulled, or unpowered by a failed exchange, the PSAM
 * stays dead until the next start, and every T-Union rider is refused.
 */
function poweredOnceOnly(inner: PsamPort): PsamPort {
  let starts = 0;
  return {
    powerOn: async (options) => {
      starts += 1;
      return starts === 1 ? inner.powerOn(options)
        : halErr(HalStatus.CARD_GONE, 'canary: the PSAM is never powered on again');
    },
    transmit: (capdu, options) => inner.transmit(capdu, options),
    powerOff: () => inner.powerOff(),
    slotState: () => inner.slotState(),
  };
}

/**
 * A validator that takes a CREDIT SAM FOR PURCHASE the PSAM did not answer 9000 (the card has
 * debited; the PSAM's MAC2 check failed or never came) for a purchase that never happened: the
 * tap's grey record is dropped from the open ones, so the card's next tap is not recovered but
 * charged again. The journal and the PSAM port as that validator sees them, sharing what was
 * dropped (every board of the run).
 */
function droppingGreyOnPsamFailure(): Pick<SwarmHooks, 'wrapJournal' | 'wrapPsam'> {
  const dropped = new Set<number>();
  let lastGrey: number | null = null;
  const wrapJournal = (journal: Journal): Journal => new Proxy(journal, {
    get: (target, property) => {
      if (property === 'tunionOpenGreys') {
        return () => target.tunionOpenGreys().filter((g) => !dropped.has(g.seq));
      }
      if (property === 'append') {
        return async (entry: Parameters<Journal['append']>[0]) => {
          const written = await target.append(entry);
          if (written.ok && entry.kind === 'tunion_grey') lastGrey = written.value.seq;
          return written;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  });
  const wrapPsam = (inner: PsamPort): PsamPort => ({
    powerOn: (options) => inner.powerOn(options),
    transmit: async (capdu, options) => {
      const answer = await inner.transmit(capdu, options);
      const sw = answer.ok ? answer.value.subarray(-2) : null;
      const verified = sw !== null && sw[0] === 0x90 && sw[1] === 0x00;
      if (capdu[1] === 0x72 && !verified && lastGrey !== null) dropped.add(lastGrey);
      return answer;
    },
    powerOff: () => inner.powerOff(),
    slotState: () => inner.slotState(),
  });
  return { wrapJournal, wrapPsam };
}

/** The canaries of the PSAM: never powered on again; its failure after DEBIT taken for none. */
function psamCanary(
  name: 'psam-never-reopened' | 'psam-failure-no-debit',
  base: { checks: readonly SwarmCheck[] },
): SwarmCanary {
  if (name === 'psam-failure-no-debit') {
    return {
      ...base,
      name,
      defect: 'a PSAM failure after the card\'s DEBIT is taken for no debit, its grey dropped',
      faults: ['psam'],
      caughtBy: ['double-charge', 'torn-recovered'],
      hooks: {
        ...SWARM_HOOKS_STOCK,
        ...droppingGreyOnPsamFailure(),
        tuneMix: forced({ tunionShare: 0.9, psamFaultPerTap: 0.5, psamPulledShare: 0,
          psamCreditShare: 1 }),
      },
    };
  }
  return {
    ...base,
    name: 'psam-never-reopened',
    defect: 'a PSAM pulled or unpowered by a failed exchange is not opened again until a restart',
    faults: ['psam'],
    caughtBy: ['liveness'],
    hooks: {
      ...SWARM_HOOKS_STOCK,
      wrapPsam: poweredOnceOnly,
      // Many T-Union riders and PSAM faults: the quiet tail meets T-Union riders.
      tuneMix: forced({ tunionShare: 0.9, psamFaultPerTap: 0.2, psamPulledShare: 0.5 }),
    },
  };
}

/**
 * The journal as a validator that records a T-Union block only once the card answered (the
 * validator before the pending block record) sees it: the pending record is held back, its
 * seq promised (the next one), and written just before the final one. A power cut between the
 * card's 9000 and those writes leaves the card blocked for good and no record of it.
 */
function deferringBlockPending(journal: Journal): Journal {
  let held: Parameters<Journal['append']>[0] | null = null;
  const append = async (entry: Parameters<Journal['append']>[0])
    : ReturnType<Journal['append']> => {
    if (entry.kind === 'tunion_blocked' && entry.blockOutcome === 'pending') {
      held = entry;
      const seq = journal.summary().lastSeq + 1;
      return { ok: true, value: { seq, timeWallMs: 0, entry } };
    }
    const late = held;
    held = null;
    if (late !== null) {
      const written = await journal.append(late);
      if (!written.ok) return written;
    }
    return journal.append(entry);
  };
  return new Proxy(journal, {
    get: (target, property) => {
      if (property === 'append') return append;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

/** The canary of T-Union blocks: the block recorded only after the card's answer. */
function blockCanary(base: { checks: readonly SwarmCheck[] }): SwarmCanary {
  return {
    ...base,
    name: 'tunion-block-after-answer',
    defect: 'a deny-listed T-Union card\'s block is recorded only after the card answered',
    faults: ['power-cut'],
    caughtBy: ['tunion-block'],
    hooks: {
      ...SWARM_HOOKS_STOCK,
      wrapJournal: deferringBlockPending,
      // Many deny-listed riders, and power cuts often.
      tuneMix: forced({ tunionShare: 0.9, tunionDeniedShare: 0.5, powerCutPerTap: 0.3 }),
    },
  };
}

/**
 * A journal that says a bank tap's final record was written and writes nothing (the validator
 * of a defect that loses the clearing record after the card answered): it answers with the
 * pending record's seq, so the tap reports only records that are durable, and the rider is
 * told paid or admitted on a pending record the back office never clears.
 */
function droppingFinals(journal: Journal): Journal {
  return new Proxy(journal, {
    get: (target, property) => {
      if (property === 'append') {
        return async (entry: Parameters<Journal['append']>[0]) => {
          if (entry.kind !== 'final' || entry.pendingSeq === null) return target.append(entry);
          return { ok: true, value: { seq: entry.pendingSeq, timeWallMs: 0, entry } };
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...args: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

/** The canaries of a PAN in the log: in any error line, in one written as the power goes. */
function leakCanary(
  name: 'pan-in-log' | 'pan-in-log-at-cut',
  base: { checks: readonly SwarmCheck[] },
  pool: RiderPool,
): SwarmCanary {
  const checks: readonly SwarmCheck[] = [...base.checks, 'no-pan'];
  if (name === 'pan-in-log') {
    return {
      name, checks, defect: 'an error message echoes a full PAN', faults: [],
      caughtBy: ['no-pan'], hooks: { ...SWARM_HOOKS_STOCK, wrapLog: leakingLog(pool) },
    };
  }
  return {
    name, checks, defect: 'the error line of a write the power cut echoes a full PAN',
    faults: ['power-cut'], caughtBy: ['no-pan'],
    hooks: { ...SWARM_HOOKS_STOCK, wrapLog: leakingAtCut(pool),
      tuneMix: forced({ powerCutPerTap: 0.1 }) },
  };
}

/** The canaries of the journal's callers: a final never written, an exception let out. */
function journalCanary(
  name: 'final-dropped' | 'throwing-journal',
  base: { checks: readonly SwarmCheck[] },
): SwarmCanary {
  if (name === 'final-dropped') {
    return {
      ...base, name, defect: 'a tap approved or admitted without its final clearing record',
      faults: [], caughtBy: ['committed'],
      hooks: { ...SWARM_HOOKS_STOCK, wrapJournal: droppingFinals },
    };
  }
  return {
    ...base, name, defect: 'an exception escapes the validator loop', faults: [],
    caughtBy: [], hooks: { ...SWARM_HOOKS_STOCK, journalPort: throwingAppends },
  };
}

/** The canary `name` for a run whose rider pool is `pool`. */
export function swarmCanary(name: SwarmCanaryName, pool: RiderPool): SwarmCanary {
  const base = { name, checks: ALL_BUT_PAN };
  const cuts = forced({ powerCutPerTap: 0.1 });
  switch (name) {
    case 'committed-bit-flip':
      return {
        ...base,
        defect: 'one flipped bit in the last committed record is cut as a torn tail',
        faults: ['power-cut'],
        caughtBy: ['committed', 'journal-verifies'],
        hooks: { ...SWARM_HOOKS_STOCK, afterRestart: flipLastRecordBit, tuneMix: cuts },
      };
    case 'lost-sync':
      return {
        ...base,
        defect: 'a record reported durable is lost by a power cut (no fsync)',
        faults: ['power-cut'],
        caughtBy: ['committed', 'durable-debit', 'journal-verifies'],
        hooks: { ...SWARM_HOOKS_STOCK, journalPort: losingSyncs, tuneMix: cuts },
      };
    case 'pan-in-log':
    case 'pan-in-log-at-cut':
      return leakCanary(name, base, pool);
    case 'params-rollback':
      return {
        ...base,
        defect: 'an older signed parameter set is accepted after a newer one',
        faults: ['params'],
        checks: [...ALL_BUT_PAN, 'params'],
        caughtBy: ['params'],
        hooks: {
          ...SWARM_HOOKS_STOCK,
          paramsPath: SWARM_PARAMS_NO_FLOOR,
          tuneMix: forced({ paramsUpdatePerTap: 0.15, paramsRollbackShare: 0.5,
            paramsCorruptShare: 0 }),
        },
      };
    case 'hung-reader':
    case 'reader-never-reopened':
      return readerCanary(name);
    case 'acked-not-stored':
      return uploadCanary(base);
    case 'tunion-recovery-off':
    case 'tunion-block-after-answer':
      return tunionCanary(name, base);
    case 'psam-never-reopened':
    case 'psam-failure-no-debit':
      return psamCanary(name, base);
    case 'final-dropped':
    case 'throwing-journal':
      return journalCanary(name, base);
    default: {
      const unreachable: never = name;
      throw new Error(`canary ${String(unreachable)}`);
    }
  }
}
