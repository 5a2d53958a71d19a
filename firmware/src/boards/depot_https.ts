// The depot over HTTPS with mutual TLS: the terminal's key and certificate, the fleet CA.
//
// The real DepotPort of a board (depot/README.md, contract v1). Every failure becomes a
// DepotResult: the uploader decides what to retry. Bodies never carry a PAN out of here into
// a log: the error details are the depot's `error` code and `detail` (PAN-free by contract).

import { readdir } from 'node:fs/promises';
import type { ClientRequest } from 'node:http';
import { Agent, request } from 'node:https';
import { join } from 'node:path';

import type { GateRecordsBody } from '../app/gate/gate_upload.js';
import type {
  DepotBatch, DepotBatchAck, DepotError, DepotParams, DepotPort, DepotResult, DepotStatus,
} from '../app/upload/depot_port.js';
import { depotBatchBody } from '../app/upload/depot_port.js';
import { PEM_BYTES_MAX, readFileBounded } from '../../../hal/src/fs/read_bounded.js';

/** File names of a terminal identity directory (`--depot-identity DIR`). */
export const DEPOT_IDENTITY_FILES = {
  key: 'terminal.key.pem',
  cert: 'terminal.crt.pem',
  ca: 'ca.crt.pem',
} as const;

/** A terminal's TLS identity, PEM text. */
export interface DepotIdentity {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
}

/**
 * Reads the three PEM files of `dir`; an error names the missing or unreadable file. Two
 * layouts: DEPOT_IDENTITY_FILES, or what `shuaka depot terminal add --out DIR` writes (ID.key,
 * ID.pem) with the fleet CA's ca.pem copied beside them.
 */
