// The depot's HTTPS ingest API (v1) with mutual TLS: only certificates of the fleet CA get a
// TLS session, and only registered, active ones get an answer other than 403.

import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { FieldError } from '../../../firmware/src/app/params/json_fields.js';
import type { DepotDb } from '../store/depot_db.js';
import { DepotStoreError } from '../store/depot_db.js';
import type { PanVault } from '../store/pan_vault.js';
import { BatchError, redact } from './batch_error.js';
import { batchPrepare, type SealedBatch } from './batch_seal.js';
import { batchClockAheadWarning, batchGapWarning, batchStoreSealed } from './batch_store.js';
import { BODY_BYTES_MAX, bodyRead, errorSend, jsonSend } from './http_body.js';
import { paramsFullParse, paramsHaveParse, paramsNewest } from './params_route.js';
import { statusStore, statusValidate } from './status_route.js';
import { gateRecordsStore, gateRecordsValidate } from '../store/gate_record_store.js';
import type { TerminalRow } from './terminal_registry.js';
import { terminalByCert } from './terminal_registry.js';

export interface IngestServerOptions {
  readonly db: DepotDb;
  readonly vault: PanVault;
  /** PEM: the depot's key and certificate, and the fleet CA that signs terminals. */
  readonly tls: { readonly key: Buffer; readonly cert: Buffer; readonly ca: Buffer };
  readonly nowMs: () => number;
  /** One line per request (terminal, route, status); never a PAN. */
  readonly log?: (line: string) => void;
  readonly bodyBytesMax?: number;
  /** A connection silent this long is closed (default SOCKET_IDLE_MS). */
  readonly socketIdleMs?: number;
  /** A TLS handshake not done in this time is cut (default HANDSHAKE_MS). */
  readonly handshakeMs?: number;
  /** Handshakes under way from one address at most (default HANDSHAKES_PER_ADDRESS_MAX). */
  readonly handshakesPerAddressMax?: number;
  /** close() waits this long for requests in flight, then cuts them (default CLOSE_GRACE_MS). */
  readonly closeGraceMs?: number;
  /**
   * Parses, validates and seals a batch body (batch_prepare_pool.ts: on a worker thread, so
   * the next batch is prepared while the database stores this one). Default: batchPrepare on
   * this thread with `vault`. Rejects with BatchError for a bad body.
   */
  readonly prepare?: (text: string, certTerminalId: string) => Promise<SealedBatch>;
}

export interface IngestServer {
  /** Listens; resolves with the port (0 picks one). Rejects with the listen error. */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting, lets requests in flight finish, then resolves. */
  close(): Promise<void>;
  readonly server: Server;
}

/** `body` is the parsed JSON of a POST; a batch route takes the `text` (prepared apart). */
type Handler = (terminal: TerminalRow, body: unknown, url: URL, text: string) =>
  Promise<Answer>;
/** The route that parses its own body (off the server's thread when a pool prepares). */
const BATCHES_PATH = '/v1/batches';
type Answer = { status: number; body: unknown | null };
/**
 * Bodies parsed on the server's thread (a batch is parsed on a worker) are held to what a
 * validator sends: JSON.parse of 8 MiB of nested arrays takes seconds, and one terminal
 * posting such statuses stalled every other terminal's answers that long.
 */
const ROUTE_BODY_BYTES_MAX: Readonly<Record<string, number>> = {
  '/v1/status': 64 * 1024,
  '/v1/gate-records': 1024 * 1024,
};

