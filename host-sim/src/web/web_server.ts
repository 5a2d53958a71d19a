// The web face's server: the page's files over node:http and the devices live over a WebSocket.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { JsonValue, WebDevice } from './web_device.js';

/** Where and what the server serves; every field explicit. */
export interface WebServerOptions {
  /** 127.0.0.1 unless the operator opens it to the network on purpose. */
  readonly host: string;
  /** 0 = any free port (the tests). */
  readonly port: number;
  /** The page's folder (index.html, *.js, *.css): host-sim/web in the package. */
  readonly assetsDir: string;
  readonly devices: readonly WebDevice[];
}

/** A listening server. */
export interface WebServer {
  /** `http://host:port/`, with the port really bound. */
  readonly url: string;
  readonly port: number;
  /** Closes every socket and the listener, and stops every device. Never throws. */
  close(): Promise<void>;
}

/** Bound on one message from a page: an action is a few dozen bytes. */
const MESSAGE_BYTES_MAX = 4_096;

/**
 * Bound on what waits to be sent to one client, beyond the kernel's buffers. A page that reads
 * keeps this near zero (a state is a few KB a tick); past it the client has stopped reading
 * (a stalled or hostile client) and is dropped instead of growing the process without end.
 */
const SEND_BACKLOG_BYTES_MAX = 4 << 20;

/**
 * Bound on pages connected at once: each gets every state (a few KB a tick), so clients
 * without end would grow the process and its work without end. A few operators' tabs are
 * far below it; one more is refused with 503 until one closes.
 */
export const WEB_CLIENTS_MAX = 32;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * No other site may frame the page (its buttons under a decoy, a visitor's click would tap a
 * card here: the WebSocket's Origin check cannot see that, the frame is our own origin), and
 * no file is taken for another type than the one we say.
 */
const PAGE_HEADERS = {
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
};

/** A message of the page protocol (see host-sim/web/app.js for the other side). */
type ServerMessage =
  | { type: 'hello'; devices: JsonValue[] }
  | { type: 'state'; device: string; state: JsonValue }
  | { type: 'events'; device: string; events: JsonValue[] }
  | { type: 'result'; request: JsonValue; ok: boolean; error: string | null };

/**
 * The request's path with its %-escapes decoded, or null when an escape is malformed ("/%E0"):
 * decodeURIComponent throws there, and a throw in the request handler would end the process
 * for every page on it.
 */
function decodedPath(req: IncomingMessage): string | null {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  try {
    return decodeURIComponent(path === '/' ? '/index.html' : path);
  } catch {
    return null;
  }
}

/**
 * Serves one file of `assetsDir` to GET (HEAD: its headers); anything outside it, absent or
 * unreadable is a 404; another method is a 405 naming those two (RFC 9110 15.5.6).
 */
async function serveAsset(assetsDir: string, req: IncomingMessage, res: ServerResponse) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' })
      .end('method not allowed\n');
    return;
  }
  const decoded = decodedPath(req);
  const file = decoded === null ? '' : join(assetsDir, normalize(decoded));
  const type = CONTENT_TYPES[extname(file)];
  if (type === undefined || !file.startsWith(`${assetsDir}${sep}`)) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', ...PAGE_HEADERS })
      .end(req.method === 'HEAD' ? undefined : body);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
}

/**
 * Whether the Host a request names is one this server answers to: an IP address, localhost
 * (or a name under .localhost, which browsers keep on this machine), or the --host it was
 * started with. Any other name is DNS rebinding: a site whose name the attacker made resolve
 * to this machine, whose page is then same-origin with us and could tap cards here. A client
 * that sends no Host is not a browser (HTTP/1.0, a script) and could reach the port anyway.
 */
export function hostAllowed(hostHeader: string | undefined, boundHost: string): boolean {
  if (hostHeader === undefined) return true;
  let name: string;
  try {
    name = new URL(`http://${hostHeader}`).hostname.toLowerCase();
  } catch {
    return false;
  }
  const bare = name.startsWith('[') ? name.slice(1, -1) : name;
  return isIP(bare) !== 0 || bare === 'localhost' || bare.endsWith('.localhost')
    || bare === boundHost.toLowerCase();
}

/**
 * A browser sends Origin with a WebSocket handshake; only the page this server served may
 * drive its devices (another site open in the same browser must not tap cards here). A client
 * that is not a browser sends no Origin and is let in: it could reach the port anyway.
 */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** The server could not listen: the message says why (a port in use, a bad host). */
export class WebListenError extends Error {}

