// Transaction operations of shuaka_step (0x50-0x7F): the card applications over IN/OUT.
//
// The selection step (src/entry) is shared: qPBOC's step machine runs SELECT PPSE and walks the
// candidate list; a candidate of another application comes back as ENTRY_ROUTE, and this file,
// the only one above every application, hands the transaction over (applications never import
// each other).

import { STATUS_OK } from '../status/status';
import { IN_BUFFER, OUT_BUFFER, OUT_CAPACITY, setOutLength } from './buffers';
import { configLoad } from '../qpboc/qpboc_config';
import { ctx, PHASE_IDLE, PHASE_DONE, PHASE_RECORD, PHASE_DECISION } from '../qpboc/qpboc_context';
import {
  qpbocBegin,
  qpbocResume,
  qpbocDecide,
  qpbocLinkLost,
  qpbocRecover,
  qpbocAbort,
  qpbocOutputLength,
  qpbocSelectContinue,
} from '../qpboc/qpboc_kernel';
import { ENTRY_ROUTE, entryCandidateDrop } from '../entry/entry_select';
import { dumpWrite, tornRecordWrite } from '../qpboc/qpboc_torn';
import { ERR_BAD_STATE } from '../status/status';

/** Bound on hand-overs in one step: each one consumes a candidate. */
const ROUTES_MAX: u32 = 16;

/**
 * Follows ENTRY_ROUTE until an application answers. No other application runs yet: a routed
 * candidate is refused (detail 0) and selection goes on.
 */
function withOutput(first: i32): i32 {
  let status = first;
  for (let i: u32 = 0; i < ROUTES_MAX && status == ENTRY_ROUTE; i++) {
    status = qpbocSelectContinueDropping(OUT_BUFFER, OUT_CAPACITY);
  }
  assert(status != ENTRY_ROUTE, 'routing ends');
  setOutLength(qpbocOutputLength());
  return status;
}

function qpbocSelectContinueDropping(out: usize, capacity: u32): i32 {
  entryCandidateDrop();
  return qpbocSelectContinue(0, out, capacity);
}

/** OP_TXN_CONFIGURE: IN = configuration TLV. Refused while a transaction is in flight. */
export function opTxnConfigure(length: u32): i32 {
  if (ctx.phase != PHASE_IDLE && ctx.phase != PHASE_DONE) return ERR_BAD_STATE;
  return configLoad(IN_BUFFER, length);
}

/** OP_TXN_BEGIN: arg = mode, IN = transaction input. */
export function opTxnBegin(mode: u32, length: u32): i32 {
  return withOutput(qpbocBegin(mode, IN_BUFFER, length, OUT_BUFFER, OUT_CAPACITY));
}

/** OP_TXN_RESUME: IN = R-APDU. */
export function opTxnResume(length: u32): i32 {
  return withOutput(qpbocResume(IN_BUFFER, length, OUT_BUFFER, OUT_CAPACITY));
}

/** OP_TXN_DECIDE: arg = decision. */
export function opTxnDecide(decision: u32): i32 {
  return withOutput(qpbocDecide(decision, OUT_BUFFER, OUT_CAPACITY));
}

/** OP_TXN_LINK_LOST: arg = cause. */
export function opTxnLinkLost(cause: u32): i32 {
  return withOutput(qpbocLinkLost(cause, OUT_BUFFER, OUT_CAPACITY));
}

/** OP_TXN_RECOVER: IN = torn record. */
export function opTxnRecover(length: u32): i32 {
  return withOutput(qpbocRecover(IN_BUFFER, length, OUT_BUFFER, OUT_CAPACITY));
}

/** OP_TXN_ABORT. */
export function opTxnAbort(): i32 {
  qpbocAbort();
  return STATUS_OK;
}

/** OP_TXN_DUMP: OUT = collected data (E1, E2, E3, DF8104). */
export function opTxnDump(): i32 {
  setOutLength(dumpWrite(OUT_BUFFER, OUT_CAPACITY));
  return STATUS_OK;
}

/**
 * OP_TXN_SNAPSHOT: OUT = the torn record of the transaction in flight, exactly what a link loss
 * now would produce. Only while records are read or the host decides (ERR_BAD_STATE else).
 */
export function opTxnSnapshot(): i32 {
  if (ctx.phase != PHASE_RECORD && ctx.phase != PHASE_DECISION) return ERR_BAD_STATE;
  setOutLength(tornRecordWrite(OUT_BUFFER, OUT_CAPACITY));
  return STATUS_OK;
}
