/**
 * A small Engine.IO v4 + Socket.IO v5 client codec for k6's `k6/websockets` (and any WebSocket
 * with the WHATWG interface: Node's global WebSocket, `ws`). Plain ES2020 with no imports, so k6
 * runs it as is and vitest tests it in Node.
 *
 * Wire format over the websocket transport (one packet per websocket message):
 *   Engine.IO   '0' open {sid, pingInterval, pingTimeout, maxPayload} | '1' close | '2' ping |
 *               '3' pong | '4' message | '5' upgrade | '6' noop
 *   Socket.IO   (inside an Engine.IO message) type digit, then `/nsp,` when the namespace is not
 *               '/', then the ack id digits, then JSON:
 *               '0' CONNECT (client: auth object; server: {sid}), '1' DISCONNECT, '2' EVENT
 *               [name, ...args], '3' ACK [...args], '4' CONNECT_ERROR {message, data?},
 *               '5'/'6' binary event/ack (`<attachments>-` before the namespace; not supported).
 * So `42["review:event",{...}]` is an event, `4213["review:join",{...}]` asks for ack 13 and
 * `4313[{"ok":true}]` answers it. The server pings ('2') every pingInterval; the client answers
 * '3' or the server drops it after pingTimeout.
 */

export const ENGINE = Object.freeze({
  OPEN: '0',
  CLOSE: '1',
  PING: '2',
  PONG: '3',
  MESSAGE: '4',
  UPGRADE: '5',
  NOOP: '6',
});

export const PACKET = Object.freeze({
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
});

const ENGINE_KINDS = { 0: 'open', 1: 'close', 2: 'ping', 3: 'pong', 4: 'message', 5: 'upgrade', 6: 'noop' };

/** The websocket URL of a Socket.IO server at `base` (http(s) or ws(s)), websocket transport only. */
export function socketIoUrl(base, path) {
  const root = String(base).replace(/^http/, 'ws').replace(/\/+$/, '');
  const p = path || '/socket.io/';
  return `${root}${p.startsWith('/') ? '' : '/'}${p}${p.endsWith('/') ? '' : '/'}?EIO=4&transport=websocket`;
}

/** Encodes a Socket.IO packet `{type, nsp?, id?, data?}` as one Engine.IO message frame ('4...'). */
export function encodePacket(packet) {
  const type = packet.type;
  if (type === PACKET.BINARY_EVENT || type === PACKET.BINARY_ACK) {
    throw new Error('binary packets are not supported');
  }
  if (!(type >= 0 && type <= 4)) throw new Error(`unknown packet type ${type}`);
  let out = ENGINE.MESSAGE + type;
  if (packet.nsp && packet.nsp !== '/') out += `${packet.nsp},`;
  if (packet.id !== undefined && packet.id !== null) {
    if (!Number.isInteger(packet.id) || packet.id < 0) throw new Error(`bad ack id ${packet.id}`);
    out += packet.id;
  }
  if (packet.data !== undefined) out += JSON.stringify(packet.data);
  return out;
}

/** `42["name",...args]` (with an ack id when given). */
export function encodeEvent(name, args, id, nsp) {
  return encodePacket({ type: PACKET.EVENT, nsp, id, data: [name].concat(args || []) });
}

/** `43<id>[...args]`: the answer to a server's event that asked for an ack. */
export function encodeAck(id, args, nsp) {
  return encodePacket({ type: PACKET.ACK, nsp, id, data: args || [] });
}

/** `40` or `40{"token":"..."}`: connect to the namespace with an auth payload. */
export function encodeConnect(auth, nsp) {
  return encodePacket({ type: PACKET.CONNECT, nsp, data: auth === undefined ? undefined : auth });
}

const isDigit = (c) => c >= '0' && c <= '9';

/**
 * Decodes the Socket.IO part of a message frame (the text after the Engine.IO '4').
 * Returns `{type, nsp, id?, data?}`; throws on anything malformed.
 */
