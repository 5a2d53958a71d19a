// Start-up load of the parameter set: the active A/B slot, the other slot when the active one
// is unusable, and the version floor over both. See README.md in this folder.
//
// Flash rots and technicians pull power: a flipped bit or a missing file in the active slot,
// or a damaged `active` pointer, must not take a validator out of service while the other
// slot still holds a set that is signed, complete and not older than the floor. It must not
// open a rollback either: the other slot is used only at or above the floor, never below.

import { join } from 'node:path';

import { FieldError } from './json_fields.js';
import {
  PARAMS_FLOOR_FILE, paramsFloorRead, paramsFloorRefusal, paramsFloorVerdict, type ParamsFloor,
} from './params_floor.js';
import {
  PARAMS_ACTIVE_FILE, PARAMS_SLOTS, paramsLoadDir, type ParamsRefusalKind, type ParamsSlot,
} from './params_install.js';
import { PARAMS_DISK_START, type ParamsReads } from './params_disk.js';
import type { ParamSet, ParamsTrust } from './params_store.js';

/** The active slot was unusable and the other one was loaded instead. */
export interface ParamsFallback {
  /** The slot `active` names, or null when `active` itself is unreadable or names no slot. */
  readonly from: ParamsSlot | null;
  /** The slot loaded instead. */
  readonly to: ParamsSlot;
  /** Why the active slot (or the pointer) was refused, naming the file and field. */
  readonly reason: string;
}

export type ParamsBootResult =
  | {
    readonly ok: true;
    readonly set: ParamSet;
    /** The floor before this load; null when there was none (new or wiped data partition). */
    readonly floorBefore: ParamsFloor | null;
    /**
     * The floor to write once start-up succeeded (paramsFloorWrite), or null when the set is
     * the floor's own. Deferred so that a refused start writes nothing.
     */
    readonly floorRaise: ParamsFloor | null;
    /** Set when the set came from the other slot; the caller logs and reports it. */
    readonly fallback: ParamsFallback | null;
  }
  | { readonly ok: false; readonly kind: ParamsRefusalKind; readonly message: string };

/** Where `active` points: a slot, no A/B layout at all (a plain set), or nowhere usable. */
type ActivePointer =
  | { readonly kind: 'slot'; readonly slot: ParamsSlot }
  | { readonly kind: 'plain' }
  | { readonly kind: 'broken'; readonly reason: string };

/** One slot tried: its set, or why it cannot be used. */
type SlotTry =
  | { readonly ok: true; readonly slot: ParamsSlot; readonly set: ParamSet }
  | { readonly ok: false; readonly slot: ParamsSlot; readonly reason: string };

/**
 * Start-up: loads the active set under `root` (a plain signed set, or an installed A/B root)
 * and checks it against the floor kept in `stateDir`; for a newer set it returns the floor to
 * raise (the caller writes it with paramsFloorWrite once the start has succeeded). When the
 * active slot, or the `active` pointer, does not load (any FieldError or read error), the
 * other slot is used if its set is valid and at or above the floor (`fallback` says so).
 * Writes nothing, repairs nothing. Refusals: 'invalid' (neither slot usable; the message
 * names both reasons), 'rollback' (the active set is older than the floor, or the floor's
 * version with other content), 'floor-corrupt' (the floor file exists but does not verify:
 * never reset silently). `reads`: blocking reads by default (start-up, params_disk.ts).
 */
export async function paramsBootLoad(
  root: string,
  publicKey: ParamsTrust,
  stateDir: string,
  reads: ParamsReads = PARAMS_DISK_START,
): Promise<ParamsBootResult> {
  const read = await paramsFloorRead(stateDir, reads);
  if (read.kind === 'corrupt') {
    return {
      ok: false,
      kind: 'floor-corrupt',
      message: `version floor ${join(stateDir, PARAMS_FLOOR_FILE)} is unreadable `
        + `(${read.detail}); restore it or remove it knowingly (docs/params.md: the version floor)`,
    };
  }
  const floor = read.kind === 'ok' ? read.floor : null;
  const pointer = await activePointer(root, reads);
  if (pointer.kind === 'plain') {
    const set = await loadOrReason(root, publicKey, reads);
    if (typeof set === 'string') return { ok: false, kind: 'invalid', message: set };
    return floorChecked(set, floor, null);
  }
  let from: ParamsSlot | null = null;
  let reason = `${PARAMS_ACTIVE_FILE}: ${pointer.kind === 'broken' ? pointer.reason : ''}`;
  if (pointer.kind === 'slot') {
    const active = await trySlot(root, pointer.slot, publicKey, reads);
    // A valid active set is final, even when the floor refuses it: a rollback is not rot.
    if (active.ok) return floorChecked(active.set, floor, null);
    from = pointer.slot;
    reason = `${active.slot}: ${active.reason}`;
  }
  const others = PARAMS_SLOTS.filter((s) => s !== from);
  const tried: SlotTry[] = [];
  for (const slot of others) tried.push(await trySlot(root, slot, publicKey, reads));
  return fallbackChoice(tried, floor, from, reason);
}

