// State of the one qPBOC transaction in flight: phase, collected data, AFL plan, ODA result.
//
// A single instance is created at module start (nothing is allocated afterwards). Sizes are
// named bounds; their relation to the 8 KiB OUT buffer is asserted where records are written.

import { odaReset } from '../emv/emv_oda';
import { odaSmReset } from '../emv/emv_oda_sm';
import { TlvStore } from '../emv/tlv_store';

export { AID_BYTES_MAX, AID_BYTES_MIN } from '../entry/entry_aids';
export { CANDIDATES_MAX } from '../entry/entry_select';

export const MODE_EC: u32 = 0;
export const MODE_ODA: u32 = 1;
/** Per card: EC when the purse pays, else qPBOC ODA for online (DF61), else the full flow. */
export const MODE_AUTO: u32 = 2;
/**
 * The full contactless PBOC flow for every card (TTQ 40800000): no e-cash probe, no DF61 branch.
 * A qPBOC-only card (a phone) answering with a cryptogram continues on the qPBOC ODA path.
 */
export const MODE_FULL: u32 = 3;

/** The card path (outcome byte 19; decision flags bits 2-3). */
export const PATH_NONE: u8 = 0;
export const PATH_QPBOC_EC: u8 = 1;
export const PATH_QPBOC_ODA: u8 = 2;
export const PATH_FULL_FLOW: u8 = 3;

/** The ODA method that ran (outcome byte 18). */
export const ODA_METHOD_NONE: u8 = 0;
export const ODA_METHOD_FDDA: u8 = 1;
export const ODA_METHOD_SDA: u8 = 2;
export const ODA_METHOD_DDA: u8 = 3;
export const ODA_METHOD_CDA: u8 = 4;

/** Card decision from the CVR (9F10 byte 5 bits 6-5); AC_NONE before GPO. */
export const AC_AAC: u8 = 0;
export const AC_TC: u8 = 1;
export const AC_ARQC: u8 = 2;
export const AC_RFU: u8 = 3;
export const AC_NONE: u8 = 0xff;

export const PHASE_IDLE: u32 = 0;
export const PHASE_PPSE: u32 = 1;
export const PHASE_SELECT: u32 = 2;
export const PHASE_GPO: u32 = 3;
export const PHASE_RECORD: u32 = 4;
export const PHASE_DECISION: u32 = 5;
export const PHASE_BALANCE: u32 = 6;
export const PHASE_RECOVER_SELECT: u32 = 7;
export const PHASE_RECOVER_ATC: u32 = 8;
export const PHASE_DONE: u32 = 9;
/** Auto mode: GET DATA 9F79 between SELECT and GPO (does the purse pay the fare?). */
export const PHASE_EC_PROBE: u32 = 10;
/** Full flow: INTERNAL AUTHENTICATE (DDA). */
export const PHASE_INTERNAL_AUTH: u32 = 11;
/** Full flow: GENERATE AC (ARQC, with CDA when the AIP offers it). */
export const PHASE_GENERATE_AC: u32 = 12;

/** Records one AFL may name (EMV allows more; a qPBOC card uses 2 to 8). */
export const RECORDS_MAX: u32 = 32;
/** Static data to be authenticated: certificates and signed records of a 1984-bit chain. */
export const STATIC_DATA_MAX: u32 = 2048;
/** Card objects from GPO and records, and their value bytes. */
export const CARD_ENTRIES_MAX: u32 = 96;
export const CARD_ARENA_BYTES: u32 = 3072;
export const TERMINAL_ENTRIES_MAX: u32 = 32;
export const TERMINAL_ARENA_BYTES: u32 = 512;
export const FCI_ENTRIES_MAX: u32 = 24;
export const FCI_ARENA_BYTES: u32 = 512;

