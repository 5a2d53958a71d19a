// Card processing-time model: per-command base times plus RSA signing cost by key size.

/** Milliseconds a card spends per command class; used for latency benchmarks and WTX. */
export interface ProcessingModel {
  readonly selectMs: number;
  readonly gpoMs: number;
  readonly readRecordMs: number;
  readonly getDataMs: number;
  /** Any other command, including rejected ones. */
  readonly otherMs: number;
  /** Non-volatile write when the card commits (last AFL record). */
  readonly commitMs: number;
  /** One RSA private operation with a 1024-bit key. */
  readonly rsaMsAt1024: number;
  /** Per byte of response data (buffer copies, EEPROM reads). */
  readonly perResponseByteUs: number;
}

/**
 * A mid-range bank card: about 150 ms of card time for a full offline tap with a 1024-bit key,
 * consistent with the 500 ms card budget and the traces in domain.md 8.
 */
export const DEFAULT_PROCESSING: ProcessingModel = {
  selectMs: 8,
  gpoMs: 30,
  readRecordMs: 6,
  getDataMs: 5,
  otherMs: 3,
  commitMs: 15,
  rsaMsAt1024: 45,
  perResponseByteUs: 20,
};

/**
 * CRT signing on a card coprocessor grows roughly with the cube of the modulus length (two
 * half-size exponentiations, each quadratic multiplications times a linear exponent).
 */
export const RSA_TIME_SCALING_POWER = 3;

/** The modelled time of one RSA signature with a `bits`-bit key. */
export function rsaSignMs(model: ProcessingModel, bits: number): number {
  return model.rsaMsAt1024 * (bits / 1024) ** RSA_TIME_SCALING_POWER;
}

/** What happened during one command, as far as timing is concerned. */
export interface CommandCost {
  readonly kind: 'select' | 'gpo' | 'read-record' | 'get-data' | 'other';
  readonly responseBytes: number;
  /** Key sizes of RSA signatures computed during the command (usually none or one). */
  readonly rsaBits: readonly number[];
  readonly committed: boolean;
}

/** The modelled processing time of one command in milliseconds. */
export function commandMs(model: ProcessingModel, cost: CommandCost): number {
  return commandCostMs(model, cost, cost.responseBytes);
}

/**
 * `commandMs` of `cost` with `responseBytes` beside it: a card passes the cost its command
 * returned as it is, with no object spread into a new one per command (the cost objects come
 * in several shapes, and the spread of each was a slow generic copy on the card path).
 */
export function commandCostMs(
  model: ProcessingModel,
  cost: Omit<CommandCost, 'responseBytes'>,
  responseBytes: number,
): number {
  let ms = baseMs(model, cost.kind) + (responseBytes * model.perResponseByteUs) / 1000;
  const rsaBits = cost.rsaBits;
  for (let i = 0; i < rsaBits.length; i += 1) ms += rsaSignMs(model, rsaBits[i] ?? 0);
  if (cost.committed) ms += model.commitMs;
  return ms;
}

function baseMs(model: ProcessingModel, kind: CommandCost['kind']): number {
  switch (kind) {
    case 'select':
      return model.selectMs;
    case 'gpo':
      return model.gpoMs;
    case 'read-record':
      return model.readRecordMs;
    case 'get-data':
      return model.getDataMs;
    case 'other':
      return model.otherMs;
    default: {
      const never: never = kind;
      throw new Error(`unknown command kind ${String(never)}`);
    }
  }
}
