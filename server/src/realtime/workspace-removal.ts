/**
 * A member removed from a workspace leaves its reviews' rooms at once, on every server: the
 * removing server tells the others (`workspace:removed`) and acts on its own sockets. A socket
 * stays in a review whose own membership still lets the person read it.
 */
import type { Logger } from 'pino';
import type { ReviewService } from '../domain/review-service.ts';
import type { Presence } from './presence.ts';
import type { Relay } from './relay.ts';
import type { PrismServer, PrismSocket } from './types.ts';

export class WorkspaceRemoval {
  private readonly io: PrismServer;
  private readonly deps: { service: ReviewService; relay: Relay; presence: Presence; logger: Logger };

  constructor(
    io: PrismServer,
    deps: { service: ReviewService; relay: Relay; presence: Presence; logger: Logger },
  ) {
    this.io = io;
    this.deps = deps;
    io.on('workspace:removed', (workspaceId, userId) => {
      void this.local(workspaceId, userId);
    });
  }

  /** Tells every server, then takes this server's sockets of the person out. */
  async removed(workspaceId: string, userId: string): Promise<void> {
    this.io.serverSideEmit('workspace:removed', workspaceId, userId);
    await this.local(workspaceId, userId);
  }

  private async local(workspaceId: string, userId: string): Promise<void> {
    const sockets = [...this.io.sockets.sockets.values()].filter((socket) => socket.data.user.id === userId);
    await Promise.all(sockets.map((socket) => this.leaveWorkspace(socket, workspaceId)));
  }

  private async leaveWorkspace(socket: PrismSocket, workspaceId: string): Promise<void> {
    const { service, relay, presence, logger } = this.deps;
    const reviewIds = [...socket.rooms]
      .filter((room) => room.startsWith('review:'))
      .map((room) => room.slice(7));
    await Promise.all(
      reviewIds.map(async (reviewId) => {
        try {
          const meta = await service.store.meta(reviewId);
          if (meta?.workspaceId !== workspaceId) return;
          const still = await service.authorize(reviewId, socket.data.user, 'review:read').then(
            () => true,
            () => false,
          );
          if (still) return;
          relay.leave(socket, reviewId);
          delete socket.data.presence[reviewId];
          presence.changed(reviewId);
        } catch (error) {
          logger.warn({ err: error, reviewId, workspaceId }, 'removed member not taken out of the room');
        }
      }),
    );
  }
}
