// The worker thread of batch_prepare_pool.ts: parses, validates and seals batch bodies with
// its own PAN vault (the data key comes in workerData) and answers each with the sealed batch
// (packed: batch_pack.ts) or the BatchError's fields. It never touches the database.

import { parentPort, workerData } from 'node:worker_threads';

import { panVault } from '../store/pan_vault.js';
import { BatchError } from './batch_error.js';
import { batchPack } from './batch_pack.js';
import { batchParse, batchSeal } from './batch_seal.js';
import type { PrepareAnswer, PrepareJob, PrepareWorkerData } from './batch_prepare_pool.js';

const data = workerData as PrepareWorkerData;
const port = parentPort;
if (port === null) throw new Error('batch prepare worker started outside a worker thread');
const vault = panVault(data.dataKey);

port.on('message', (job: PrepareJob) => {
  let answer: PrepareAnswer;
  try {
    const batch = batchParse(job.text, job.terminalId);
    const packed = batchPack(batch, vault);
    answer = packed === null ? { id: job.id, ok: true, batch: batchSeal(batch, vault) }
      : { id: job.id, ok: true, packed };
  } catch (error) {
    answer = error instanceof BatchError
      ? { id: job.id, ok: false, code: error.code, path: error.path, reason: error.reason }
      : { id: job.id, ok: false, code: 'internal', path: '',
        reason: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(answer);
});
