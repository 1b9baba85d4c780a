/**
 * The two sides of the CPU-per-delivery bench (cpu.ts), each driven with the same script: rooms
 * of reviewers split across two server processes, and per room a stream of events of which some
 * are a reviewer's command (an acknowledged event the server handles) and the rest come from the
 * worker's side (Redis pub/sub straight to the servers, as a model's streamed reply does).
 *
 *   Prism  command: `feedback:add` (rate limits, access check, the append script, ack {item}); the
 *          relays hear the review's channel and emit `feedback.added` to their room. Worker side:
 *          `chat.delta` appended through the event log exactly as the chat job writes it.
 *   raw    command: `publish` to loadtest/baseline/server.mjs with the same payload as Prism's add,
 *          padded by the server to the size of Prism's `feedback.added` frame and broadcast through
 *          the Redis adapter. Worker side: the same `chat.delta` event published in the adapter's
 *          own format (what @socket.io/redis-emitter sends), so each server emits it to its room.
 */
import { randomBytes } from 'node:crypto';
import { PRISM_ACTOR, type ReviewEvent } from '@prism/core';
import { EventLog, partialIndexField } from '@prism/store';
import type { Redis } from 'ioredis';
import { encode } from 'notepack.io';
import { io, type Socket } from 'socket.io-client';
import { makeDoc, post, session, uploadReview } from './doc.ts';
import type { Started } from './spawn.ts';

/** What every client saw, counted on the client side. */
export class Tally {
  /** Deliveries of the script's events (`feedback.added`, `chat.delta`). */
  delivered = 0;
  /** Events whose seq was not the one after the last this socket had (Prism's log: gap-free). */
  gaps = 0;
  acksOk = 0;
  acksFailed = 0;
  readonly failures = new Map<string, number>();
  /** Frame bytes (`42["review:event",{...}]`) and count per event type. */
  readonly sizes = new Map<string, { bytes: number; n: number }>();

  received(event: ReviewEvent): void {
    // Joins (member.joined) happen before the script starts: only the script's events count.
    if (event.type === 'feedback.added' || event.type === 'chat.delta') this.delivered += 1;
    const size = this.sizes.get(event.type) ?? { bytes: 0, n: 0 };
    size.bytes += JSON.stringify(event).length + '42["review:event",]'.length;
    size.n += 1;
    this.sizes.set(event.type, size);
  }

  acked(response: { ok?: boolean; error?: { code?: string } } | undefined): void {
    if (response?.ok) {
      this.acksOk += 1;
      return;
    }
    this.acksFailed += 1;
    const code = response?.error?.code ?? 'no answer';
    this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
  }

  meanSize(type: string): number {
    const size = this.sizes.get(type);
    return size ? Math.round(size.bytes / size.n) : 0;
  }
}

export interface Room {
  id: string;
  sockets: Socket[];
  /** Events of this room sent so far (the script alternates on it). */
  sent: number;
}

export interface Side {
  name: 'prism' | 'raw';
  /** Opens `rooms` rooms of `size` sockets, alternating between the servers, every socket joined. */
  open(rooms: number, size: number): Promise<Room[]>;
  /** A reviewer's command in `room` (by its `who`-th socket); its ack goes to the tally. */
  command(room: Room, who: number): void;
  /** An event from the worker's side in `room`. */
  workerEvent(room: Room): void;
  /** Events that will reach clients so far: commands acknowledged ok, and every worker event. */
  logged(): number;
}

interface JoinAck {
  ok: boolean;
  error?: unknown;
  snapshot: { seq: number; sections: { id: string }[] };
}

const DELTA_TEXT = 'the model writes a few tokens at a time ';

/** What a reviewer adds: the ramp scenario's feedback (loadtest/lib/prism.js). */
const feedback = (reviewId: string, sectionId: string, n: number) => ({
  reviewId,
  sectionId,
  type: 'suggestion',
  category: 'Clarity',
  description: `Reviewer ${n % 100}: this clause could be clearer about who may sublicense (note ${n}).`,
  suggestion: 'Name the parties explicitly and say which rights survive termination.',
});

async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next;
        next += 1;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

