/**
 * The baseline: a raw Socket.IO server with @socket.io/redis-adapter, nothing of Prism. Several of
 * these behind the same HAProxy layout as Prism's cluster broadcast events of the sizes Prism sent,
 * so Prism's overhead is a ratio measured in the same run (scripts/loadtest.sh starts them; the k6
 * side is loadtest/scenarios/baseline.js).
 *
 *   client -> server  join {room}                      ack {ok}
 *                     publish {room, type, bytes}      ack {ok, seq}: the server builds an event
 *                       shaped like Prism's ({reviewId, seq, type, at, actor, data}) padded to about
 *                       `bytes` on the wire, stamps `at`, and broadcasts it to the room on every
 *                       server through the Redis adapter (as Prism's relays fan out a logged event)
 *   server -> client  review:event
 *
 *   PORT=3900 REDIS_URL=redis://127.0.0.1:6379 BASELINE_PREFIX=lt-baseline: node loadtest/baseline/server.mjs
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const port = Number(process.env.PORT || 3900);
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = process.env.BASELINE_PREFIX || 'lt-baseline:';
const instance = process.env.INSTANCE_ID || `baseline-${port}`;

const pub = new Redis(redisUrl, { password: process.env.REDIS_PASSWORD || undefined });
const sub = pub.duplicate();
for (const client of [pub, sub]) client.on('error', (error) => console.error(`redis: ${error.message}`));

const http = createServer((req, res) => {
  if (req.url === '/health' || req.url === '/ready') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', instance, sockets: io.engine.clientsCount }));
    return;
  }
  res.writeHead(404).end();
});

// The same engine settings as Prism's server (server/src/app.ts).
const io = new Server(http, {
  transports: ['websocket'],
  maxHttpBufferSize: 1e6,
  serveClient: false,
  pingInterval: 20_000,
  pingTimeout: 20_000,
  adapter: createAdapter(pub, sub, { key: `${prefix}socket.io` }),
});

const PRISM = { id: 'prism', name: 'Prism' };
const seqs = new Map();
// Wire size of `42["review:event",{...}]` without data.text, per type (to pad to `bytes`).
const overhead = (room, type, seq, at) =>
  `42["review:event",${JSON.stringify({ reviewId: room, seq, type, at, actor: PRISM, data: { text: '' } })}]`
    .length;

io.on('connection', (socket) => {
  socket.on('join', (payload, ack) => {
    const room = String(payload?.room ?? '');
    if (!room) return ack?.({ ok: false, error: { code: 'invalid', message: 'room' } });
    socket.join(room);
    ack?.({ ok: true });
  });
  socket.on('publish', (payload, ack) => {
    const room = String(payload?.room ?? '');
    const type = String(payload?.type ?? 'chat.delta');
    const bytes = Math.min(1_000_000, Math.max(0, Number(payload?.bytes) || 0));
    // One publisher per room keeps seq in order, as Prism's log does.
    const seq = (seqs.get(room) ?? 0) + 1;
    seqs.set(room, seq);
    const at = new Date().toISOString();
    const text = 'x'.repeat(Math.max(0, bytes - overhead(room, type, seq, at)));
    io.to(room).emit('review:event', { reviewId: room, seq, type, at, actor: PRISM, data: { text } });
    ack?.({ ok: true, seq });
  });
});

http.listen(port, '127.0.0.1', () => console.log(`baseline ${instance} on http://127.0.0.1:${port}`));

const stop = () => {
  io.close(() => {
    pub.disconnect();
    sub.disconnect();
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
