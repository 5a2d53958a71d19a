// A minimal terminal for tests: what a screen shows after CR, LF, EL (ESC [ 2 K) and text.

/**
 * Replays `bytes` (a pty capture) onto a screen of lines and returns the lines as they would
 * be read after the run. Only what `shuaka sim` writes is modelled (ECMA-48): CR moves to
 * column 0, LF to column 0 of the next line (a tty's default `onlcr` sends LF as CR LF),
 * `ESC [ 2 K` erases the current line; printable characters
 * overwrite the cell under the cursor. Any other escape sequence fails the test (a new control
 * in the output must be modelled here first).
 */
export function terminalScreen(text: string): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] ?? '';
    if (ch === '\r') {
      col = 0;
    } else if (ch === '\n') {
      row += 1;
      col = 0;
      lines[row] ??= [];
    } else if (ch === '\x1b') {
      if (text.slice(i, i + 4) !== '\x1b[2K') {
        throw new Error(`unmodelled escape ${JSON.stringify(text.slice(i, i + 8))}`);
      }
      lines[row] = [];
      i += 3;
    } else {
      const line = lines[row] ?? [];
      while (line.length < col) line.push(' ');
      line[col] = ch;
      lines[row] = line;
      col += 1;
    }
  }
  return lines.map((line) => line.join('').trimEnd());
}
