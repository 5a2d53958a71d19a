// Routes one shuaka_step call to its operation; the kernel's only switch over op codes.

import { STATUS_OK, ERR_UNKNOWN_OP, ERR_INPUT_TOO_LONG } from '../status/status';
import { IN_CAPACITY, setOutLength } from './buffers';
import {
  OP_INFO, OP_FAULT_INJECT, OP_TLV_PARSE, OP_TLV_WALK, OP_TLV_FIND, OP_DOL_BUILD, OP_APDU_BUILD,
  OP_APDU_PARSE_COMMAND, OP_APDU_PARSE_RESPONSE,
} from './ops';
import {
  opInfo, opTlvParse, opTlvWalk, opTlvFind, opDolBuild, opApduBuild, opApduParseCommand,
  opApduParseResponse,
} from './codec_ops';
import {
  OP_SHA1, OP_RSA_PUBLIC, OP_CAPK_LOAD, OP_CAPK_CLEAR, OP_CAPK_REVOKE, OP_CAPK_LIST,
  OP_ODA_RECOVER_ISSUER, OP_ODA_RECOVER_ICC, OP_ODA_VERIFY_SDAD, OP_ODA_VERIFY_SSAD, OP_ODA_FDDA,
  OP_ODA_SDA,
} from './ops';
import {
  opSha1, opRsaPublic, opCapkLoad, opCapkClear, opCapkRevoke, opCapkList, opOdaRecoverIssuer,
  opOdaRecoverIcc, opOdaVerifySdad, opOdaVerifySsad, opOdaFdda, opOdaSda,
} from './crypto_ops';
import {
  OP_SM3, OP_SM2_VERIFY, OP_SM2_ZA, OP_SM2_DECOMPRESS, OP_ODA_SM_RECOVER_ISSUER,
  OP_ODA_SM_RECOVER_ICC, OP_ODA_SM_VERIFY_SDAD, OP_ODA_SM_FDDA,
} from './ops';
import {
  opSm3, opSm2Verify, opSm2Za, opSm2Decompress, opOdaSmRecoverIssuer, opOdaSmRecoverIcc,
  opOdaSmVerifySdad, opOdaSmFdda,
} from './sm_ops';
import {
  OP_TXN_CONFIGURE, OP_TXN_BEGIN, OP_TXN_RESUME, OP_TXN_DECIDE, OP_TXN_LINK_LOST, OP_TXN_RECOVER,
  OP_TXN_ABORT, OP_TXN_DUMP, OP_TXN_SNAPSHOT, OP_JTT978_CONFIGURE,
} from './ops';
import {
  opTxnConfigure, opTxnBegin, opTxnResume, opTxnDecide, opTxnLinkLost, opTxnRecover, opTxnAbort,
  opTxnDump, opTxnSnapshot, opJtt978Configure,
} from './txn_ops';

/**
 * Runs operation `op` on IN[0..inLength) with argument `arg`; the output goes to OUT.
 * Returns the operation's status, ERR_INPUT_TOO_LONG or ERR_UNKNOWN_OP.
 */
export function dispatchStep(op: u32, arg: u32, inLength: u32): i32 {
  setOutLength(0);
  if (inLength > IN_CAPACITY) return ERR_INPUT_TOO_LONG;
  let status: i32 = ERR_UNKNOWN_OP;
  switch (op) {
    case OP_INFO: status = opInfo(); break;
    case OP_FAULT_INJECT: assert(false, 'fault injected by the host (OP_FAULT_INJECT)'); break;
    case OP_TLV_PARSE: status = opTlvParse(inLength); break;
    case OP_TLV_WALK: status = opTlvWalk(inLength); break;
    case OP_TLV_FIND: status = opTlvFind(arg, inLength); break;
    case OP_DOL_BUILD: status = opDolBuild(arg, inLength); break;
    case OP_APDU_BUILD: status = opApduBuild(arg, inLength); break;
    case OP_APDU_PARSE_COMMAND: status = opApduParseCommand(inLength); break;
    case OP_APDU_PARSE_RESPONSE: status = opApduParseResponse(inLength); break;
    case OP_SHA1: status = opSha1(arg, inLength); break;
    case OP_RSA_PUBLIC: status = opRsaPublic(arg, inLength); break;
    case OP_CAPK_LOAD: status = opCapkLoad(arg, inLength); break;
    case OP_CAPK_CLEAR: status = opCapkClear(); break;
    case OP_CAPK_REVOKE: status = opCapkRevoke(inLength); break;
    case OP_CAPK_LIST: status = opCapkList(); break;
    case OP_ODA_RECOVER_ISSUER: status = opOdaRecoverIssuer(arg, inLength); break;
    case OP_ODA_RECOVER_ICC: status = opOdaRecoverIcc(arg, inLength); break;
    case OP_ODA_VERIFY_SDAD: status = opOdaVerifySdad(arg, inLength); break;
    case OP_ODA_VERIFY_SSAD: status = opOdaVerifySsad(arg, inLength); break;
    case OP_ODA_FDDA: status = opOdaFdda(arg, inLength); break;
    case OP_ODA_SDA: status = opOdaSda(arg, inLength); break;
    case OP_SM3: status = opSm3(arg, inLength); break;
    case OP_SM2_VERIFY: status = opSm2Verify(arg, inLength); break;
    case OP_SM2_ZA: status = opSm2Za(inLength); break;
    case OP_SM2_DECOMPRESS: status = opSm2Decompress(inLength); break;
    case OP_ODA_SM_RECOVER_ISSUER: status = opOdaSmRecoverIssuer(arg, inLength); break;
    case OP_ODA_SM_RECOVER_ICC: status = opOdaSmRecoverIcc(arg, inLength); break;
    case OP_ODA_SM_VERIFY_SDAD: status = opOdaSmVerifySdad(arg, inLength); break;
    case OP_ODA_SM_FDDA: status = opOdaSmFdda(arg, inLength); break;
    case OP_TXN_CONFIGURE: status = opTxnConfigure(inLength); break;
    case OP_TXN_BEGIN: status = opTxnBegin(arg, inLength); break;
    case OP_TXN_RESUME: status = opTxnResume(inLength); break;
    case OP_TXN_DECIDE: status = opTxnDecide(arg, inLength); break;
    case OP_TXN_LINK_LOST: status = opTxnLinkLost(arg); break;
    case OP_TXN_RECOVER: status = opTxnRecover(inLength); break;
    case OP_TXN_ABORT: status = opTxnAbort(); break;
    case OP_TXN_DUMP: status = opTxnDump(); break;
    case OP_TXN_SNAPSHOT: status = opTxnSnapshot(); break;
    case OP_JTT978_CONFIGURE: status = opJtt978Configure(inLength); break;
    default: break;
  }
  // A failed operation leaves no partial output behind.
  if (status < STATUS_OK) setOutLength(0);
  return status;
}
