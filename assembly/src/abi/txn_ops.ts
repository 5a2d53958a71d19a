// Transaction operations of shuaka_step (0x50-0x7F): the qPBOC kernel over IN/OUT.

import { STATUS_OK } from './status';
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
} from '../qpboc/qpboc_kernel';
import { dumpWrite, tornRecordWrite } from '../qpboc/qpboc_torn';
import { ERR_BAD_STATE } from './status';

function withOutput(status: i32): i32 {
  setOutLength(qpbocOutputLength());
  return status;
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
