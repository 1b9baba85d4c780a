/**
 * The k6 Socket.IO codec (loadtest/lib/socketio.js): every packet kind both ways, acks matched by
 * id, and interop with a real socket.io server over Node's WebSocket (the same WHATWG interface
 * k6's `k6/websockets` offers).
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeFrame,
  decodePacket,
  ENGINE,
  encodeAck,
  encodeConnect,
  encodeEvent,
  encodePacket,
  FrameCache,
  PACKET,
  SocketIoClient,
  socketIoUrl,
} from '../lib/socketio.js';

describe('encode', () => {
  it('encodes CONNECT with and without auth, on the default and another namespace', () => {
    expect(encodeConnect(undefined)).toBe('40');
    expect(encodeConnect({ token: 't.1' })).toBe('40{"token":"t.1"}');
    expect(encodeConnect({ token: 'x' }, '/admin')).toBe('40/admin,{"token":"x"}');
  });

  it('encodes DISCONNECT', () => {
    expect(encodePacket({ type: PACKET.DISCONNECT })).toBe('41');
    expect(encodePacket({ type: PACKET.DISCONNECT, nsp: '/admin' })).toBe('41/admin,');
  });

  it('encodes EVENT with and without an ack id', () => {
    expect(encodeEvent('review:join', [{ reviewId: 'r_1' }])).toBe('42["review:join",{"reviewId":"r_1"}]');
    expect(encodeEvent('review:join', [{ reviewId: 'r_1' }], 13)).toBe(
      '4213["review:join",{"reviewId":"r_1"}]',
    );
    expect(encodeEvent('ping-me', [], 0)).toBe('420["ping-me"]');
    expect(encodeEvent('x', [1, 'two'], 7, '/admin')).toBe('42/admin,7["x",1,"two"]');
  });

  it('encodes ACK and CONNECT_ERROR', () => {
    expect(encodeAck(5, [{ ok: true }])).toBe('435[{"ok":true}]');
    expect(encodeAck(0, [])).toBe('430[]');
    expect(encodePacket({ type: PACKET.CONNECT_ERROR, data: { message: 'unauthorized' } })).toBe(
      '44{"message":"unauthorized"}',
    );
  });

  it('refuses binary packets, unknown types and bad ids', () => {
    expect(() => encodePacket({ type: PACKET.BINARY_EVENT, data: ['x'] })).toThrow(/binary/);
    expect(() => encodePacket({ type: 9 })).toThrow(/unknown/);
    expect(() => encodePacket({ type: PACKET.EVENT, id: -1, data: ['x'] })).toThrow(/ack id/);
  });

  it('builds the websocket URL from an http or ws base', () => {
    expect(socketIoUrl('http://127.0.0.1:8080')).toBe(
      'ws://127.0.0.1:8080/socket.io/?EIO=4&transport=websocket',
    );
    expect(socketIoUrl('https://prism.example/')).toBe(
      'wss://prism.example/socket.io/?EIO=4&transport=websocket',
    );
    expect(socketIoUrl('ws://h:1', '/rt')).toBe('ws://h:1/rt/?EIO=4&transport=websocket');
  });
});

describe('decode', () => {
  const message = (frame: string) => decodeFrame(frame).packet;

  it('decodes every Engine.IO packet kind', () => {
    expect(decodeFrame('0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000}')).toEqual({
      kind: 'open',
      data: { sid: 'abc', upgrades: [], pingInterval: 25000, pingTimeout: 20000 },
    });
    expect(decodeFrame('1')).toEqual({ kind: 'close' });
    expect(decodeFrame('2')).toEqual({ kind: 'ping' });
    expect(decodeFrame('2probe')).toEqual({ kind: 'ping', data: 'probe' });
    expect(decodeFrame('3')).toEqual({ kind: 'pong' });
    expect(decodeFrame('5')).toEqual({ kind: 'upgrade' });
    expect(decodeFrame('6')).toEqual({ kind: 'noop' });
    expect(() => decodeFrame('9')).toThrow(/unknown engine.io/);
    expect(() => decodeFrame('')).toThrow();
  });

  it('decodes every Socket.IO packet kind', () => {
    expect(decodeFrame('40{"sid":"s1"}')).toEqual({
      kind: 'message',
      packet: { type: PACKET.CONNECT, nsp: '/', data: { sid: 's1' } },
    });
    expect(message('41')).toEqual({ type: PACKET.DISCONNECT, nsp: '/' });
    expect(message('42["review:event",{"seq":3}]')).toEqual({
      type: PACKET.EVENT,
      nsp: '/',
      data: ['review:event', { seq: 3 }],
    });
    expect(message('4217["ask",1]')).toEqual({ type: PACKET.EVENT, nsp: '/', id: 17, data: ['ask', 1] });
    expect(message('43120[{"ok":false,"error":{"code":"invalid"}}]')).toEqual({
      type: PACKET.ACK,
      nsp: '/',
      id: 120,
      data: [{ ok: false, error: { code: 'invalid' } }],
    });
    expect(message('44{"message":"unauthorized"}')).toEqual({
      type: PACKET.CONNECT_ERROR,
      nsp: '/',
      data: { message: 'unauthorized' },
    });
    expect(message('42/admin,4["x"]')).toEqual({ type: PACKET.EVENT, nsp: '/admin', id: 4, data: ['x'] });
    expect(message('451-["file",{"_placeholder":true,"num":0}]')).toMatchObject({
      type: PACKET.BINARY_EVENT,
      attachments: 1,
    });
  });

  it('round-trips what it encodes', () => {
    const packets = [
      { type: PACKET.CONNECT, nsp: '/', data: { token: 'a' } },
      { type: PACKET.DISCONNECT, nsp: '/' },
      { type: PACKET.EVENT, nsp: '/', id: 42, data: ['chat:send', { text: 'héllo "quoted" 🎉' }] },
      { type: PACKET.ACK, nsp: '/x', id: 3, data: [{ ok: true, events: [] }] },
      { type: PACKET.CONNECT_ERROR, nsp: '/', data: { message: 'unauthorized' } },
    ];
    for (const packet of packets) {
      const frame = encodePacket(packet);
      expect(frame[0]).toBe(ENGINE.MESSAGE);
      expect(decodeFrame(frame)).toEqual({ kind: 'message', packet });
    }
  });

  it('refuses malformed payloads', () => {
    // decodePacket takes what follows the Engine.IO '4'.
    expect(() => decodePacket('2{"not":"an array"}')).toThrow(/invalid payload/);
    expect(() => decodePacket('2[not json')).toThrow(/invalid payload/);
    expect(() => decodePacket('3{}')).toThrow(/invalid payload/);
    expect(() => decodePacket('1{"x":1}')).toThrow(/invalid payload/);
    expect(() => decodePacket('0"just a string"')).toThrow(/invalid payload/);
    expect(() => decodePacket('7')).toThrow(/unknown packet type/);
    expect(() => decodeFrame('4')).toThrow(/unknown packet type/);
  });
});

/** A fake WebSocket: records what the client sends, lets the test deliver frames. */
class FakeSocket {
  sent: string[] = [];
  closed = false;
  private listeners: Record<string, ((e: unknown) => void)[]> = {};
  addEventListener(name: string, fn: (e: unknown) => void): void {
    this.listeners[name] = [...(this.listeners[name] ?? []), fn];
  }
  send(text: string): void {
    if (this.closed) throw new Error('closed');
    this.sent.push(text);
  }
  close(): void {
    this.closed = true;
  }
  deliver(data: string): void {
    for (const fn of this.listeners.message ?? []) fn({ data });
  }
  drop(): void {
    this.closed = true;
    for (const fn of this.listeners.close ?? []) fn({ code: 1006, reason: '' });
  }
}

