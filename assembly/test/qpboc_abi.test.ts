// The transaction ABI: configuration, input validation, state errors, PDOL data, reason codes.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { KernelOp, KernelStatus } from '../host/abi.gen.js';
import { loadKernel, type Kernel } from '../host/kernel_loader.js';
import {
  DEFAULT_TERMINAL_CONFIG,
  QPBOC_REASONS,
  configureQpboc,
  encodeQpbocConfig,
  encodeQpbocInput,
  runQpbocTransaction,
  tlvEncode,
  type QpbocTransactionInput,
} from '../host/qpboc_session.js';
import { REPO_ROOT } from './support/codec_vectors.js';
import { fromHex, toHex } from './qpboc_support.js';

const INPUT: QpbocTransactionInput = {
  mode: 'ec',
  amountMinor: 150,
  date: '250601',
  time: '235959',
  unpredictableNumber: Uint8Array.of(0xde, 0xad, 0xbe, 0xef),
};
const EMPTY = new Uint8Array(0);
let kernel: Kernel;

beforeEach(async () => {
  kernel = await loadKernel();
});

function begin(input: Uint8Array, mode = 0): number {
  return kernel.step(KernelOp.OP_TXN_BEGIN, mode, input);
}

describe('reason codes', () => {
  it('the host mirror matches assembly/src/qpboc/qpboc_reason.ts exactly', () => {
    const text = readFileSync(
      join(REPO_ROOT, 'assembly', 'src', 'qpboc', 'qpboc_reason.ts'),
      'utf8',
    );
    const kernelReasons = new Map<number, string>();
    for (const m of text.matchAll(/^export const REASON_([A-Z0-9_]+): u8 = (\d+);/gm)) {
      kernelReasons.set(Number(m[2]), (m[1] ?? '').toLowerCase().replace(/_/g, '-'));
    }
    expect(kernelReasons.size).toBeGreaterThan(20);
    const host = new Map(Object.entries(QPBOC_REASONS).map(([k, v]) => [Number(k), v as string]));
    expect(host).toEqual(kernelReasons);
  });
});

describe('OP_TXN_CONFIGURE', () => {
  const country = tlvEncode(0x9f1a, fromHex('0156'));
  const currency = tlvEncode(0x5f2a, fromHex('0156'));
  const aid = tlvEncode(0xe1, tlvEncode(0x4f, fromHex('A000000333010101')));
  const cases: Array<[string, Uint8Array, number]> = [
    ['complete', Buffer.concat([country, currency, aid]), KernelStatus.STATUS_OK],
    ['no AID', Buffer.concat([country, currency]), KernelStatus.ERR_TXN_CONFIG_NO_AID],
    ['no country', Buffer.concat([currency, aid]), KernelStatus.ERR_TXN_CONFIG_INVALID],
    [
      'country not BCD',
      Buffer.concat([tlvEncode(0x9f1a, fromHex('01AF')), currency, aid]),
      KernelStatus.ERR_TXN_CONFIG_INVALID,
    ],
    [
      'AID of 4 bytes',
      Buffer.concat([country, currency, tlvEncode(0xe1, tlvEncode(0x4f, fromHex('A0000003')))]),
      KernelStatus.ERR_TXN_CONFIG_INVALID,
    ],
    [
      'unknown tag',
      Buffer.concat([country, currency, aid, tlvEncode(0x9f35, fromHex('22'))]),
      KernelStatus.ERR_TXN_CONFIG_INVALID,
    ],
    [
      'extra data overriding the TTQ',
      Buffer.concat([
        country,
        currency,
        aid,
        tlvEncode(0xe2, tlvEncode(0x9f66, fromHex('FFFFFFFF'))),
      ]),
      KernelStatus.ERR_TXN_CONFIG_INVALID,
    ],
    [
      'limit not n12',
      Buffer.concat([country, currency, aid, tlvEncode(0xdf20, fromHex('0001'))]),
      KernelStatus.ERR_TXN_CONFIG_INVALID,
    ],
    [
      'truncated TLV',
      Buffer.concat([country, currency, aid]).subarray(0, 20),
      KernelStatus.ERR_TLV_LENGTH_OVERFLOW,
    ],
  ];
  for (const [name, bytes, status] of cases) {
    it(`${name}: ${KernelStatus[status]}`, () => {
      expect(kernel.step(KernelOp.OP_TXN_CONFIGURE, 0, bytes)).toBe(status);
    });
  }

  it('a refused configuration leaves the previous one active', () => {
    expect(configureQpboc(kernel, DEFAULT_TERMINAL_CONFIG)).toBe(KernelStatus.STATUS_OK);
    expect(kernel.step(KernelOp.OP_TXN_CONFIGURE, 0, Buffer.concat([country, currency]))).toBe(
      KernelStatus.ERR_TXN_CONFIG_NO_AID,
    );
    expect(begin(encodeQpbocInput(INPUT))).toBe(KernelStatus.STATUS_NEED_APDU);
  });

  it('the host encoder writes what the kernel accepts', () => {
    const bytes = encodeQpbocConfig({
      ...DEFAULT_TERMINAL_CONFIG,
      contactlessLimitMinor: 100000,
      extraTerminalData: tlvEncode(0x9f35, fromHex('22')),
    });
    expect(toHex(bytes)).toBe(
      '9F1A0201565F2A020156DF2006000000100000E10E4F07A0000003330101DF812001' +
        '01E20F9F33032008C89F090200309F350122',
    );
    expect(kernel.step(KernelOp.OP_TXN_CONFIGURE, 0, bytes)).toBe(KernelStatus.STATUS_OK);
  });
});

