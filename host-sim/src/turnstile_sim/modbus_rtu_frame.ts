// Modbus RTU framing for the emulated gate controller: CRC-16, request lengths, answers.
//
// See Modbus over Serial Line V1.02, 2.5.1.2 (CRC: polynomial 0xA001 reflected, initial 0xFFFF,
// low byte first on the wire) and Modbus Application Protocol V1.1b3, 6 (function codes) and 7
// (exception responses: function code | 0x80, one exception code).

/** Function codes the controller implements (Modbus Application Protocol 6.1-6.12). */
export const FC_01_READ_COILS = 0x01;
export const FC_02_READ_DISCRETE_INPUTS = 0x02;
export const FC_03_READ_HOLDING_REGISTERS = 0x03;
export const FC_04_READ_INPUT_REGISTERS = 0x04;
export const FC_05_WRITE_SINGLE_COIL = 0x05;
export const FC_06_WRITE_SINGLE_REGISTER = 0x06;
export const FC_0F_WRITE_MULTIPLE_COILS = 0x0f;
export const FC_10_WRITE_MULTIPLE_REGISTERS = 0x10;

/** Exception codes (Modbus Application Protocol 7). */
export const EXCEPTION_01_ILLEGAL_FUNCTION = 0x01;
export const EXCEPTION_02_ILLEGAL_DATA_ADDRESS = 0x02;
export const EXCEPTION_03_ILLEGAL_DATA_VALUE = 0x03;

/** An RTU ADU is at most 256 bytes (Modbus over Serial Line 2.5.1.1). */
export const RTU_ADU_BYTES_MAX = 256;

/** CRC-16/MODBUS of `bytes`. */
export function modbusCrc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit += 1) {
      crc = (crc & 1) !== 0 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
    }
  }
  return crc;
}

/** `pdu` with address before and CRC after (low byte first). */
export function rtuFrame(unitId: number, pdu: Uint8Array): Uint8Array {
  const out = new Uint8Array(pdu.length + 3);
  out[0] = unitId;
  out.set(pdu, 1);
  const crc = modbusCrc16(out.subarray(0, pdu.length + 1));
  out[pdu.length + 1] = crc & 0xff;
  out[pdu.length + 2] = crc >>> 8;
  return out;
}

/** True when the last two bytes of `adu` are the CRC of the rest. */
export function rtuCrcValid(adu: Uint8Array): boolean {
  if (adu.length < 4) return false;
  const crc = modbusCrc16(adu.subarray(0, adu.length - 2));
  return adu[adu.length - 2] === (crc & 0xff) && adu[adu.length - 1] === crc >>> 8;
}

/**
 * Length of the request ADU at the start of `buffered`: fixed 8 bytes for 01-06, 9 + byte
 * count for 0F and 10; null while too few bytes are in to tell; 'unknown' for another function
 * code (the caller then waits for the inter-frame silence and answers ILLEGAL FUNCTION).
 */
export function rtuRequestBytes(buffered: Uint8Array): number | null | 'unknown' {
  if (buffered.length < 2) return null;
  const fc = buffered[1] ?? 0;
  if (fc >= FC_01_READ_COILS && fc <= FC_06_WRITE_SINGLE_REGISTER) return 8;
  if (fc === FC_0F_WRITE_MULTIPLE_COILS || fc === FC_10_WRITE_MULTIPLE_REGISTERS) {
    if (buffered.length < 7) return null;
    return 9 + (buffered[6] ?? 0);
  }
  return 'unknown';
}
