// Golden qPBOC transcripts: the exact C-APDU sequence and the outcome, core and component alike.

import { beforeAll, describe, expect, it } from 'vitest';
import { kernelStatusName } from '../host/abi.gen.js';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import { detailName } from '../../firmware/src/cli/qpboc_trace.js';
import {
  RecordingKernel,
  loadQpbocVectors,
  runVector,
  toHex,
  type QpbocVector,
} from './qpboc_support.js';

const vectors = loadQpbocVectors();
let core: Kernel;
let component: Kernel;

beforeAll(async () => {
  core = await loadKernel({ runtime: 'core' });
  component = await loadKernel({ runtime: 'component' });
});

async function check(kernel: Kernel, vector: QpbocVector): Promise<RecordingKernel> {
  const recording = new RecordingKernel(kernel);
  const memoryBefore = kernel.memoryBytes();
  const { outcome, unusedExchanges } = await runVector(recording, vector);
  const sent = outcome.transcript.map((e) => toHex(e.capdu));
  expect(sent).toEqual(vector.trace.exchanges.map((e) => toHex(e.c)));
  expect(unusedExchanges).toBe(0);
  expect(outcome.statusName).toBe(vector.expect.status);
  if (vector.expect.reason !== undefined) expect(outcome.reason).toBe(vector.expect.reason);
  if (vector.expect.detail !== undefined)
    expect(detailName(outcome.detail)).toBe(vector.expect.detail);
  if (vector.expect.recordKind !== undefined)
    expect(outcome.recordKind).toBe(vector.expect.recordKind);
  if (vector.expect.balanceMinor !== undefined)
    expect(outcome.balanceMinor).toBe(vector.expect.balanceMinor);
  if (vector.expect.decisions !== undefined)
    expect(outcome.decisions.length).toBe(vector.expect.decisions);
  if (vector.expect.outcomeHex !== undefined) {
    const last = recording.log[recording.log.length - 1];
    expect(last?.output.toUpperCase()).toBe(vector.expect.outcomeHex);
  }
  expect(kernel.faultCount()).toBe(0);
  expect(kernel.memoryBytes()).toBe(memoryBefore);
  return recording;
}

describe('qPBOC golden vectors', () => {
  it('has vectors from every file', () => {
    const files = new Set(vectors.map((v) => v.file));
    expect(files.has('qpboc_real.vec.json')).toBe(true);
    expect(vectors.length).toBeGreaterThanOrEqual(40);
    expect(new Set(vectors.map((v) => v.id)).size).toBe(vectors.length);
  });

  for (const vector of vectors) {
    it(`${vector.id}: ${vector.expect.status}`, async () => {
      const a = await check(core, vector);
      const b = await check(component, vector);
      // The component path must give the very same bytes at every step.
      expect(b.log).toEqual(a.log);
    });
  }

  it('names every expected status correctly (no typo in a vector)', () => {
    for (const vector of vectors) {
      expect(kernelStatusName(-99999)).toBe('STATUS_-99999');
      expect(vector.expect.status).toMatch(/^(STATUS|ERR)_[A-Z0-9_]+$/);
    }
  });
});
