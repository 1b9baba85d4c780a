import type { ClientToServerEvents, Role, ServerToClientEvents, User } from '@prism/core';
import type { MemberRecord } from '@prism/store';
import type { Server, Socket } from 'socket.io';
import type { ServerPresence } from './presence-view.ts';

/** What a socket carries between events. */
export interface SocketData {
  user: User;
  /** Reviews whose join is in progress (held out of the room until the ack). */
  joining?: string[];
  /** Where this person is in each review they joined: presence, not durable. */
  presence: Record<string, { sectionId: string | null; typing: boolean }>;
  /** The role each joined review gave at its join: a workspace member may hold one without a membership. */
  roles?: Record<string, Role>;
}

/** One socket's presence in a review, as servers tell each other (presence.ts). */
export interface PresenceEntry {
  userId: string;
  /** Who, and the role they joined with: shown for people in the room through their workspace. */
  user?: User;
  role?: Role;
  sectionId: string | null;
  typing: boolean;
}

/** Server-to-server requests through the Redis adapter. */
export interface InterServerEvents {
  /** Each other server answers with its own sockets' presence in the review's room (numbered). */
  'presence:collect': (reviewId: string, answer: (said: ServerPresence) => void) => void;
  /** A server's sockets in the review changed: what they are now, and the review's roster. */
  'presence:here': (reviewId: string, said: ServerPresence, roster: MemberRecord[]) => void;
  /** A server is alive (every few seconds); one long silent is taken out of every room. */
  'presence:alive': (server: string) => void;
  /** A server is stopping: take its sockets out of every room now. */
  'presence:gone': (server: string) => void;
  /** Each other server answers with the people its sockets have in each of these reviews' rooms. */
  'presence:rooms': (reviewIds: string[], answer: (here: Record<string, User[]>) => void) => void;
  /** The server holding this socket tells it why and closes it (socket-cap.ts). */
  'socket:close': (socketId: string) => void;
  /** A member left a workspace: each server takes their sockets out of its reviews (workspace-removal.ts). */
  'workspace:removed': (workspaceId: string, userId: string) => void;
}

export type PrismServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type PrismSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
