// The gate board's second upload task: the gate ledger's lines to POST /v1/gate-records,
// beside the journal's uploader, on the same identity and contact interval.

import type { ClockPort } from '../../../hal/src/ports/clock_port.js';
import type { StoragePort } from '../../../hal/src/ports/storage_port.js';
import { GateUpload } from '../app/gate/gate_upload.js';
import type { LogPort } from '../app/validator/validator_ports.js';
import { DEPOT_TIMEOUT_MS, type BusDepotOptions } from './bus_uploader.js';
import { DepotHttps, depotIdentityRead } from './depot_https.js';

/** Slice of a wait between passes: a stop is seen within it. */
const STOP_CHECK_MS = 200;

/** The running task: `run` until `stopRequested`, then `close`. */
export interface GateRecordsUploader {
  run(stopRequested: () => boolean): Promise<void>;
  close(): void;
}

/**
 * Builds the task. Errors: the identity directory unreadable (a sentence for the operator).
 * A pass waits while `tapInProgress`; a failed pass is logged and tried again next contact.
 */
export async function bootGateRecordsUpload(
  depotOptions: BusDepotOptions,
  parts: {
    readonly storage: StoragePort;
    readonly terminalId: string;
    readonly tapInProgress: () => boolean;
    readonly clock: ClockPort;
    readonly log: LogPort;
  },
): Promise<{ ok: true; value: GateRecordsUploader } | { ok: false; message: string }> {
  const identity = await depotIdentityRead(depotOptions.identityDir);
  if (!identity.ok) {
    return { ok: false,
      message: `depot identity ${depotOptions.identityDir}: ${identity.detail}` };
  }
  const depot = new DepotHttps({ url: depotOptions.url, identity: identity.value,
    timeoutMs: DEPOT_TIMEOUT_MS });
  const upload = new GateUpload(parts.storage, parts.terminalId, async (body) => {
    const sent = await depot.postGateRecords(body);
    return sent.ok ? { ok: true, storedThroughLine: sent.value }
      : { ok: false, detail: `${sent.error}: ${sent.detail}` };
  });
  const { clock, log } = parts;
  const wait = async (ms: number, stop: () => boolean): Promise<void> => {
    for (let waited = 0; waited < ms && !stop(); waited += STOP_CHECK_MS) {
      await clock.sleepMs(Math.min(STOP_CHECK_MS, ms - waited));
    }
  };
  return { ok: true, value: {
    run: async (stop) => {
      while (!stop()) {
        while (parts.tapInProgress() && !stop()) await clock.sleepMs(STOP_CHECK_MS / 4);
        if (stop()) break;
        const pass = await upload.pass();
        if (pass.error !== null) {
          log.log({ event: 'gate-upload-error', sent: pass.sent, detail: pass.error });
        } else if (pass.sent > 0) {
          log.log({ event: 'gate-upload', sent: pass.sent });
        }
        await wait(depotOptions.contactIntervalMs, stop);
      }
    },
    close: () => depot.close(),
  } };
}