describe('OP_TXN_BEGIN input and state checks', () => {
  beforeEach(() => {
    expect(configureQpboc(kernel, DEFAULT_TERMINAL_CONFIG)).toBe(KernelStatus.STATUS_OK);
  });

  it('refuses to start before a configuration', async () => {
    const fresh = await loadKernel();
    expect(fresh.step(KernelOp.OP_TXN_BEGIN, 0, encodeQpbocInput(INPUT))).toBe(
      KernelStatus.ERR_TXN_NOT_CONFIGURED,
    );
  });

  const good = encodeQpbocInput(INPUT);
  const bad: Array<[string, Uint8Array, number]> = [
    ['amount not BCD', Uint8Array.from([0, 0, 0, 0, 0x1a, 0, ...good.subarray(6)]), 0],
    [
      'month 13',
      Uint8Array.from([...good.subarray(0, 6), 0x25, 0x13, 0x01, ...good.subarray(9)]),
      0,
    ],
    ['day 00', Uint8Array.from([...good.subarray(0, 6), 0x25, 0x06, 0x00, ...good.subarray(9)]), 0],
    ['hour 24', Uint8Array.from([...good.subarray(0, 9), 0x24, 0, 0, ...good.subarray(12)]), 0],
    ['16 bytes', good.subarray(0, 16), 0],
    ['mode 4', good, 4],
    ['18 bytes', Uint8Array.from([...good, 0]), 0],
    ['9F41 not BCD', Uint8Array.from([...good, 0x00, 0x00, 0x00, 0x0a]), 0],
  ];
  for (const [name, input, mode] of bad) {
    it(`${name}: ERR_TXN_INPUT_INVALID, no output`, () => {
      expect(begin(input, mode)).toBe(KernelStatus.ERR_TXN_INPUT_INVALID);
      expect(kernel.output().length).toBe(0);
    });
  }

  it('stages SELECT PPSE, refuses a second begin, and aborts cleanly', () => {
    expect(begin(good)).toBe(KernelStatus.STATUS_NEED_APDU);
    expect(toHex(kernel.output())).toBe('00A404000E325041592E5359532E444446303100');
    expect(begin(good)).toBe(KernelStatus.ERR_BAD_STATE);
    expect(
      kernel.step(KernelOp.OP_TXN_CONFIGURE, 0, encodeQpbocConfig(DEFAULT_TERMINAL_CONFIG)),
    ).toBe(KernelStatus.ERR_BAD_STATE);
    expect(kernel.step(KernelOp.OP_TXN_DECIDE, 1, EMPTY)).toBe(KernelStatus.ERR_BAD_STATE);
    expect(kernel.step(KernelOp.OP_TXN_ABORT, 0, EMPTY)).toBe(KernelStatus.STATUS_OK);
    expect(kernel.step(KernelOp.OP_TXN_RESUME, 0, fromHex('9000'))).toBe(
      KernelStatus.ERR_BAD_STATE,
    );
    expect(kernel.step(KernelOp.OP_TXN_LINK_LOST, 2, EMPTY)).toBe(KernelStatus.ERR_BAD_STATE);
    expect(begin(good)).toBe(KernelStatus.STATUS_NEED_APDU);
  });

  it('link lost with cause 0 is an input error and keeps the transaction', () => {
    expect(begin(good)).toBe(KernelStatus.STATUS_NEED_APDU);
    expect(kernel.step(KernelOp.OP_TXN_LINK_LOST, 0, EMPTY)).toBe(
      KernelStatus.ERR_TXN_INPUT_INVALID,
    );
    expect(kernel.step(KernelOp.OP_TXN_LINK_LOST, 1, EMPTY)).toBe(KernelStatus.STATUS_TRY_AGAIN);
  });
});