/** Listens on host:port; a port in use or a bad host is a WebListenError that says which. */
function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException): void => {
      const why = error.code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use (pick another with --port, or 0 for any)`
        : error.code === 'EACCES'
          ? `no permission to listen on ${host}:${port} (ports below 1024 need privileges)`
          : `cannot listen on ${host}:${port}: ${error.message}`;
      reject(new WebListenError(why));
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

/**
 * Listens, then starts the devices. Throws when it cannot listen (a port in use, a bad host),
 * before any device started: the caller stops them.
 */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const devices = new Map(options.devices.map((d) => [d.id, d]));
  const server = createServer((req, res) => {
    if (hostAllowed(req.headers.host, options.host)) {
      void serveAsset(options.assetsDir, req, res);
      return;
    }
    res.writeHead(403, { 'content-type': 'text/plain' }).end(`host ${req.headers.host} is not `
      + 'this server: open the page by its IP address or localhost, or start it with --host '
      + 'set to that name\n');
  });
  // Listen first: the WebSocketServer re-emits the listener's errors as its own.
  const port = await listen(server, options.host, options.port);
  const sockets = new WebSocketServer({
    server, path: '/ws', maxPayload: MESSAGE_BYTES_MAX,
    verifyClient: ({ req }: { req: IncomingMessage },
      done: (ok: boolean, code?: number, message?: string) => void) => {
      if (!hostAllowed(req.headers.host, options.host) || !sameOrigin(req)) done(false, 401);
      else if (sockets.clients.size >= WEB_CLIENTS_MAX) done(false, 503, 'too many pages open');
      else done(true);
    },
  });
  const lastState = new Map<string, string>();
  const send = (socket: WebSocket, message: ServerMessage): void => {
    if (socket.readyState !== socket.OPEN) return;
    // A client that stopped reading would have every state kept for it, without end.
    if (socket.bufferedAmount > SEND_BACKLOG_BYTES_MAX) {
      socket.terminate();
      return;
    }
    socket.send(JSON.stringify(message));
  };
  const broadcast = (message: ServerMessage): void => {
    for (const socket of sockets.clients) send(socket, message);
  };
  sockets.on('connection', (socket) => {
    const hello = [...devices.values()].map((d) => ({
      id: d.id, kind: d.kind, info: d.describe(), state: d.state(),
    }));
    send(socket, { type: 'hello', devices: hello });
    // A client's bad frame (too big, reserved bits, unmasked) is an 'error' on its socket; ws
    // has already closed it. Unheard, the error would end the process for every page on it.
    socket.on('error', () => socket.terminate());
    socket.on('message', (data) => send(socket, handleMessage(devices, String(data))));
  });
  for (const device of devices.values()) {
    device.start(() => {
      const events = device.takeEvents();
      if (events.length > 0) broadcast({ type: 'events', device: device.id, events });
      const state = device.state();
      const text = JSON.stringify(state);
      if (lastState.get(device.id) === text) return;
      lastState.set(device.id, text);
      broadcast({ type: 'state', device: device.id, state });
    });
  }
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () => closeAll(server, sockets, [...devices.values()]),
  };
}

async function closeAll(server: Server, sockets: WebSocketServer, devices: WebDevice[]) {
  for (const socket of sockets.clients) socket.terminate();
  await new Promise<void>((resolve) => sockets.close(() => resolve()));
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections of the page's file requests would hold close() open.
  server.closeAllConnections();
  await closed;
  await Promise.all(devices.map((d) => d.stop()));
}

/** One page request `{device, verb, args}` carried out; a malformed one gets an error back. */
function handleMessage(devices: Map<string, WebDevice>, text: string): ServerMessage {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    return { type: 'result', request: null, ok: false, error: 'not JSON' };
  }
  if (typeof request !== 'object' || request === null) {
    return { type: 'result', request: null, ok: false, error: 'not an object' };
  }
  const { device, verb, args } = request as Record<string, unknown>;
  const echo = request as JsonValue;
  const target = typeof device === 'string' ? devices.get(device) : undefined;
  if (target === undefined) {
    return { type: 'result', request: echo, ok: false, error: `no device ${String(device)}` };
  }
  if (typeof verb !== 'string' || typeof args !== 'object' || args === null) {
    return { type: 'result', request: echo, ok: false, error: 'verb and args are required' };
  }
  const done = target.act({ verb, args: args as Record<string, JsonValue> });
  return { type: 'result', request: echo, ok: done.ok, error: done.ok ? null : done.error };
}
