// The validator's own terminal id, kept beside the version floor in its journal directory.
//
// A depot publishes one parameter set for its whole fleet; its terminal.json names one
// terminal. A validator that installed it kept its own id in memory (paramsOwnTerminal), but
// its next start read the installed slot's terminal.json and ran as that other terminal:
// every record then carried a foreign id, and the depot refused every upload (a terminal
// mismatch) for good. The id the validator first started with is written here once, and
// each start runs the loaded set under it. A journal directory is one terminal's. The file
// carries a check value, as the floor does: one flipped bit of an id is another valid id.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ID_PATTERN } from './field_patterns.js';
import { durableReplace, fsyncDir } from './params_floor.js';
import { PARAMS_DISK } from './params_disk.js';

export const PARAMS_OWN_TERMINAL_FILE = 'terminal_id';

/** What the file says: absent (a first start), the id, or damage (the start is refused). */
export type OwnTerminalRead =
  | { readonly kind: 'absent' }
  | { readonly kind: 'ok'; readonly terminalId: string }
  | { readonly kind: 'corrupt'; readonly detail: string };

/** Reads `stateDir`'s own terminal id. Throws on I/O errors other than a missing file. */
export async function paramsOwnTerminalRead(stateDir: string): Promise<OwnTerminalRead> {
  let text: string;
  try {
    text = await readFile(join(stateDir, PARAMS_OWN_TERMINAL_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    throw error;
  }
  let record: { terminalId?: unknown; checkSha256Hex?: unknown };
  try {
    record = JSON.parse(text) as typeof record;
  } catch {
    return { kind: 'corrupt', detail: 'not JSON' };
  }
  const id = record.terminalId;
  if (typeof id !== 'string' || !ID_PATTERN.re.test(id)) {
    return { kind: 'corrupt', detail: `not a terminal id (${ID_PATTERN.says})` };
  }
  if (record.checkSha256Hex !== checkOf(id)) {
    return { kind: 'corrupt', detail: 'check value mismatch' };
  }
  return { kind: 'ok', terminalId: id };
}

function checkOf(terminalId: string): string {
  return createHash('sha256').update(`shuaka terminal id v1\n${terminalId}`).digest('hex')
    .toUpperCase();
}

/** Writes `terminalId` power-safely (temporary, fsync, rename, directory fsync). */
export async function paramsOwnTerminalWrite(stateDir: string, terminalId: string)
  : Promise<void> {
  const path = join(stateDir, PARAMS_OWN_TERMINAL_FILE);
  const record = { terminalId, checkSha256Hex: checkOf(terminalId) };
  await durableReplace(PARAMS_DISK, path, Buffer.from(`${JSON.stringify(record, null, 2)}\n`),
    () => undefined, 'terminal id');
  await fsyncDir(PARAMS_DISK, stateDir, () => undefined, 'terminal id dir');
}
