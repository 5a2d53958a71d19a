// Short command APDUs as a card sees them: header, Lc data and Le (ISO/IEC 7816-4, 5.1).

/** A parsed short command APDU. `le` is null when absent; an Le byte 00 means 256. */
export interface CommandApdu {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
  readonly data: Uint8Array;
  readonly le: number | null;
}

/**
 * Splits a short command APDU into its cases (ISO/IEC 7816-4, 5.1: case 1 header only, case 2
 * header ‖ Le, case 3 header ‖ Lc ‖ data, case 4 header ‖ Lc ‖ data ‖ Le). Returns null when the
 * bytes fit no case (shorter than a header, Lc 00 with data, Lc disagreeing with the length):
 * the caller answers 6700. Extended lengths are not used by PSAMs and fit no case here.
 */
export function parseCommandApdu(apdu: Uint8Array): CommandApdu | null {
  if (apdu.length < 4) return null;
  if (apdu.length === 4) return commandApdu(apdu, new Uint8Array(0), null);
  const b5 = apdu[4] ?? 0;
  if (apdu.length === 5) return commandApdu(apdu, new Uint8Array(0), b5 === 0 ? 256 : b5);
  if (b5 === 0) return null;
  if (apdu.length === 5 + b5) return commandApdu(apdu, apdu.slice(5), null);
  if (apdu.length === 6 + b5) {
    const le = apdu[5 + b5] ?? 0;
    return commandApdu(apdu, apdu.slice(5, 5 + b5), le === 0 ? 256 : le);
  }
  return null;
}

/**
 * The parsed APDU of header `apdu[0..4]`, `data` and `le`: one object literal of one shape, the
 * header read by index (a destructuring of the typed array and a spread of a header object
 * went through the iterator and a generic copy at every PSAM command).
 */
function commandApdu(apdu: Uint8Array, data: Uint8Array, le: number | null): CommandApdu {
  return { cla: apdu[0] ?? 0, ins: apdu[1] ?? 0, p1: apdu[2] ?? 0, p2: apdu[3] ?? 0, data, le };
}

/** True when every nibble of `bytes` is a decimal digit (format n / BCD). */
export function isBcd(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b >> 4 > 9 || (b & 0x0f) > 9) return false;
  return true;
}
