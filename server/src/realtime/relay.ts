/**
 * The broadcaster: the only place that emits review events to sockets. This server subscribes to
 * the channel of every review its sockets have joined (and unsubscribes when the last one leaves),
 * and emits each event to its local room in `seq` order. A joining socket is held out of the room
 * while its snapshot (or replay) is read; events arriving meanwhile are buffered and flushed after
 * its ack, so the first live event after a snapshot is always `snapshot.seq + 1`. On a Redis
 * Cluster the channels are sharded (SSUBSCRIBE): each is heard from the shard of its review.
 *
 * A slow reader (a socket with more than `queueLimit` frames waiting to be written: a stalled
 * tab, a thin link) is not sent live events any more, which would queue on this server without
 * bound; it stays in the room (present to others, its commands answered) and is fed from the
 * review's log instead, a page at a time whenever its queue has drained, until it has caught up
 * with the room and takes live events again. Nothing is skipped or sent twice.
 */
import { type ReviewEvent, reviewRoom } from '@prism/core';
import type { EventLog } from '@prism/store';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../infra/metrics.ts';
import type { PrismServer, PrismSocket } from './types.ts';

interface Joining {
  socket: PrismSocket;
  buffer: ReviewEvent[];
}

/** A socket fed from the log: it has been sent every event up to `sentSeq`. */
interface Lagging {
  socket: PrismSocket;
  sentSeq: number;
  reading: boolean;
}

export interface RelayOptions {
  /** Frames waiting for one socket past which it is fed from the log. */
  queueLimit: number;
  /** How often sockets' queues are looked at. */
  checkMs?: number;
}

interface Subscription {
  reviewId: string;
  /** Local sockets in (or joining) the room. */
  refs: number;
  ready: Promise<unknown>;
  lastSeq: number;
  /** Set while a gap is being read from the log; live events queue behind it. */
  healing?: ReviewEvent[];
  joining: Set<Joining>;
  /** Sockets of the room fed from the log, by socket id. */
  lagging: Map<string, Lagging>;
  /** Events emitted since the room's queues were last looked at. */
  sinceCheck: number;
}

/**
 * A room's queues are looked at before every CHECK_EVERY-th event (a lookup per socket): a slow
 * reader is stopped at most this many frames past the limit.
 */
const CHECK_EVERY = 4;

/** Frames engine.io holds for the socket until its transport can take them. */
function queuedFrames(socket: PrismSocket): number {
  return (socket.conn as unknown as { writeBuffer: unknown[] }).writeBuffer.length;
}

function drained(socket: PrismSocket): boolean {
  return queuedFrames(socket) === 0 && socket.conn.transport.writable;
}

export class Relay {
  private readonly byChannel = new Map<string, Subscription>();
  private readonly io: PrismServer;
  private readonly subscriber: Redis;
  private readonly log: EventLog;
  private readonly metrics: Metrics;
  private readonly logger: Logger;
  private readonly sharded: boolean;
  private readonly queueLimit: number;
  private readonly checker: NodeJS.Timeout;
  /** The most frames found waiting for one socket since the last check (a gauge). */
  private mostQueued = 0;

  constructor(
    io: PrismServer,
    subscriber: Redis,
    log: EventLog,
    metrics: Metrics,
    logger: Logger,
    options: RelayOptions,
  ) {
    this.io = io;
    this.subscriber = subscriber;
    this.log = log;
    this.metrics = metrics;
    this.logger = logger;
    this.sharded = subscriber.isCluster === true;
    this.queueLimit = options.queueLimit;
    this.checker = setInterval(() => this.checkReaders(), options.checkMs ?? 100);
    this.checker.unref();
    subscriber.on(this.sharded ? 'smessage' : 'message', (channel: string, raw: string) =>
      this.onMessage(channel, raw),
    );
  }

  private subscribe(channel: string): Promise<unknown> {
    return this.sharded ? this.subscriber.ssubscribe(channel) : this.subscriber.subscribe(channel);
  }

  private unsubscribe(channel: string): Promise<unknown> {
    return this.sharded ? this.subscriber.sunsubscribe(channel) : this.subscriber.unsubscribe(channel);
  }

