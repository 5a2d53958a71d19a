// APPLICATION BLOCK of a deny-listed T-Union card, its MAC computed by the PSAM.
//
// domain.md 7.6, bytes from S:MZT CPUCARJTB.c `operat_Black`, `CpuCardSetMac2`, `CpuBlackMac`:
// GET CHALLENGE on the card; PSAM `80 1A 45 02 10` ‖ application serial (last 8) ‖ issuer id (8)
// diversifies the application maintenance key (P1 45 key usage, P2 02 key version, both as
// MZT sends them; [I] their meaning); PSAM `80 FA 05 00 10` ‖ challenge ‖ 00000000 (the IV) ‖
// `84 1E 00 00 04 80 00 00` (the header padded, ISO 9797-1 method 2) → MAC (4) [I: P1 05 =
// MAC with IV, last block]; then the card `84 1E 00 00 04` ‖ MAC (P2 00: temporary block, as
// MZT). The deny list decides the outcome: DECLINED/deny-list whatever happens; flag OF_BLOCKED
// when the card answered 9000 (a wrong MAC is 6988 on PBOC e-purse cards).

import { STATUS_DECLINED } from '../status/status';
import { bytesCopy } from '../util/bytes';
import { ttlCommand } from '../emv/emv_ttl';
import * as C from './jtt978_context';
import { jctx } from './jtt978_context';
import { JREASON_DENY_LIST } from './jtt978_reason';
import { KIND_NONE } from './jtt978_output';
import { jstage, jfinish } from './jtt978_kernel';

const SW_9000: u32 = 0x9000;
const staging = memory.data(24, 4);
/** The APPLICATION BLOCK header, padded to one DES block (ISO 9797-1 padding method 2). */
const BLOCK_HEADER = memory.data<u8>([0x84, 0x1e, 0x00, 0x00, 0x04, 0x80, 0x00, 0x00]);

function jblockEnd(detail: i32): i32 {
  return jfinish(STATUS_DECLINED, JREASON_DENY_LIST, detail, KIND_NONE);
}

/** Stages GET CHALLENGE `00 84 00 00 04`. */
export function jblockChallenge(): i32 {
  return jstage(ttlCommand(0x00, 0x84, 0x00, 0x00, 0, 0, true, 4), C.J_CHALLENGE);
}

/** The card's challenge (4 bytes): stages the PSAM's two-level key diversification. */
export function jblockOnChallenge(data: usize, length: u32, sw: u32): i32 {
  if (sw != SW_9000 || length != 4) return jblockEnd(<i32>sw);
  bytesCopy(jctx.challenge, data, 4);
  bytesCopy(staging, jctx.f15 + C.F15_SERIAL8, 8);
  bytesCopy(staging + 8, jctx.f15 + C.F15_ISSUER, 8);
  return jstage(ttlCommand(0x80, 0x1a, 0x45, 0x02, staging, 16, false, 0), C.J_SAM_BLOCK_INIT);
}

/** The PSAM diversified the key: stages its MAC over the padded APPLICATION BLOCK header. */
export function jblockOnSamInit(sw: u32): i32 {
  if (sw != SW_9000) return jblockEnd(<i32>sw);
  bytesCopy(staging, jctx.challenge, 4);
  memory.fill(staging + 4, 0, 4);
  bytesCopy(staging + 8, BLOCK_HEADER, 8);
  return jstage(ttlCommand(0x80, 0xfa, 0x05, 0x00, staging, 16, true, 4), C.J_SAM_BLOCK_MAC);
}

/** The PSAM's MAC (4 bytes): stages APPLICATION BLOCK on the card. */
export function jblockOnSamMac(data: usize, length: u32, sw: u32): i32 {
  if (sw != SW_9000 || length != 4) return jblockEnd(<i32>sw);
  bytesCopy(staging, data, 4);
  return jstage(ttlCommand(0x84, 0x1e, 0x00, 0x00, staging, 4, false, 0), C.J_BLOCK);
}
