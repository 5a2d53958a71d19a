// A spawned `shuaka` process for the package tests: waits for output lines and the exit.

import type { ChildProcess } from 'node:child_process';

/** How long a test waits for one line or an exit before failing with what was printed. */
const WAIT_MS = 60_000;

export interface Child {
  /** Resolves with the match of the first stdout line (seen or to come) matching `pattern`. */
  line(pattern: RegExp): Promise<RegExpExecArray>;
  /** Writes one line on stdin. */
  write(line: string): void;
  /** Resolves with the exit code (a signal gives -1). */
  exit(): Promise<number>;
  /** SIGKILL if still running (cleanup after a failed assertion). */
  kill(): void;
}

/** Wraps a spawned process whose stdout is line-oriented. */
export function childOf(child: ChildProcess): Child {
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  const waiters: (() => void)[] = [];
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr += text;
  });
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code) => {
      for (const wake of waiters.splice(0)) wake();
      resolve(code ?? -1);
    });
  });
  const timeout = (what: string): Error =>
    new Error(`no ${what} within ${WAIT_MS} ms; stdout:\n${lines.join('\n')}\nstderr:\n${stderr}`);
  return {
    line: (pattern) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(timeout(String(pattern))), WAIT_MS);
      const look = (): void => {
        for (const line of lines) {
          const match = pattern.exec(line);
          if (match !== null) {
            clearTimeout(timer);
            resolve(match);
            return;
          }
        }
        if (child.exitCode !== null) {
          clearTimeout(timer);
          reject(timeout(`${String(pattern)} (exited ${child.exitCode})`));
        } else waiters.push(look);
      };
      look();
    }),
    write: (line) => {
      child.stdin?.write(`${line}\n`);
    },
    exit: async () => {
      const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: () => {
      // SIGTERM: emu then stops its socat too (SIGKILL would orphan it).
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
