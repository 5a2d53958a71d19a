// The worker thread of a journal read for the uploader (see upload_read_worker.ts): reads the
// journal directory read only and hands each slice to the main thread, one at a time.

import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

import { FileStorage } from '../../../hal/src/storage/file_storage.js';
import { PanVault } from '../app/journal/pan_vault.js';
import { dataKeyLoad } from '../app/journal/pan_vault_file.js';
import { uploadPass, type UploadBatchLimits } from '../app/upload/upload_batches.js';
import type { UploadReadRequest, UploadWorkerMessage } from './upload_read_worker.js';

const request = workerData as UploadReadRequest;
const port = parentPort;
if (port === null) throw new Error('upload read worker started outside a worker thread');

async function main(): Promise<void> {
  const post = (message: UploadWorkerMessage): void => port?.postMessage(message);
  const storage = await FileStorage.open(request.dir, { quotaBytes: null, readOnly: true });
  if (!storage.ok) {
    post({ kind: 'end', end: { kind: 'read-failed', detail: storage.detail } });
    return;
  }
  const key = await dataKeyLoad(request.dataKeyPath);
  if (!key.ok) {
    await storage.value.close();
    post({ kind: 'end', end: { kind: 'read-failed', detail: `data key ${key.detail}` } });
    return;
  }
  const vault = PanVault.fromKey(key.value, (length) => new Uint8Array(randomBytes(length)));
  const context = { ackThroughSeq: request.ackThroughSeq, openSeqs: new Set(request.openSeqs),
    vault };
  const limits: UploadBatchLimits = request.limits;
  const end = await uploadPass(storage.value, request.fileName, context, limits,
    (slice) => new Promise((resolve) => {
      port?.once('message', (verdict: 'continue' | 'stop') => resolve(verdict));
      post({ kind: 'slice', slice });
    }));
  await storage.value.close();
  post({ kind: 'end', end });
}

main().catch((error: unknown) => {
  const detail = error instanceof Error ? error.message : String(error);
  port.postMessage({ kind: 'end', end: { kind: 'read-failed', detail } });
});