describe('SocketIoClient (protocol state)', () => {
  it('connects with auth after the open packet and answers pings', () => {
    const ws = new FakeSocket();
    const client = new SocketIoClient(ws, { auth: { token: 'tok' } });
    let sid: string | undefined;
    client.onConnect((s: string) => {
      sid = s;
    });
    ws.deliver('0{"sid":"e1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}');
    expect(ws.sent).toEqual(['40{"token":"tok"}']);
    ws.deliver('40{"sid":"s1"}');
    expect(client.connected).toBe(true);
    expect(sid).toBe('s1');
    ws.deliver('2');
    expect(ws.sent.at(-1)).toBe('3');
    expect(client.pings).toBe(1);
  });

  it('matches acks by id, whatever order they come back in, and calls each once', () => {
    const ws = new FakeSocket();
    let now = 1000;
    const client = new SocketIoClient(ws, { now: () => now });
    const got: [string, unknown, number][] = [];
    client.emit('a', { n: 1 }, (err: unknown, res: unknown, rtt: number) => got.push(['a', err ?? res, rtt]));
    client.emit('b', { n: 2 }, (err: unknown, res: unknown, rtt: number) => got.push(['b', err ?? res, rtt]));
    client.emit('c', undefined);
    expect(ws.sent).toEqual(['420["a",{"n":1}]', '421["b",{"n":2}]', '42["c"]']);
    now = 1007;
    ws.deliver('431[{"ok":true,"which":"b"}]');
    now = 1010;
    ws.deliver('430[{"ok":true,"which":"a"}]');
    ws.deliver('430[{"ok":true,"which":"again"}]'); // a duplicate ack is ignored
    expect(got).toEqual([
      ['b', { ok: true, which: 'b' }, 7],
      ['a', { ok: true, which: 'a' }, 10],
    ]);
    expect(client.pending.size).toBe(0);
  });

  it('times out acks and fails pending ones when the socket closes', () => {
    const ws = new FakeSocket();
    let now = 0;
    const client = new SocketIoClient(ws, { now: () => now, ackTimeoutMs: 100 });
    const errors: string[] = [];
    client.emit('slow', {}, (err: string) => errors.push(`slow:${err}`));
    now = 50;
    client.emit('later', {}, (err: string) => errors.push(`later:${err}`));
    now = 120;
    expect(client.expireAcks()).toBe(1);
    ws.deliver('430[{"ok":true}]'); // too late: ignored
    let closed = 0;
    client.onClose(() => {
      closed += 1;
    });
    ws.drop();
    client.close();
    expect(errors).toEqual(['slow:timeout', 'later:disconnected']);
    expect(closed).toBe(1);
    expect(client.emit('after', {}, (err: string) => errors.push(`after:${err}`))).toBe(false);
    expect(errors.at(-1)).toBe('after:disconnected');
  });

  it('dispatches server events with their receipt time and reports connect errors', () => {
    const ws = new FakeSocket();
    const client = new SocketIoClient(ws, { now: () => 5 });
    const events: unknown[] = [];
    client.on('review:event', (event: unknown, at: number) => events.push([event, at]));
    const refusals: string[] = [];
    client.onConnectError((message: string) => refusals.push(message));
    ws.deliver('42["review:event",{"seq":1}]');
    ws.deliver('42["other",{}]');
    ws.deliver('42/elsewhere,["review:event",{"seq":99}]'); // another namespace: not ours
    ws.deliver('44{"message":"unauthorized"}');
    ws.deliver('4garbage');
    expect(events).toEqual([[{ seq: 1 }, 5]]);
    expect(refusals).toEqual(['unauthorized']);
    expect(client.errors).toHaveLength(1);
  });

  it('skips events nobody listens to without decoding them, and still decodes the ones it must', () => {
    const ws = new FakeSocket();
    const client = new SocketIoClient(ws, { now: () => 5 });
    const events: unknown[] = [];
    client.on('review:event', (event: unknown) => events.push(event));
    ws.deliver('42["presence",{"members": not json'); // no handler: skipped, so no error
    ws.deliver('42["review:event",{"seq": not json'); // a handler: decoded, so the error shows
    ws.deliver('42["review\\"event",{"seq":3}]'); // an escaped quote in the name: decoded
    ws.deliver('421["presence",{}]'); // asks for an ack: decoded (and answered by nobody)
    ws.deliver('42["review:event",{"seq":2}]');
    expect(client.ignored).toBe(1);
    expect(client.takeIgnored()).toBe(1);
    expect(client.takeIgnored()).toBe(0);
    expect(client.errors).toEqual(['invalid payload']);
    expect(events).toEqual([{ seq: 2 }]);
  });

  it('parses a broadcast once for the sockets sharing a FrameCache, and nothing else through it', () => {
    const frames = new FrameCache(2);
    const sockets = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
    const got: unknown[][] = sockets.map(() => []);
    const acks: unknown[] = [];
    const clients = sockets.map((ws, i) => {
      const client = new SocketIoClient(ws, { now: () => 5, frameCache: frames });
      client.on('review:event', (event: unknown) => got[i].push(event));
      return client;
    });
    for (const ws of sockets) ws.deliver('42["review:event",{"seq":1}]');
    expect(frames.hits).toBe(2);
    expect(got).toEqual([[{ seq: 1 }], [{ seq: 1 }], [{ seq: 1 }]]);
    expect(got[1][0]).toBe(got[0][0]); // one parse, shared

    // Acks and events asking for one are per socket: never taken from the cache.
    clients[0].emit('x', {}, (_err: unknown, res: unknown) => acks.push(res));
    clients[1].emit('x', {}, (_err: unknown, res: unknown) => acks.push(res));
    sockets[0].deliver('430[{"ok":true,"n":0}]');
    sockets[1].deliver('430[{"ok":true,"n":1}]');
    expect(acks).toEqual([
      { ok: true, n: 0 },
      { ok: true, n: 1 },
    ]);
    expect(frames.hits).toBe(2);

    // It keeps the last `max` frames; a malformed one is refused for every socket, never cached.
    sockets[0].deliver('42["review:event",{"seq":2}]');
    sockets[0].deliver('42["review:event",{"seq":3}]');
    sockets[1].deliver('42["review:event",{"seq":1}]'); // evicted: parsed again
    expect(frames.hits).toBe(2);
    sockets[1].deliver('42["review:event",{"seq":3}]');
    expect(frames.hits).toBe(3);
    sockets[0].deliver('42["review:event",{"seq": broken');
    sockets[1].deliver('42["review:event",{"seq": broken');
    expect(clients[0].errors).toEqual(['invalid payload']);
    expect(clients[1].errors).toEqual(['invalid payload']);
  });
});