export function decodePacket(str) {
  const type = str.charCodeAt(0) - 48;
  if (!(type >= 0 && type <= 6) || str.length === 0)
    throw new Error(`unknown packet type in ${str.slice(0, 20)}`);
  let i = 1;
  const packet = { type, nsp: '/' };
  if (type === PACKET.BINARY_EVENT || type === PACKET.BINARY_ACK) {
    const dash = str.indexOf('-', i);
    const n = Number(str.slice(i, dash));
    if (dash < 0 || !Number.isInteger(n) || n < 1) throw new Error('illegal attachments');
    packet.attachments = n;
    i = dash + 1;
  }
  if (str[i] === '/') {
    const comma = str.indexOf(',', i);
    const end = comma < 0 ? str.length : comma;
    packet.nsp = str.slice(i, end);
    i = comma < 0 ? str.length : comma + 1;
  }
  const idStart = i;
  while (i < str.length && isDigit(str[i])) i += 1;
  if (i > idStart) packet.id = Number(str.slice(idStart, i));
  if (i < str.length) {
    let data;
    try {
      data = JSON.parse(str.slice(i));
    } catch (_error) {
      throw new Error('invalid payload');
    }
    packet.data = data;
  }
  const data = packet.data;
  const valid =
    type === PACKET.CONNECT
      ? data === undefined || (data !== null && typeof data === 'object')
      : type === PACKET.DISCONNECT
        ? data === undefined
        : type === PACKET.CONNECT_ERROR
          ? typeof data === 'string' || (data !== null && typeof data === 'object')
          : type === PACKET.EVENT || type === PACKET.BINARY_EVENT
            ? Array.isArray(data) && (typeof data[0] === 'string' || typeof data[0] === 'number')
            : Array.isArray(data); // ACK, BINARY_ACK
  if (!valid) throw new Error('invalid payload');
  return packet;
}

/**
 * Decodes one websocket text message: `{kind: 'open'|'close'|'ping'|'pong'|'upgrade'|'noop',
 * data?}` for Engine.IO packets, `{kind: 'message', packet}` for Socket.IO packets. Open carries
 * its parsed handshake; ping/pong carry their optional text (e.g. 'probe').
 */
export function decodeFrame(text) {
  if (typeof text !== 'string' || text.length === 0) throw new Error('not a text frame');
  const kind = ENGINE_KINDS[text[0]];
  if (!kind) throw new Error(`unknown engine.io packet ${text[0]}`);
  const rest = text.slice(1);
  if (kind === 'message') return { kind, packet: decodePacket(rest) };
  if (kind === 'open') return { kind, data: JSON.parse(rest) };
  return rest ? { kind, data: rest } : { kind };
}

/**
 * Decoded broadcast frames shared by the sockets one VU holds: a room's event reaches each of the
 * room's sockets as the same text (Socket.IO encodes a broadcast once), so a VU that holds a whole
 * room parses it once instead of once per socket. Keeps the last `max` frames. The decoded packets
 * are shared between sockets: handlers must treat them as read-only.
 */
export class FrameCache {
  constructor(max) {
    this.max = max || 256;
    this.frames = new Map(); // raw text -> decoded frame
    this.hits = 0;
  }

  /** decodeFrame(raw), from the cache when another socket already decoded the same text. */
  decode(raw) {
    const cached = this.frames.get(raw);
    if (cached !== undefined) {
      this.hits += 1;
      return cached;
    }
    const frame = decodeFrame(raw);
    this.frames.set(raw, frame);
    if (this.frames.size > this.max) this.frames.delete(this.frames.keys().next().value);
    return frame;
  }
}

/**
 * A Socket.IO client over one WebSocket-like object (`send`, `close`, `readyState`,
 * `addEventListener` or `on*` properties), for the default namespace.
 *
 *   const sio = new SocketIoClient(new WebSocket(socketIoUrl(url)), { auth: { token } });
 *   sio.onConnect(() => sio.emit('review:join', { reviewId }, (err, res) => ...));
 *   sio.on('review:event', (event, receivedAt) => ...);
 *
 * Acks: `emit(name, data, cb)` calls `cb(null, response, rttMs)` with the first ack argument, or
 * `cb('timeout')` from `expireAcks()` once `ackTimeoutMs` passed, or `cb('disconnected')` when the
 * socket closes first. Each callback runs exactly once. Timers are left to the caller (one
 * interval per VU calling `expireAcks` is cheaper than one timer per ack).
 */