/** The transaction in flight. */
export class QpbocContext {
  phase: u32 = PHASE_IDLE;
  mode: u32 = MODE_EC;
  recovering: bool = false;
  acType: u8 = AC_NONE;
  path: u8 = PATH_NONE;
  odaMethod: u8 = ODA_METHOD_NONE;
  /** Auto mode: e-cash balance read before GPO (probeBalance valid when set). */
  probeValid: bool = false;
  readonly probeBalance: usize = memory.data(6, 4);
  /**
   * Auto mode: a candidate's GET DATA 9F79 showed a purse short of the fare. Kept across
   * candidates: when no application then takes the card, the rider is told 余额不足
   * (insufficient-ecash), the one thing they can fix, not 不支持此卡.
   */
  purseShort: bool = false;
  /** The amount exceeds the floor limit DF19: no offline (EC) approval, TVR byte 4 bit 8. */
  overFloorLimit: bool = false;
  /** 9F5D is an offline spending allowance (IAD type), not a purse balance. */
  allowance: bool = false;

  /** Terminal data sent in the PDOL and kept for ODA and clearing. */
  readonly terminal: TlvStore = new TlvStore(TERMINAL_ENTRIES_MAX, TERMINAL_ARENA_BYTES);
  /** Card data from the GPO response and the records (duplicates refused, Book 3 10.2). */
  readonly card: TlvStore = new TlvStore(CARD_ENTRIES_MAX, CARD_ARENA_BYTES);
  /** FCI of the selected application (84, 50, 9F38, DF61 ...). */
  readonly fci: TlvStore = new TlvStore(FCI_ENTRIES_MAX, FCI_ARENA_BYTES);

  // The AFL flattened to one entry per record, in reading order.
  readonly recordSfis: usize = memory.data(<i32>RECORDS_MAX, 4);
  readonly recordNumbers: usize = memory.data(<i32>RECORDS_MAX, 4);
  readonly recordOda: usize = memory.data(<i32>RECORDS_MAX, 4);
  recordCount: u32 = 0;
  recordNext: u32 = 0;

  readonly staticData: usize = memory.data(<i32>STATIC_DATA_MAX, 4);
  staticDataLength: u32 = 0;
  /** Set when an ODA record could not be added (overflow): ODA then fails. */
  staticDataInvalid: bool = false;

  /** PAN from 57 (or 5A), as 5A is coded: packed digits padded with F. */
  readonly pan: usize = memory.data(10, 4);
  panLength: u32 = 0;

  decided: bool = false;
  /** The last READ RECORD was sent: the card has committed, or may have. */
  commitSent: bool = false;
  /** A recovery's committing re-read was refused once and sent again (qpboc_recovery.ts). */
  recoverAskedAgain: bool = false;
  /** A recovery answer came damaged (9000, unparseable) once: the next damage is torn. */
  recoverDamaged: bool = false;
  /** The certificate stage of ODA passed (emv_oda holds the recovered keys). */
  odaCertificatesOk: bool = false;
  odaDone: bool = false;
  odaOk: bool = false;
  odaStatus: i32 = 0;
  readonly balance: usize = memory.data(6, 4);
  balanceValid: bool = false;
  linkLostCause: u32 = 0;

  /** Forgets everything about the previous transaction. */
  reset(): void {
    this.phase = PHASE_IDLE;
    this.mode = MODE_EC;
    this.recovering = false;
    this.acType = AC_NONE;
    this.path = PATH_NONE;
    this.odaMethod = ODA_METHOD_NONE;
    this.probeValid = false;
    this.purseShort = false;
    this.overFloorLimit = false;
    this.allowance = false;
    this.terminal.clear();
    this.card.clear();
    this.fci.clear();
    this.recordCount = 0;
    this.recordNext = 0;
    this.staticDataLength = 0;
    this.staticDataInvalid = false;
    this.panLength = 0;
    this.decided = false;
    this.commitSent = false;
    this.recoverAskedAgain = false;
    this.recoverDamaged = false;
    this.odaCertificatesOk = false;
    // A new card starts with no recovered key: no check of it can use the card before's.
    odaReset();
    odaSmReset();
    this.odaDone = false;
    this.odaOk = false;
    this.odaStatus = 0;
    this.balanceValid = false;
    this.linkLostCause = 0;
  }
}

/** The one transaction context. */
export const ctx = new QpbocContext();
