// Request bodies and JSON answers for the ingest API, bounded so a terminal cannot exhaust
// the depot's memory (depot README: 413 too-large above 8 MiB).

import type { IncomingMessage, ServerResponse } from 'node:http';

export const BODY_BYTES_MAX = 8 * 1024 * 1024;

/** The error codes of the API (depot README, "The validator ↔ depot contract"). */
export type IngestErrorCode =
  | 'bad-batch'
  | 'bad-status'
  | 'bad-request'
  | 'too-large'
  | 'terminal-unknown'
  | 'terminal-revoked'
  /** The terminal's certificate is past its notAfter (on a connection kept alive). */
  | 'certificate-expired'
  | 'terminal-mismatch'
  | 'seq-conflict'
  | 'store-unavailable'
  | 'not-found'
  | 'method-not-allowed'
  | 'internal';

export type BodyResult =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly reason: 'too-large' | 'aborted' };

/** Reads the body up to `bytesMax`; stops reading (not buffering) once past the bound. */
export function bodyRead(request: IncomingMessage, bytesMax = BODY_BYTES_MAX):
  Promise<BodyResult> {
  const declared = Number(request.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > bytesMax)
    return Promise.resolve({ ok: false, reason: 'too-large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = (result: BodyResult): void => {
      if (done) return;
      done = true;
      resolve(result);
    };
    request.on('data', (chunk: Buffer) => {
      if (done) return;
      total += chunk.length;
      if (total > bytesMax) {
        chunks.length = 0;
        finish({ ok: false, reason: 'too-large' });
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    request.on('error', () => finish({ ok: false, reason: 'aborted' }));
    request.on('close', () => finish({ ok: false, reason: 'aborted' }));
  });
}

/** Sends `body` as JSON with `status`. */
export function jsonSend(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(text);
}

/** Sends `{"error": code, "detail": detail}`; `detail` must already be PAN-free. */
export function errorSend(response: ServerResponse, status: number, code: IngestErrorCode,
  detail: string): void {
  jsonSend(response, status, { error: code, detail });
}
