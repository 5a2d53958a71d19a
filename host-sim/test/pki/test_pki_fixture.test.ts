// The cached PKI fixtures equal what the seeded generator produces (UPDATE_FIXTURES=1 rewrites).

import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CAPK_FIXTURE_URL,
  PRIMES_FIXTURE_URL,
  renderCapkFixture,
  renderPrimesFixture,
} from '../../src/pki/test_pki_fixture.js';
import { createTestPki } from '../../src/pki/test_pki.js';
import { TEST_PKI_SEED } from '../../src/pki/test_pki_spec.js';

const UPDATE = process.env['UPDATE_FIXTURES'] === '1';

function compareOrUpdate(url: URL, fresh: string): void {
  if (UPDATE) writeFileSync(url, fresh);
  const stored = readFileSync(url, 'utf8');
  expect(stored, `${url.pathname} is stale: rerun with UPDATE_FIXTURES=1`).toBe(fresh);
}

describe('test PKI fixtures', () => {
  it('primesFixture_equalsSeededRegeneration', () => {
    compareOrUpdate(PRIMES_FIXTURE_URL, renderPrimesFixture(TEST_PKI_SEED));
  });

  it('capkFixture_equalsCaKeysOfDefaultPki', () => {
    compareOrUpdate(CAPK_FIXTURE_URL, renderCapkFixture(createTestPki(TEST_PKI_SEED)));
  });
});