describe('PDOL data', () => {
  // A card whose PDOL asks for every object the kernel sets, plus two configured extras.
  const pdol =
    '9F66049F02069F03069F1A0295055F2A029A039C019F3704DF6001DF69019F7A019F21039F35019F4E06';
  /** The FCI, with DF61 (online ODA, domain.md 6.2) in BF0C when `df61` is given. */
  const fciOf = (df61: number | null): string =>
    toHex(
      tlvEncode(
        0x6f,
        Buffer.concat([
          tlvEncode(0x84, fromHex('A000000333010106')),
          tlvEncode(
            0xa5,
            Buffer.concat([
              tlvEncode(0x50, Buffer.from('EC')),
              tlvEncode(0x9f38, fromHex(pdol)),
              df61 === null
                ? new Uint8Array(0)
                : tlvEncode(0xbf0c, tlvEncode(0xdf61, Uint8Array.of(df61))),
            ]),
          ),
        ]),
      ),
    );

  async function gpoData(mode: 'ec' | 'oda', df61: number | null = null): Promise<string> {
    const fci = fciOf(df61);
    expect(
      configureQpboc(kernel, {
        ...DEFAULT_TERMINAL_CONFIG,
        extraTerminalData: Buffer.concat([
          tlvEncode(0x9f35, fromHex('26')),
          tlvEncode(0x9f4e, Buffer.from('BUS')),
        ]),
      }),
    ).toBe(KernelStatus.STATUS_OK);
    const answers = [fromHex('6A82'), fromHex(`${fci}9000`), fromHex('6985')];
    let gpo = '';
    await runQpbocTransaction(
      kernel,
      {
        transceive: async (c) => {
          if (c[1] === 0xa8) gpo = toHex(c);
          return answers.shift() ?? null;
        },
        decide: () => 'proceed',
      },
      { ...INPUT, mode },
    );
    return gpo;
  }

  it('EC: TTQ 28000080, n amounts, zero TVR, DF60/DF69 00, 9F7A 01, padded extras', async () => {
    expect(await gpoData('ec')).toBe(
      '80A8000030' +
        '832E' +
        '28000080' +
        '000000000150' +
        '000000000000' +
        '0156' +
        '0000000000' +
        '0156' +
        '250601' +
        '00' +
        'DEADBEEF' +
        '00' +
        '00' +
        '01' +
        '235959' +
        '26' +
        '425553000000' +
        '00',
    );
  });

  it('ODA mode, DF61 online ODA: TTQ 21800080 (ODA for online, ARQC required), 9F7A 00', async () => {
    const data = await gpoData('oda', 0x40);
    expect(data.slice(14, 22)).toBe('21800080');
    const at = 14 + 2 * (4 + 6 + 6 + 2 + 5 + 2 + 3 + 1 + 4 + 1 + 1);
    expect(data.slice(at, at + 2)).toBe('00');
  });

  it('ODA mode, no DF61 or its bit clear: TTQ 40800000 (full contactless PBOC flow)', async () => {
    expect((await gpoData('oda')).slice(14, 22)).toBe('40800000');
    expect((await gpoData('oda', 0x80)).slice(14, 22)).toBe('40800000');
  });
});
