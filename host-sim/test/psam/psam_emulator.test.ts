// The PSAM emulator APDU by APDU: files, T=0 GET RESPONSE / 6Cxx, INIT SAM FOR PURCHASE and
// CREDIT SAM FOR PURCHASE, and the maintenance MAC (80 1A / 80 FA) checked with the independent
// e-purse maths of support/ and node:crypto.

import { createCipheriv, createDecipheriv } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PsamEmulator, PsamNotPoweredError } from '../../src/psam/psam_emulator.js';
import { testMasterKey, testPsamProfile, TEST_ISSUER_ID } from '../../src/psam/psam_profile.js';
import type { PsamProfile } from '../../src/psam/psam_profile.js';
import { fileSerialStore } from '../../src/psam/psam_serial_store.js';
import { h, refDes, refDiversify, refPurchase, x } from './support/epurse_reference.js';

const AID = 'a0000006324d4f542e435053414d3031';
const ISSUER = x(TEST_ISSUER_ID);
const SERIAL8 = '0000000000112233';
const TIME = '20261203080000';

/** INIT SAM data of domain.md 7.4 step 3, spelt out field by field. */
function initData(amount: number, options: { kv?: string; alg?: string; type?: string } = {}) {
  const amountHex = amount.toString(16).padStart(8, '0');
  const kv = options.kv ?? '01';
  const alg = options.alg ?? '00';
  const type = options.type ?? '09';
  return `11223344 0007 ${amountHex} ${type} ${TIME} ${kv} ${alg} ${SERIAL8} ${ISSUER}`;
}

function send(psam: PsamEmulator, apdu: string): string {
  return x(psam.transmit(h(apdu)));
}

function selected(profile: PsamProfile = testPsamProfile()): PsamEmulator {
  const psam = new PsamEmulator(profile);
  psam.powerOn();
  const sw = send(psam, `00a4040010${AID}`);
  if (profile.protocol === 'T=0') {
    expect(sw).toBe('611a');
    expect(send(psam, '00c000001a')).toBe(`6f18 8410${AID} a5049f080101 9000`.replace(/ /g, ''));
  } else {
    expect(sw.endsWith('9000')).toBe(true);
  }
  return psam;
}

function expected(serial: number, amount: number) {
  return refPurchase({
    root: testMasterKey('purchase-root'),
    tacMaster: testMasterKey('tac'),
    issuerId: ISSUER,
    cardSerial8: SERIAL8,
    random: '11223344',
    atc: 7,
    terminalSerial: serial,
    amount,
    type: 9,
    terminalNumber: '000000000123',
    dateTime: TIME,
  });
}

describe('PSAM emulator: card basics', () => {
  it('atr_t0_isTs3bWithHistoricalBytes', () => {
    const psam = new PsamEmulator(testPsamProfile());
    expect(x(psam.powerOn())).toBe(`3b6a0000${Buffer.from('SHUAKAPSAM').toString('hex')}`);
    const t1 = new PsamEmulator(testPsamProfile({ protocol: 'T=1' })).powerOn();
    expect(t1.reduce((a, b) => a ^ b, 0) ^ 0x3b).toBe(0); // TCK: XOR of T0..TCK is 0
  });

  it('transmit_whenNotPowered_throws', () => {
    const psam = new PsamEmulator(testPsamProfile());
    expect(() => psam.transmit(h('00a40000023f00'))).toThrow(PsamNotPoweredError);
  });

  it('readBinary0016_t0_exactLeOr6Cxx', () => {
    const psam = new PsamEmulator(testPsamProfile());
    psam.powerOn();
    expect(send(psam, '00b0960006')).toBe('0000000001239000');
    expect(send(psam, '00b0960000')).toBe('6c06');
    expect(send(psam, '00b0970019')).toBe('6a82'); // 0017 lives in the DF
    expect(send(psam, '00b0000006')).toBe('0000000001239000'); // current EF is 0016 now
  });

  it('readBinary_t1_shortLeAndEndOfFile', () => {
    const psam = selected(testPsamProfile({ protocol: 'T=1' }));
    expect(send(psam, '00b0960004')).toBe('000000009000');
    expect(send(psam, '00b0960008')).toBe('0000000001236282');
    expect(send(psam, '00b0960400')).toBe('01239000');
    expect(send(psam, '00b0960700')).toBe('6b00');
    const f17 = send(psam, '00b0970000');
    expect(f17).toBe(`01${ISSUER}0101100000000001202401012099123 19000`.replace(/ /g, ''));
  });

  it('statusWords_forMalformedCommands', () => {
    const psam = new PsamEmulator(testPsamProfile());
    psam.powerOn();
    expect(send(psam, '00a4')).toBe('6700');
    expect(send(psam, '00a4040005a000')).toBe('6700'); // Lc says 5, 2 bytes follow
    expect(send(psam, '10a40000023f00')).toBe('6e00');
    expect(send(psam, '00ee000000')).toBe('6d00');
    expect(send(psam, '00a4040007a0000000031010')).toBe('6a82');
    expect(send(psam, '00a4080c023f00')).toBe('6a86');
    expect(send(psam, '00b0000006')).toBe('6986');
    expect(send(psam, '00c0000008')).toBe('6985');
    expect(send(psam, `8070000024${initData(100)}`.replace(/ /g, ''))).toBe('6985');
  });
});

