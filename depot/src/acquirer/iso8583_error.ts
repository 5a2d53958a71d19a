// The one error an ISO 8583 message can fail with, coded so a link can log and count it.

/** Why a message did not decode or encode. */
export type Iso8583ErrorCode =
  /** The bytes end inside the MTI, a bitmap, a length prefix or a field. */
  | 'truncated'
  /** A bitmap names no data field, sets bit 65 (tertiary bitmap) or both MACs (64 and 128). */
  | 'bad-bitmap'
  /** A bitmap bit names a field the spec does not define. */
  | 'unknown-field'
  /** A length prefix is not decimal or exceeds the field's maximum. */
  | 'bad-length'
  /** A value has a character its attribute forbids, or the wrong fixed length. */
  | 'bad-value'
  /** The MTI is not four decimal digits. */
  | 'bad-mti'
  /** Bytes remain after the last field the bitmap names. */
  | 'trailing-bytes';

/** A malformed message; `field` is the data element (0 for MTI/bitmap), `offset` the byte. */
export class Iso8583Error extends Error {
  constructor(
    readonly code: Iso8583ErrorCode,
    readonly field: number,
    readonly offset: number,
    detail: string,
  ) {
    super(`iso8583 ${code} at field ${field}, byte ${offset}: ${detail}`);
    this.name = 'Iso8583Error';
  }
}