export class SocketIoClient {
  constructor(ws, options) {
    const opts = options || {};
    this.ws = ws;
    this.auth = opts.auth;
    this.nsp = opts.nsp || '/';
    this.ackTimeoutMs = opts.ackTimeoutMs || 10000;
    // Broadcast events (`42[...`, no ack id) are decoded through it when given (see FrameCache).
    this.frameCache = opts.frameCache || null;
    this.now = opts.now || Date.now;
    this.nextId = 0;
    this.pending = new Map(); // id -> {cb, sentAt}
    this.handlers = {};
    this.connected = false;
    this.closed = false;
    this.sid = undefined;
    this.handshake = undefined;
    this.lastPingAt = 0;
    this.lastFrameBytes = 0;
    this.pings = 0;
    this.ignored = 0; // events with no handler, skipped undecoded
    this.ignoredTaken = 0;
    this.errors = [];
    this._onConnect = [];
    this._onConnectError = [];
    this._onClose = [];
    this._onError = [];
    const listen = (name, fn) => {
      if (typeof ws.addEventListener === 'function') ws.addEventListener(name, fn);
      else ws[`on${name}`] = fn;
    };
    // k6 stamps each message event with the time its frame was read (`timestamp`, ms since the
    // epoch), before it waits for the VU's event loop: use it when there, so a busy load generator
    // does not inflate what is measured. A listener that throws makes k6 close the socket: never
    // let one escape.
    listen('message', (e) => {
      try {
        this.receive(e.data, typeof e.timestamp === 'number' && e.timestamp > 1e12 ? e.timestamp : undefined);
      } catch (error) {
        this.errors.push(String(error?.stack ? error.stack : error));
      }
    });
    listen('close', (e) => this._closed(e?.code, e?.reason));
    listen('error', (e) => {
      const message = (e && (e.error || e.message)) || 'websocket error';
      for (const fn of this._onError) this._call(fn, String(message));
    });
  }

  onConnect(fn) {
    this._onConnect.push(fn);
    return this;
  }
  onConnectError(fn) {
    this._onConnectError.push(fn);
    return this;
  }
  onClose(fn) {
    this._onClose.push(fn);
    return this;
  }
  onError(fn) {
    this._onError.push(fn);
    return this;
  }
  /** Server events: `fn(arg0, receivedAt, args, ackId)`. */
  on(event, fn) {
    if (!this.handlers[event]) this.handlers[event] = [];
    this.handlers[event].push(fn);
    return this;
  }

  /** Runs a callback; an exception is recorded in `errors` instead of escaping into k6. */
  _call(fn, a, b, c, d) {
    try {
      fn(a, b, c, d);
    } catch (error) {
      this.errors.push(String(error?.stack ? error.stack : error));
    }
  }

  _send(text) {
    if (this.closed) return false;
    try {
      this.ws.send(text);
      return true;
    } catch (_error) {
      return false;
    }
  }

  /** Handles one websocket message (exposed for tests and for callers wiring events themselves). */
  receive(raw, at) {
    if (typeof raw !== 'string') return; // binary attachments are not used by Prism
    const receivedAt = at === undefined ? this.now() : at;
    this.lastFrameBytes = raw.length;
    // An event nobody listens to (presence, in the load tests) is counted, not decoded: parsing
    // frames is most of a load generator's work, and its CPU is what limits a large run.
    if (raw.startsWith('42["')) {
      const end = raw.indexOf('"', 4);
      if (end > 4 && raw.charCodeAt(end - 1) !== 92 && !this.handlers[raw.slice(4, end)]) {
        this.ignored += 1;
        return;
      }
    }
    let frame;
    try {
      frame =
        this.frameCache !== null && raw.startsWith('42[') ? this.frameCache.decode(raw) : decodeFrame(raw);
    } catch (error) {
      this.errors.push(String(error?.message));
      return;
    }
    switch (frame.kind) {
      case 'open':
        this.handshake = frame.data;
        this._send(encodeConnect(this.auth, this.nsp));
        return;
      case 'ping':
        this.lastPingAt = receivedAt;
        this.pings += 1;
        this._send(frame.data ? ENGINE.PONG + frame.data : ENGINE.PONG);
        return;
      case 'close':
        this.close();
        return;
      case 'message':
        this._packet(frame.packet, receivedAt);
        return;
      default:
        return; // pong, upgrade, noop
    }
  }