describe('PSAM emulator: purchase', () => {
  it('initThenCredit_macsMatchIndependentComputation_serialMoves', () => {
    const psam = selected();
    for (const [serial, amount] of [
      [1, 200],
      [2, 35],
    ] as const) {
      expect(send(psam, `8070000024${initData(amount)}`.replace(/ /g, ''))).toBe('6108');
      const want = expected(serial, amount);
      const serialHex = serial.toString(16).padStart(8, '0');
      expect(send(psam, '00c0000008')).toBe(`${serialHex}${want.mac1}9000`);
      expect(send(psam, `8072000004${want.mac2}`)).toBe('9000');
      expect(send(psam, `8072000004${want.mac2}`)).toBe('6985'); // once only
    }
    expect(psam.nextTerminalSerial()).toBe(3);
    expect(psam.stats().mac2Verified).toBe(2);
  });

  it('credit_whenMac2Wrong_9302AndClosed', () => {
    const psam = selected(testPsamProfile({ protocol: 'T=1' }));
    const answer = send(psam, `8070000024${initData(200)}`.replace(/ /g, ''));
    expect(answer).toBe(`00000001${expected(1, 200).mac1}9000`);
    const mac2 = expected(1, 201).mac2; // a card that debited another amount
    expect(send(psam, `8072000004${mac2}`)).toBe('9302');
    expect(send(psam, `8072000004${expected(1, 200).mac2}`)).toBe('6985');
    expect(send(psam, '80720000031234')).toBe('6700');
  });

  it('init_errors_haveDefinedStatusWords', () => {
    const psam = selected(testPsamProfile({ protocol: 'T=1' }));
    const init = (data: string, head = '8070000024') =>
      send(psam, `${head}${data}`.replace(/ /g, ''));
    expect(init(initData(1, { kv: '02' }))).toBe('9403');
    expect(init(initData(1, { alg: '04' }))).toBe('6a81');
    expect(init(initData(1, { type: '07' }))).toBe('6a80');
    expect(init(initData(1).replace(TIME, '2026120308000a'))).toBe('6a80');
    expect(init(`${initData(1)}00`, '8070000025')).toBe('6700');
    expect(init(initData(1), '8070010024')).toBe('6a86');
    expect(psam.nextTerminalSerial()).toBe(1); // no serial spent on a refused INIT
  });

  it('issuerKey_boundToItsIssuer', () => {
    const issuerMaster = testMasterKey('issuer-only');
    const profile = testPsamProfile({
      protocol: 'T=1',
      keys: [
        {
          keyVersion: 1,
          algorithmId: 0,
          master: issuerMaster,
          level: 'issuer',
          issuerId: h(ISSUER),
        },
      ],
    });
    const psam = selected(profile);
    const answer = send(psam, `8070000024${initData(50)}`.replace(/ /g, ''));
    expect(answer.endsWith('9000')).toBe(true);
    const other = initData(50).replace(new RegExp(`${ISSUER}$`), '0202100000000000');
    expect(send(psam, `8070000024${other}`.replace(/ /g, ''))).toBe('9403');
  });

  it('powerOff_losesThePendingPurchase', () => {
    const psam = selected(testPsamProfile({ protocol: 'T=1' }));
    send(psam, `8070000024${initData(200)}`.replace(/ /g, ''));
    psam.powerOff();
    psam.powerOn();
    expect(send(psam, `8072000004${expected(1, 200).mac2}`)).toBe('6985');
  });
});

