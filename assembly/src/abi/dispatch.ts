// Routes one shuaka_step call to its operation; the kernel's only switch over op codes.

import { STATUS_OK, ERR_UNKNOWN_OP, ERR_INPUT_TOO_LONG } from './status';
import { IN_CAPACITY, setOutLength } from './buffers';
import {
  OP_INFO, OP_FAULT_INJECT, OP_TLV_PARSE, OP_TLV_WALK, OP_TLV_FIND, OP_DOL_BUILD, OP_APDU_BUILD, OP_APDU_PARSE_COMMAND,
  OP_APDU_PARSE_RESPONSE,
} from './ops';
import {
  opInfo, opTlvParse, opTlvWalk, opTlvFind, opDolBuild, opApduBuild, opApduParseCommand,
  opApduParseResponse,
} from './codec_ops';

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
    default: break;
  }
  // A failed operation leaves no partial output behind.
  if (status < STATUS_OK) setOutLength(0);
  return status;
}