  _packet(packet, receivedAt) {
    if (packet.nsp !== this.nsp) return;
    switch (packet.type) {
      case PACKET.CONNECT:
        this.connected = true;
        this.sid = packet.data?.sid;
        for (const fn of this._onConnect) this._call(fn, this.sid);
        return;
      case PACKET.CONNECT_ERROR: {
        const data = packet.data;
        const message = typeof data === 'string' ? data : data?.message;
        for (const fn of this._onConnectError) this._call(fn, message, data);
        return;
      }
      case PACKET.DISCONNECT:
        // The server ended this namespace's session (e.g. disconnect(true) while draining).
        this.connected = false;
        this.close();
        return;
      case PACKET.EVENT: {
        const list = this.handlers[packet.data[0]];
        if (!list) return;
        const args = packet.data.slice(1);
        // Index loops on paths run per frame or per tick: k6's JS engine allocates an object for
        // every step of a for...of.
        for (let i = 0; i < list.length; i += 1) this._call(list[i], args[0], receivedAt, args, packet.id);
        return;
      }
      case PACKET.ACK: {
        const entry = this.pending.get(packet.id);
        if (!entry) return; // late (already timed out) or unknown
        this.pending.delete(packet.id);
        this._call(entry.cb, null, packet.data[0], receivedAt - entry.sentAt, packet.data);
        return;
      }
      default:
        return;
    }
  }

  /** Emits an event; with `cb` it asks for an ack. Returns false when the socket is closed. */
  emit(event, data, cb) {
    let id;
    if (typeof cb === 'function') {
      id = this.nextId;
      this.nextId += 1;
      this.pending.set(id, { cb, sentAt: this.now() });
    }
    const ok = this._send(encodeEvent(event, data === undefined ? [] : [data], id, this.nsp));
    if (!ok && id !== undefined) {
      this.pending.delete(id);
      this._call(cb, 'disconnected');
    }
    return ok;
  }

  /** Answers a server event that asked for an ack. */
  ack(id, args) {
    return this._send(encodeAck(id, args, this.nsp));
  }

  /** Fails acks older than ackTimeoutMs; returns how many timed out. */
  expireAcks(now) {
    const t = now === undefined ? this.now() : now;
    if (this.pending.size === 0) return 0;
    const late = [];
    this.pending.forEach((entry, id) => {
      if (t - entry.sentAt >= this.ackTimeoutMs) late.push(id);
    });
    for (let i = 0; i < late.length; i += 1) {
      const entry = this.pending.get(late[i]);
      this.pending.delete(late[i]);
      this._call(entry.cb, 'timeout');
    }
    return late.length;
  }

  /** How many events without a handler were skipped since the last call. */
  takeIgnored() {
    const n = this.ignored - this.ignoredTaken;
    this.ignoredTaken = this.ignored;
    return n;
  }

  close() {
    if (this.closed) return;
    if (this.connected) this._send(encodePacket({ type: PACKET.DISCONNECT, nsp: this.nsp }));
    try {
      this.ws.close();
    } catch (_error) {
      // already closing
    }
    this._closed(1000, 'client close');
  }

  _closed(code, reason) {
    if (this.closed && this.pending.size === 0 && this._closeReported) return;
    this.closed = true;
    this.connected = false;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const entry of pending) this._call(entry.cb, 'disconnected');
    if (this._closeReported) return;
    this._closeReported = true;
    for (const fn of this._onClose) this._call(fn, code, reason);
  }
}
