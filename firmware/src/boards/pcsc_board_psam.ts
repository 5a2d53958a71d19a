// The validator's PSAM through PC/SC (`shuaka run --psam pcsc:NAME`): the SAM slot of a
// validator board or a desktop contact reader, opened by name at boot; the PSAM powered, its
// application selected, its terminal number and key index read (tunion_psam.ts). A PSAM that
// does not open at boot leaves the validator running without it until it opens.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { PsamPort } from '../../../hal/src/ports/psam_port.js';
import { PcscPsam } from '../../../hal/src/pcsc/pcsc_psam.js';
import {
  TUNION_PSAM_OPTIONS_DEFAULT,
  tunionPsamOpen,
  tunionPsamProblemText,
} from '../app/validator/tunion_psam.js';
import type { LogPort, ValidatorPsam } from '../app/validator/validator_ports.js';
import { pcscReadersWaitFor } from './pcsc_board_reader.js';

/**
 * The PSAM of `--psam` after boot: opened (`psam`), or its reader listed but the PSAM not
 * opened (`unopened`: the slot and the operator's sentence; the validator runs and opens it
 * at a T-Union card), and how to let it go.
 */
export interface PcscBoardPsam {
  readonly psam: ValidatorPsam | null;
  readonly unopened: { readonly port: PsamPort; readonly problem: string } | null;
  close(): Promise<void>;
}

/**
 * Opens PC/SC, waits up to PCSC_READER_START_WAIT_MS for the reader `name` (a prefix of its
 * PC/SC name is enough), powers the PSAM and reads files 0016/0017. Refused (the sentence for
 * the operator) only for what will not heal at the validator: the PC/SC binding missing, or
 * the reader not listed (with the readers that are). A slot that is empty or a PSAM that
 * refuses a step (with its status word) gives `unopened`: a PSAM can be put back or replaced.
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
    // Unpowered: the first attempt at a T-Union card starts from a cold reset.
    await port.powerOff();
    const problem = `${tunionPsamProblemText(opened.problem)} (reader "${name}")`;
    return { ok: true, value: { psam: null, unopened: { port, problem }, close } };
  }
  return { ok: true, value: { psam: opened.value, unopened: null, close } };
}
