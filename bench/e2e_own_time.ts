// Our own time per tap, measured for real: HAL framing, display framing, journal with fsync.
//
// The simulated board spends no simulated time on our CPU, so each tap's own work is timed
// with process.hrtime on the exact bytes and entries of that tap: the PN532 frames it
// exchanged are encoded and decoded again, its screens are rendered to DWIN frames again, and
// its journal entries are appended, in the same order, to a journal on a StorageSim (the CPU
// share) and to a journal on the real disk through FileStorage (CPU plus write and fsync).
// Kernel steps and the indicator were timed live by the board's decorators.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DWIN_LAYOUT_DEFAULT, dwinScreenBytes } from '../hal/src/display/dwin_display.js';
import { encodePn532Frame, Pn532FrameDecoder } from '../hal/src/pn532/pn532_frame.js';
import { FileStorage } from '../hal/src/storage/file_storage.js';
import type { StoragePort } from '../hal/src/ports/storage_port.js';
import { Journal, JOURNAL_FILE_NAME } from '../firmware/src/app/journal/journal.js';
import { ClockSim } from '../host-sim/src/clock_sim.js';
import { Prng } from '../host-sim/src/prng.js';
import type { SerialLinkSimRecord } from '../host-sim/src/serial_link_sim.js';
import { StorageSim } from '../host-sim/src/storage_sim.js';
import { E2E_EPOCH_WALL_MS } from './e2e_board.js';
import type { TapSample } from './e2e_taps.js';

/** Real nanoseconds of our own work in one tap, by part. */
export interface OwnTimeNs {
  readonly kernel: number;
  /** PN532 frame encoding (host -> PN532) and decoding (PN532 -> host). */
  readonly hal: number;
  /** DWIN frames of the screens shown (GBK text, layout). */
  readonly display: number;
  /** sysfs writes of the buzzer and LEDs (attribute files on a tmpfs, see e2e_board.ts). */
  readonly indicator: number;
  /** Journal appends on a StorageSim: encoding, CRC, state (CPU only). */
  readonly journalCpu: number;
  /** Journal appends on the real disk: CPU, write and fsync. */
  readonly journalDisk: number;
}

export const OWN_PARTS: readonly (keyof OwnTimeNs)[] = [
  'kernel',
  'hal',
  'display',
  'indicator',
  'journalCpu',
  'journalDisk',
];

/** Our time that delays the answer: the journal counts once, with its disk. */
export function ownTotalNs(own: OwnTimeNs): number {
  return own.kernel + own.hal + own.display + own.indicator + own.journalDisk;
}

/** Replays of framing work run this many times, so sub-microsecond codecs rise above hrtime. */
export const FRAMING_REPEAT = 40;

function elapsedNs(run: () => void, repeat: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < repeat; i += 1) run();
  return Number(process.hrtime.bigint() - t0) / repeat;
}

/** Host frames of the tap as (TFI, body) pairs, and the bytes the host received. */
function framingWork(records: readonly SerialLinkSimRecord[]): {
  frames: { tfi: number; body: Uint8Array }[];
  received: Uint8Array[];
} {
  const decoder = new Pn532FrameDecoder();
  const frames: { tfi: number; body: Uint8Array }[] = [];
  const received: Uint8Array[] = [];
  for (const r of records) {
    if (r.direction === 'device-to-host') {
      received.push(r.bytes);
      continue;
    }
    decoder.push(r.bytes);
    for (let e = decoder.next(); e !== undefined; e = decoder.next()) {
      if (e.kind === 'frame') frames.push({ tfi: e.tfi, body: e.body.slice() });
    }
  }
  return { frames, received };
}

function halNs(records: readonly SerialLinkSimRecord[]): number {
  const { frames, received } = framingWork(records);
  return elapsedNs(() => {
    for (const f of frames) encodePn532Frame(f.tfi, f.body);
    const decoder = new Pn532FrameDecoder();
    for (const bytes of received) {
      decoder.push(bytes);
      while (decoder.next() !== undefined) {
        // Drain every event, as the reader's receive loop does.
      }
    }
  }, FRAMING_REPEAT);
}

/** Journals that receive every tap's entries in the order the board wrote them. */
export class JournalReplay {
  private constructor(
    private readonly cpu: Journal,
    private readonly disk: Journal,
    private readonly storage: FileStorage,
  ) {}

  /** Opens both journals; the disk one in a fresh directory under the system's temp dir. */
  static async open(seed: number): Promise<JournalReplay> {
    const clock = new ClockSim(E2E_EPOCH_WALL_MS);
    const storageBytes = 8 << 20;
    const sim = new StorageSim({
      totalBytes: storageBytes,
      prng: new Prng(seed),
      tornModes: ['prefix'],
    });
    const dirPath = mkdtempSync(join(tmpdir(), 'shuaka-bench-journal-'));
    const disk = await FileStorage.open(dirPath, { quotaBytes: null });
    if (!disk.ok) throw new Error(`bench journal directory: ${disk.detail}`);
    const open = async (storage: StoragePort): Promise<Journal> => {
      const opened = await Journal.open(storage, {
        fileName: JOURNAL_FILE_NAME,
        clock,
        reserveBytes: 64 * 1024,
        sizeBytesMax: storageBytes,
      });
      if (!opened.ok) throw new Error(`bench journal: ${opened.error}`);
      return opened.value.journal;
    };
    return new JournalReplay(await open(sim), await open(disk.value), disk.value);
  }

  /**
   * Appends `entries` to both journals; returns the real ns each spent on the first `counted`
   * (the ones written before the answer; later ones are replayed only to keep the order).
   */
  async append(
    entries: TapSample['journalEntries'],
    counted: number,
  ): Promise<{ cpu: number; disk: number }> {
    let cpu = 0;
    let disk = 0;
    for (const [index, entry] of entries.entries()) {
      const t0 = process.hrtime.bigint();
      const a = await this.cpu.append(entry);
      const t1 = process.hrtime.bigint();
      const b = await this.disk.append(entry);
      const t2 = process.hrtime.bigint();
      if (!a.ok || !b.ok) {
        const why = !a.ok ? `${a.error} ${a.detail}` : !b.ok ? `${b.error} ${b.detail}` : '';
        throw new Error(`bench journal replay refused a ${entry.kind} entry: ${why}`);
      }
      if (index >= counted) continue;
      cpu += Number(t1 - t0);
      disk += Number(t2 - t1);
    }
    return { cpu, disk };
  }

  /** Closes the disk journal's files and removes its directory. */
  async close(): Promise<void> {
    await this.storage.close();
    rmSync(this.storage.dirPath, { recursive: true, force: true });
  }
}

/** Measures the own time of `sample`; journal entries go to `journals` (order matters). */
export async function ownTimeOf(sample: TapSample, journals: JournalReplay): Promise<OwnTimeNs> {
  const displayNs = elapsedNs(() => {
    for (const screen of sample.screens) {
      dwinScreenBytes(screen, DWIN_LAYOUT_DEFAULT, { crc: false });
    }
  }, FRAMING_REPEAT);
  const journal = await journals.append(sample.journalEntries, sample.journalEntriesBeforeAnswer);
  return {
    kernel: sample.kernelNs,
    hal: halNs(sample.pn532Records),
    display: displayNs,
    indicator: sample.indicatorNs,
    journalCpu: journal.cpu,
    journalDisk: journal.disk,
  };
}