/** Creates the server (not yet listening). */
export function ingestServerCreate(options: IngestServerOptions): IngestServer {
  const server = createServer({
    key: options.tls.key,
    cert: options.tls.cert,
    ca: options.tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    handshakeTimeout: options.handshakeMs ?? HANDSHAKE_MS,
  }, (request, response) => {
    const work = handle(options, request, response);
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  });
  const inFlight = new Set<Promise<void>>();
  // Node closes a connection only for a request that started and stalls (headers 60 s, the
  // whole request 5 min): one that completed its handshake and sends nothing stayed open for
  // ever, and any terminal's certificate could hold the depot's descriptors that way.
  server.setTimeout(options.socketIdleMs ?? SOCKET_IDLE_MS);
  const addressOf = handshakesBounded(server,
    options.handshakesPerAddressMax ?? HANDSHAKES_PER_ADDRESS_MAX, options.log);
  // Every TCP connection, handshake under way or not: closeAllConnections knows only those
  // that became HTTP connections, so a silent client held a stop for the handshake timeout.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A refused handshake gets no HTTP answer: without this line a terminal whose certificate
  // expired, or comes from another CA, fails every contact and the depot's log says nothing.
  // Node keeps the verification's verdict (CERT_HAS_EXPIRED...) apart from the error, which is
  // then only the reset. A timed-out socket is destroyed before this runs: its address is the
  // one its TCP connection came from.
  server.on('tlsClientError', (error: Error & { code?: string }, socket) => {
    const verdict = socket.authorizationError as unknown as string | undefined;
    const why = verdict ?? error.code ?? error.message;
    options.log?.(`TLS ${socket.remoteAddress ?? addressOf(socket)} -> handshake refused: `
      + redact(String(why)).slice(0, LOG_DETAIL_CHARS_MAX));
  });
  return {
    server,
    listen: (port, host) => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    }),
    close: () => serverStop(server, inFlight, sockets, options.closeGraceMs ?? CLOSE_GRACE_MS),
  };
}

/** Silence after which a connection is closed: far above a store's time, or a 2G link's. */
export const SOCKET_IDLE_MS = 120_000;
/**
 * A TLS handshake takes a few round trips: a second or two on a 2G link. Node's default (120
 * s) let anyone who can reach the port, with no certificate at all, hold a descriptor two
 * minutes per TCP connection that never sends a ClientHello.
 */
export const HANDSHAKE_MS = 20_000;
/**
 * Handshakes under way from one address: a bus fleet behind a carrier's NAT shares a few
 * addresses, but its validators handshake briefly and rarely at the same instant. More at once
 * from one address is a flood; the connections beyond it are closed at once, and logged once
 * per flood (when the count first passes the bound).
 */
export const HANDSHAKES_PER_ADDRESS_MAX = 64;

/**
 * Closes connections beyond `max` handshakes under way from one remote address. A handshake
 * ends when its TLS session is up ('secureConnection', matched by address and port) or its
 * connection closes (refused, timed out, gone). Returns where a TLS socket's connection came
 * from, kept while its TCP socket lives ('?' for one it never saw).
 */
function handshakesBounded(
  server: Server, max: number, log?: (line: string) => void,
): (tls: TLSSocket) => string {
  const addresses = new WeakMap<Socket, string>();
  const perAddress = new Map<string, number>();
  const underWay = new Map<string, () => void>();
  const flooding = new Set<string>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '?';
    addresses.set(socket, address);
    const count = perAddress.get(address) ?? 0;
    if (count >= max) {
      if (!flooding.has(address)) {
        flooding.add(address);
        log?.(`TLS ${address} -> refused: over ${max} handshakes at once from one address`);
      }
      socket.destroy();
      return;
    }
    perAddress.set(address, count + 1);
    const key = `${address}|${socket.remotePort ?? 0}`;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      underWay.delete(key);
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) {
        perAddress.set(address, left);
      } else {
        perAddress.delete(address);
        flooding.delete(address);
      }
    };
    underWay.set(key, end);
    socket.once('close', end);
  });
  server.on('secureConnection', (tls: TLSSocket) => {
    underWay.get(`${tls.remoteAddress ?? '?'}|${tls.remotePort ?? 0}`)?.();
  });
  // Node's TLS socket keeps the TCP socket it wraps as `_parent` (not a public field: without
  // it the address stays unknown, as before).
  return (tls) => addresses.get((tls as unknown as { _parent?: Socket })._parent ?? tls) ?? '?';
}
/** How long a stop lets requests in flight finish before it cuts their connections. */
export const CLOSE_GRACE_MS = 10_000;

/**
 * Stops accepting, closes idle connections, and resolves once every connection is closed and
 * every handler has returned (a store in flight commits before the database closes). Node
 * stops its request timeouts once the server closes, so a client stalled mid-request (or
 * silent after its handshake) would hold the stop for ever: after `graceMs` every remaining
 * connection is cut, those still in their TLS handshake too. A cut upload's validator had
 * no answer and sends the batch again (a replay, should its store have gone on to commit).
 */