  /** Starts holding `socket` out of the room; resolves once this server hears the review's channel. */
  async beginJoin(socket: PrismSocket, reviewId: string): Promise<Joining> {
    const channel = this.log.keys(reviewId).channel;
    let sub = this.byChannel.get(channel);
    const room = reviewRoom(reviewId);
    const already = socket.rooms.has(room) || (socket.data.joining ?? []).includes(reviewId);
    if (!sub) {
      sub = {
        reviewId,
        refs: 0,
        lastSeq: 0,
        joining: new Set(),
        lagging: new Map(),
        sinceCheck: CHECK_EVERY,
        ready: this.subscribe(channel),
      };
      this.byChannel.set(channel, sub);
    }
    if (!already) sub.refs += 1;
    // A re-join (after a gap) leaves the room so the replay and live events cannot interleave.
    socket.leave(room);
    this.stopFeeding(sub, socket.id);
    const joining: Joining = { socket, buffer: [] };
    sub.joining.add(joining);
    socket.data.joining = [...(socket.data.joining ?? []), reviewId];
    try {
      await sub.ready;
    } catch (error) {
      this.abortJoin(joining, reviewId);
      throw error;
    }
    return joining;
  }

  /** Puts the socket in the room and sends what arrived after `afterSeq` while it was held out. */
  completeJoin(joining: Joining, reviewId: string, afterSeq: number): void {
    const sub = this.byChannel.get(this.log.keys(reviewId).channel);
    if (!sub) return;
    sub.joining.delete(joining);
    joining.socket.data.joining = (joining.socket.data.joining ?? []).filter((id) => id !== reviewId);
    if (joining.socket.disconnected) {
      this.release(reviewId);
      return;
    }
    joining.socket.join(reviewRoom(reviewId));
    for (const event of joining.buffer) {
      if (event.seq > afterSeq) joining.socket.emit('review:event', event);
    }
  }

  /** Gives up a join that failed before its ack (the socket stays out of the room). */
  abortJoin(joining: Joining, reviewId: string): void {
    const sub = this.byChannel.get(this.log.keys(reviewId).channel);
    sub?.joining.delete(joining);
    joining.socket.data.joining = (joining.socket.data.joining ?? []).filter((id) => id !== reviewId);
    this.release(reviewId);
  }

  /** The socket left the review (or disconnected); unsubscribe when it was the last one here. */
  leave(socket: PrismSocket, reviewId: string): void {
    const room = reviewRoom(reviewId);
    if (!socket.rooms.has(room)) return;
    socket.leave(room);
    this.release(reviewId);
  }

  /** Called on disconnect, when Socket.IO has already emptied `socket.rooms`. */
  disconnected(reviewIds: Iterable<string>): void {
    for (const reviewId of reviewIds) this.release(reviewId);
  }

  private release(reviewId: string): void {
    const channel = this.log.keys(reviewId).channel;
    const sub = this.byChannel.get(channel);
    if (!sub) return;
    sub.refs -= 1;
    if (sub.refs > 0) return;
    for (const socketId of [...sub.lagging.keys()]) this.stopFeeding(sub, socketId);
    this.byChannel.delete(channel);
    this.unsubscribe(channel).catch((error: unknown) => {
      this.logger.warn({ err: error, reviewId }, 'unsubscribe failed');
    });
  }

  /** Stops looking at sockets' queues (the server is closing). */
  close(): void {
    clearInterval(this.checker);
  }

  get subscriptions(): number {
    return this.byChannel.size;
  }

  private onMessage(channel: string, raw: string): void {
    const sub = this.byChannel.get(channel);
    if (!sub) return;
    let event: ReviewEvent;
    try {
      event = JSON.parse(raw) as ReviewEvent;
    } catch {
      this.logger.error({ channel }, 'unparseable event on review channel');
      return;
    }
    if (sub.healing) {
      sub.healing.push(event);
      return;
    }
    if (sub.lastSeq > 0 && event.seq > sub.lastSeq + 1) {
      // The subscriber missed messages (e.g. while Redis reconnected): read them from the log.
      this.heal(sub, event);
      return;
    }
    this.emit(sub, event);
  }

  private emit(sub: Subscription, event: ReviewEvent): void {
    if (event.seq <= sub.lastSeq) return;
    const room = reviewRoom(sub.reviewId);
    const members = this.io.sockets.adapter.rooms.get(room);
    sub.sinceCheck += 1;
    if (members && sub.sinceCheck >= CHECK_EVERY) {
      sub.sinceCheck = 0;
      this.findSlowReaders(sub, members);
    }
    sub.lastSeq = event.seq;
    const local = this.io.local.to(room);
    (sub.lagging.size > 0 ? local.except([...sub.lagging.keys()]) : local).emit('review:event', event);
    for (const joining of sub.joining) joining.buffer.push(event);
    this.metrics.relayed.inc();
    this.metrics.deliveries.inc((members?.size ?? 0) - sub.lagging.size);
    const lag = (Date.now() - Date.parse(event.at)) / 1000;
    if (lag >= 0) this.metrics.eventLag.observe(lag);
    // A deleted review's last event: its sockets here leave the room (each server does its own).
    if (event.type === 'review.deleted') this.closeRoom(sub.reviewId);
  }

