// Simulated StoragePort: volatile vs durable bytes, power cuts that tear unsynced appends.

import { HalStatus, halErr, halOk } from '../../hal/src/ports/hal_status.js';
import type { HalResult } from '../../hal/src/ports/hal_status.js';
import type { StoragePort } from '../../hal/src/ports/storage_port.js';
import type { Prng } from './prng.js';

/** What the medium keeps of bytes that were written but not synced when power went. */
export type TornMode =
  /** A prefix of the unsynced bytes, each byte as written (ordered block writes). */
  | 'prefix'
  /** A strict prefix whose last bytes are garbage (flash cells half programmed). */
  | 'garbage'
  /** The file grew but the new bytes read as zeros (metadata written before data). */
  | 'zeros';

/** Options of a StorageSim. */
export interface StorageSimOptions {
  /** Total bytes the medium holds; appends past it fail with SIZE. */
  readonly totalBytes: number;
  /** Source of every random choice a power cut makes. */
  readonly prng: Prng;
  /** Torn-write shapes a power cut may draw from (at least one). */
  readonly tornModes: readonly TornMode[];
}

/**
 * Bytes that grow in place (capacity doubles): an append or a sync of a journal that keeps
 * growing costs the new bytes, not a copy of the whole file (the swarm appends and syncs
 * thousands of records to one file). Zeros appended at the end are held as a length until a
 * write or a view needs them: another writer's megabytes of zeros (the swarm's full disk) cost
 * neither a fill nor a copy, at the append, at a power cut or at a restart.
 */
class SimBytes {
  private buf: Uint8Array;
  /** Bytes of `buf` that hold the file's content; those after, up to `length`, read as 0. */
  private stored: number;
  private lengthValue: number;

  constructor(bytes: Uint8Array) {
    this.buf = new Uint8Array(Math.max(64, bytes.length));
    this.buf.set(bytes);
    this.stored = bytes.length;
    this.lengthValue = bytes.length;
  }

  get length(): number {
    return this.lengthValue;
  }

  /** The first `lengthBytes` bytes of `source`, zeros it holds as a length kept so. */
  static prefixOf(source: SimBytes, lengthBytes: number): SimBytes {
    const stored = Math.min(source.stored, lengthBytes);
    const copy = new SimBytes(source.buf.subarray(0, stored));
    copy.lengthValue = lengthBytes;
    return copy;
  }

  /** A copy of the whole file. */
  clone(): SimBytes {
    return SimBytes.prefixOf(this, this.lengthValue);
  }

  /**
   * Makes the bytes from `offset` on those of `source` from there (`offset` at most both
   * lengths): zeros `source` holds as a length stay one here.
   */
  copyTailOf(source: SimBytes, offset: number): void {
    this.truncate(offset);
    if (offset < source.stored) this.writeAt(offset, source.buf.subarray(offset, source.stored));
    this.appendZeros(source.lengthValue - this.lengthValue);
  }

  /** The bytes now (a view: valid until the next change). */
  view(): Uint8Array {
    this.store(this.lengthValue);
    return this.buf.subarray(0, this.lengthValue);
  }

  /** The byte at `offset` (below `length`). */
  at(offset: number): number {
    return offset < this.stored ? (this.buf[offset] ?? 0) : 0;
  }

  /** True when the bytes from `offset` to the end all read as zero without being stored. */
  zerosFrom(offset: number): boolean {
    return offset >= this.stored;
  }

  /** Writes `bytes` at `offset` (at most `length`), growing the file to cover them. */
  writeAt(offset: number, bytes: Uint8Array): void {
    const end = offset + bytes.length;
    // Only the bytes before `offset` need storing as zeros: those from it on are `bytes`.
    // An append to a file with no zeros held as a length (the journal's) stores none.
    this.store(offset);
    this.reserve(end);
    this.buf.set(bytes, offset);
    this.stored = Math.max(this.stored, end);
    this.lengthValue = Math.max(this.lengthValue, end);
  }

  /** Appends `count` zero bytes: a length only, until something needs them stored. */
  appendZeros(count: number): void {
    this.lengthValue += count;
  }

  /** Cuts the file to `lengthBytes` (at most `length`). */
  truncate(lengthBytes: number): void {
    this.lengthValue = lengthBytes;
    this.stored = Math.min(this.stored, lengthBytes);
  }