/** The best usable other slot (highest version at or above the floor), or the refusal. */
function fallbackChoice(
  tried: readonly SlotTry[],
  floor: ParamsFloor | null,
  from: ParamsSlot | null,
  reason: string,
): ParamsBootResult {
  const why: string[] = [from === null ? `${reason} (no slot to trust)` : `active ${reason}`];
  let best: { slot: ParamsSlot; set: ParamSet } | null = null;
  for (const t of tried) {
    if (!t.ok) {
      why.push(`${t.slot}: ${t.reason}`);
      continue;
    }
    const verdict = paramsFloorVerdict(floor, t.set.version, t.set.manifestSha256Hex);
    if (floor !== null && (verdict === 'older' || verdict === 'conflict')) {
      why.push(`${t.slot}: ${paramsFloorRefusal(floor, t.set.version)}`);
    } else if (best === null || t.set.version > best.set.version) {
      best = { slot: t.slot, set: t.set };
    }
  }
  if (best === null) {
    return { ok: false, kind: 'invalid', message: `no usable slot: ${why.join('; ')}` };
  }
  return floorChecked(best.set, floor, { from, to: best.slot, reason });
}

function floorChecked(
  set: ParamSet,
  floor: ParamsFloor | null,
  fallback: ParamsFallback | null,
): ParamsBootResult {
  const verdict = paramsFloorVerdict(floor, set.version, set.manifestSha256Hex);
  if (floor !== null && (verdict === 'older' || verdict === 'conflict')) {
    return { ok: false, kind: 'rollback', message: paramsFloorRefusal(floor, set.version) };
  }
  const floorRaise = verdict === 'newer'
    ? { version: set.version, manifestSha256Hex: set.manifestSha256Hex }
    : null;
  return { ok: true, set, floorBefore: floor, floorRaise, fallback };
}

/**
 * Reads `active`. No `active` and no slot directory: a plain set (as `params sign` writes
 * it). No `active` but a slot directory, an unreadable `active`, or one naming no slot:
 * broken (a lost or damaged pointer; the slots are then tried).
 */
async function activePointer(root: string, reads: ParamsReads): Promise<ActivePointer> {
  let text: string;
  try {
    text = (await reads.read(join(root, PARAMS_ACTIVE_FILE))).toString('utf8');
  } catch (error) {
    if (!isNotFound(error)) return { kind: 'broken', reason: `cannot read: ${describe(error)}` };
    const slots = await Promise.all(PARAMS_SLOTS.map((s) => reads.isDir(join(root, s))));
    return slots.includes(true) ? { kind: 'broken', reason: 'missing file' } : { kind: 'plain' };
  }
  const slot = PARAMS_SLOTS.find((s) => s === text.trim());
  if (slot === undefined) {
    return { kind: 'broken', reason: `names ${JSON.stringify(text.slice(0, 20))}` };
  }
  return { kind: 'slot', slot };
}

async function trySlot(
  root: string,
  slot: ParamsSlot,
  publicKey: ParamsTrust,
  reads: ParamsReads,
): Promise<SlotTry> {
  const loaded = await loadOrReason(join(root, slot), publicKey, reads);
  if (typeof loaded === 'string') return { ok: false, slot, reason: loaded };
  return { ok: true, slot, set: loaded };
}

/** The validated set in `dir`, or why not (never throws). */
async function loadOrReason(
  dir: string,
  publicKey: ParamsTrust,
  reads: ParamsReads,
): Promise<ParamSet | string> {
  try {
    return await paramsLoadDir(dir, publicKey, reads);
  } catch (error) {
    return error instanceof FieldError ? error.message : describe(error);
  }
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
