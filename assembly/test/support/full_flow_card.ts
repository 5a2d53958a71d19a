// A test stock card for the full contactless PBOC flow: SDA, DDA or CDA, GENERATE AC (ARQC).
//
// Written from EMV 4.4 Book 3 (6.5.5 GENERATE AC, 6.5.9 INTERNAL AUTHENTICATE, 6.5.8 GPO
// formats) and Book 2 (5 SDA, 6.5 DDA, 6.6 CDA) with node:crypto SHA-1 and BigInt RSA
// (oda_emv.ts): independent of the kernel. Every fault builds the failing twin of one check
// with otherwise valid data.

import { createHash } from 'node:crypto';
import type { TestChain } from './oda_chain.js';
import { concat, fromHex, publicParts, signCert, signSdad, signSsad, tlv } from './oda_emv.js';

export type OdaKind = 'sda' | 'dda' | 'cda' | 'none';

/** One deliberate defect of the card (the twin of one kernel check). */
export type CardFault =
  | 'none'
  | 'bad-ssad'
  | 'bad-dda-signature'
  | 'expired-issuer-cert'
  | 'cda-without-sdad'
  | 'cda-cid-mismatch'
  | 'cda-hash-code'
  | 'aac'
  | 'tc'
  | 'cid-contradicts-iad'
  | 'missing-cdol1'
  | 'ddol-without-un'
  | 'dda-refused'
  | 'iad-layout'
  | 'gpo-format2';

export interface FullFlowCardSpec {
  readonly oda: OdaKind;
  readonly fault?: CardFault;
  /** DF61 byte in the FCI (0x40 = online ODA); undefined = absent. */
  readonly df61?: number;
  /** GET DATA 9F79 answer: a balance in minor units, or null for 6A88. */
  readonly ecBalanceMinor?: number | null;
  /** 5F24 expiry YYMMDD. */
  readonly expiry?: string;
  /** Card DDOL (9F49) hex; undefined = none (the terminal's default DDOL). */
  readonly ddolHex?: string;
}

export const FULL_FLOW_AID = 'A000000333010101';
export const FULL_FLOW_PAN = '6228480012345678901F';
const PDOL = '9F66049F02069F03069F1A0295055F2A029A039C019F3704';
/** CDOL1 as PBOC cards ask it (domain.md Appendix A), plus 9F35 9F34 for field 55 terminals. */
const CDOL1 = '9F02069F03069F1A0295055F2A029A039C019F37049F35019F3403';
const CDOL1_UN_OFFSET = 6 + 6 + 2 + 5 + 2 + 3 + 1;
const SW_OK = fromHex('9000');
const ATC = '0007';

