// The validator's PSAM through PC/SC (`shuaka run --psam pcsc:NAME`): the SAM slot of a
// validator board or a desktop contact reader, opened by name at boot; the PSAM powered, its
// application selected, its terminal number and key index read (tunion_psam.ts).

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import { PcscPsam } from '../../../hal/src/pcsc/pcsc_psam.js';
import {
  TUNION_PSAM_OPTIONS_DEFAULT,
  tunionPsamOpen,
  tunionPsamProblemText,
} from '../app/validator/tunion_psam.js';
import type { LogPort, ValidatorPsam } from '../app/validator/validator_ports.js';
import { pcscReadersWaitFor } from './pcsc_board_reader.js';

/** A PSAM opened at boot, and how to let it go. */
export interface PcscBoardPsam {
  readonly psam: ValidatorPsam;
  close(): Promise<void>;
}

/**
 * Opens PC/SC, waits up to PCSC_READER_START_WAIT_MS for the reader `name` (a prefix of its
 * PC/SC name is enough), powers the PSAM and reads files 0016/0017. Returns the PSAM, or the
 * sentence for the operator: PC/SC binding missing, reader not listed (with the readers that
 * are), slot empty, or the PSAM's refusal of a step (with its status word).
 */
export async function bootPcscPsam(
  name: string,
  clock: ClockPort,
  log: LogPort,
): Promise<{ ok: true; value: PcscBoardPsam } | { ok: false; message: string }> {
  const listed = await pcscReadersWaitFor(name, clock, log,
    { events: 'psam-pcsc', what: 'PSAM: PC/SC reader' });
  if (!listed.ok) return listed;
  const readers = listed.value;
  const port = new PcscPsam({ readerName: name, readers, clock, shareMode: 'exclusive' });
  const opened = await tunionPsamOpen(port, TUNION_PSAM_OPTIONS_DEFAULT);
  const close = async (): Promise<void> => {
    await port.powerOff();
    readers.close();
  };
  if (!opened.ok) {
    await close();
    return { ok: false, message: `${tunionPsamProblemText(opened.problem)} (reader "${name}")` };
  }
  return { ok: true, value: { psam: opened.value, close } };
}
