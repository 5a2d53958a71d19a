// The bus's position from a file (`shuaka run --stop-file FILE`): the vehicle's stop announcer
// or onboard unit keeps one line in it, `STOP [DIRECTION [VEHICLE]]`, and the validator reads
// it at each T-Union tap, whose tap-in/tap-out fare and 001A record need the stop (see
// domain.md section 7.3). A file is what every onboard unit can write whatever bus it sits on
// (RS-485, CAN, GPS). Written by rename, a reader never sees half a line.


import { readFileBoundedSync } from '../../../hal/src/fs/read_bounded.js';
import { STOP_NUMBER_MAX } from '../app/fare/fare_table.js';
import {
  TRANSIT_POSITION_UNKNOWN,
  type LogPort,
  type TransitPosition,
} from '../app/validator/validator_ports.js';

/** The longest line the file may hold: a stop source writes a few characters. */
const STOP_LINE_MAX = 64;
/** Read of the file at most: longer is no stop line anyway (refused as EFBIG). */
const STOP_FILE_BYTES_MAX = 4096;

/**
 * Parses the stop line: the stop (1..STOP_NUMBER_MAX), then optionally the direction (0 up,
 * 1 down; default 0) and the vehicle (1..8 printable ASCII characters, no space; default none).
 * Returns the position, or why the line is not one.
 */
export function stopLineParse(text: string): TransitPosition | string {
  const line = text.replace(/\r?\n$/, '');
  if (line.length > STOP_LINE_MAX || line.includes('\n')) return 'not one short line';
  const fields = line.trim().split(/[ \t]+/);
  if (fields.length > 3 || fields[0] === '') return `'${line}' is not STOP [DIRECTION [VEHICLE]]`;
  const [stopText = '', directionText = '0', vehicle = ''] = fields;
  const stop = /^[0-9]{1,3}$/.test(stopText) ? Number(stopText) : -1;
  if (stop < 1 || stop > STOP_NUMBER_MAX) return `stop '${stopText}' is not 1..${STOP_NUMBER_MAX}`;
  if (directionText !== '0' && directionText !== '1') {
    return `direction '${directionText}' is not 0 (up) or 1 (down)`;
  }
  if (!/^[\x21-\x7e]{0,8}$/.test(vehicle)) return `vehicle '${vehicle}' is not 1..8 ASCII`;
  return { stop, direction: Number(directionText), vehicle };
}

/**
 * The position source of `path`: read at each call. A file missing, unreadable or not a stop
 * line gives the unknown position (a segment line then refuses the tap, asking for another
 * card) and is logged once per cause (`stop-source-unreadable`, a warning); its return is
 * logged as `stop-source-back`.
 */
export function stopFileSource(path: string, log: LogPort): () => TransitPosition {
  let failing: string | null = null;
  return () => {
    let parsed: TransitPosition | string;
    try {
      // Bounded and never waiting: the file may be a GPS daemon's FIFO, read at every tap.
      parsed = stopLineParse(
        readFileBoundedSync(path, STOP_FILE_BYTES_MAX, { regular: true }).toString('latin1'));
    } catch (error) {
      parsed = (error as NodeJS.ErrnoException).code ?? String(error);
    }
    if (typeof parsed === 'string') {
      if (failing !== parsed) log.log({ event: 'stop-source-unreadable', path, detail: parsed });
      failing = parsed;
      return TRANSIT_POSITION_UNKNOWN;
    }
    if (failing !== null) log.log({ event: 'stop-source-back', path, stop: parsed.stop });
    failing = null;
    return parsed;
  };
}