function sha1(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** The test card: answers PPSE, SELECT, GET DATA, GPO, READ RECORD, INTERNAL AUTH, GEN AC. */
export class FullFlowCard {
  readonly commands: string[] = [];
  private pdolData = new Uint8Array(0);
  private readonly records: Uint8Array[];
  private readonly aip: Uint8Array;

  constructor(
    private readonly chain: TestChain,
    private readonly spec: FullFlowCardSpec,
  ) {
    this.aip = fromHex(
      spec.oda === 'cda'
        ? '3900'
        : spec.oda === 'dda'
          ? '3800'
          : spec.oda === 'sda'
            ? '5800'
            : '1800',
    );
    this.records = this.buildRecords();
  }

  private fault(): CardFault {
    return this.spec.fault ?? 'none';
  }

  /** Record 1 (SFI 1, signed): identity, dates, CDOL1, DDOL. */
  private signedRecord(): Uint8Array {
    const parts = [
      tlv('5F24', fromHex(this.spec.expiry ?? '301231')),
      tlv('5A', fromHex(FULL_FLOW_PAN)),
      tlv('5F34', fromHex('01')),
      tlv('57', fromHex('6228480012345678901D30122010000000000F')),
    ];
    if (this.fault() !== 'missing-cdol1') parts.push(tlv('8C', fromHex(CDOL1)));
    const ddol = this.fault() === 'ddol-without-un' ? '9F0206' : this.spec.ddolHex;
    if (ddol !== undefined) parts.push(tlv('9F49', fromHex(ddol)));
    return concat(...parts);
  }

  private buildRecords(): Uint8Array[] {
    const signed = this.signedRecord();
    const staticData = concat(signed, this.aip);
    const { chain } = this;
    const issuer = signCert(chain.ca, publicParts(chain.issuer), {
      idHex: '622848FF',
      expiryHex: this.fault() === 'expired-issuer-cert' ? '1224' : '1230',
      serialHex: '112233',
    });
    const certs = [
      tlv('8F', Uint8Array.of(chain.caIndex)),
      tlv('90', issuer.cert),
      tlv('9F32', issuer.exponent),
      tlv('9F4A', fromHex('82')),
      ...(issuer.remainder.length > 0 ? [tlv('92', issuer.remainder)] : []),
    ];
    const third: Uint8Array[] = [];
    if (this.spec.oda === 'sda') {
      const ssad = signSsad(chain.issuer, {
        dacHex: 'DAC1',
        staticData,
        corruptHash: this.fault() === 'bad-ssad',
      });
      third.push(tlv('93', ssad));
    } else if (this.spec.oda !== 'none') {
      const icc = signCert(chain.issuer, publicParts(chain.icc), {
        idHex: FULL_FLOW_PAN,
        expiryHex: '1230',
        serialHex: '000001',
        staticData,
      });
      third.push(tlv('9F46', icc.cert), tlv('9F47', icc.exponent));
      if (icc.remainder.length > 0) third.push(tlv('9F48', icc.remainder));
    }
    return [signed, concat(...certs), concat(...third)];
  }

  /** Sends one C-APDU; returns data || SW. */
  transceive(capdu: Uint8Array): Uint8Array {
    const h = hex(capdu.subarray(0, 4));
    this.commands.push(h);
    const data = capdu.length > 5 ? capdu.subarray(5, 5 + (capdu[4] ?? 0)) : new Uint8Array(0);
    if (h === '00A40400') return this.select(data);
    if (h === '80CA9F79') return this.balance();
    if (h === '80A80000') return this.gpo(data);
    if (h.startsWith('00B2')) return this.readRecord(capdu[2] ?? 0, (capdu[3] ?? 0) >> 3);
    if (h === '00880000') return this.internalAuthenticate(data);
    if (h.startsWith('80AE')) return this.generateAc(capdu[2] ?? 0, data);
    return fromHex('6D00');
  }

  private select(name: Uint8Array): Uint8Array {
    if (hex(name) === hex(Buffer.from('2PAY.SYS.DDF01'))) {
      const entry = tlv('61', concat(tlv('4F', fromHex(FULL_FLOW_AID)), tlv('87', fromHex('01'))));
      const ppse = tlv('6F', concat(tlv('84', name), tlv('A5', tlv('BF0C', entry))));
      return concat(ppse, SW_OK);
    }
    const discretionary =
      this.spec.df61 === undefined
        ? new Uint8Array(0)
        : tlv('BF0C', tlv('DF61', Uint8Array.of(this.spec.df61)));
    const a5 = tlv(
      'A5',
      concat(tlv('50', Buffer.from('PBOC DEBIT')), tlv('9F38', fromHex(PDOL)), discretionary),
    );
    return concat(tlv('6F', concat(tlv('84', fromHex(FULL_FLOW_AID)), a5)), SW_OK);
  }

  private balance(): Uint8Array {
    const minor = this.spec.ecBalanceMinor;
    if (minor === undefined || minor === null) return fromHex('6A88');
    return concat(tlv('9F79', fromHex(minor.toString().padStart(12, '0'))), SW_OK);
  }

  private gpo(data: Uint8Array): Uint8Array {
    this.pdolData = data.slice(2);
    const afl = fromHex('0801010110010200');
    if (this.fault() === 'gpo-format2') {
      return concat(tlv('77', concat(tlv('82', this.aip), tlv('94', afl))), SW_OK);
    }
    return concat(tlv('80', concat(this.aip, afl)), SW_OK);
  }

  private readRecord(record: number, sfi: number): Uint8Array {
    const index = sfi === 1 && record === 1 ? 0 : sfi === 2 ? record : -1;
    const body = this.records[index];
    if (body === undefined) return fromHex('6A83');
    return concat(tlv('70', body), SW_OK);
  }

  private internalAuthenticate(ddolData: Uint8Array): Uint8Array {
    if (this.fault() === 'dda-refused') return fromHex('6985');
    const sdad = signSdad(this.chain.icc, {
      dynamicData: fromHex(`02${ATC}`),
      hashTail: ddolData,
      corruptHash: this.fault() === 'bad-dda-signature',
    });
    return concat(tlv('80', sdad), SW_OK);
  }

  private iad(cid: number): Uint8Array {
    if (this.fault() === 'iad-layout') return fromHex('0601010390000001');
    // CVR byte 1 bits 6-5 carry the 1st GENERATE AC type (domain.md 2.4).
    const typeOfCid = this.fault() === 'cid-contradicts-iad' ? 0x01 : (cid >> 6) & 3;
    return Uint8Array.of(0x07, 0x01, 0x01, 0x03, typeOfCid << 4, 0x00, 0x00, 0x01);
  }

  private generateAc(p1: number, cdolData: Uint8Array): Uint8Array {
    let cid = 0x80;
    if (this.fault() === 'aac') cid = 0x00;
    if (this.fault() === 'tc') cid = 0x40;
    const ac = sha1(cdolData, fromHex(ATC)).subarray(0, 8);
    const cda = (p1 & 0x10) !== 0 && this.spec.oda === 'cda';
    if (!cda) {
      return concat(tlv('80', concat(Uint8Array.of(cid), fromHex(ATC), ac, this.iad(cid))), SW_OK);
    }
    const clear = concat(
      tlv('9F27', Uint8Array.of(cid)),
      tlv('9F36', fromHex(ATC)),
      tlv('9F10', this.iad(cid)),
    );
    if (this.fault() === 'cda-without-sdad') return concat(tlv('77', clear), SW_OK);
    let tdhc = sha1(this.pdolData, cdolData, clear);
    if (this.fault() === 'cda-hash-code') tdhc = sha1(tdhc);
    const signedCid = this.fault() === 'cda-cid-mismatch' ? 0x40 : cid;
    const sdad = signSdad(this.chain.icc, {
      dynamicData: concat(fromHex(`02${ATC}`), Uint8Array.of(signedCid), ac, tdhc),
      hashTail: cdolData.subarray(CDOL1_UN_OFFSET, CDOL1_UN_OFFSET + 4),
    });
    return concat(tlv('77', concat(clear, tlv('9F4B', sdad))), SW_OK);
  }
}
