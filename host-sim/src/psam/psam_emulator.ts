// The PSAM emulator: an ISO 7816 contact card with the transport-ministry PSAM application,
// answering SELECT, READ BINARY, INIT SAM FOR PURCHASE, CREDIT SAM FOR PURCHASE, GET RESPONSE,
// and the maintenance-MAC pair 80 1A / 80 FA of APPLICATION BLOCK.
//
// See domain.md 7.2 (files, AID), 7.4 steps 3 and 7 (the two purchase commands) and 7.6.
// Written from those pages and the PBOC e-purse model in `pboc_epurse_crypto.ts`, sharing
// nothing with the kernel, so that each checks the other.

import { parseCommandApdu } from './psam_apdu.js';
import type { CommandApdu } from './psam_apdu.js';
import { MF_FID, PSAM_AID, PSAM_DF_FID, checkPsamProfile, psamFile0017 } from './psam_profile.js';
import type { PsamProfile } from './psam_profile.js';
import { memorySerialStore } from './psam_serial_store.js';
import type { PsamSerialStore } from './psam_serial_store.js';
import { psamInitForPurchase } from './psam_purchase.js';
import type { PendingPurchase } from './psam_purchase.js';
import { computeMac2 } from './pboc_epurse_crypto.js';
import {
  INS_1A_INIT_FOR_DESCRYPT,
  INS_FA_CIPHER_DATA,
  psamCipherMac,
  psamDeriveMaintenanceKey,
} from './psam_maintenance.js';
import {
  SW_6282_END_OF_FILE,
  SW_61XX_BYTES_AVAILABLE,
  SW_6700_WRONG_LENGTH,
  SW_6985_CONDITIONS_NOT_SATISFIED,
  SW_6986_NO_CURRENT_EF,
  SW_6A82_FILE_NOT_FOUND,
  SW_6A86_INCORRECT_P1P2,
  SW_6B00_WRONG_OFFSET,
  SW_6CXX_WRONG_LE,
  SW_6D00_INS_NOT_SUPPORTED,
  SW_6E00_CLA_NOT_SUPPORTED,
  SW_9000_OK,
  SW_9302_MAC_INVALID,
  swBytes,
} from './psam_status.js';

/** INS codes the emulator answers. */
export const INS_A4_SELECT = 0xa4;
export const INS_B0_READ_BINARY = 0xb0;
export const INS_C0_GET_RESPONSE = 0xc0;
export const INS_70_INIT_SAM_FOR_PURCHASE = 0x70;
export const INS_72_CREDIT_SAM_FOR_PURCHASE = 0x72;

/** File ids of the PSAM's binary files (domain.md 7.2). */
export const EF_0016_TERMINAL_NUMBER = 0x16;
export const EF_0017_KEY_FILE = 0x17;

/** Options of a PSAM emulator. */
export interface PsamEmulatorOptions {
  /** Where the terminal transaction serial lives (default: memory, starting at 1). */
  readonly serialStore?: PsamSerialStore;
}

/** Counters for tests and the bench. */
export interface PsamStats {
  readonly commands: number;
  readonly purchasesInitialised: number;
  readonly mac2Verified: number;
  readonly mac2Rejected: number;
}

/** Thrown by `transmit` while the card is not powered: a programming error of the host. */
export class PsamNotPoweredError extends Error {
  constructor() {
    super('PSAM emulator: transmit while not powered');
    this.name = 'PsamNotPoweredError';
  }
}

function answer(sw: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data, 0);
  out.set(swBytes(sw), data.length);
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * ATR of the emulator (ISO/IEC 7816-3, 8.2). T=0: `3B 6A 00 00` (TB1, TC1 = 00) and ten
 * historical bytes "SHUAKAPSAM". T=1: `3B 8A 80 01`, the same historical bytes and TCK.
 */