describe('interop with a real socket.io server', () => {
  let http: HttpServer;
  let io: Server;
  let url: string;

  beforeAll(async () => {
    http = createServer();
    io = new Server(http, { transports: ['websocket'], pingInterval: 100, pingTimeout: 200 });
    io.use((socket, next) => {
      if ((socket.handshake.auth as { token?: string }).token !== 'good')
        return next(new Error('unauthorized'));
      next();
    });
    io.on('connection', (socket) => {
      socket.on('echo', (payload: unknown, ack: (response: unknown) => void) => {
        ack({ ok: true, echoed: payload });
      });
      socket.on('broadcast-me', (payload: unknown) => {
        socket.emit('review:event', { seq: 1, type: 'chat.delta', data: payload });
      });
      socket.on('join-room', (room: string, ack: (response: unknown) => void) => {
        void socket.join(room);
        ack({ ok: true });
      });
      socket.on('room-broadcast', ({ room, event }: { room: string; event: unknown }) => {
        io.to(room).emit('review:event', event);
      });
      socket.on('ask-client', (_payload: unknown, ack: (response: unknown) => void) => {
        socket.emit('question', { q: 'ready?' }, (answer: unknown) => ack({ ok: true, answer }));
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => io.close(() => resolve()));
  });

  const open = (token: string, frameCache?: FrameCache): Promise<{ client: SocketIoClient; ws: WebSocket }> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(socketIoUrl(url));
      const client = new SocketIoClient(ws, { auth: { token }, frameCache });
      client.onConnect(() => resolve({ client, ws }));
      client.onConnectError((message: string) => reject(new Error(message)));
      client.onError((message: string) => reject(new Error(message)));
    });

  it('connects, emits with an ack and receives a server emit', async () => {
    const { client } = await open('good');
    const [err, response] = await new Promise<[unknown, unknown]>((resolve) =>
      client.emit('echo', { text: 'héllo', n: [1, 2] }, (e: unknown, r: unknown) => resolve([e, r])),
    );
    expect(err).toBeNull();
    expect(response).toEqual({ ok: true, echoed: { text: 'héllo', n: [1, 2] } });

    const received = new Promise<unknown>((resolve) =>
      client.on('review:event', (event: unknown) => resolve(event)),
    );
    client.emit('broadcast-me', { text: 'token' });
    expect(await received).toEqual({ seq: 1, type: 'chat.delta', data: { text: 'token' } });
    client.close();
  });

  it('decodes a room broadcast once for the sockets sharing a FrameCache: the server sends them the same text', async () => {
    const frames = new FrameCache();
    const clients = await Promise.all([1, 2, 3].map(() => open('good', frames).then((o) => o.client)));
    await Promise.all(
      clients.map(
        (c) => new Promise((resolve) => c.emit('join-room', 'r1', (_e: unknown, r: unknown) => resolve(r))),
      ),
    );
    const received = clients.map(
      (c) => new Promise<unknown>((resolve) => c.on('review:event', (event: unknown) => resolve(event))),
    );
    clients[0]!.emit('room-broadcast', {
      room: 'r1',
      event: { seq: 7, type: 'feedback.added', data: { text: 'ünïcode' } },
    });
    const events = await Promise.all(received);
    expect(events[0]).toEqual({ seq: 7, type: 'feedback.added', data: { text: 'ünïcode' } });
    expect(events[1]).toBe(events[0]);
    expect(events[2]).toBe(events[0]);
    expect(frames.hits).toBe(2);
    for (const c of clients) c.close();
  });

  it('answers the server pings, so it outlives pingInterval + pingTimeout', async () => {
    const { client } = await open('good');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(client.connected).toBe(true);
    expect(client.pings).toBeGreaterThanOrEqual(3);
    const [, response] = await new Promise<[unknown, unknown]>((resolve) =>
      client.emit('echo', 'still here', (e: unknown, r: unknown) => resolve([e, r])),
    );
    expect(response).toEqual({ ok: true, echoed: 'still here' });
    client.close();
  });

  it('acks an event the server sends with an ack callback', async () => {
    const { client } = await open('good');
    client.on('question', (_payload: unknown, _at: number, _args: unknown[], id: number) =>
      client.ack(id, ['yes']),
    );
    const [, response] = await new Promise<[unknown, unknown]>((resolve) =>
      client.emit('ask-client', {}, (e: unknown, r: unknown) => resolve([e, r])),
    );
    expect(response).toEqual({ ok: true, answer: 'yes' });
    client.close();
  });

  it('reports the server refusing the handshake as a connect error', async () => {
    await expect(open('bad')).rejects.toThrow('unauthorized');
  });

  it('fails pending acks when the server drops the socket', async () => {
    const { client } = await open('good');
    const outcome = new Promise<unknown>((resolve) =>
      client.emit('never-answered', {}, (e: unknown) => resolve(e)),
    );
    const closed = new Promise<void>((resolve) => client.onClose(() => resolve()));
    for (const socket of io.sockets.sockets.values()) socket.disconnect(true);
    expect(await outcome).toBe('disconnected');
    await closed;
    expect(client.connected).toBe(false);
  });
});
