/**
 * At most MAX_SOCKETS_PER_USER live sockets per person, across every server. Each socket is listed
 * in a Redis sorted set per person, ordered by when it connected (Redis's clock, so servers' clocks
 * do not matter); a connection beyond the cap takes out the oldest, which is told why
 * (`session:closed {code:"too_many_connections"}`) and closed by whichever server holds it.
 *
 * A server killed without closing its sockets leaves their entries behind; they are the oldest, so
 * they are the first taken out, and the key expires a day after the person's last connection.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PrismServer, PrismSocket } from './types.ts';

const KEY_TTL_S = 24 * 3600;

/** Adds the socket; returns (and removes) the ids beyond the cap, oldest first. One round trip. */
const ADMIT = `
local now = redis.call('TIME')
redis.call('ZADD', KEYS[1], tonumber(now[1]) * 1000000 + tonumber(now[2]), ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2])
if over <= 0 then return {} end
local oldest = redis.call('ZRANGE', KEYS[1], 0, over - 1)
redis.call('ZREM', KEYS[1], unpack(oldest))
return oldest
`;

export const TOO_MANY_CONNECTIONS = 'too_many_connections';

export class SocketCap {
  private readonly io: PrismServer;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly max: number;
  private readonly logger: Logger;

  constructor(options: { io: PrismServer; redis: Redis; prefix: string; max: number; logger: Logger }) {
    this.io = options.io;
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.max = options.max;
    this.logger = options.logger;
    // The server holding a socket another server took out closes it.
    this.io.on('socket:close', (socketId) => this.closeHere(socketId));
  }

  private key(userId: string): string {
    return `${this.prefix}sockets:{${userId}}`;
  }

  /** Counts a new socket (and forgets it when it goes); closes the person's oldest beyond the cap. */
  async admit(socket: PrismSocket): Promise<void> {
    const key = this.key(socket.data.user.id);
    socket.on('disconnect', () => {
      this.redis
        .zrem(key, socket.id)
        .catch((error) => this.logger.warn({ err: error }, 'socket cap: zrem failed'));
    });
    let evicted: string[];
    try {
      evicted = (await this.redis.eval(ADMIT, 1, key, socket.id, this.max, KEY_TTL_S)) as string[];
    } catch (error) {
      // Redis down: the cap is a guard, not a reason to refuse people.
      this.logger.warn({ err: error }, 'socket cap: admit failed');
      return;
    }
    for (const socketId of evicted) {
      if (!this.closeHere(socketId)) this.io.serverSideEmit('socket:close', socketId);
    }
  }

  /** The `io.use` middleware: admits the socket, then lets the connection complete whatever happened. */
  middleware(): (socket: PrismSocket, next: (error?: Error) => void) => void {
    return (socket, next) => {
      this.admit(socket).then(() => next());
    };
  }

  /** Tells a socket of this server why, then closes it; false when it is not here. */
  private closeHere(socketId: string): boolean {
    const socket = this.io.sockets.sockets.get(socketId);
    if (!socket) return false;
    socket.emit('session:closed', {
      code: TOO_MANY_CONNECTIONS,
      message: `You have more than ${this.max} Prism connections open (tabs or devices), so the oldest, this one, was closed. Reload the page to use Prism here.`,
    });
    // The event is written before the close: engine.io drains its buffer before closing.
    socket.disconnect(true);
    return true;
  }
}