export function psamAtr(protocol: 'T=0' | 'T=1'): Uint8Array {
  const historical = new TextEncoder().encode('SHUAKAPSAM');
  if (protocol === 'T=0') return Uint8Array.of(0x3b, 0x6a, 0x00, 0x00, ...historical);
  const body = Uint8Array.of(0x8a, 0x80, 0x01, ...historical);
  let tck = 0;
  for (const b of body) tck ^= b;
  return Uint8Array.of(0x3b, ...body, tck);
}

/**
 * A PSAM answering APDUs through `transmit`. Status words of every command:
 * - any: 6700 (APDU fits no ISO 7816-4 case), 6E00 (CLA not 00/80), 6D00 (INS unknown).
 * - SELECT `00 A4`: 9000 (MF, DF, EF by FID; DF by name with FCI), 61xx under T=0, 6A82 (not
 *   found), 6A86 (P1/P2), 6700 (no data).
 * - READ BINARY `00 B0`: 9000, 6282 (end of file before Le, T=1), 6Cxx (Le wrong, T=0), 6A82
 *   (SFI absent here), 6986 (no current EF), 6B00 (offset beyond the file).
 * - INIT SAM FOR PURCHASE `80 70`: see `psamInitForPurchase`.
 * - CREDIT SAM FOR PURCHASE `80 72`: 9000 (MAC2 right), 9302 (MAC2 wrong; the purchase is
 *   closed either way), 6985 (no purchase pending), 6700 (Lc not 4), 6A86 (P1/P2 not 00 00).
 * - GET RESPONSE `00 C0`: 9000, 6Cxx (Le not the length waiting), 6985 (nothing waiting).
 * - INIT FOR DESCRYPT `80 1A`: 9000 (key derived), 6985 (PSAM application not selected), 6700,
 *   9403 (see `psamDeriveMaintenanceKey`).
 * - CIPHER DATA `80 FA 05 00`: MAC (4) ‖ 9000 (61 04 under T=0), 6985 (no key derived), 6700,
 *   6A86 (see `psamCipherMac`).
 */
export class PsamEmulator {
  readonly profile: PsamProfile;
  private readonly serialStore: PsamSerialStore;
  private powered = false;
  private selected: 'mf' | 'df' = 'mf';
  private currentEf: number | null = null;
  private waiting: Uint8Array | null = null;
  private purchase: PendingPurchase | null = null;
  private maintenanceKey: Uint8Array | null = null;
  private counters = { commands: 0, purchasesInitialised: 0, mac2Verified: 0, mac2Rejected: 0 };

  /** Throws RangeError on a malformed profile (see `checkPsamProfile`). */
  constructor(profile: PsamProfile, options: PsamEmulatorOptions = {}) {
    checkPsamProfile(profile);
    this.profile = profile;
    this.serialStore = options.serialStore ?? memorySerialStore(1);
  }

  /** The ATR this card answers at power-on and reset. */
  atr(): Uint8Array {
    return psamAtr(this.profile.protocol);
  }

  /** Cold reset: volatile state cleared (MF selected, no purchase pending); returns the ATR. */
  powerOn(): Uint8Array {
    this.powered = true;
    this.selected = 'mf';
    this.currentEf = null;
    this.waiting = null;
    this.purchase = null;
    this.maintenanceKey = null;
    return this.atr();
  }

  /** Warm reset: same effect as `powerOn`. */
  reset(): Uint8Array {
    return this.powerOn();
  }

  /** Contacts deactivated: a pending purchase is lost (the terminal must start again). */
  powerOff(): void {
    this.powered = false;
    this.purchase = null;
    this.waiting = null;
  }

  isPowered(): boolean {
    return this.powered;
  }

  /** The terminal transaction serial the next INIT SAM FOR PURCHASE will hand out. */
  nextTerminalSerial(): number {
    return this.serialStore.read();
  }

  stats(): PsamStats {
    return { ...this.counters };
  }

