// Transaction operations of shuaka_step (0x50-0x7F): the card applications over IN/OUT.
//
// The selection step (src/entry) is shared: qPBOC's step machine runs SELECT PPSE and walks the
// candidate list; a candidate of another application comes back as ENTRY_ROUTE, and this file,
// the only one above every application, hands the transaction over (applications never import
// each other). JT/T 978 hands a card back the same way when its SELECT ADF fails.

import { STATUS_OK, ERR_BAD_STATE } from '../status/status';
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
import { dumpWrite, tornRecordWrite } from '../qpboc/qpboc_torn';
import { ENTRY_ROUTE } from '../entry/entry_select';
import { APP_QPBOC, APP_JTT978 } from '../entry/entry_aids';
import {
  jtt978Input,
  jtt978Select,
  jtt978Resume,
  jtt978Decide,
  jtt978LinkLost,
  jtt978Recover,
  jtt978IsRecord,
  jtt978Abort,
  jtt978Busy,
  jtt978OutputLength,
  jtt978RouteDetail,
} from '../jtt978/jtt978_kernel';
import { jconfigLoad } from '../jtt978/jtt978_config';

/** Bound on hand-overs in one step: each one consumes a candidate. */
const ROUTES_MAX: u32 = 16;
/** The application running the transaction in flight. */
let active: u8 = APP_QPBOC;

/** Follows ENTRY_ROUTE between the applications until one answers, then sets OUT's length. */
function withOutput(first: i32): i32 {
  let status = first;
  for (let i: u32 = 0; i < ROUTES_MAX && status == ENTRY_ROUTE; i++) {
    if (active == APP_QPBOC) {
      active = APP_JTT978;
      status = jtt978Select(OUT_BUFFER, OUT_CAPACITY);
    } else {
      active = APP_QPBOC;
      status = qpbocSelectContinue(jtt978RouteDetail(), OUT_BUFFER, OUT_CAPACITY);
    }
  }
  assert(status != ENTRY_ROUTE, 'routing ends');
  setOutLength(active == APP_QPBOC ? qpbocOutputLength() : jtt978OutputLength());
  return status;
}

function busy(): bool {
  if (active == APP_JTT978) return jtt978Busy();
  return ctx.phase != PHASE_IDLE && ctx.phase != PHASE_DONE;
}

/** OP_TXN_CONFIGURE: IN = configuration TLV. Refused while a transaction is in flight. */
export function opTxnConfigure(length: u32): i32 {
  if (busy()) return ERR_BAD_STATE;
  return configLoad(IN_BUFFER, length);
}

/** OP_JTT978_CONFIGURE: IN = the PSAM's terminal number and key index (jtt978_config.ts). */
export function opJtt978Configure(length: u32): i32 {
  if (busy()) return ERR_BAD_STATE;
  return jconfigLoad(IN_BUFFER, length);
}

/** OP_TXN_BEGIN: arg = mode, IN = transaction input. */
export function opTxnBegin(mode: u32, length: u32): i32 {
  if (busy()) return ERR_BAD_STATE;
  active = APP_QPBOC;
  jtt978Input(IN_BUFFER, length);
  return withOutput(qpbocBegin(mode, IN_BUFFER, length, OUT_BUFFER, OUT_CAPACITY));
}

/** OP_TXN_RESUME: IN = R-APDU (of the card, or of the PSAM after STATUS_NEED_PSAM_APDU). */
export function opTxnResume(length: u32): i32 {
  if (active == APP_JTT978) {
    return withOutput(jtt978Resume(IN_BUFFER, length, OUT_BUFFER, OUT_CAPACITY));
  }
  return withOutput(qpbocResume(IN_BUFFER, length, OUT_BUFFER, OUT_CAPACITY));
}

/** OP_TXN_DECIDE: arg = decision; IN = the JT/T 978 purchase input (proceed), else empty. */
export function opTxnDecide(decision: u32, length: u32): i32 {
  if (active == APP_JTT978) {
    return withOutput(jtt978Decide(decision, IN_BUFFER, length, OUT_BUFFER, OUT_CAPACITY));
  }
  return withOutput(qpbocDecide(decision, OUT_BUFFER, OUT_CAPACITY));
}

/** OP_TXN_LINK_LOST: arg = cause (4: the PSAM failed). */
export function opTxnLinkLost(cause: u32): i32 {
  if (active == APP_JTT978) {
    return withOutput(jtt978LinkLost(cause, OUT_BUFFER, OUT_CAPACITY));
  }
  return withOutput(qpbocLinkLost(cause, OUT_BUFFER, OUT_CAPACITY));
}

/** OP_TXN_RECOVER: IN = torn record (a JT/T 978 grey record starts with 'J'). */
export function opTxnRecover(length: u32): i32 {
  if (busy()) return ERR_BAD_STATE;
  if (jtt978IsRecord(IN_BUFFER, length)) {
    active = APP_JTT978;
    return withOutput(jtt978Recover(IN_BUFFER, length, OUT_BUFFER, OUT_CAPACITY));
  }
  active = APP_QPBOC;
  return withOutput(qpbocRecover(IN_BUFFER, length, OUT_BUFFER, OUT_CAPACITY));
}

/** OP_TXN_ABORT. */
export function opTxnAbort(): i32 {
  qpbocAbort();
  jtt978Abort();
  active = APP_QPBOC;
  return STATUS_OK;
}

/** OP_TXN_DUMP: OUT = collected data (E1, E2, E3, DF8104). */
export function opTxnDump(): i32 {
  setOutLength(dumpWrite(OUT_BUFFER, OUT_CAPACITY));
  return STATUS_OK;
}

/**
 * OP_TXN_SNAPSHOT: OUT = the torn record of the qPBOC transaction in flight, exactly what a link
 * loss now would produce. Only while records are read or the host decides (ERR_BAD_STATE else;
 * JT/T 978 hands its grey record over at STATUS_NEED_PRECOMMIT instead).
 */
export function opTxnSnapshot(): i32 {
  if (active != APP_QPBOC) return ERR_BAD_STATE;
  if (ctx.phase != PHASE_RECORD && ctx.phase != PHASE_DECISION) return ERR_BAD_STATE;
  setOutLength(tornRecordWrite(OUT_BUFFER, OUT_CAPACITY));
  return STATUS_OK;
}