  private closeRoom(reviewId: string): void {
    const room = reviewRoom(reviewId);
    for (const socketId of [...(this.io.sockets.adapter.rooms.get(room) ?? [])]) {
      const socket = this.io.sockets.sockets.get(socketId);
      if (socket) this.leave(socket, reviewId);
    }
  }

  /**
   * Before an event goes out: a socket of the room with `queueLimit` frames already waiting is
   * not sent it, nor any live event after it, until it has been fed up to the room (`feed`).
   * The first event a room relays here is always looked at.
   */
  private findSlowReaders(sub: Subscription, members: Set<string>): void {
    for (const id of members) {
      if (sub.lagging.has(id)) continue;
      const socket = this.io.sockets.sockets.get(id);
      if (!socket) continue;
      const queued = queuedFrames(socket);
      if (queued > this.mostQueued) this.mostQueued = queued;
      if (queued < this.queueLimit) continue;
      sub.lagging.set(id, { socket, sentSeq: sub.lastSeq, reading: false });
      this.metrics.slowReaders.inc();
      this.metrics.lagging.inc();
      this.logger.info(
        { reviewId: sub.reviewId, user: socket.data.user.id, queued },
        'slow reader: fed from the log',
      );
    }
  }

  /** Feeds the slow readers whose queue has drained; forgets those that left or disconnected. */
  private checkReaders(): void {
    this.metrics.queuedMax.set(this.mostQueued);
    this.mostQueued = 0;
    for (const sub of this.byChannel.values()) {
      if (sub.lagging.size === 0) continue;
      const members = this.io.sockets.adapter.rooms.get(reviewRoom(sub.reviewId));
      for (const [id, lagging] of sub.lagging) {
        if (!members?.has(id) || lagging.socket.disconnected) this.stopFeeding(sub, id);
        else {
          this.mostQueued = Math.max(this.mostQueued, queuedFrames(lagging.socket));
          this.feed(sub, lagging);
        }
      }
    }
  }

  /** Sends a drained slow reader the next page of the log, up to what the room has been sent. */
  private feed(sub: Subscription, lagging: Lagging): void {
    const { socket } = lagging;
    if (lagging.reading || !drained(socket)) return;
    if (lagging.sentSeq >= sub.lastSeq) {
      this.stopFeeding(sub, socket.id);
      return;
    }
    lagging.reading = true;
    this.log
      .page(sub.reviewId, lagging.sentSeq, this.queueLimit)
      .then((events) => {
        if (sub.lagging.get(socket.id) !== lagging || socket.disconnected) return;
        if (events === undefined) {
          // The log no longer reaches back: live again, the next event shows the client its gap
          // and it joins again with `since` (and gets a snapshot).
          this.stopFeeding(sub, socket.id);
          return;
        }
        let sent = 0;
        for (const event of events) {
          if (event.seq > sub.lastSeq) break;
          socket.emit('review:event', event);
          lagging.sentSeq = event.seq;
          sent += 1;
        }
        this.metrics.fedFromLog.inc(sent);
        this.metrics.deliveries.inc(sent);
        if (lagging.sentSeq >= sub.lastSeq) this.stopFeeding(sub, socket.id);
      })
      .catch((error: unknown) =>
        this.logger.warn({ err: error, reviewId: sub.reviewId }, 'slow reader not fed; trying again'),
      )
      .finally(() => {
        lagging.reading = false;
      });
  }

  private stopFeeding(sub: Subscription, socketId: string): void {
    if (sub.lagging.delete(socketId)) this.metrics.lagging.dec();
  }

  private heal(sub: Subscription, trigger: ReviewEvent): void {
    sub.healing = [trigger];
    const from = sub.lastSeq;
    this.metrics.healed.inc();
    this.log
      .since(sub.reviewId, from)
      .then((missed) => {
        for (const event of missed ?? []) this.emit(sub, event);
      })
      .catch((error: unknown) =>
        this.logger.warn({ err: error, reviewId: sub.reviewId }, 'relay gap not healed'),
      )
      .finally(() => {
        const queued = sub.healing ?? [];
        delete sub.healing;
        // Whatever is still missing (log trimmed or unreadable) clients close with `since`.
        for (const event of queued.sort((a, b) => a.seq - b.seq)) this.emit(sub, event);
      });
  }
}
