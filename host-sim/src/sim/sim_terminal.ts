// The terminal of `shuaka sim`: a progress line that tap and summary lines never run into.

/** A stream the terminal writes to (process.stdout, process.stderr, or a test's recorder). */
export interface TerminalStream {
  write(text: string): unknown;
}

/** The SimIo a terminal gives: lines out and err, and the progress line on a TTY. */
export interface TerminalIo {
  out(text: string): void;
  err(text: string): void;
  /** Present on a TTY only: replaces the progress line. */
  status?: (text: string) => void;
  /** Clears the progress line, if one is showing (call before exiting). */
  endStatus(): void;
}

/** ECMA-48: carriage return, then EL 2 (erase the whole line); the cursor stays in column 1. */
export const ERASE_LINE = '\r\x1b[2K';

/**
 * Lines go to `stdout` and `stderr`; on a TTY (`statusStream` non-null) the progress line is
 * drawn on `statusStream` and erased before any other line is written, so a tap line or the
 * summary always starts in column 1 of a line of its own and the progress line is redrawn
 * below it at the next update. Both streams share one terminal, so the erase on one clears the
 * line the other left.
 */
export function terminalIo(
  stdout: TerminalStream,
  stderr: TerminalStream,
  statusStream: TerminalStream | null,
): TerminalIo {
  let showing = false;
  const clear = (): void => {
    if (!showing || statusStream === null) return;
    statusStream.write(ERASE_LINE);
    showing = false;
  };
  const io: TerminalIo = {
    out: (text) => {
      clear();
      stdout.write(`${text}\n`);
    },
    err: (text) => {
      clear();
      stderr.write(`${text}\n`);
    },
    endStatus: clear,
  };
  if (statusStream !== null) {
    io.status = (text) => {
      statusStream.write(`${ERASE_LINE}${text}`);
      showing = true;
    };
  }
  return io;
}
