import type { ClientToServerEvents, ServerToClientEvents, User } from '@prism/core';
import type { Server, Socket } from 'socket.io';

/** What a socket carries between events; visible to other servers through `fetchSockets()`. */
export interface SocketData {
  user: User;
  /** Reviews whose join is in progress (held out of the room until the ack). */
  joining?: string[];
  /** Where this person is in each review they joined: presence, not durable. */
  presence: Record<string, { sectionId: string | null; typing: boolean }>;
}

// biome-ignore lint/complexity/noBannedTypes: Socket.IO's slot for server-to-server events, unused.
type NoInterServerEvents = {};

export type PrismServer = Server<ClientToServerEvents, ServerToClientEvents, NoInterServerEvents, SocketData>;
export type PrismSocket = Socket<ClientToServerEvents, ServerToClientEvents, NoInterServerEvents, SocketData>;