export async function depotIdentityRead(
  dir: string,
): Promise<{ ok: true; value: DepotIdentity } | { ok: false; detail: string }> {
  const read = async (name: string): Promise<string> =>
    (await readFileBounded(join(dir, name), PEM_BYTES_MAX)).toString('utf8');
  try {
    const names = await depotIdentityNames(dir);
    const [key, cert, ca] = await Promise.all([read(names.key), read(names.cert),
      read(names.ca)]);
    for (const [name, text] of [[names.key, key], [names.cert, cert],
      [names.ca, ca]] as const) {
      if (!text.includes('-----BEGIN ')) return { ok: false, detail: `${name}: not PEM` };
    }
    return { ok: true, value: { key, cert, ca } };
  } catch (error) {
    return { ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

/** The file names of the identity in `dir`: ours when the key is there, else the depot's. */
async function depotIdentityNames(dir: string): Promise<{ key: string; cert: string; ca: string }> {
  const files = await readdir(dir);
  if (files.includes(DEPOT_IDENTITY_FILES.key)) return DEPOT_IDENTITY_FILES;
  const keys = files.filter((name) => name.endsWith('.key'));
  const only = keys.length === 1 ? (keys[0] ?? '').slice(0, -'.key'.length) : null;
  if (only === null || !files.includes(`${only}.pem`)) return DEPOT_IDENTITY_FILES;
  if (!files.includes('ca.pem')) {
    // It said "ENOENT ... terminal.key.pem" of a directory holding the key.
    throw new Error(`${join(dir, 'ca.pem')} is missing beside ${only}.key and ${only}.pem: `
      + "copy the fleet CA's ca.pem from the depot's directory");
  }
  return { key: `${only}.key`, cert: `${only}.pem`, ca: 'ca.pem' };
}

/** Transport choices. */
export interface DepotHttpsOptions {
  /** Base URL, e.g. https://depot.example:8443 (a path prefix is kept). */
  readonly url: URL;
  readonly identity: DepotIdentity;
  /**
   * Silence bound (connect, send, answer: no byte either way for this long), and the answer's
   * deadline: once the request is sent, each ANSWER_PROGRESS_BYTES of the answer (or its end)
   * must come within this long.
   */
  readonly timeoutMs: number;
  /**
   * Awaited before each BODY_CHUNK_BYTES of a request body is written (encrypted): the upload
   * worker waits there while a tap runs, so a megabyte batch never encrypts through one.
   */
  readonly pace?: () => Promise<void>;
}

/** A body is written (and TLS-encrypted) this much at a time, with `pace` in between. */
export const BODY_CHUNK_BYTES = 64 << 10;

/**
 * The answer must grow by this much per timeoutMs: a depot (or a proxy) that trickles a byte
 * now and then never trips the socket's silence bound, and the pass would wait on it for
 * ever. A 2G link still moves it several times over in 30 s.
 */
const ANSWER_PROGRESS_BYTES = 16 << 10;

/** Largest answer body read (a parameter set with a national deny list, base64). */
const ANSWER_BYTES_MAX = 64 << 20;

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** node:https with a keep-alive agent (one TLS handshake for a whole backlog). */
export class DepotHttps implements DepotPort {
  private readonly agent: Agent;

  constructor(private readonly options: DepotHttpsOptions) {
    const { key, cert, ca } = options.identity;
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, key, cert, ca,
      minVersion: 'TLSv1.2' });
  }

  /** Closes idle connections (at shutdown). */
  close(): void {
    this.agent.destroy();
  }

  async postBatch(batch: DepotBatch): Promise<DepotResult<DepotBatchAck>> {
    const answer = await this.call('POST', '/v1/batches', depotBatchBody(batch));
    if (!answer.ok) return answer;
    const { status, body } = answer.value;
    if (status !== 200) return statusError(status, body);
    const parsed = parseObject(body);
    const ack = parsed?.['ackThroughSeq'];
    const stored = parsed?.['stored'];
    const duplicates = parsed?.['duplicates'];
    if (typeof ack !== 'number' || typeof stored !== 'number' || typeof duplicates !== 'number') {
      return protocol(status, 'batch answer without ackThroughSeq, stored, duplicates');
    }
    return { ok: true, value: { ackThroughSeq: ack, stored, duplicates } };
  }

  async getParams(haveVersion: number, full = false): Promise<DepotResult<DepotParams | null>> {
    const query = `have=${haveVersion}${full ? '&full=1' : ''}`;
    const answer = await this.call('GET', `/v1/params?${query}`, null);
    if (!answer.ok) return answer;
    const { status, body } = answer.value;
    if (status === 204) return { ok: true, value: null };
    if (status !== 200) return statusError(status, body);
    return depotParamsParse(body);
  }

  async postStatus(status: DepotStatus): Promise<DepotResult<void>> {
    const answer = await this.call('POST', '/v1/status', JSON.stringify(status));
    if (!answer.ok) return answer;
    if (answer.value.status === 204 || answer.value.status === 200) {
      return { ok: true, value: undefined };
    }
    return statusError(answer.value.status, answer.value.body);
  }

  /**
   * POST /v1/gate-records: a run of one day's gate ledger lines (gate_upload.ts). Resolves
   * with the line the depot stored through; errors as postBatch's.
   */
  async postGateRecords(body: GateRecordsBody): Promise<DepotResult<number>> {
    const answer = await this.call('POST', '/v1/gate-records', JSON.stringify(body));
    if (!answer.ok) return answer;
    const { status, body: text } = answer.value;
    if (status !== 200) return statusError(status, text);
    const through = parseObject(text)?.['storedThroughLine'];
    if (typeof through !== 'number') return protocol(status, 'answer without storedThroughLine');
    return { ok: true, value: through };
  }

  private call(method: string, path: string, body: string | null): Promise<DepotResult<Answer>> {
    const base = this.options.url;
    const target = new URL(base.pathname.replace(/\/$/, '') + path, base);
    return new Promise((resolvePromise) => {
      let answerTimer: NodeJS.Timeout | undefined;
      const resolve = (result: DepotResult<Answer>): void => {
        clearTimeout(answerTimer);
        resolvePromise(result);
      };
      // Armed when the request is sent, again at each ANSWER_PROGRESS_BYTES of answer.
      const answerDeadlineArm = (): void => {
        clearTimeout(answerTimer);
        answerTimer = setTimeout(() => req.destroy(new TimeoutError(this.options.timeoutMs)),
          this.options.timeoutMs);
      };
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (body !== null) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = request(target, { method, agent: this.agent, headers,
        timeout: this.options.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          if (Math.floor((bytes + chunk.length) / ANSWER_PROGRESS_BYTES)
            > Math.floor(bytes / ANSWER_PROGRESS_BYTES)) answerDeadlineArm();
          bytes += chunk.length;
          if (bytes > ANSWER_BYTES_MAX) req.destroy(new Error('answer too large'));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ ok: true, value: {
          status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') } }));
        res.on('error', (error) => resolve(transportError(error)));
      });
      req.on('timeout', () => req.destroy(new TimeoutError(this.options.timeoutMs)));
      handshakeDeadline(req, this.options.timeoutMs);
      req.on('finish', answerDeadlineArm);
      req.on('error', (error) => resolve(transportError(error)));
      void bodyWrite(req, body === null ? null : Buffer.from(body, 'utf8'), this.options.pace);
    });
  }
}

/**
 * Writes `body` in BODY_CHUNK_BYTES pieces, awaiting `pace` before each and the socket's
 * drain when its buffer is full, then ends the request. A request that fails meanwhile has
 * already resolved its call through its 'error' event: the write just stops.
 */
async function bodyWrite(
  req: ClientRequest,
  body: Buffer | null,
  pace: (() => Promise<void>) | undefined,
): Promise<void> {
  if (body === null || pace === undefined) {
    req.end(body ?? undefined);
    return;
  }
  try {
    for (let at = 0; at < body.length; at += BODY_CHUNK_BYTES) {
      await pace();
      if (req.destroyed) return;
      if (!req.write(body.subarray(at, at + BODY_CHUNK_BYTES))) await drainOrClose(req);
    }
    if (!req.destroyed) req.end();
  } catch {
    // The request failed (its 'error' listener answered the call) or was destroyed.
  }
}

/** Resolves at the request's next 'drain' or 'close', whichever comes first. */
function drainOrClose(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

/**
 * Bounds connect and TLS handshake by `timeoutMs`: Node's socket timeout of a TLS socket whose
 * handshake gets no answer fires only after twice the time, so a mute depot held every call
 * for 60 s while the log said 30. Ends with the handshake (or at once on a reused socket),
 * so a long paced body is bounded by the socket's silence alone, as before.
 */
function handshakeDeadline(req: ClientRequest, timeoutMs: number): void {
  const timer = setTimeout(() => req.destroy(new TimeoutError(timeoutMs)), timeoutMs);
  const done = (): void => clearTimeout(timer);
  req.once('close', done);
  req.once('socket', (socket) => {
    if (req.reusedSocket) done();
    else socket.once('secureConnect', done);
  });
}

class TimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Parses a 200 of GET /v1/params. Errors: protocol (shape, base64). */
export function depotParamsParse(body: string): DepotResult<DepotParams> {
  const parsed = parseObject(body);
  const version = parsed?.['version'];
  const files = parsed?.['files'];
  if (typeof version !== 'number' || !Number.isInteger(version) || typeof files !== 'object'
    || files === null || Array.isArray(files)) {
    return protocol(200, 'params answer without version and files');
  }
  const decoded = new Map<string, Uint8Array>();
  for (const [name, text] of Object.entries(files as Record<string, unknown>)) {
    if (typeof text !== 'string' || !BASE64.test(text)) {
      return protocol(200, `params file ${name.slice(0, 40)} not base64`);
    }
    decoded.set(name, new Uint8Array(Buffer.from(text, 'base64')));
  }
  const deltas = parsed?.['denyDeltas'];
  if (deltas === undefined || deltas === null) {
    return { ok: true, value: { version, files: decoded, denyDeltas: null } };
  }
  if (!Array.isArray(deltas) || !deltas.every((d) => typeof d === 'string' && BASE64.test(d))) {
    return protocol(200, 'denyDeltas not an array of base64 strings');
  }
  const denyDeltas = (deltas as string[]).map((d) => new Uint8Array(Buffer.from(d, 'base64')));
  return { ok: true, value: { version, files: decoded, denyDeltas } };
}

function parseObject(body: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown> : null;
  } catch {
    return null;
  }
}

function protocol(status: number, detail: string): DepotResult<never> {
  return { ok: false, error: 'protocol', httpStatus: status, detail };
}

/** Maps a contract status to its DepotError, with the depot's error code and detail. */
function statusError(status: number, body: string): DepotResult<never> {
  const parsed = parseObject(body);
  const code = typeof parsed?.['error'] === 'string' ? parsed['error'] : '';
  const text = typeof parsed?.['detail'] === 'string' ? parsed['detail'] : '';
  const detail = `${status} ${code}${text === '' ? '' : `: ${text}`}`.slice(0, 300);
  let error: DepotError;
  if (status === 400) error = 'bad-request';
  else if (status === 403) error = 'forbidden';
  else if (status === 413) error = 'too-large';
  else if (status === 409) error = 'conflict';
  else if (status >= 500) error = 'unavailable';
  else error = 'protocol';
  return { ok: false, error, httpStatus: status, detail };
}

/** Node's transport errors by code: TLS, timeout, or the network. */
function transportError(error: Error): DepotResult<never> {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const detail = `${code === '' ? '' : `${code} `}${error.message}`.slice(0, 300);
  if (error instanceof TimeoutError) {
    return { ok: false, error: 'timeout', httpStatus: null, detail };
  }
  const tls = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|HANDSHAKE|ALERT/i;
  if (tls.test(code) || tls.test(error.message)) {
    return { ok: false, error: 'tls', httpStatus: null, detail: detail + clockHint(code) };
  }
  return { ok: false, error: 'network', httpStatus: null, detail };
}

/**
 * A certificate judged out of date is judged by this machine's clock: a validator whose clock
 * is behind or ahead (a flat RTC battery, no time source) sees a valid depot certificate as
 * "not yet valid" or "expired". The operator reading the log needs the clock's reading.
 */
function clockHint(code: string): string {
  const at = new Date(Date.now()).toISOString();
  if (code === 'CERT_NOT_YET_VALID') {
    return ` (this validator's clock reads ${at}: if it is behind, set the clock)`;
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return ` (this validator's clock reads ${at}: if it is right, the depot's certificate `
      + 'must be renewed; if it is ahead, set the clock)';
  }
  return '';
}
