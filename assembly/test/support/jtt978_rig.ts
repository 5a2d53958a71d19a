// Test rig for the JT/T 978 kernel: the built kernel, a virtual T-Union card, the PSAM emulator
// and the host session, with a hook to cut the card or the PSAM at any exchange.

import { createCipheriv } from 'node:crypto';
import type { Kernel } from '../../host/kernel_loader.js';
import {
  configureJtt978,
  runCardRecovery,
  runCardTransaction,
  type CardOutcome,
  type Jtt978CardData,
  type Jtt978Decision,
  type MultiAppSessionIo,
} from '../../host/jtt978_session.js';
import { configureQpboc, UNIONPAY_AIDS } from '../../host/qpboc_session.js';
import { PsamEmulator } from '../../../host-sim/src/psam/psam_emulator.js';
import {
  PSAM_AID,
  testPsamProfile,
  type PsamProfile,
} from '../../../host-sim/src/psam/psam_profile.js';
import type { TunionCard } from '../../../host-sim/src/cards/tunion_card.js';
import { TUNION_AID } from '../../../host-sim/src/cards/tunion_card.js';

/** The TEST PSAM of the psam helper: terminal 000000000123, key index 01. */
export const PSAM_PROFILE: PsamProfile = testPsamProfile();

/** Date 2026-12-03 10:20:30 as OP_TXN_BEGIN takes it. */
export const TXN_INPUT = {
  mode: 'ec' as const,
  amountMinor: 0,
  date: '261203',
  time: '102030',
  unpredictableNumber: Uint8Array.of(1, 2, 3, 4),
};

/** Configures AIDs (UnionPay first, T-Union second unless `tunionFirst`) and the PSAM. */
export function configureRig(kernel: Kernel, tunionFirst = false): void {
  const tunion = { aid: TUNION_AID, partialMatch: false };
  const aids = tunionFirst ? [tunion, ...UNIONPAY_AIDS] : [...UNIONPAY_AIDS, tunion];
  const config = configureQpboc(kernel, { countryCode: '0156', currencyCode: '0156', aids });
  if (config !== 0) throw new Error(`qPBOC configuration refused: ${config}`);
  const psam = configureJtt978(kernel, {
    terminalNumber: PSAM_PROFILE.terminalNumber,
    keyIndex: PSAM_PROFILE.keyIndex,
  });
  if (psam !== 0) throw new Error(`PSAM configuration refused: ${psam}`);
}

/** 3DES (two-key EDE) of one block, independent of host-sim's helpers. */
function des3(key16: Uint8Array, block: Uint8Array): Uint8Array {
  const cipher = createCipheriv('des-ede-ecb', key16, null);
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(block), cipher.final()]));
}

/** One diversification level (PBOC): left = 3DES(K, D), right = 3DES(K, NOT D). */
export function diversify(master: Uint8Array, factor: Uint8Array): Uint8Array {
  const inverted = factor.map((b) => b ^ 0xff);
  return Uint8Array.of(...des3(master, factor), ...des3(master, inverted));
}

/**
 * The PSAM emulator, powered and with its application selected (`80 1A`/`80 FA` of APPLICATION
 * BLOCK included). `issuerId` is kept for the callers' signature; the PSAM reads the issuer id
 * from the `80 1A` data, as a real one does.
 */
export class RigPsam {
  readonly inner: PsamEmulator;
  constructor(
    readonly issuerId: Uint8Array,
    profile: PsamProfile = PSAM_PROFILE,
  ) {
    this.inner = new PsamEmulator(profile);
    this.inner.powerOn();
    const select = Uint8Array.of(0x00, 0xa4, 0x04, 0x00, PSAM_AID.length, ...PSAM_AID);
    const answer = this.inner.transmit(select);
    if (answer[answer.length - 2] !== 0x61 && answer[answer.length - 2] !== 0x90) {
      throw new Error('PSAM SELECT failed');
    }
  }

  transmit(capdu: Uint8Array): Uint8Array {
    return this.inner.transmit(capdu);
  }
}

/** A fault at the n-th exchange of `device` (1-based): no answer, or a replaced answer. */
export interface RigFault {
  readonly device: 'card' | 'psam';
  readonly exchange: number;
  /** 'before': the device never sees the command; 'after': it processes, the answer is lost. */
  readonly cut?: 'before' | 'after';
  readonly replace?: (rapdu: Uint8Array) => Uint8Array;
}

/** Host decisions: the fare, the records, what the grey-record store does. */
export interface RigHost {
  decide?: (card: Jtt978CardData) => Jtt978Decision;
  precommit?: (grey: Uint8Array) => boolean;
}

/** A 001A record 02 for a boarding (domain.md 7.3), 128 bytes. */
export function record001a(stateByte: number, amountMinor: number): Uint8Array {
  const r = new Uint8Array(128);
  r.set([0x27, 0x02, 0x7d, 0x01, 0x01, 0x00], 0);
  r[14] = stateByte;
  new DataView(r.buffer).setUint32(53, amountMinor);
  return r;
}

/**
 * A 001E detail record (48 bytes): type 04 (EP out), the terminal as the firmware writes it
 * (its PSAM's 6-byte number after two zero bytes), industry 02 (bus), amount.
 */
export function record001e(amountMinor: number,
  terminal: Uint8Array = PSAM_PROFILE.terminalNumber): Uint8Array {
  const r = new Uint8Array(48);
  r[0] = 0x04;
  r.set(terminal, 3);
  r[9] = 0x02;
  new DataView(r.buffer).setUint32(17, amountMinor);
  return r;
}

export const compound = (amountMinor: number): Jtt978Decision => ({
  kind: 'purchase',
  amountMinor,
  type: 'compound',
  updates: [
    { sfi: 0x1a, recordNumber: 2, data: record001a(2, amountMinor) },
    { sfi: 0x1e, recordNumber: 0, data: record001e(amountMinor) },
  ],
});

/** Runs one tap (or a recovery with `torn`) of `card` through the kernel. */
export async function tap(
  kernel: Kernel,
  card: TunionCard,
  psam: RigPsam,
  host: RigHost,
  faults: readonly RigFault[] = [],
  torn: Uint8Array | null = null,
): Promise<{ result: CardOutcome; greys: Uint8Array[] }> {
  card.powerOn();
  const counts = { card: 0, psam: 0 };
  const greys: Uint8Array[] = [];
  let gone = false;
  const exchange = (device: 'card' | 'psam', capdu: Uint8Array): Uint8Array | null => {
    counts[device] += 1;
    if (device === 'card' && gone) return null;
    const fault = faults.find((f) => f.device === device && f.exchange === counts[device]);
    if (fault?.cut === 'before') {
      if (device === 'card') gone = true;
      return null;
    }
    const rapdu = device === 'card' ? card.transceive(capdu) : psam.transmit(capdu);
    if (fault?.cut === 'after') {
      if (device === 'card') gone = true;
      return null;
    }
    if (rapdu === null) return null;
    return fault?.replace === undefined ? rapdu : fault.replace(rapdu);
  };
  const io: MultiAppSessionIo = {
    transceive: async (capdu) => exchange('card', capdu),
    psamTransceive: async (capdu) => exchange('psam', capdu),
    decide: () => 'proceed',
    decideJtt978: (data) => (host.decide ?? (() => compound(200)))(data),
    precommit: (grey) => {
      greys.push(grey.slice());
      return (host.precommit ?? (() => true))(grey);
    },
  };
  const result =
    torn === null
      ? await runCardTransaction(kernel, io, TXN_INPUT)
      : await runCardRecovery(kernel, io, torn);
  return { result, greys };
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}
