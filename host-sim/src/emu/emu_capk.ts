// The emulator's test CA public keys as capk.txt lines, each marked as a TEST key.

import { SM_CA_INDEX } from '../cards/sm_population.js';
import type { CaPublicKeyParams } from '../pki/emv_capk.js';

/**
 * capk.txt text for `keys` (the simulator's test PKI): a warning header, then per key a
 * comment (RID, index, size, exponent, expiry, check value) and its TLV line. The firmware
 * verifies each check value again when the set is signed and loaded.
 */
export function emuCapkText(keys: readonly CaPublicKeyParams[], smCapkTlvHex: string): string {
  const lines = [
    '# TEST KEYS of the shuaka emulator (host-sim test PKI): only its virtual cards are',
    '# signed with them. Remove these lines before a validator goes into service.',
  ];
  for (const key of keys) {
    const bits = (key.modulusHex.length / 2) * 8;
    const index = key.index.toString(16).toUpperCase().padStart(2, '0');
    lines.push(`# TEST KEY ${key.ridHex.toUpperCase()} index ${index}: RSA ${bits} bits,`
      + ` exponent ${key.exponentHex.toUpperCase()}, expires ${key.expiryYyyymmdd},`
      + ` check value ${key.checkHex.toUpperCase()}`);
    lines.push(key.tlvHex.toUpperCase());
  }
  // The SM2 (国密) CA key of the emulator's SM cards (`cards` lists sm-ec and the others).
  lines.push(`# TEST KEY A000000333 index ${SM_CA_INDEX.toString(16).toUpperCase()}: SM2 (national`
    + ' cryptography), expires 20491231, of the sm-* cards');
  lines.push(smCapkTlvHex.toUpperCase());
  return lines.join('\n');
}
