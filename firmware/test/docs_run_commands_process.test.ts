// The install commands of README.md and docs/install.md, run as written in a new directory:
// a reader follows them line by line, so a `shuaka run` line they end with must get past the
// parameter set and its keys. The truth is the real process's exit code: 3 (the reader, which
// a test has none of: --port is pointed at /dev/null) and not 1 (refused to start).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { BIN, ROOT } from './gate/gate_run_child.js';

const EXIT_READER = 3;
let dir = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'shuaka-docs-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The ```sh block that follows `heading` in `file`, its `\` continuations joined. */
function shBlockAfter(file: string, heading: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const from = text.indexOf(heading);
  expect(from, `${heading} in ${file}`).toBeGreaterThan(-1);
  const open = text.indexOf('```sh\n', from) + '```sh\n'.length;
  const block = text.slice(open, text.indexOf('```', open));
  return block.replace(/\\\n\s*/g, ' ').split('\n');
}

/** Each `shuaka ...` command of the lines (comments cut, `&&` chains split). */
function shuakaCommands(lines: readonly string[]): string[][] {
  return lines
    .flatMap((line) => (line.split('#')[0] ?? '').split('&&'))
    .map((command) => command.trim().split(/\s+/))
    .filter((words) => words[0] === 'shuaka');
}

/** The command with its device paths made this machine's: no reader, no sysfs. */
function onThisMachine(words: readonly string[]): string[] {
  const out = [...words.slice(1)];
  for (let i = 0; i < out.length - 1; i += 1) {
    if (out[i] === '--port') out[i + 1] = '/dev/null';
    if (out[i] === '--sysfs-root') out[i + 1] = join(dir, 'no-sys');
  }
  return out;
}

/** Runs the commands in order; every one before `run` must succeed. The `run`'s exit code. */
function runInOrder(commands: readonly string[][]): number | null {
  let runCode: number | null = null;
  for (const words of commands) {
    const argv = onThisMachine(words);
    if (argv[0] === 'emu') continue;
    const child = spawnSync(process.execPath, [BIN, ...argv],
      { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    if (argv[0] === 'run') {
      runCode = child.status;
      expect(child.stderr, argv.join(' ')).not.toMatch(/deny key missing|refused/);
      continue;
    }
    expect(child.status, `${argv.join(' ')}: ${child.stderr}`).toBe(0);
  }
  return runCode;
}

describe('install commands of the docs, run as written', () => {
  it('readme_installOnABoard_reachesTheReader', () => {
    const commands = shuakaCommands(shBlockAfter('README.md', '## Install on a board'));
    expect(commands.map((c) => c[1])).toContain('run');
    expect(runInOrder(commands)).toBe(EXIT_READER);
  }, 120_000);

  it('installGuide_parametersThenTryItWithoutHardware_reachesTheReader', () => {
    const commands = [
      ...shuakaCommands(shBlockAfter('docs/install.md', '## 3. Parameters')),
      ...shuakaCommands(shBlockAfter('docs/install.md', '## 7. Try it without hardware')),
    ];
    expect(commands.map((c) => c[1])).toContain('run');
    expect(runInOrder(commands)).toBe(EXIT_READER);
  }, 120_000);
});