  /**
   * Stores the bytes up to `end`: those past `stored` are zeros (in a grown buffer they are
   * fresh, untouched pages; in the old one they may be left from a truncate).
   */
  private store(end: number): void {
    if (end <= this.stored) return;
    if (end > this.buf.length) {
      this.reserve(end);
    } else {
      this.buf.fill(0, this.stored, end);
    }
    this.stored = end;
  }

  /** Makes `buf` hold `end` bytes at least: a grown buffer is zeros past `stored`. */
  private reserve(end: number): void {
    if (end <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(end, this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.stored));
    this.buf = grown;
  }
}

interface SimFile {
  /** What survives a power cut; null when the file does not exist durably. */
  durable: SimBytes | null;
  /** What reads see now; null when the file does not exist. */
  volatile: SimBytes | null;
  /**
   * The durable and volatile bytes are equal before this offset (at most both lengths): a
   * sync copies from here only, and a power cut compares from here only.
   */
  sameBefore: number;
}

/** The bytes of an absent file (never written to). */
const EMPTY = new Uint8Array(0);

function cloneOf(bytes: SimBytes | null): SimBytes | null {
  return bytes === null ? null : bytes.clone();
}

/**
 * A StoragePort twin for deterministic power-cut tests (TigerBeetle's storage fault model in
 * miniature). Every mutating call (append, replace, truncate, sync) is a numbered write point;
 * `armPowerCut(k)` makes the k-th one from now the moment power goes: that call is interrupted
 * half way and fails, and every later call fails with READER_IO until `restart()`, which keeps
 * the durable bytes plus, per file, a random torn remnant of what was not yet synced.
 */
export class StorageSim implements StoragePort {
  private readonly files = new Map<string, SimFile>();
  private writePointsValue = 0;
  private cutAtWritePoint: number | null = null;
  private ioErrorAtWritePoint: number | null = null;
  private powered = true;
  private cutsValue = 0;
  /** durableNames' answer until a call that may make a file durable or not (null: none yet). */
  private durableNamesCache: readonly string[] | null = null;

  constructor(private readonly options: StorageSimOptions) {
    if (options.tornModes.length === 0) throw new RangeError('tornModes must not be empty');
  }

  /** Mutating calls made so far (the write points a test can cut at). */
  writePoints(): number {
    return this.writePointsValue;
  }

  /** Power cuts so far. */
  cuts(): number {
    return this.cutsValue;
  }

  /** True while the power is off (after a cut, before `restart`). */
  isDown(): boolean {
    return !this.powered;
  }

  /** The `afterWrites`-th mutating call from now (1 = the next one) is cut. */
  armPowerCut(afterWrites: number): void {
    if (!(afterWrites >= 1)) throw new RangeError(`afterWrites ${afterWrites}`);
    this.cutAtWritePoint = this.writePointsValue + afterWrites;
  }

  /** The `afterWrites`-th mutating call from now fails with READER_IO (power stays on). */
  armIoError(afterWrites: number): void {
    if (!(afterWrites >= 1)) throw new RangeError(`afterWrites ${afterWrites}`);
    this.ioErrorAtWritePoint = this.writePointsValue + afterWrites;
  }

  /** Cuts power now (between calls). */
  powerCut(): void {
    this.powered = false;
    this.cutAtWritePoint = null;
    this.cutsValue += 1;
  }

  /** Power comes back: each file keeps its durable bytes plus a torn remnant of the rest. */
  restart(): void {
    this.durableNamesCache = null;
    for (const [name, file] of this.files) {
      // Nothing unsynced: what survives is the durable bytes, and reads see those. Both images
      // stay as they are (a copy of each would be the same bytes, with no room to grow).
      if (fullySynced(file)) continue;
      const kept = this.survivor(file);
      if (kept === null) {
        this.files.delete(name);
      } else {
        file.durable = kept;
        file.volatile = kept.clone();
        file.sameBefore = kept.length;
      }
    }
    this.powered = true;
  }

  /** The durable bytes of a file (a test's view of the medium); empty when absent. */
  durableBytes(name: string): Uint8Array {
    return this.files.get(name)?.durable?.view().slice() ?? new Uint8Array(0);
  }

