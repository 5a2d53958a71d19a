// The depot's deny-list publication keeps T-Union cards: a base list built from `tunion:SERIAL`
// lines (shuaka params denylist-build) merged with bank tokens (what open debts give) is one
// list in which both kinds answer, each by its own lookup. Truth: the validator's own lookup
// (DenyList.containsTunion / contains) on the published image, and node:crypto's HMAC.
// Only the merge is exercised here: the database side (open debts) holds bank cards only.

import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { DenyList, DENY_LIST_RECORD_WORDS, tokenWord }
  from '../../../firmware/src/app/deny_list/deny_list.js';
import { denyListBuild } from '../../../firmware/src/app/deny_list/deny_list_build.js';
import { TEST_DENY_KEY, TEST_DENY_KEY_BYTES } from '../../../firmware/test/deny_key_fixture.js';
import { denyImageOf, denyTokensOfImage } from '../../src/publish/deny_publish.js';

const SERIALS = ['10005840000012345678', '31000000000000000001'];
const BANK = { pan: '6231000000000001', psn: 1 };

function wordsOf(token: Uint8Array): Uint32Array {
  const words = new Uint32Array(DENY_LIST_RECORD_WORDS);
  for (let w = 0; w < DENY_LIST_RECORD_WORDS; w += 1) words[w] = tokenWord(token, 4 * w);
  return words;
}

describe('deny publication with T-Union cards', () => {
  it('mergesABaseOfTunionTokensWithDebtTokens_bothAnswer', () => {
    const base = denyListBuild(SERIALS.map((s) => `tunion:${s}`).join('\n'), 'base',
      TEST_DENY_KEY);
    if (!base.ok) throw base.error;
    const bankToken = createHmac('sha256', TEST_DENY_KEY_BYTES)
      .update(Buffer.concat([Buffer.from(BANK.pan), Buffer.from([BANK.psn])])).digest()
      .subarray(0, 12);
    const published = denyImageOf(
      [denyTokensOfImage(base.value.image, TEST_DENY_KEY), wordsOf(bankToken)], TEST_DENY_KEY);
    expect(published.count).toBe(3);
    const loaded = DenyList.load(published.image, 'deny_list.bin');
    if (!loaded.ok) throw loaded.error;
    const list = loaded.value.bind(TEST_DENY_KEY, 'deny_list.bin');
    if (!list.ok) throw list.error;
    for (const s of SERIALS) expect(list.value.containsTunion(s)).toBe(true);
    expect(list.value.contains(BANK.pan, BANK.psn)).toBe(true);
    expect(list.value.containsTunion('10005840000012345679')).toBe(false);
  });
});