  /**
   * One command APDU in, one response APDU (data ‖ SW1 SW2) out; the status words are listed on
   * the class. Throws `PsamNotPoweredError` when the card is not powered.
   */
  transmit(apdu: Uint8Array): Uint8Array {
    if (!this.powered) throw new PsamNotPoweredError();
    this.counters.commands += 1;
    const command = parseCommandApdu(apdu);
    const waiting = this.waiting;
    this.waiting = null;
    if (command === null) return answer(SW_6700_WRONG_LENGTH);
    if (command.cla !== 0x00 && command.cla !== 0x80) return answer(SW_6E00_CLA_NOT_SUPPORTED);
    switch (command.ins) {
      case INS_A4_SELECT:
        return this.select(command);
      case INS_B0_READ_BINARY:
        return this.readBinary(command);
      case INS_C0_GET_RESPONSE:
        return this.getResponse(command, waiting);
      case INS_70_INIT_SAM_FOR_PURCHASE:
        return this.initForPurchase(command);
      case INS_72_CREDIT_SAM_FOR_PURCHASE:
        return this.creditForPurchase(command);
      case INS_1A_INIT_FOR_DESCRYPT:
        return this.initForDescrypt(command);
      case INS_FA_CIPHER_DATA: {
        const mac = psamCipherMac(this.maintenanceKey, command);
        return mac.ok ? this.dataAnswer(mac.data) : answer(mac.sw);
      }
      default:
        return answer(SW_6D00_INS_NOT_SUPPORTED);
    }
  }

  /** Data for a case-4 command: under T=0 kept for GET RESPONSE and announced by 61xx. */
  private dataAnswer(data: Uint8Array): Uint8Array {
    if (this.profile.protocol === 'T=1' || data.length === 0) return answer(SW_9000_OK, data);
    this.waiting = data;
    return answer(SW_61XX_BYTES_AVAILABLE | (data.length & 0xff));
  }

  private select(command: CommandApdu): Uint8Array {
    if (command.data.length === 0) return answer(SW_6700_WRONG_LENGTH);
    if (command.p2 !== 0x00 && command.p2 !== 0x0c) return answer(SW_6A86_INCORRECT_P1P2);
    if (command.p1 === 0x04) {
      if (!equalBytes(command.data, PSAM_AID)) return answer(SW_6A82_FILE_NOT_FOUND);
      this.enterDf();
      return this.dataAnswer(this.fci());
    }
    if (command.p1 !== 0x00 && command.p1 !== 0x02) return answer(SW_6A86_INCORRECT_P1P2);
    if (command.data.length !== 2) return answer(SW_6700_WRONG_LENGTH);
    const fid = ((command.data[0] ?? 0) << 8) | (command.data[1] ?? 0);
    return this.selectFid(fid);
  }

  private selectFid(fid: number): Uint8Array {
    if (fid === MF_FID) {
      this.selected = 'mf';
      this.currentEf = null;
      this.purchase = null;
    } else if (fid === PSAM_DF_FID) {
      this.enterDf();
    } else if (this.fileContent(fid & 0xff) !== null && fid >> 8 === 0x00) {
      this.currentEf = fid & 0xff;
    } else {
      return answer(SW_6A82_FILE_NOT_FOUND);
    }
    return answer(SW_9000_OK);
  }

  private enterDf(): void {
    this.selected = 'df';
    this.currentEf = null;
    this.purchase = null;
    this.maintenanceKey = null;
  }

  /** 80 1A: the derived key replaces any earlier one; a refusal leaves none. */
  private initForDescrypt(command: CommandApdu): Uint8Array {
    this.maintenanceKey = null;
    if (this.selected !== 'df') return answer(SW_6985_CONDITIONS_NOT_SATISFIED);
    const derived = psamDeriveMaintenanceKey(this.profile, command);
    if (!derived.ok) return answer(derived.sw);
    this.maintenanceKey = derived.key;
    return answer(SW_9000_OK);
  }