async function serverStop(server: Server, inFlight: ReadonlySet<Promise<void>>,
  sockets: ReadonlySet<Socket>, graceMs: number): Promise<void> {
  const grace = setTimeout(() => {
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
  }, graceMs);
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
  clearTimeout(grace);
  await Promise.allSettled([...inFlight]);
}

function routeOf(options: IngestServerOptions, method: string, path: string):
  Handler | 'no-method' | null {
  const routes: Record<string, [string, Handler]> = {
    [BATCHES_PATH]: ['POST', async (terminal, _body, _url, text) => {
      const batch = options.prepare === undefined
        ? batchPrepare(text, terminal.terminalId, options.vault)
        : await options.prepare(text, terminal.terminalId);
      const { gap, ...receipt } = await batchStoreSealed(options.db, batch, options.nowMs());
      if (gap !== undefined) options.log?.(batchGapWarning(terminal.terminalId, gap));
      const ahead = batchClockAheadWarning(batch, options.nowMs());
      if (ahead !== null) options.log?.(ahead);
      return { status: 200, body: receipt };
    }],
    '/v1/status': ['POST', async (terminal, body) => {
      await statusStore(options.db, statusValidate(body, terminal.terminalId), options.nowMs());
      return { status: 204, body: null };
    }],
    '/v1/gate-records': ['POST', async (terminal, body) => {
      const upload = gateRecordsValidate(body, terminal.terminalId);
      return { status: 200, body: await gateRecordsStore(options.db, upload, options.nowMs()) };
    }],
    '/v1/params': ['GET', async (_terminal, _body, url) => {
      const have = paramsHaveParse(url.searchParams);
      if (have === null) throw new FieldError('query', 'have', 'expected ?have=N (N >= 0)');
      const answer = await paramsNewest(options.db, have, paramsFullParse(url.searchParams));
      if (answer.kind === 'none-newer') return { status: 204, body: null };
      const { version, files, denyDeltas } = answer;
      return { status: 200, body: denyDeltas === undefined ? { version, files }
        : { version, files, denyDeltas } };
    }],
  };
  const route = routes[path];
  if (route === undefined) return null;
  return route[0] === method ? route[1] : 'no-method';
}

async function handle(options: IngestServerOptions, request: IncomingMessage,
  response: ServerResponse): Promise<void> {
  const url = targetOf(request.url);
  const method = request.method ?? 'GET';
  const path = pathLogged(url?.pathname ?? request.url ?? '');
  let who = '?';
  const reply: Reply = (status, code, detail, logDetail = detail) => {
    // The detail, as the validator got it: the operator sees which field, which seq.
    options.log?.(`${method} ${path} ${who} -> ${status} ${code}: `
      + redact(logDetail).slice(0, LOG_DETAIL_CHARS_MAX));
    if (status === 413) response.setHeader('connection', 'close');
    errorSend(response, status, code, redact(detail));
  };
  if (url === null) return reply(400, 'bad-request', 'request target is not a URL');
  try {
    const route = routeOf(options, method, url.pathname);
    if (route === null) return reply(404, 'not-found', `no route ${path}`);
    if (route === 'no-method') return reply(405, 'method-not-allowed', `${method} not allowed`);
    const terminal = await identify(options.db, request);
    if (terminal === null) return reply(403, 'terminal-unknown', 'certificate not registered');
    who = terminal.terminalId;
    if (terminal.status === 'revoked') return reply(403, 'terminal-revoked', 'revoked');
    // The handshake checked the dates; a connection kept alive outlives them (a terminal
    // whose certificate expired went on fetching parameters and sending its status).
    const expired = peerCertificateExpiry(request, options.nowMs());
    if (expired !== null) {
      return reply(403, 'certificate-expired', `certificate expired ${expired}`);
    }
    // A route's own bound caps the server's; batches keep the server's, whatever it is.
    const routeMax = ROUTE_BODY_BYTES_MAX[url.pathname];
    const body = await bodyRead(request, routeMax === undefined ? options.bodyBytesMax
      : Math.min(options.bodyBytesMax ?? BODY_BYTES_MAX, routeMax));
    if (!body.ok) {
      if (body.reason !== 'aborted') return reply(413, 'too-large', 'body over the limit');
      // No answer can reach a client that is gone; the operator still hears of the attempt.
      options.log?.(`${method} ${path} ${who} -> aborted: the body never arrived whole `
        + '(connection closed or request timeout); nothing stored');
      return undefined;
    }
    let parsed: unknown = null;
    if (method === 'POST' && url.pathname !== BATCHES_PATH) {
      try {
        parsed = JSON.parse(body.text) as unknown;
      } catch {
        return reply(400, url.pathname === '/v1/status' ? 'bad-status' : 'bad-request',
          'body is not valid JSON');
      }
    }
    const answer = await route(terminal, parsed, url, body.text);
    options.log?.(`${method} ${path} ${who} -> ${answer.status}`);
    if (answer.body === null) {
      response.writeHead(answer.status).end();
      return undefined;
    }
    return jsonSend(response, answer.status, answer.body);
  } catch (error) {
    return replyError(error, url.pathname, reply);
  }
}

