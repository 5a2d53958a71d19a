// Test helper: real sysfs file writes into a temp tree, logged with the simulated time.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NODE_SYSFS_FILES, type SysfsFiles } from '../../src/buzzer/sysfs_files.js';
import type { ClockPort } from '../../src/ports/clock_port.js';
import { halErr, HalStatus, type HalResult } from '../../src/ports/hal_status.js';

export interface SysfsWrite {
  readonly atMs: number;
  /** Path relative to the fake `/sys` root, e.g. `class/leds/red:status/brightness`. */
  readonly file: string;
  readonly value: string;
}

/**
 * Wraps NODE_SYSFS_FILES: every write still goes to the real file, and successful ones are
 * logged with `clock.nowMs()`. Can fail chosen writes and can play the kernel's part for
 * `export` (creating pwmM/), which plain files cannot.
 */
export class RecordingSysfsFiles implements SysfsFiles {
  readonly writes: SysfsWrite[] = [];
  private readonly failures: { file: string; status: HalStatus; atOrAfterMs: number }[] = [];

  constructor(
    readonly root: string,
    private readonly clock: ClockPort,
    private readonly emulateExport: boolean,
  ) {}

  /** Fails the first write to `file` at or after `atOrAfterMs`. */
  failWrite(file: string, status: HalStatus, atOrAfterMs: number): void {
    this.failures.push({ file, status, atOrAfterMs });
  }

  write(filePath: string, value: string): HalResult<void> {
    const file = path.relative(this.root, filePath);
    const nowMs = this.clock.nowMs();
    const failure = this.failures.findIndex((f) => f.file === file && nowMs >= f.atOrAfterMs);
    if (failure >= 0) {
      const status = this.failures[failure]?.status ?? HalStatus.READER_IO;
      this.failures.splice(failure, 1);
      return halErr(status, `injected failure writing ${file}`);
    }
    const result = NODE_SYSFS_FILES.write(filePath, value);
    if (!result.ok) return result;
    this.writes.push({ atMs: nowMs, file, value });
    if (this.emulateExport && path.basename(filePath) === 'export') {
      const channelDir = path.join(path.dirname(filePath), `pwm${value.trim()}`);
      fs.mkdirSync(channelDir, { recursive: true });
      for (const attribute of ['period', 'duty_cycle', 'enable']) {
        fs.writeFileSync(path.join(channelDir, attribute), '0\n');
      }
    }
    return result;
  }

  read(filePath: string): HalResult<string> {
    return NODE_SYSFS_FILES.read(filePath);
  }

  exists(filePath: string): boolean {
    return NODE_SYSFS_FILES.exists(filePath);
  }

  /** The log as `atMs file=value` lines, compact enough to compare whole patterns. */
  lines(): string[] {
    return this.writes.map((w) => `${w.atMs} ${w.file}=${w.value}`);
  }
}

/** A fresh temporary directory playing `/sys`; remove it with `fs.rmSync` after the test. */
export function sysfsTempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'shuaka-sysfs-'));
}

/** Current content of a file in the tree, trimmed. */
export function sysfsRead(root: string, file: string): string {
  return fs.readFileSync(path.join(root, file), 'latin1').trim();
}
