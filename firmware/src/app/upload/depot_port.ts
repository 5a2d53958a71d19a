// The validator's view of the depot: the three calls of the validator-depot contract v1.
//
// The transport (HTTPS with the terminal's client certificate, see depot/README.md) lives in
// a board; the application sees this port only, so the simulator can wire a faulty twin.

/**
 * Why a depot call failed. Each maps one HTTP answer or transport failure of the contract:
 * - `tls`: the TLS handshake failed (server certificate refused, our certificate refused).
 * - `forbidden`: 403 (`terminal-unknown`, `terminal-revoked`, `terminal-mismatch`,
 *   `certificate-expired`).
 * - `bad-request`: 400 (`bad-batch` with the field path); the batch is kept, not dropped.
 * - `too-large`: 413 (body over the depot's limit); the uploader halves its batch.
 * - `conflict`: 409 (`seq-conflict`): the depot holds one of the batch's seqs as another
 *   record: this journal was put in place of one the depot already has records of, and numbers
 *   from a seq the depot holds. Nothing was stored; the records stay here (see `shuaka journal
 *   init --after-seq`).
 * - `unavailable`: 503 (`store-unavailable`) or another 5xx: nothing was stored.
 * - `timeout`: no complete answer in time (the batch may or may not be stored).
 * - `network`: DNS failure, connection refused or reset.
 * - `protocol`: an answer the contract does not allow (status or body).
 */
export type DepotError =
  | 'tls'
  | 'forbidden'
  | 'bad-request'
  | 'too-large'
  | 'conflict'
  | 'unavailable'
  | 'timeout'
  | 'network'
  | 'protocol';

/** A depot call's result; `detail` never holds a PAN (the depot's own rule, and ours). */
export type DepotResult<T> =
  | { readonly ok: true; readonly value: T }
  | {
    readonly ok: false;
    readonly error: DepotError;
    /** HTTP status when there was an answer, else null. */
    readonly httpStatus: number | null;
    readonly detail: string;
  };

/**
 * One batch for POST /v1/batches. `recordLines` are export lines exactly as
 * `journalExportLine` wrote them (JSON objects): the body is spliced from them, not re-encoded.
 */
export interface DepotBatch {
  readonly terminalId: string;
  readonly firstSeq: number;
  readonly throughSeq: number;
  readonly recordLines: readonly string[];
}

/** The depot's 200 answer to a batch: it committed every record through `ackThroughSeq`. */
export interface DepotBatchAck {
  readonly ackThroughSeq: number;
  readonly stored: number;
  readonly duplicates: number;
}

/** A parameter set offered by GET /v1/params (files decoded from base64). */
export interface DepotParams {
  readonly version: number;
  readonly files: ReadonlyMap<string, Uint8Array>;
  /**
   * Present when `files` omits the deny list: signed deltas (SHKDDLT1, deny_delta.ts), oldest
   * first, from the version the validator named in `have` to `version`.
   */
  readonly denyDeltas: readonly Uint8Array[] | null;
}

/** The body of POST /v1/status (terminal management). */
export interface DepotStatus {
  readonly terminalId: string;
  readonly paramsVersion: number;
  readonly paramsRefused: { readonly version: number; readonly reason: string } | null;
  readonly backlogRecords: number;
  readonly lastSeq: number;
  readonly ackThroughSeq: number;
  readonly softwareVersion: string;
}

/** The depot as the uploader uses it. No method throws; every failure is a DepotResult. */
export interface DepotPort {
  /** POST /v1/batches. Errors: every DepotError. */
  postBatch(batch: DepotBatch): Promise<DepotResult<DepotBatchAck>>;
  /**
   * GET /v1/params?have=N (`full`: &full=1, every file whole, never deltas): null for 204
   * (nothing newer). Errors: every DepotError.
   */
  getParams(haveVersion: number, full?: boolean): Promise<DepotResult<DepotParams | null>>;
  /** POST /v1/status (204). Errors: every DepotError. */
  postStatus(status: DepotStatus): Promise<DepotResult<void>>;
}

/** The JSON body of a batch, spliced from the export lines (no parse, no re-encode). */
export function depotBatchBody(batch: DepotBatch): string {
  const head = JSON.stringify({
    terminalId: batch.terminalId,
    firstSeq: batch.firstSeq,
    throughSeq: batch.throughSeq,
  });
  return `${head.slice(0, -1)},"records":[${batch.recordLines.join(',')}]}`;
}