  /**
   * Every file that exists durably (those `keep` accepts), with its durable bytes (a test's
   * view of the medium).
   */
  durableFiles(keep: (name: string) => boolean = () => true): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    // durableNames: the files that exist durably, sorted, kept while they stay the same.
    for (const name of this.durableNames()) {
      const durable = this.files.get(name)?.durable;
      if (durable != null && keep(name)) out.set(name, durable.view().slice());
    }
    return out;
  }

  /**
   * Names of the files that exist durably, sorted (no bytes copied). The same array while they
   * stay the same: appends and truncates make no file durable or not; the medium's other
   * mutating calls and a restart make a new one.
   */
  durableNames(): readonly string[] {
    if (this.durableNamesCache !== null) return this.durableNamesCache;
    const names: string[] = [];
    for (const [name, file] of this.files) if (file.durable !== null) names.push(name);
    this.durableNamesCache = names.sort();
    return this.durableNamesCache;
  }

  /**
   * The durable bytes of a file from `offset` on (a copy), and its durable length: checkers
   * that follow a growing file read only what is new.
   */
  durableTail(name: string, offset: number): { bytes: Uint8Array; lengthBytes: number } {
    const durable = this.durableTailView(name, 0);
    return { bytes: durable.slice(Math.min(offset, durable.length)), lengthBytes: durable.length };
  }

  /**
   * `durableTail`'s bytes as a view of the medium's own, valid until the next mutating call or
   * restart (nothing copied): for a checker that reads them at once, between two calls.
   */
  durableTailView(name: string, offset: number): Uint8Array {
    const durable = this.files.get(name)?.durable?.view() ?? EMPTY;
    return durable.subarray(Math.min(offset, durable.length));
  }

  /** Overwrites a durable byte (bit rot, or a test corrupting the middle of a journal). */
  corruptByte(name: string, offset: number, value: number): void {
    const file = this.files.get(name);
    if (file?.durable == null || file.volatile == null) throw new RangeError(`no file ${name}`);
    // Views of the live bytes: an offset past the end changes nothing, as on a typed array.
    file.durable.view()[offset] = value;
    file.volatile.view()[offset] = value;
  }

  read(name: string): Promise<HalResult<Uint8Array>> {
    if (!this.powered) return Promise.resolve(halErr(HalStatus.READER_IO, 'power is off'));
    const volatile = this.files.get(name)?.volatile?.view() ?? new Uint8Array(0);
    return Promise.resolve(halOk(volatile.slice()));
  }

  readAt(name: string, offsetBytes: number, into: Uint8Array): Promise<HalResult<number>> {
    if (!this.powered) return Promise.resolve(halErr(HalStatus.READER_IO, 'power is off'));
    const volatile = this.files.get(name)?.volatile?.view() ?? new Uint8Array(0);
    const from = Math.min(offsetBytes, volatile.length);
    const part = volatile.subarray(from, Math.min(volatile.length, from + into.length));
    into.set(part);
    return Promise.resolve(halOk(part.length));
  }

  append(name: string, bytes: Uint8Array): Promise<HalResult<void>> {
    return this.appendWith(name, bytes.length, (into, n) => {
      into.writeAt(into.length, bytes.subarray(0, n));
    });
  }

  /**
   * `append(name, new Uint8Array(count))` to the byte, the same write point, faults and random
   * draws, without the array: another writer taking megabytes of the medium (the swarm's full
   * disk) costs no copy. Errors: as `append`.
   */
  appendZeros(name: string, count: number): Promise<HalResult<void>> {
    if (!(Number.isSafeInteger(count) && count >= 0)) throw new RangeError(`count ${count}`);
    return this.appendWith(name, count, (into, n) => into.appendZeros(n));
  }

  private appendWith(
    name: string,
    length: number,
    write: (into: SimBytes, count: number) => void,
  ): Promise<HalResult<void>> {
    const fault = this.writePoint();
    if (fault !== null && fault !== 'cut') return Promise.resolve(fault);
    const file = this.fileFor(name);
    const current = file.volatile ?? new SimBytes(new Uint8Array(0));
    file.volatile = current;
    if (this.usedBytes() + length > this.options.totalBytes && fault === null) {
      return Promise.resolve(halErr(HalStatus.SIZE, `append ${name}: medium full`));
    }
    // A cut during the call leaves part of the bytes in the volatile image; restart tears it.
    const writtenBytes = fault === 'cut' ? this.options.prng.below(length + 1) : length;
    write(current, writtenBytes);
    if (fault === 'cut') return Promise.resolve(halErr(HalStatus.READER_IO, 'power cut in append'));
    return Promise.resolve(halOk(undefined));
  }

  replace(name: string, bytes: Uint8Array): Promise<HalResult<void>> {
    const fault = this.writePoint();
    if (fault !== null && fault !== 'cut') return Promise.resolve(fault);
    this.durableNamesCache = null;
    const file = this.fileFor(name);
    const oldBytes = file.volatile?.length ?? 0;
    if (this.usedBytes() - oldBytes + bytes.length > this.options.totalBytes && fault === null) {
      return Promise.resolve(halErr(HalStatus.SIZE, `replace ${name}: medium full`));
    }
    // Rename is atomic: a cut leaves the old or the new file whole, never a mix.
    if (fault === 'cut') {
      if (this.options.prng.chance(0.5)) file.durable = new SimBytes(bytes);
      file.volatile = cloneOf(file.durable);
      file.sameBefore = file.durable?.length ?? 0;
      return Promise.resolve(halErr(HalStatus.READER_IO, 'power cut in replace'));
    }
    file.durable = new SimBytes(bytes);
    file.volatile = new SimBytes(bytes);
    file.sameBefore = bytes.length;
    return Promise.resolve(halOk(undefined));
  }

  sync(name: string): Promise<HalResult<void>> {
    const fault = this.writePoint();
    if (fault !== null && fault !== 'cut') return Promise.resolve(fault);
    const file = this.files.get(name);
    if (file === undefined) {
      return Promise.resolve(fault === 'cut'
        ? halErr(HalStatus.READER_IO, 'power cut in sync')
        : halOk(undefined));
    }
    // Most syncs flush a file that exists durably already (a journal append): the names stay.
    const durableBefore = file.durable !== null;
    if (fault === 'cut' && !fullySynced(file)) {
      // Power went during the flush: part of it may have reached the medium.
      const kept = this.survivor(file);
      file.durable = kept;
      file.volatile = cloneOf(kept);
      file.sameBefore = kept?.length ?? 0;
    } else {
      syncFile(file);
    }
    if ((file.durable !== null) !== durableBefore) this.durableNamesCache = null;
    if (fault === 'cut') return Promise.resolve(halErr(HalStatus.READER_IO, 'power cut in sync'));
    return Promise.resolve(halOk(undefined));
  }

  truncate(name: string, lengthBytes: number): Promise<HalResult<void>> {
    const fault = this.writePoint();
    if (fault !== null && fault !== 'cut') return Promise.resolve(fault);
    const file = this.files.get(name);
    const currentBytes = file?.volatile?.length ?? 0;
    if (!(Number.isSafeInteger(lengthBytes) && lengthBytes >= 0 && lengthBytes <= currentBytes)) {
      throw new RangeError(`truncate ${name} to ${lengthBytes} of ${currentBytes}`);
    }
    if (file !== undefined) {
      file.volatile ??= new SimBytes(new Uint8Array(0));
      file.volatile.truncate(lengthBytes);
      file.sameBefore = Math.min(file.sameBefore, lengthBytes);
    }
    if (fault === 'cut') {
      return Promise.resolve(halErr(HalStatus.READER_IO, 'power cut in truncate'));
    }
    return Promise.resolve(halOk(undefined));
  }

  list(): Promise<HalResult<string[]>> {
    if (!this.powered) return Promise.resolve(halErr(HalStatus.READER_IO, 'power is off'));
    const names = [...this.files]
      .filter(([, file]) => file.volatile !== null)
      .map(([name]) => name);
    return Promise.resolve(halOk(names.sort()));
  }

  size(name: string): Promise<HalResult<number>> {
    if (!this.powered) return Promise.resolve(halErr(HalStatus.READER_IO, 'power is off'));
    return Promise.resolve(halOk(this.files.get(name)?.volatile?.length ?? 0));
  }

  remove(name: string): Promise<HalResult<void>> {
    const fault = this.writePoint();
    if (fault !== null && fault !== 'cut') return Promise.resolve(fault);
    this.durableNamesCache = null;
    const file = this.files.get(name);
    // Unlink plus directory sync is atomic: a cut leaves the file whole or gone.
    if (fault === 'cut') {
      if (file !== undefined && this.options.prng.chance(0.5)) this.files.delete(name);
      return Promise.resolve(halErr(HalStatus.READER_IO, 'power cut in remove'));
    }
    this.files.delete(name);
    return Promise.resolve(halOk(undefined));
  }

  capacity(): Promise<HalResult<{ freeBytes: number; totalBytes: number }>> {
    if (!this.powered) return Promise.resolve(halErr(HalStatus.READER_IO, 'power is off'));
    const totalBytes = this.options.totalBytes;
    const freeBytes = Math.max(0, totalBytes - this.usedBytes());
    return Promise.resolve(halOk({ freeBytes, totalBytes }));
  }

  /** Counts a write point; says whether it is cut, fails, or proceeds (null). */
  private writePoint(): HalResult<void> | 'cut' | null {
    if (!this.powered) return halErr(HalStatus.READER_IO, 'power is off');
    this.writePointsValue += 1;
    if (this.writePointsValue === this.ioErrorAtWritePoint) {
      this.ioErrorAtWritePoint = null;
      return halErr(HalStatus.READER_IO, 'injected I/O error');
    }
    if (this.writePointsValue === this.cutAtWritePoint) {
      this.powerCut();
      return 'cut';
    }
    return null;
  }

  private fileFor(name: string): SimFile {
    let file = this.files.get(name);
    if (file === undefined) {
      file = { durable: null, volatile: new SimBytes(new Uint8Array(0)), sameBefore: 0 };
      this.files.set(name, file);
    }
    if (file.volatile === null) {
      file.volatile = new SimBytes(new Uint8Array(0));
      file.sameBefore = 0;
    }
    return file;
  }

  private usedBytes(): number {
    let used = 0;
    for (const file of this.files.values()) used += file.volatile?.length ?? 0;
    return used;
  }

  /** What a power cut leaves of one file (new bytes, shared with neither image). */
  private survivor(file: SimFile): SimBytes | null {
    const durable = file.durable;
    const volatile = file.volatile;
    if (volatile === null) return cloneOf(durable);
    const baseBytes = durable?.length ?? 0;
    // The bytes before sameBefore are equal: the comparison starts there.
    const common = commonBytes(durable, volatile, Math.min(file.sameBefore, baseBytes));
    // An unsynced truncate may or may not have reached the medium.
    if (common < baseBytes && this.options.prng.chance(0.5)) return cloneOf(durable);
    const extraBytes = volatile.length - common;
    if (extraBytes === 0) return common === baseBytes ? cloneOf(durable) : volatile.clone();
    const modes = this.options.tornModes;
    const mode = modes[this.options.prng.below(modes.length)] ?? 'prefix';
    // Half-programmed cells sit where the write was interrupted, which is strictly inside it:
    // a write that reached its last byte left every byte as written.
    const keptBytes = mode === 'garbage'
      ? this.options.prng.below(extraBytes)
      : this.options.prng.below(extraBytes + 1);
    const end = common + keptBytes;
    const torn = SimBytes.prefixOf(volatile, end);
    switch (mode) {
      case 'prefix':
        break;
      case 'garbage': {
        const garbage = new Uint8Array(Math.min(keptBytes, 1 + this.options.prng.below(8)));
        for (let i = 0; i < garbage.length; i += 1) garbage[i] = this.options.prng.below(256);
        torn.writeAt(end - garbage.length, garbage);
        break;
      }
      case 'zeros':
        torn.truncate(common);
        torn.appendZeros(keptBytes);
        break;
      default: {
        const unreachable: never = mode;
        throw new Error(`torn mode ${String(unreachable)}`);
      }
    }
    if (durable === null && keptBytes === 0) return null;
    return torn;
  }
}

