/**
 * The browser's one Socket.IO connection to Prism. Same origin, websocket transport only; the HttpOnly
 * session cookie goes along on the handshake. Its status is runes state in `connection`.
 *
 * Browser-only: nothing here runs at import time; the socket is made on the first `acquire()`.
 */
import { io, type Socket } from 'socket.io-client';
import type { ClientEventName, PayloadOf, ResponseOf, ServerToClientEvents } from '../types.ts';
import { connection } from './connection.svelte.ts';

export type { ConnectionStatus } from './connection.svelte.ts';
export { connection } from './connection.svelte.ts';

/** How long an ack may take before the request counts as failed. */
const ACK_TIMEOUT_MS = 15_000;

type AnySocket = Socket;

let socket: AnySocket | null = null;
let users = 0;
let disconnectTimer: ReturnType<typeof setTimeout> | undefined;
const connectHandlers = new Set<() => void>();

function create(): AnySocket {
  const created = io({
    path: '/socket.io',
    transports: ['websocket'],
    withCredentials: true,
    autoConnect: false,
    reconnectionDelay: 400,
    reconnectionDelayMax: 4000,
    randomizationFactor: 0.5,
  });
  created.on('connect', () => {
    connection.status = 'connected';
    connection.error = null;
    connection.connects += 1;
    for (const handler of [...connectHandlers]) {
      try {
        handler();
      } catch (error) {
        console.error('connect handler failed', error);
      }
    }
  });
  // The server closes this socket for good and says why (this person opened too many): stay
  // offline with the reason instead of reconnecting, which would only close another of theirs.
  let closedBecause: string | null = null;
  (created as unknown as { on(event: string, listener: (payload: { message: string }) => void): void }).on(
    'session:closed',
    (payload) => {
      closedBecause = payload.message;
    },
  );
  created.on('disconnect', (reason) => {
    // `io client disconnect` is ours (release()); everything else reconnects by itself, except a
    // server-side disconnect, which we retry ourselves (a draining server sends those).
    if (reason === 'io client disconnect') return;
    if (closedBecause) {
      connection.status = 'offline';
      connection.error = closedBecause;
      return;
    }
    connection.status = isOffline() ? 'offline' : 'reconnecting';
    if (reason === 'io server disconnect') created.connect();
  });
  created.on('connect_error', (error: Error) => {
    if (error.message === 'unauthorized') {
      connection.status = 'offline';
      connection.error = 'unauthorized';
      return;
    }
    if (isOffline()) connection.status = 'offline';
    else if (connection.status !== 'connecting') connection.status = 'reconnecting';
    // A refusal by a server middleware leaves the socket inactive: try again later ourselves.
    if (!created.active) setTimeout(() => users > 0 && !created.connected && created.connect(), 2000);
  });
  return created;
}

function isOffline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false;
}

function onBrowserOffline(): void {
  if (!socket?.connected) connection.status = 'offline';
}

function onBrowserOnline(): void {
  if (socket && !socket.connected && users > 0) {
    connection.status = 'reconnecting';
    socket.connect();
  }
}

/** Starts (or shares) the connection; call the returned function when done with it. */
export function acquire(): () => void {
  socket ??= create();
  users += 1;
  if (disconnectTimer) {
    clearTimeout(disconnectTimer);
    disconnectTimer = undefined;
  }
  if (users === 1) {
    window.addEventListener('offline', onBrowserOffline);
    window.addEventListener('online', onBrowserOnline);
    if (!socket.connected) {
      connection.status = connection.connects > 0 ? 'reconnecting' : 'connecting';
      connection.error = null;
      socket.connect();
    }
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    users -= 1;
    if (users > 0) return;
    window.removeEventListener('offline', onBrowserOffline);
    window.removeEventListener('online', onBrowserOnline);
    // Going from one room to another releases and acquires again: keep the connection for a moment.
    disconnectTimer = setTimeout(() => {
      disconnectTimer = undefined;
      if (users === 0) socket?.disconnect();
    }, 3000);
  };
}

export function isConnected(): boolean {
  return socket?.connected ?? false;
}

/** Listens to a server event; returns the unsubscribe. */
export function on<E extends keyof ServerToClientEvents>(
  event: E,
  handler: ServerToClientEvents[E],
): () => void {
  socket ??= create();
  const target = socket as unknown as {
    on(event: string, listener: (...args: unknown[]) => void): void;
    off(event: string, listener: (...args: unknown[]) => void): void;
  };
  const listener = handler as (...args: unknown[]) => void;
  target.on(event, listener);
  return () => target.off(event, listener);
}

/** Called on every (re)connect; returns the unsubscribe. */
export function onConnect(handler: () => void): () => void {
  connectHandlers.add(handler);
  return () => connectHandlers.delete(handler);
}

/**
 * Emits a client event and resolves with its ack. Never rejects: when the socket is down, or the ack
 * does not come in time, it resolves with `{ok:false, error:{code:"offline"|"timeout"}}`.
 */
export function request<E extends ClientEventName>(event: E, payload: PayloadOf<E>): Promise<ResponseOf<E>> {
  const current = socket;
  if (!current?.connected) {
    return Promise.resolve({
      ok: false,
      error: { code: 'offline', message: 'Not connected to Prism right now; try again in a moment.' },
    } as ResponseOf<E>);
  }
  return new Promise((resolve) => {
    current.timeout(ACK_TIMEOUT_MS).emit(event, payload, (error: Error | null, response: ResponseOf<E>) => {
      if (error || !response) {
        resolve({
          ok: false,
          error: { code: 'timeout', message: 'Prism did not answer in time; try again.' },
        } as ResponseOf<E>);
        return;
      }
      resolve(response);
    });
  });
}

/** The socket as the room's transport. */
export const socketTransport = {
  get connected(): boolean {
    return isConnected();
  },
  request,
  on,
  onConnect,
};
