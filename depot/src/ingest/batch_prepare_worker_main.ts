// The worker thread of batch_prepare_pool.ts: parses, validates and seals batch bodies with
// its own PAN vault (the data key comes in workerData) and answers each with the sealed batch
// (packed: batch_pack.ts) or the BatchError's fields. It never touches the database.

import { parentPort, workerData } from 'node:worker_threads';

import { panVault } from '../store/pan_vault.js';
import { BatchError } from './batch_error.js';
import { batchPack } from './batch_pack.js';
import { batchParse } from './batch_seal.js';
import type { PrepareAnswer, PrepareJob, PrepareWorkerData } from './batch_prepare_pool.js';

const data = workerData as PrepareWorkerData;
const port = parentPort;
if (port === null) throw new Error('batch prepare worker started outside a worker thread');
const vault = panVault(data.dataKey);

port.on('message', (job: PrepareJob) => {
  let answer: PrepareAnswer;
  try {
    answer = { id: job.id, ok: true, packed: batchPack(batchParse(job.text, job.terminalId),
      vault) };
  } catch (error) {
    answer = error instanceof BatchError
      ? { id: job.id, ok: false, code: error.code, path: error.path, reason: error.reason }
      : { id: job.id, ok: false, code: 'internal', path: '',
        reason: error instanceof Error ? error.message : String(error) };
  }
  // The typed arrays move (their memory changes owner); the texts string is copied once.
  port.postMessage(answer, answer.ok ? [answer.packed.numbers.buffer,
    answer.packed.textLengths.buffer] : []);
});
