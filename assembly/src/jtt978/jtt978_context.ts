// State of the one JT/T 978 (T-Union) transaction in flight, and the byte layouts it keeps.
//
// domain.md 7: files 0015 (30 B) and 0017, the balance, the 001A/0019 record, INITIALIZE FOR
// PURCHASE, the PSAM's serial and MAC1, DEBIT's TAC and MAC2. Everything lives in static
// buffers created once at module start (nothing is allocated afterwards).

/** Phases. PSAM phases (jtt978PhaseIsPsam) stage commands for the PSAM, the rest the card. */
export const J_IDLE: u32 = 0;
export const J_SELECT: u32 = 1;
export const J_READ_0015: u32 = 2;
export const J_READ_0017: u32 = 3;
export const J_BALANCE: u32 = 4;
export const J_RECORD: u32 = 5;
export const J_DECISION: u32 = 6;
export const J_INIT: u32 = 7;
export const J_INIT_SAM: u32 = 8;
export const J_UPDATE: u32 = 9;
export const J_PRECOMMIT: u32 = 10;
export const J_DEBIT: u32 = 11;
export const J_CREDIT_SAM: u32 = 12;
export const J_PROOF: u32 = 13;
export const J_CHALLENGE: u32 = 14;
export const J_SAM_BLOCK_INIT: u32 = 15;
export const J_SAM_BLOCK_MAC: u32 = 16;
export const J_BLOCK: u32 = 17;
export const J_DONE: u32 = 18;
/** Recovery: the card's newest 0018 log entry (whose debit the balance shows). */
export const J_DETAIL: u32 = 19;

/** True when the command of `phase` goes to the PSAM (domain.md 7.2), not the card. */
export function jtt978PhaseIsPsam(phase: u32): bool {
  return (
    phase == J_INIT_SAM ||
    phase == J_CREDIT_SAM ||
    phase == J_SAM_BLOCK_INIT ||
    phase == J_SAM_BLOCK_MAC
  );
}

/** File 0015 (30 bytes, domain.md 7.1) and the offsets the kernel reads. */
export const F15_BYTES: u32 = 30;
export const F15_ISSUER: u32 = 0;
export const F15_SERIAL: u32 = 10;
/** INIT SAM FOR PURCHASE takes the last 8 bytes of the 10-byte application serial. */
export const F15_SERIAL8: u32 = 12;
export const F15_START: u32 = 20;
export const F15_EXPIRY: u32 = 24;
/** The part of file 0017 read (NFSEE `00B097000B`): country (4), province (2), city (2),
 *  interop type (2: 0001 interop), card category (1). */
export const F17_BYTES: u32 = 11;
export const F17_INTEROP: u32 = 8;
/** The 001A / 0019 record: at most 128 bytes (domain.md 7.3). */
export const RECORD_BYTES_MAX: u32 = 128;
/** The e-purse transaction log the card writes at each debit (domain.md 7.1, 23 B). */
export const SFI_0018: u8 = 0x18;
export const SFI_0019: u8 = 0x19;
export const SFI_001A: u8 = 0x1a;
export const SFI_001E: u8 = 0x1e;
/** Cache updates one purchase may carry (001A or 0019, and 001E). */
export const UPDATES_MAX: u32 = 3;
export const UPDATE_BYTES_MAX: u32 = 128;

/** Transaction types (INIT SAM byte 11, 0018 log): compound and simple purchase. */
export const TYPE_09_COMPOUND: u8 = 0x09;
export const TYPE_06_PURCHASE: u8 = 0x06;

/**
 * The JT/T 978 record (grey while pending, final once the card answered DEBIT), 96 bytes:
 * the clearing record of an approval and the torn record of a tear (assembly/README.md).
 */
export const R_MAGIC: u32 = 0;
export const R_VERSION: u32 = 1;
export const R_STATE: u32 = 2;
export const R_TYPE: u32 = 3;
export const R_ISSUER: u32 = 4;
export const R_SERIAL: u32 = 12;
export const R_CARD_TYPE: u32 = 22;
export const R_CITY: u32 = 23;
export const R_INTEROP: u32 = 25;
export const R_BALANCE_BEFORE: u32 = 26;
export const R_AMOUNT: u32 = 30;
export const R_ATC: u32 = 34;
export const R_KEY_VERSION: u32 = 36;
export const R_ALGORITHM: u32 = 37;
export const R_CARD_RANDOM: u32 = 38;
export const R_TERMINAL: u32 = 42;
export const R_TERMINAL_SERIAL: u32 = 48;
export const R_DATE_TIME: u32 = 52;
export const R_MAC1: u32 = 59;
export const R_BALANCE_AFTER: u32 = 63;
export const R_TAC: u32 = 67;
export const R_MAC2: u32 = 71;
export const R_FLAGS: u32 = 75;
export const R_AID_LENGTH: u32 = 76;
export const R_AID: u32 = 77;
export const RECORD_BYTES: u32 = 93;
/** 'J': a JT/T 978 record or decision request (a qPBOC one starts with a BER-TLV tag). */
export const RECORD_MAGIC: u8 = 0x4a;
export const RECORD_VERSION: u8 = 1;
export const STATE_GREY: u8 = 1;
export const STATE_FINAL: u8 = 2;
/** Record flags: MAC2 verified by the PSAM; completed by a recovery (GET TRANSACTION PROOF). */
export const RF_MAC2_VERIFIED: u8 = 0x01;
export const RF_RECOVERY: u8 = 0x02;

/** The transaction in flight. */
export class Jtt978Context {
  phase: u32 = J_IDLE;
  recovering: bool = false;
  /** The debit was sent: from now on every ending carries the record. */
  debitSent: bool = false;
  linkLostCause: u32 = 0;
  readonly f15: usize = memory.data(<i32>F15_BYTES, 4);
  readonly f17: usize = memory.data(<i32>F17_BYTES, 4);
  readonly balance: usize = memory.data(4, 4);
  readonly record: usize = memory.data(<i32>RECORD_BYTES_MAX, 4);
  recordLength: u32 = 0;
  recordSfi: u8 = 0;
  /** The JT/T 978 record (R_* layout) being built. */
  readonly out: usize = memory.data(<i32>RECORD_BYTES, 4);
  /** Host input of OP_TXN_BEGIN kept for the date and time (YYMMDD, hhmmss BCD). */
  readonly dateTime: usize = memory.data(7, 4);
  // Cache updates: SFI, record number, length, data.
  readonly updates: usize = memory.data(<i32>(UPDATES_MAX * (3 + UPDATE_BYTES_MAX)), 4);
  updateCount: u32 = 0;
  updateNext: u32 = 0;
  readonly challenge: usize = memory.data(4, 4);

  /** Forgets everything about the previous transaction (the date and time stay). */
  reset(): void {
    this.phase = J_IDLE;
    this.recovering = false;
    this.debitSent = false;
    this.linkLostCause = 0;
    this.recordLength = 0;
    this.recordSfi = 0;
    this.updateCount = 0;
    this.updateNext = 0;
    memory.fill(this.out, 0, <usize>RECORD_BYTES);
    memory.fill(this.balance, 0, 4);
  }
}

/** The one JT/T 978 transaction context. */
export const jctx = new Jtt978Context();
