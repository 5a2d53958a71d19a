// Terminal verification results (95) and transaction status information (9B), kept in the
// terminal data so the PDOL/CDOL1 carry them as they stand and the clearing record as they end.
//
// See EMV 4.4 Book 3, Annex C1 (TVR) and C2 (TSI); 10.3 (ODA), 10.4 (processing restrictions).

import { TAG_95_TVR } from '../emv/emv_tags';
import { ctx, ODA_METHOD_SDA, ODA_METHOD_CDA, ODA_METHOD_NONE } from './qpboc_context';
import { TAG_9B_TSI } from './qpboc_gpo';

// TVR byte 1.
export const TVR1_ODA_NOT_PERFORMED: u8 = 0x80;
export const TVR1_SDA_FAILED: u8 = 0x40;
export const TVR1_ICC_DATA_MISSING: u8 = 0x20;
export const TVR1_EXCEPTION_FILE: u8 = 0x10;
export const TVR1_DDA_FAILED: u8 = 0x08;
export const TVR1_CDA_FAILED: u8 = 0x04;
export const TVR1_SDA_SELECTED: u8 = 0x02;
// TVR byte 2.
export const TVR2_EXPIRED: u8 = 0x40;
export const TVR2_NOT_EFFECTIVE: u8 = 0x20;
// TVR byte 4.
export const TVR4_OVER_FLOOR_LIMIT: u8 = 0x80;
// TSI byte 1.
export const TSI1_ODA_PERFORMED: u8 = 0x80;

/** ORs `mask` into TVR byte `index` (0-4). */
export function tvrSet(index: u32, mask: u8): void {
  orInto(TAG_95_TVR, index, mask);
}

/** ORs `mask` into TSI byte `index` (0-1). */
export function tsiSet(index: u32, mask: u8): void {
  orInto(TAG_9B_TSI, index, mask);
}

function orInto(tag: u32, index: u32, mask: u8): void {
  const at = ctx.terminal.find(tag);
  if (at < 0 || index >= ctx.terminal.valueLength(at)) return;
  const p = ctx.terminal.valuePtr(at) + <usize>index;
  store<u8>(p, load<u8>(p) | mask);
}

/**
 * Records a settled ODA in TVR/TSI: ODA performed; SDA selected for SDA; on failure the
 * method's failed bit (fDDA counts as DDA) and, when an input was missing, ICC data missing.
 */
export function tvrOdaSettled(method: u8, ok: bool, missing: bool): void {
  if (method == ODA_METHOD_NONE) return;
  tsiSet(0, TSI1_ODA_PERFORMED);
  if (method == ODA_METHOD_SDA) tvrSet(0, TVR1_SDA_SELECTED);
  if (ok) return;
  if (missing) tvrSet(0, TVR1_ICC_DATA_MISSING);
  let bit = TVR1_DDA_FAILED;
  if (method == ODA_METHOD_SDA) bit = TVR1_SDA_FAILED;
  if (method == ODA_METHOD_CDA) bit = TVR1_CDA_FAILED;
  tvrSet(0, bit);
}

/** At the end: ODA not performed when no method ran (Book 3 10.3). */
export function tvrFinish(): void {
  if (!ctx.odaDone) tvrSet(0, TVR1_ODA_NOT_PERFORMED);
}

/**
 * A torn record's TVR as the card's TC covers it (PDOL, at GPO): without 'ODA not performed',
 * which records of kernels before this one took from tvrFinish at the torn outcome. The GPO
 * never sends that bit (tvrFinish alone sets it), so clearing it restores the GPO's TVR; the
 * recovery's own ODA then settles TVR as for any tap. Sent with the bit, the recovered debit's
 * TC did not verify at the issuer: declined at clearing, a debt and a deny entry for a card
 * that had paid.
 */
export function tvrAsAtGpo(): void {
  const at = ctx.terminal.find(TAG_95_TVR);
  if (at < 0 || ctx.terminal.valueLength(at) == 0) return;
  const p = ctx.terminal.valuePtr(at);
  store<u8>(p, load<u8>(p) & ~TVR1_ODA_NOT_PERFORMED);
}
