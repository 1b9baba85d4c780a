/** Types for socketio.js (plain JS so k6 runs it as is), for the TypeScript unit tests. */

export declare const ENGINE: Readonly<{
  OPEN: '0';
  CLOSE: '1';
  PING: '2';
  PONG: '3';
  MESSAGE: '4';
  UPGRADE: '5';
  NOOP: '6';
}>;

export declare const PACKET: Readonly<{
  CONNECT: 0;
  DISCONNECT: 1;
  EVENT: 2;
  ACK: 3;
  CONNECT_ERROR: 4;
  BINARY_EVENT: 5;
  BINARY_ACK: 6;
}>;

export interface Packet {
  type: number;
  nsp?: string;
  id?: number;
  data?: unknown;
  attachments?: number;
}

export type Frame =
  | { kind: 'open'; data: Record<string, unknown> }
  | { kind: 'close' | 'ping' | 'pong' | 'upgrade' | 'noop'; data?: string }
  | { kind: 'message'; packet: Packet };

export declare function socketIoUrl(base: string, path?: string): string;
export declare function encodePacket(packet: Packet): string;
export declare function encodeEvent(name: string, args?: unknown[], id?: number, nsp?: string): string;
export declare function encodeAck(id: number, args?: unknown[], nsp?: string): string;
export declare function encodeConnect(auth?: unknown, nsp?: string): string;
export declare function decodePacket(str: string): Packet & { nsp: string };
export declare function decodeFrame(text: string): Frame & { packet?: Packet & { nsp: string } };

/**
 * Callbacks get (error: null | 'timeout' | 'disconnected', response, rttMs, args) for acks and
 * (arg0, receivedAt, args, ackId) for events; typed loosely so tests can narrow them.
 */
export type AckCallback = (...args: never[]) => unknown;
type Handler = (...args: never[]) => unknown;

/** Decoded broadcast frames shared by the sockets of one VU (one parse per room event). */
export declare class FrameCache {
  constructor(max?: number);
  hits: number;
  decode(raw: string): Frame;
}

export declare class SocketIoClient {
  constructor(
    /** A WHATWG-style WebSocket: send, close, and addEventListener or on* properties. */
    ws: object,
    options?: {
      auth?: unknown;
      nsp?: string;
      ackTimeoutMs?: number;
      now?: () => number;
      frameCache?: FrameCache;
    },
  );
  connected: boolean;
  closed: boolean;
  sid: string | undefined;
  handshake: Record<string, unknown> | undefined;
  pings: number;
  lastPingAt: number;
  lastFrameBytes: number;
  /** Events without a handler, skipped undecoded. */
  ignored: number;
  errors: string[];
  pending: Map<number, { cb: AckCallback; sentAt: number }>;
  onConnect(fn: Handler): this;
  onConnectError(fn: Handler): this;
  onClose(fn: Handler): this;
  onError(fn: Handler): this;
  on(event: string, fn: Handler): this;
  receive(raw: unknown, at?: number): void;
  emit(event: string, data?: unknown, cb?: AckCallback): boolean;
  ack(id: number, args?: unknown[]): boolean;
  expireAcks(now?: number): number;
  /** How many events without a handler were skipped since the last call. */
  takeIgnored(): number;
  close(): void;
}
