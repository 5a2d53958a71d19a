// How long the validator watches for the re-tap of a card whose tap it left open.
//
// An uncertain qPBOC tap (an open pending, an uncertain torn record) or an open T-Union grey
// is kept so that the card's next tap can settle it (recovery, GET TRANSACTION PROOF). Every
// checkpoint carries these records whole, and start-up holds them, so without an end a
// validator that meets one such tap a day carries hundreds after a year (swarm seed 4 held
// 16 after 9,000 hostile taps: 24 KB in every checkpoint). Past the watch the validator
// writes `reconciled … unresolved` for the tap: the tap itself is uploaded as it was (torn,
// pending_open, tunion_grey lines; a pending, exported only while open, must be acknowledged
// first), so the back office settles it from the issuer's or the clearing house's data
// exactly as before; only the recovery at a re-tap is given up. A card met again after a
// month has been used elsewhere since: its last transaction, on which recovery works, is no
// longer the one left open.

/**
 * An open tap is watched at least this long, by the wall clock: longer than any torn window
 * a parameter set may give (tornWindowSec, at most 7 days), past which the validator no longer
 * tries a recovery anyway; an open ODA tap is still reconciled `not_debited` at a re-tap
 * within it.
 */
export const OPEN_TAP_WATCH_MS = 30 * 24 * 3600 * 1000;
/**
 * ... and for at least this many records after it: a wall clock set ahead (and later
 * corrected) must not end the watch of a tap whose card is tapping again seconds later. A
 * busy bus writes about 2,000 records a day.
 */
export const OPEN_TAP_WATCH_RECORDS = 5_000;
/**
 * At most this many open taps are kept whatever their age: the oldest beyond it is let go
 * (an open pending once acknowledged), which bounds the checkpoint (a record is at most a few
 * KB) and start-up memory.
 */
export const OPEN_TAPS_MAX = 256;
/** Records a single call writes: a long-off validator catches up over a few taps. */
export const OPEN_TAPS_EXPIRED_PER_CALL = 8;
/** The note of the reconciled record that ends a watch (the depot keeps it). */
export const OPEN_TAP_EXPIRED_NOTE = 'expired: the card did not come back';

/** True when enough records followed the open tap `seq` for its watch to end. */
export function openTapWatchMayEnd(seq: number, lastSeq: number): boolean {
  return lastSeq - seq >= OPEN_TAP_WATCH_RECORDS;
}

/** True when the tap written at `timeWallMs` is past its watch at `nowWallMs`. */
export function openTapWatchEnded(timeWallMs: number, nowWallMs: number): boolean {
  return nowWallMs - timeWallMs >= OPEN_TAP_WATCH_MS;
}
