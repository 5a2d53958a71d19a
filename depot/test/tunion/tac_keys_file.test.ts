// The --tac-keys file of `shuaka depot report`: a good file gives the keys by issuer id (any
// case), every malformed one is refused with the reason naming the entry at fault.

import { describe, expect, it } from 'vitest';
import { TacKeysFileError, tacKeysParse } from '../../src/tunion/tac_keys_file.js';

const KEY = '00112233445566778899AABBCCDDEEFF';

function refusal(text: string): string {
  try {
    tacKeysParse(text);
  } catch (error) {
    if (error instanceof TacKeysFileError) return error.message;
    throw error;
  }
  return 'accepted';
}

describe('tac keys file', () => {
  it('looksUpByIssuerId_inAnyCase_andNullForAnUnknownIssuer', () => {
    const keys = tacKeysParse(JSON.stringify({ '01011000ffffffff': KEY.toLowerCase() }));
    expect(Buffer.from(keys('01011000FFFFFFFF') ?? []).toString('hex').toUpperCase()).toBe(KEY);
    expect(keys('0000000000000099')).toBeNull();
  });

  it('refusesEveryMalformedFile_namingTheReason', () => {
    expect(refusal('{')).toMatch(/^not JSON/);
    expect(refusal('[]')).toMatch(/not a JSON object/);
    expect(refusal('null')).toMatch(/not a JSON object/);
    expect(refusal('{}')).toBe('no issuer key');
    expect(refusal(JSON.stringify({ '0101': KEY }))).toMatch(/issuer id "0101"/);
    expect(refusal(JSON.stringify({ '01011000FFFFFFFF': KEY.slice(2) }))).toMatch(
      /issuer 01011000FFFFFFFF is not 32 hex/);
    expect(refusal(JSON.stringify({ '01011000FFFFFFFF': 7 }))).toMatch(/not 32 hex/);
  });

  it('refusesAnIssuerGivenTwice_inOneCaseOrTwo_ratherThanKeepingTheLastKey', () => {
    const other = 'FFEEDDCCBBAA99887766554433221100';
    // JSON.parse keeps the last of two equal names: which key wins is the file's order.
    const same = `{"01011000FFFFFFFF": "${KEY}", "01011000FFFFFFFF": "${other}"}`;
    expect(refusal(same)).toMatch(/issuer 01011000FFFFFFFF is given twice/);
    const cases = JSON.stringify({ '01011000FFFFFFFF': KEY, '01011000ffffffff': other });
    expect(refusal(cases)).toMatch(/issuer 01011000FFFFFFFF is given twice/);
    const two = JSON.stringify({ '01011000FFFFFFFF': KEY, '0000000000000001': other });
    expect(refusal(two)).toBe('accepted');
  });
});