describe('PSAM emulator: terminal serial file', () => {
  let dir = '';
  afterEach(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('serial_survivesANewEmulatorAndRefusesCorruption', () => {
    dir = mkdtempSync(join(tmpdir(), 'psam-'));
    const path = join(dir, 'serial');
    const profile = testPsamProfile({ protocol: 'T=1' });
    const first = new PsamEmulator(profile, { serialStore: fileSerialStore(path, 100) });
    first.powerOn();
    send(first, `00a4040010${AID}`);
    expect(send(first, `8070000024${initData(5)}`.replace(/ /g, '')).slice(0, 8)).toBe('00000064');
    const second = new PsamEmulator(profile, { serialStore: fileSerialStore(path, 100) });
    expect(second.nextTerminalSerial()).toBe(101);
    writeFileSync(path, h('0000006500000000'));
    expect(() => fileSerialStore(path, 100)).toThrow(/corrupt/);
  });
});

/** Retail MAC (ISO 9797-1 alg 3) of whole blocks from `iv`, no padding: node:crypto CBC. */
function refRetailIv(key16: Uint8Array, iv: Uint8Array, blocks: Uint8Array): string {
  const kl = key16.subarray(0, 8);
  const cbc = createCipheriv('des-ede3-cbc', Uint8Array.of(...kl, ...kl, ...kl), iv);
  cbc.setAutoPadding(false);
  const out = Buffer.concat([cbc.update(blocks), cbc.final()]);
  const kr = key16.subarray(8, 16);
  const d = createDecipheriv('des-ede3-ecb', Uint8Array.of(...kr, ...kr, ...kr), null);
  d.setAutoPadding(false);
  const mid = Buffer.concat([d.update(out.subarray(out.length - 8)), d.final()]);
  return x(refDes(kl, mid).subarray(0, 4));
}

describe('PSAM emulator: maintenance MAC (80 1A / 80 FA, APPLICATION BLOCK)', () => {
  const damk = refDiversify(refDiversify(testMasterKey('maintenance-root'), h(ISSUER)), h(SERIAL8));
  const derive = `801a450210${SERIAL8}${ISSUER}`;

  it('macOfTheBlockHeader_matchesNodeCrypto_underT0', () => {
    const psam = selected();
    expect(send(psam, derive)).toBe('9000');
    const data = `1122334400000000 841e000004800000`.replace(/ /g, '');
    expect(send(psam, `80fa050010${data}04`)).toBe('6104');
    const mac = refRetailIv(damk, h('1122334400000000'), h('841e000004800000'));
    expect(send(psam, '00c0000004')).toBe(`${mac}9000`);
  });

  it('macOverThreeBlocks_chainsUnderKLeft', () => {
    const psam = selected(testPsamProfile({ protocol: 'T=1' }));
    send(psam, derive);
    const blocks = '0102030405060708 1112131415161718 8000000000000000'.replace(/ /g, '');
    const mac = refRetailIv(damk, h('a1a2a3a4a5a6a7a8'), h(blocks));
    expect(send(psam, `80fa050020a1a2a3a4a5a6a7a8${blocks}`)).toBe(`${mac}9000`);
  });

  it('refusals_haveDefinedStatusWords', () => {
    const psam = selected(testPsamProfile({ protocol: 'T=1' }));
    const mac = `80fa050010${'00'.repeat(16)}`;
    expect(send(psam, mac)).toBe('6985');
    expect(send(psam, `801a450208${SERIAL8}`)).toBe('6700');
    expect(send(psam, `801a450110${SERIAL8}${ISSUER}`)).toBe('9403');
    expect(send(psam, mac)).toBe('6985');
    expect(send(psam, derive)).toBe('9000');
    expect(send(psam, `80fa010010${'00'.repeat(16)}`)).toBe('6a86');
    expect(send(psam, `80fa050008${'00'.repeat(8)}`)).toBe('6700');
    expect(send(psam, `80fa05000c${'00'.repeat(12)}`)).toBe('6700');
    expect(send(psam, mac).endsWith('9000')).toBe(true);
    send(psam, `00a4040010${AID}`);
    expect(send(psam, mac)).toBe('6985');
    const bare = new PsamEmulator(testPsamProfile({ maintenanceKeys: [] }));
    bare.powerOn();
    expect(send(bare, derive)).toBe('6985');
    expect(() => testPsamProfile({ maintenanceKeys: [] })).not.toThrow();
    const short = { keyUsage: 0x45, keyVersion: 2, master: new Uint8Array(8) };
    expect(() => new PsamEmulator(testPsamProfile({ maintenanceKeys: [short] }))).toThrow(
      RangeError,
    );
  });
});