async function connected(url: string, token?: string): Promise<Socket> {
  const socket = io(url, {
    ...(token ? { auth: { token } } : {}),
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

export function prismSide(servers: Started[], redis: Redis, prefix: string, tally: Tally): Side {
  const log = new EventLog(redis, { prefix });
  const sections = new Map<string, string>();
  let worker = 0;
  let sent = 0;
  return {
    name: 'prism',
    async open(rooms, size) {
      const doc = await makeDoc();
      const made = await pool(
        Array.from({ length: rooms }, (_, r) => r),
        4,
        async (r) => {
          const base = servers[r % servers.length]!.url;
          const owner = await session(base, `Owner ${r}`);
          const id = await uploadReview(base, owner, doc);
          const { token } = await post<{ token: string }>(
            base,
            `/api/reviews/${id}/invites`,
            { role: 'reviewer' },
            owner,
          );
          return { id, owner, invite: token, sockets: [] as Socket[], sent: 0 };
        },
      );
      const seats = made.flatMap((room, r) => Array.from({ length: size }, (_, i) => ({ room, r, i })));
      await pool(seats, 16, async ({ room, r, i }) => {
        const url = servers[(r + i) % servers.length]!.url;
        let token = room.owner;
        if (i > 0) {
          token = await session(url, `Reviewer ${r}.${i}`);
          await post(url, '/api/invites/accept', { token: room.invite }, token);
        }
        const socket = await connected(url, token);
        let last = 0;
        socket.on('review:event', (event: ReviewEvent) => {
          if (event.seq <= last) return;
          if (event.seq !== last + 1) tally.gaps += 1;
          last = event.seq;
          tally.received(event);
        });
        // The seq is taken in the ack's own callback: events sent right after it may be read in the
        // same chunk, before an awaiting continuation would run.
        await new Promise<void>((resolve, reject) => {
          socket
            .timeout(30_000)
            .emit('review:join', { reviewId: room.id }, (error: unknown, ack: JoinAck) => {
              if (error || !ack.ok) return reject(new Error(`join: ${JSON.stringify(error ?? ack.error)}`));
              last = ack.snapshot.seq;
              sections.set(room.id, ack.snapshot.sections[0]!.id);
              resolve();
            });
        });
        room.sockets[i] = socket;
      });
      return made.map(({ id, sockets }) => ({ id, sockets, sent: 0 }));
    },
    command(room, who) {
      sent += 1;
      const payload = feedback(room.id, sections.get(room.id)!, sent);
      room.sockets[who]!.timeout(30_000)
        .emitWithAck('feedback:add', payload)
        .then(
          (ack) => tally.acked(ack),
          () => tally.acked(undefined),
        );
    },
    workerEvent(room) {
      const index = worker;
      worker += 1;
      const messageId = 'm_benchreply0000';
      log
        .append(
          {
            reviewId: room.id,
            type: 'chat.delta',
            at: new Date().toISOString(),
            actor: PRISM_ACTOR,
            data: { messageId, index, text: DELTA_TEXT },
          },
          {
            writes: [
              { op: 'happend', key: 'partials', field: messageId, value: DELTA_TEXT },
              { op: 'hset', key: 'partials', field: partialIndexField(messageId), value: String(index) },
            ],
          },
        )
        .catch((error: unknown) => console.error(`append: ${String(error)}`));
    },
    logged: () => tally.acksOk + worker,
  };
}

/**
 * `feedbackBytes`: the frame size of Prism's `feedback.added` in the same run, which the baseline
 * pads its command's event to.
 */
export function rawSide(
  servers: Started[],
  redis: Redis,
  prefix: string,
  tally: Tally,
  feedbackBytes: () => number,
): Side {
  let worker = 0;
  let sent = 0;
  const seqs = new Map<string, number>();
  return {
    name: 'raw',
    async open(rooms, size) {
      // Ids of the same length as Prism's review ids, so events are the same size.
      const made: Room[] = Array.from({ length: rooms }, () => ({
        id: `r_${randomBytes(9).toString('base64url')}`,
        sockets: [],
        sent: 0,
      }));
      const seats = made.flatMap((room, r) => Array.from({ length: size }, (_, i) => ({ room, r, i })));
      await pool(seats, 16, async ({ room, r, i }) => {
        const socket = await connected(servers[(r + i) % servers.length]!.url);
        socket.on('review:event', (event: ReviewEvent) => tally.received(event));
        const ack = await socket.timeout(30_000).emitWithAck('join', { room: room.id });
        if (!ack.ok) throw new Error('join refused');
        room.sockets[i] = socket;
      });
      return made;
    },
    command(room, who) {
      sent += 1;
      room.sockets[who]!.timeout(30_000)
        .emitWithAck('publish', {
          room: room.id,
          type: 'feedback.added',
          bytes: feedbackBytes(),
          // Ignored by the baseline, but read off the wire like Prism's add.
          payload: feedback(room.id, 'section-0000', sent),
        })
        .then(
          (ack) => tally.acked(ack),
          () => tally.acked(undefined),
        );
    },
    workerEvent(room) {
      const index = worker;
      worker += 1;
      const seq = (seqs.get(room.id) ?? 0) + 1;
      seqs.set(room.id, seq);
      const event = {
        reviewId: room.id,
        seq,
        type: 'chat.delta',
        at: new Date().toISOString(),
        actor: PRISM_ACTOR,
        data: { messageId: 'm_benchreply0000', index, text: DELTA_TEXT },
      };
      // The adapter's broadcast message: [sender uid, packet, {rooms, except, flags}], msgpack.
      const message = encode([
        'bench-worker',
        { type: 2, data: ['review:event', event], nsp: '/' },
        { rooms: [room.id], except: [], flags: {} },
      ]);
      redis
        .publish(`${prefix}socket.io#/#${room.id}#`, message)
        .catch((error: unknown) => console.error(`publish: ${String(error)}`));
    },
    logged: () => tally.acksOk + worker,
  };
}
