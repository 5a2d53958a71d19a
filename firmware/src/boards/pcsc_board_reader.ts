// The validator's contactless reader through PC/SC (`shuaka run --reader pcsc:NAME`): an
// ACR122U-class reader opened by name, its loss reported and waited out (PcscReaders reopens
// a lost PC/SC context by itself, with backoff).

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { PcscReader } from '../../../hal/src/pcsc/pcsc_reader.js';
import { PcscReaders } from '../../../hal/src/pcsc/pcsc_readers.js';
import type { LogPort } from '../app/validator/validator_ports.js';

/** A PC/SC reader on the board. */
export interface PcscBoardReader {
  readonly reader: PcscReader;
  /** The name asked for (a prefix of PC/SC's name is enough). */
  readonly name: string;
  /** Why the reader is unusable now (absent from PC/SC), or null. */
  lost(): string | null;
  /** Resolves once the reader is listed again ('back'), or 'stopped' when a stop came first. */
  recover(
    stopRequested: () => boolean,
  ): Promise<{ kind: 'back'; downMs: number } | { kind: 'stopped' }>;
  close(): Promise<void>;
}

/** How long `shuaka run` waits at start for the named reader to be listed, ms. */
export const PCSC_READER_START_WAIT_MS = 3000;
const PCSC_STATUS_INTERVAL_MS = 20;
const PCSC_RECOVER_INTERVAL_MS = 200;

/**
 * Opens PC/SC and the reader `name`. Returns the reader, or the sentence for the operator:
 * PC/SC binding missing (how to install it), or the reader not listed within
 * PCSC_READER_START_WAIT_MS (with the readers that are).
 */
export async function bootPcscReader(
  name: string,
  clock: ClockPort,
  log: LogPort,
): Promise<{ ok: true; value: PcscBoardReader } | { ok: false; message: string }> {
  const listed = await pcscReadersWaitFor(name, clock, log,
    { events: 'pcsc', what: 'PC/SC reader' });
  if (!listed.ok) return listed;
  const readers = listed.value;
  const reader = new PcscReader({
    readerName: name,
    readers,
    clock,
    statusIntervalMs: PCSC_STATUS_INTERVAL_MS,
  });
  const lost = (): string | null =>
    readers.find(name) === null ? `PC/SC reader "${name}" gone` : null;
  return {
    ok: true,
    value: {
      reader,
      name,
      lost,
      recover: async (stopRequested) => {
        const down = clock.nowMs();
        while (lost() !== null) {
          if (stopRequested()) return { kind: 'stopped' };
          await clock.sleepMs(PCSC_RECOVER_INTERVAL_MS);
        }
        return { kind: 'back', downMs: clock.nowMs() - down };
      },
      close: async () => {
        await reader.release();
        readers.close();
      },
    },
  };
}

/**
 * Opens PC/SC and waits up to PCSC_READER_START_WAIT_MS for the reader `name` (a prefix of
 * its PC/SC name) to be listed; PC/SC events other than status are logged as
 * `<events>-<kind>`. Returns the open readers, or the sentence for the operator: the
 * binding's own message (missing, how to install), or `<what> "NAME" not found (readers: ...)`.
 */
export async function pcscReadersWaitFor(
  name: string,
  clock: ClockPort,
  log: LogPort,
  names: { readonly events: string; readonly what: string },
): Promise<{ ok: true; value: PcscReaders } | { ok: false; message: string }> {
  let readers: PcscReaders;
  // Why PC/SC is down (pcscd not running): the refusal names it, not only the log.
  const service: { lost: string | null } = { lost: null };
  try {
    readers = await PcscReaders.open({
      clock,
      reopenBackoffMs: 250,
      reopenBackoffMaxMs: 8000,
      onEvent: (e) => {
        if (e.kind === 'status') return;
        if (e.kind === 'context-lost') service.lost = e.detail;
        if (e.kind === 'context-open') service.lost = null;
        log.log({ event: `${names.events}-${e.kind}`, detail: JSON.stringify(e) });
      },
    });
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  const started = clock.nowMs();
  while (readers.find(name) === null && clock.nowMs() - started < PCSC_READER_START_WAIT_MS) {
    await clock.sleepMs(50);
  }
  if (readers.find(name) !== null) return { ok: true, value: readers };
  const listed = readers.names();
  readers.close();
  const which = listed.length === 0 ? 'no readers' : `readers: ${listed.join(', ')}`;
  const down = service.lost === null ? ''
    : `; the PC/SC service does not answer: ${service.lost}`;
  return { ok: false, message: `${names.what} "${name}" not found (${which}${down})` };
}