/**
 * Where `durable` and `volatile` first differ, from `from` on (both equal before it), at most
 * the shorter length; zeros both hold as a length are equal without a look.
 */
function commonBytes(durable: SimBytes | null, volatile: SimBytes, from: number): number {
  if (durable === null) return 0;
  const max = Math.min(durable.length, volatile.length);
  let common = from;
  while (common < max && durable.at(common) === volatile.at(common)) {
    if (durable.zerosFrom(common) && volatile.zerosFrom(common)) return max;
    common += 1;
  }
  return common;
}

/**
 * True when the volatile bytes are the durable ones, all of them (both equal up to the same
 * length): a power cut changes nothing of the file and draws nothing (see `survivor`).
 */
function fullySynced(file: SimFile): boolean {
  const { durable, volatile } = file;
  return durable !== null && volatile !== null && durable.length === volatile.length
    && file.sameBefore >= durable.length;
}

/** A sync: the durable bytes become the volatile ones (copied from where they differ). */
function syncFile(file: SimFile): void {
  const volatile = file.volatile;
  if (volatile === null) {
    file.durable = null;
    file.sameBefore = 0;
    return;
  }
  const durable = file.durable ?? new SimBytes(new Uint8Array(0));
  const from = Math.min(file.sameBefore, durable.length, volatile.length);
  durable.copyTailOf(volatile, from);
  file.durable = durable;
  file.sameBefore = volatile.length;
}
