// The worker thread of an upload pass (see upload_pass_worker.ts): reads the journal directory
// read only, sends the batches over its own HTTPS connection, and tells the main thread each
// batch the depot stored. It never writes the journal: the ack is the tap loop's to write.

import { randomBytes } from 'node:crypto';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

import { FileStorage } from '../../../hal/src/storage/file_storage.js';
import { PanVault } from '../app/journal/pan_vault.js';
import { dataKeyLoad } from '../app/journal/pan_vault_file.js';
import { uploadPass } from '../app/upload/upload_batches.js';
import { UploadCursor } from '../app/upload/upload_cursor.js';
import { uploadPassRunner, type UploadPassResult } from '../app/upload/upload_send.js';
import { DepotHttps } from './depot_https.js';
import type { UploadPassRequest, UploadPassWorkerMessage } from './upload_pass_worker.js';

const request = workerData as UploadPassRequest;
const port = parentPort;
if (port === null) throw new Error('upload pass worker started outside a worker thread');
const post = (message: UploadPassWorkerMessage): void => port.postMessage(message);

/** How long one wait on a closed gate lasts before looking again (a bound, not a poll). */
const GATE_WAIT_MS = 1_000;
const gate = new Int32Array(request.gate);

/** Blocks this thread while the tap gate is closed. */
function gateWait(): void {
  for (let holders = Atomics.load(gate, 0); holders > 0; holders = Atomics.load(gate, 0)) {
    Atomics.wait(gate, 0, holders, GATE_WAIT_MS);
  }
}

/** The previous pass's cursor; this pass leaves its own in it. */
const cursor = UploadCursor.fromImage(request.cursor);

async function main(): Promise<UploadPassResult> {
  try {
    // Linux: per thread. Lowering one's own priority needs no privilege; elsewhere it may fail.
    setPriority(request.niceness);
  } catch {
    // The gate still keeps the upload out of a tap's way.
  }
  const storage = await FileStorage.open(request.dir, { quotaBytes: null, readOnly: true });
  if (!storage.ok) return { kind: 'read-failed', detail: storage.detail };
  const key = await dataKeyLoad(request.dataKeyPath);
  if (!key.ok) {
    await storage.value.close();
    return { kind: 'read-failed', detail: `data key ${key.detail}` };
  }
  const vault = PanVault.fromKey(key.value, (length) => new Uint8Array(randomBytes(length)));
  const depot = new DepotHttps({ url: new URL(request.depotUrl), identity: request.identity,
    timeoutMs: request.timeoutMs, pace: async () => gateWait() });
  const run = uploadPassRunner(
    (context, limits, send) =>
      uploadPass(storage.value, request.fileName, context, limits, send, gateWait, cursor),
    { depot, terminalId: request.terminalId, waitForNoTap: async () => gateWait() },
  );
  const context = { ackThroughSeq: request.ackThroughSeq, openSeqs: new Set(request.openSeqs),
    vault };
  try {
    return await run(context, request.limits, (batch) => post({ kind: 'stored', batch }));
  } finally {
    depot.close();
    await storage.value.close();
  }
}

main().then((result) => post({ kind: 'end', result, cursor: cursor.image() }),
  (error: unknown) => {
    const detail = error instanceof Error ? error.message : String(error);
    post({ kind: 'end', result: { kind: 'read-failed', detail }, cursor: null });
  });