  /** FCI of the PSAM DF: 6F { 84 AID, A5 { 9F08 01 01 } } (application version 01). */
  private fci(): Uint8Array {
    const proprietary = Uint8Array.of(0xa5, 0x04, 0x9f, 0x08, 0x01, 0x01);
    const body = Uint8Array.of(0x84, PSAM_AID.length, ...PSAM_AID, ...proprietary);
    return Uint8Array.of(0x6f, body.length, ...body);
  }

  /** File 0016 is readable from the MF and the DF (MZT reads it first); 0017 in the DF. */
  private fileContent(sfi: number): Uint8Array | null {
    if (sfi === EF_0016_TERMINAL_NUMBER) return this.profile.terminalNumber;
    if (sfi === EF_0017_KEY_FILE && this.selected === 'df') return psamFile0017(this.profile);
    return null;
  }

  private readBinary(command: CommandApdu): Uint8Array {
    if (command.data.length !== 0) return answer(SW_6700_WRONG_LENGTH);
    let sfi: number | null = this.currentEf;
    let offset = command.p2;
    if ((command.p1 & 0x80) !== 0) {
      if ((command.p1 & 0x60) !== 0) return answer(SW_6A86_INCORRECT_P1P2);
      sfi = command.p1 & 0x1f;
    } else {
      offset = (command.p1 << 8) | command.p2;
    }
    if (sfi === null) return answer(SW_6986_NO_CURRENT_EF);
    const content = this.fileContent(sfi);
    if (content === null) return answer(SW_6A82_FILE_NOT_FOUND);
    if ((command.p1 & 0x80) !== 0) this.currentEf = sfi;
    if (offset > content.length) return answer(SW_6B00_WRONG_OFFSET);
    const rest = content.subarray(offset);
    return this.sendBytes(rest, command.le);
  }

  /** Case-2 data against Le: T=0 insists on the exact Le (6Cxx), T=1 sends what there is. */
  private sendBytes(rest: Uint8Array, le: number | null): Uint8Array {
    const wanted = le ?? 256;
    if (this.profile.protocol === 'T=0' && wanted !== rest.length) {
      return answer(SW_6CXX_WRONG_LE | (rest.length & 0xff));
    }
    if (le === null || le === 256 || le === rest.length) return answer(SW_9000_OK, rest);
    if (le < rest.length) return answer(SW_9000_OK, rest.slice(0, le));
    return answer(SW_6282_END_OF_FILE, rest);
  }

  private getResponse(command: CommandApdu, waiting: Uint8Array | null): Uint8Array {
    if (waiting === null) return answer(SW_6985_CONDITIONS_NOT_SATISFIED);
    if (command.data.length !== 0) return answer(SW_6700_WRONG_LENGTH);
    if ((command.le ?? 256) !== waiting.length) {
      this.waiting = waiting;
      return answer(SW_6CXX_WRONG_LE | (waiting.length & 0xff));
    }
    return answer(SW_9000_OK, waiting);
  }

  private initForPurchase(command: CommandApdu): Uint8Array {
    this.purchase = null;
    if (this.selected !== 'df') return answer(SW_6985_CONDITIONS_NOT_SATISFIED);
    const result = psamInitForPurchase(this.profile, this.serialStore, command);
    if (!result.ok) return answer(result.sw);
    this.purchase = result.pending;
    this.counters.purchasesInitialised += 1;
    return this.dataAnswer(result.data);
  }

  private creditForPurchase(command: CommandApdu): Uint8Array {
    if (command.p1 !== 0x00 || command.p2 !== 0x00) return answer(SW_6A86_INCORRECT_P1P2);
    if (command.data.length !== 4) return answer(SW_6700_WRONG_LENGTH);
    const pending = this.purchase;
    if (pending === null) return answer(SW_6985_CONDITIONS_NOT_SATISFIED);
    this.purchase = null;
    const expected = computeMac2(pending.sessionKey, pending.amountMinor);
    if (!equalBytes(expected, command.data)) {
      this.counters.mac2Rejected += 1;
      return answer(SW_9302_MAC_INVALID);
    }
    this.counters.mac2Verified += 1;
    return answer(SW_9000_OK);
  }
}
