// The acquirer simulator on TCP: 2-byte-length framed ISO 8583, one answer per request.

import { createServer, type Server, type Socket } from 'node:net';

import { iso8583Decode, iso8583Encode } from '../../../depot/src/acquirer/iso8583_codec.js';
import { Iso8583Error } from '../../../depot/src/acquirer/iso8583_error.js';
import { Iso8583FrameReader, iso8583Frame } from '../../../depot/src/acquirer/iso8583_frame.js';
import { CUPS_SPEC } from '../../../depot/src/acquirer/iso8583_spec.js';
import { Prng } from '../prng.js';
import type { IssuerHost } from './issuer_host.js';

/**
 * Link faults, drawn per request from the seed: the connection is closed instead of answering,
 * either before the host saw the request (it is lost) or after it applied it (the answer is).
 */
export interface AcquirerSimFaults {
  readonly dropBeforeRatio: number;
  readonly dropAfterRatio: number;
  /** Requests to answer before a silent stall (no answer, connection kept): tests timeouts. */
  readonly stallEvery?: number;
}

/** A running simulator. */
export interface AcquirerSimServer {
  readonly port: number;
  /** Malformed frames or messages received (each closes its connection). */
  readonly malformed: () => number;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1:`port` (0: any free port) and answers with `host`. Resolves when
 * listening; rejects with the listen error (EADDRINUSE...).
 */
export async function acquirerSimListen(
  host: IssuerHost,
  options: { readonly port?: number; readonly seed: number; readonly faults?: AcquirerSimFaults },
): Promise<AcquirerSimServer> {
  const prng = new Prng(options.seed).fork('acquirer-link');
  const sockets = new Set<Socket>();
  let malformed = 0;
  let seen = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const reader = new Iso8583FrameReader();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const bytes of reader.push(chunk)) {
          seen += 1;
          const fault = faultOf(options.faults, prng, seen);
          if (fault === 'drop-before') return void socket.destroy();
          if (fault === 'stall') continue;
          const answer = host.answer(iso8583Decode(bytes, CUPS_SPEC));
          if (fault === 'drop-after') return void socket.destroy();
          socket.write(iso8583Frame(iso8583Encode(answer, CUPS_SPEC)));
        }
      } catch (error) {
        if (!(error instanceof Iso8583Error)) throw error;
        malformed += 1;
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    malformed: () => malformed,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

function faultOf(
  faults: AcquirerSimFaults | undefined,
  prng: Prng,
  seen: number,
): 'none' | 'drop-before' | 'drop-after' | 'stall' {
  if (faults === undefined) return 'none';
  if (faults.stallEvery !== undefined && seen % faults.stallEvery === 0) return 'stall';
  const draw = prng.below(1_000_000) / 1_000_000;
  if (draw < faults.dropBeforeRatio) return 'drop-before';
  if (draw < faults.dropBeforeRatio + faults.dropAfterRatio) return 'drop-after';
  return 'none';
}
