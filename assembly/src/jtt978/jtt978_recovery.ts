// JT/T 978 torn recovery: balance comparison, then GET TRANSACTION PROOF (domain.md 7.5).
//
// On the re-tap the kernel selects the stored ADF, checks that file 0015 names the same card
// (issuer and application serial), and compares the balance with the grey record: the balance
// before the torn DEBIT means no debit (run the purchase again), the balance after means the
// debit happened: GET TRANSACTION PROOF `80 5A 00 <type> 02` ‖ (ATC + 1) returns MAC2 ‖ TAC
// and the record is completed without charging again. A zero amount cannot be told by the
// balance, so the proof alone decides. Any other balance is not this transaction.
//
// The balance after, and a proof for ATC + 1, are also what a debit of the same amount by
// another terminal leaves (the rider, not debited here, paid elsewhere meanwhile): the card's
// newest 0018 log entry says whose debit it was. The card writes it itself at DEBIT, with the
// terminal number INITIALIZE FOR PURCHASE gave (not a record a terminal writes, as 001E is).
// Another terminal's, or another amount: not debited here. A card that cannot show it leaves
// the proof to decide, as before.

import { STATUS_APPROVED_OFFLINE, ERR_CARD_DATA_INVALID } from '../status/status';
import { bytesEqual, readU16Be, writeU16Be } from '../util/bytes';
import * as C from './jtt978_context';
import { jctx } from './jtt978_context';
import * as R from './jtt978_reason';
import { KIND_CLEARING } from './jtt978_output';
import { jsend, jfinish, jnotPending } from './jtt978_kernel';
import { jfinal } from './jtt978_purchase';

const SW_9000: u32 = 0x9000;
const proofInput = memory.data(2, 4);

/** GET BALANCE answered during a recovery: decide debited, not debited, or another state. */
export function jrecoverOnBalance(): i32 {
  const balance = bswap<u32>(load<u32>(jctx.balance));
  const before = bswap<u32>(load<u32>(jctx.out + C.R_BALANCE_BEFORE));
  const amount = bswap<u32>(load<u32>(jctx.out + C.R_AMOUNT));
  if (amount > 0 && balance == before) return jnotPending(R.JREASON_NOT_DEBITED, 0);
  if (amount > before || balance != before - amount) {
    return jnotPending(R.JREASON_BALANCE_MISMATCH, <i32>balance);
  }
  // READ RECORD 0018 record 1, the log's newest: `00 B2 01 C4 17` (domain.md 7.1).
  return jsend(0xb2, 0x01, (<u32>C.SFI_0018 << 3) | 4, 0, 0, LOG_BYTES, C.J_DETAIL);
}

/** 0018: ATC (2), overdraft limit (3), amount (4), type (1), terminal (6), date-time (7). */
const LOG_BYTES: u32 = 23;
const LOG_AMOUNT: u32 = 5;
const LOG_TERMINAL: u32 = 10;
/** The detail of a NOT_DEBITED outcome whose debit was another terminal's (the file's SFI). */
const DEBIT_ELSEWHERE: i32 = 0x18;

/** The newest 0018 entry: this terminal's debit of this amount, or GET TRANSACTION PROOF. */
export function jrecoverOnDetail(data: usize, length: u32, sw: u32): i32 {
  const grey = jctx.out;
  if (sw == SW_9000 && length == LOG_BYTES && !(
    bytesEqual(data + LOG_TERMINAL, grey + C.R_TERMINAL, 6)
    && bytesEqual(data + LOG_AMOUNT, grey + C.R_AMOUNT, 4))) {
    return jnotPending(R.JREASON_NOT_DEBITED, DEBIT_ELSEWHERE);
  }
  // The transaction serial of the debit is the ATC INITIALIZE gave, plus one (S:MZT).
  writeU16Be(proofInput, (readU16Be(grey + C.R_ATC) + 1) & 0xffff);
  const type = <u32>load<u8>(grey + C.R_TYPE);
  return jsend(0x5a, 0x00, type, proofInput, 2, 8, C.J_PROOF);
}

/** GET TRANSACTION PROOF answer: MAC2 (4) ‖ TAC (4) completes the record. */
export function jrecoverOnProof(data: usize, length: u32, sw: u32): i32 {
  const amount = load<u32>(jctx.out + C.R_AMOUNT);
  if (sw != SW_9000) {
    return jnotPending(amount == 0 ? R.JREASON_NOT_DEBITED : R.JREASON_PROOF_UNAVAILABLE, <i32>sw);
  }
  if (length != 8) return jnotPending(R.JREASON_PROOF_UNAVAILABLE, ERR_CARD_DATA_INVALID);
  jfinal(data + 4, data);
  const flags = jctx.out + C.R_FLAGS;
  store<u8>(flags, load<u8>(flags) | C.RF_RECOVERY);
  return jfinish(STATUS_APPROVED_OFFLINE, R.JREASON_APPROVED, 0, KIND_CLEARING);
}