/**
 * The request target as a URL, or null. Node's parser passes absolute-form targets that WHATWG
 * URL refuses (`http://999.999.999.999/`, a port over 65535); a throw here, outside the
 * handler's error answers, was an unhandled rejection that stopped the depot.
 */
function targetOf(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'https://depot');
  } catch {
    return null;
  }
}

/** Answers an error and logs it; `logDetail` (default `detail`) is redacted for the log. */
type Reply = (status: number, code: Parameters<typeof errorSend>[2], detail: string,
  logDetail?: string) => void;

/** Enough of a detail for the operator (a seq conflict's names the seq and what differs). */
const LOG_DETAIL_CHARS_MAX = 300;
const PATH_LOGGED_CHARS_MAX = 80;

/**
 * The request path as the log shows it. The path is the client's text: a buggy validator can
 * put a card number there (as %-escapes, too), and a long one would flood the log. Decoded,
 * control and non-ASCII characters as '?', digit and hex runs cut, at most 80 characters.
 */
function pathLogged(pathname: string): string {
  let text = pathname;
  try {
    text = decodeURIComponent(pathname);
  } catch {
    // A stray '%': the text as sent.
  }
  const shown = redact(text.replace(/[^\x20-\x7e]/g, '?'));
  return shown.length > PATH_LOGGED_CHARS_MAX
    ? `${shown.slice(0, PATH_LOGGED_CHARS_MAX)}...` : shown;
}

function replyError(error: unknown, path: string, reply: Reply): void {
  if (error instanceof BatchError) {
    const status = { 'bad-batch': 400, 'terminal-mismatch': 403, 'seq-conflict': 409 };
    return reply(status[error.code], error.code, error.message);
  }
  if (error instanceof FieldError) {
    const code = path === '/v1/batches' ? 'bad-batch' : path === '/v1/status' ? 'bad-status'
      : 'bad-request';
    return reply(400, code, `${error.field}: ${error.reason}`);
  }
  if (error instanceof DepotStoreError)
    return reply(503, 'store-unavailable', 'database unavailable: nothing stored, retry later',
      `database unavailable: ${error.message}`);
  // The client gets the error's name; the operator, its message too (a dead prepare worker).
  const name = error instanceof Error ? error.name : 'error';
  return reply(500, 'internal', name,
    error instanceof Error ? `${name}: ${error.message}` : String(error));
}

/** The peer certificate's notAfter when it is past at `nowMs`, else null. */
function peerCertificateExpiry(request: IncomingMessage, nowMs: number): string | null {
  const validTo = (request.socket as TLSSocket).getPeerCertificate().valid_to;
  const endMs = validTo === undefined ? Number.NaN : Date.parse(validTo);
  return Number.isFinite(endMs) && nowMs > endMs ? validTo : null;
}

async function identify(db: DepotDb, request: IncomingMessage): Promise<TerminalRow | null> {
  const socket = request.socket as TLSSocket;
  const cert = socket.getPeerCertificate();
  if (cert.fingerprint256 === undefined) return null;
  const sha256 = cert.fingerprint256.replaceAll(':', '').toLowerCase();
  return terminalByCert(db, sha256);
}
