// A depot stand-in for the upload bench, in its own process (a depot never shares the
// validator's CPU): HTTPS with mutual TLS, parses every batch body as JSON and checks its
// seq range, answers 200 with the ack. Usage (forked): KEY CERT CA; sends {port} when ready.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

const [keyPath, certPath, caPath] = process.argv.slice(2);
const server = createServer({
  key: readFileSync(keyPath ?? ''), cert: readFileSync(certPath ?? ''),
  ca: readFileSync(caPath ?? ''), requestCert: true, rejectUnauthorized: true,
}, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.url?.startsWith('/v1/params') === true) return void res.writeHead(204).end();
    if (req.url === '/v1/status') return void res.writeHead(204).end();
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      throughSeq: number; firstSeq: number; records: { seq: number }[];
    };
    const bad = body.records.findIndex((r) => r.seq < body.firstSeq || r.seq > body.throughSeq);
    if (bad >= 0) {
      res.writeHead(400).end(JSON.stringify({ error: 'bad-batch', detail: `records[${bad}]` }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
      ackThroughSeq: body.throughSeq, stored: body.records.length, duplicates: 0 }));
  });
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => server.close(() => process.exit(0)));
