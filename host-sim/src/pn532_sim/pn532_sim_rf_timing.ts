// ISO/IEC 14443 air-time model: how long activation and an ISO-DEP APDU exchange take on RF.
//
// A model for latency budgets, not a bit-exact simulation. Sources: ISO/IEC 14443-2, where
// etu = 128/fc at 106 kbit/s and halves per bit-rate step. ISO/IEC 14443-3, where a type A byte
// carries a parity bit (9 etu) and a type B character has start and stop bits (10 etu) with
// SOF/EOF of about 10 etu each. ISO/IEC 14443-4, where an I-block is PCB + INF + CRC, long
// messages chain into FSC/FSD-sized blocks, and each non-final block is answered with an
// R(ACK). pn532.md §6 gives the worked example this model reproduces: about 140 ms of RF for a
// 1.4 KB qPBOC tap at 106 kbit/s.

/** ISO 14443 carrier frequency. */
export const ISO14443_FC_HZ = 13_560_000;
/** Bit rates the standard defines, kbit/s. */
export type Iso14443BitRateKbps = 106 | 212 | 424 | 848;
export type Iso14443Type = 'A' | 'B';

/** Frame delay per turnaround (either direction), microseconds: about FDT min at 106. */
export const ISO14443_FRAME_DELAY_US = 90;
/** Bytes an I-block or R-block adds: PCB plus a 2-byte CRC (no CID, no NAD). */
export const ISO14443_4_BLOCK_OVERHEAD_BYTES = 3;
/** FSD the PN532 announces in its RATS (E0 50: FSDI 5 = 64 bytes). */
export const PN532_FSD_BYTES = 64;

/** FSCI/FSDI code to frame size, ISO/IEC 14443-4 Table 1 (codes above 8 treated as 256). */
const FSC_TABLE: readonly number[] = [16, 24, 32, 40, 48, 64, 96, 128, 256];

/** Frame size for an FSCI code (0..15). */
export function iso14443FrameSizeBytes(code: number): number {
  return FSC_TABLE[Math.min(Math.max(code, 0), 8)] ?? 256;
}

/** Elementary time unit in microseconds at `bitRateKbps`. */
export function iso14443EtuUs(bitRateKbps: Iso14443BitRateKbps): number {
  const divisor = bitRateKbps / 106;
  return (128 / divisor / ISO14443_FC_HZ) * 1e6;
}

/** Air time of one frame of `bytes` bytes (no turnaround), microseconds. */
export function iso14443FrameUs(
  type: Iso14443Type,
  bytes: number,
  kbps: Iso14443BitRateKbps,
): number {
  const etu = iso14443EtuUs(kbps);
  // Type A: 9 etu per byte (8 data + odd parity), SOF 1 etu, EOF ~1 etu.
  // Type B: 10 etu per character, SOF ~11 etu, EOF ~11 etu.
  return type === 'A' ? (bytes * 9 + 2) * etu : (bytes * 10 + 22) * etu;
}

/** Input of one ISO-DEP exchange. */
export interface RfExchangeInput {
  readonly type: Iso14443Type;
  readonly bitRateKbps: Iso14443BitRateKbps;
  readonly capduBytes: number;
  readonly rapduBytes: number;
  /** Card's maximum frame size (from ATS FSCI or ATQB Max_Frame_Size). */
  readonly fscBytes: number;
  /** Reader's maximum frame size (PN532: 64). */
  readonly fsdBytes: number;
}

/** Air time of one APDU exchange with block chaining both ways, milliseconds. */
export function iso14443ExchangeAirMs(input: RfExchangeInput): number {
  const { type, bitRateKbps: kbps } = input;
  const overhead = ISO14443_4_BLOCK_OVERHEAD_BYTES;
  const commandBlocks = blocks(input.capduBytes, input.fscBytes - overhead);
  const responseBlocks = blocks(input.rapduBytes, input.fsdBytes - overhead);
  let us = 0;
  us += iso14443FrameUs(type, input.capduBytes + commandBlocks * overhead, kbps);
  us += iso14443FrameUs(type, input.rapduBytes + responseBlocks * overhead, kbps);
  // Frame overhead of the extra frames is counted once per frame: remove the double count.
  us += (commandBlocks + responseBlocks - 2) * iso14443FrameUs(type, 0, kbps);
  // Every non-final block is acknowledged by an R(ACK) from the other side.
  const acks = commandBlocks - 1 + (responseBlocks - 1);
  us += acks * iso14443FrameUs(type, overhead, kbps);
  const frames = commandBlocks + responseBlocks + acks;
  us += frames * ISO14443_FRAME_DELAY_US;
  return us / 1000;
}

/** Air time of activation (type A: REQA..SELECT + RATS/ATS; type B: REQB/ATQB + ATTRIB), ms. */
export function iso14443ActivationAirMs(
  type: Iso14443Type,
  uidBytes: number,
  atsBytes: number,
  kbps: Iso14443BitRateKbps,
): number {
  let frames: number[];
  if (type === 'A') {
    const levels = uidBytes <= 4 ? 1 : uidBytes <= 7 ? 2 : 3;
    frames = [1, 2];
    for (let k = 0; k < levels; k += 1) frames.push(2, 5, 9, 3);
    frames.push(4, atsBytes + 2);
  } else {
    frames = [5, 14, 11, 3];
  }
  let us = 0;
  for (const bytes of frames) us += iso14443FrameUs(type, bytes, kbps) + ISO14443_FRAME_DELAY_US;
  return us / 1000;
}

function blocks(bytes: number, payloadPerBlock: number): number {
  return Math.max(1, Math.ceil(bytes / Math.max(1, payloadPerBlock)));
}
