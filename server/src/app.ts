/**
 * Builds a server from injected clients: Express for HTTP, Socket.IO on the same port bound to the
 * other servers by the Redis adapter, and the relay that feeds rooms from the review event logs.
 * `main.ts` only reads config, connects and listens; tests call `createApp` directly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { join, resolve } from 'node:path';
import { PrismError } from '@prism/core';
import {
  ActivityStore,
  ArchiveStore,
  AuditLog,
  EventLog,
  InsightsStore,
  LibraryActivity,
  LibraryStore,
  type ObjectStore,
  ReviewStore,
  RubricStore,
  WorkspaceStore,
} from '@prism/store';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import express from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import type { ServerConfig } from './config.ts';
import { AiService } from './domain/ai-service.ts';
import { ArchiveService } from './domain/archive.ts';
import { Ingest } from './domain/ingest.ts';
import { InsightsService } from './domain/insights.ts';
import { LibraryService } from './domain/library.ts';
import { LibraryIndex } from './domain/library-index.ts';
import { LifecycleService } from './domain/lifecycle.ts';
import { ReviewService } from './domain/review-service.ts';
import { RevisionService } from './domain/revisions.ts';
import { RubricService } from './domain/rubrics.ts';
import { TokenSigner } from './domain/tokens.ts';
import { WorkspaceService } from './domain/workspaces.ts';
import { archiveRoutes } from './http/archive.ts';
import { jsonOnlyWrites, requireUser, sameOriginWrites } from './http/auth.ts';
import { diagnosticsRoutes } from './http/diagnostics.ts';
import { errorHandler, sendError } from './http/errors.ts';
import { insightsRoutes } from './http/insights.ts';
import { libraryRoutes } from './http/library.ts';
import { lifecycleRoutes } from './http/lifecycle.ts';
import { uploadLimits } from './http/limits.ts';
import { oidcRoutes } from './http/oidc.ts';
import { reviewRoutes } from './http/reviews.ts';
import { revisionRoutes } from './http/revisions.ts';
import { rubricRoutes } from './http/rubrics.ts';
import { securityHeaders } from './http/security-headers.ts';
import { sessionRoutes } from './http/session.ts';
import { workspaceRoutes } from './http/workspaces.ts';
import type { Metrics } from './infra/metrics.ts';
import { ParsePool } from './infra/parse-pool.ts';
import { Queues } from './infra/queues.ts';
import { createRateLimits } from './infra/rate-limit.ts';
import { allowOrigin, authenticate } from './realtime/auth.ts';
import { registerHandlers } from './realtime/handlers.ts';
import { PRESENCE_ANSWER_MS, Presence } from './realtime/presence.ts';
import { Relay } from './realtime/relay.ts';
import { SocketCap } from './realtime/socket-cap.ts';
import type { PrismServer } from './realtime/types.ts';
import { WorkspaceRemoval } from './realtime/workspace-removal.ts';

export interface AppDeps {
  config: ServerConfig;
  logger: Logger;
  metrics: Metrics;
  objects: ObjectStore;
  /** Connections by role; the app never creates its own. */
  redis: { commands: Redis; subscriber: Redis; adapterPub: Redis; adapterSub: Redis; queue: Redis };
  version: string;
}

export interface App {
  http: HttpServer;
  io: PrismServer;
  service: ReviewService;
  /** Stops accepting, disconnects sockets with jitter so they reconnect elsewhere, then closes. */
  drain(timeoutMs: number): Promise<void>;
}

/**
 * How long an idle keep-alive connection stays open: longer than the load balancer keeps its side
 * (the ALB's idle timeout, 120 s by default in infra/lib/prism-stack.ts; raise this with it).
 * Node's 5 s default closes connections the balancer is about to reuse, and those requests fail
 * (a 502 behind the ALB, a reset for a client talking to the server directly).
 */
export const KEEP_ALIVE_MS = 125_000;

export function createApp(deps: AppDeps): App {
  const { config, logger, metrics, objects, redis } = deps;
  let draining = false;

  const library = new LibraryStore(redis.commands, config.redis.prefix);
  // Reviews' progress and last activity as the append keeps them in each review (lists read it live).
  const reviewActivity = new ActivityStore(redis.commands, config.redis.prefix);
  // Keeps library records' progress and last activity true, a few writes a second at most.
  const activity = new LibraryActivity({
    redis: redis.commands,
    library,
    onError: (error, reviewId) => logger.warn({ err: error, reviewId }, 'library record not updated'),
  });
  const log = new EventLog(redis.commands, {
    prefix: config.redis.prefix,
    onAppend: (event) => {
      metrics.appended.inc({ type: event.type });
      activity.noted(event);
    },
  });
  const store = new ReviewStore(redis.commands, log, { prices: config.prices });
  const service = new ReviewService(store, undefined, (reviewId) => activity.settle(reviewId));
  const archives = new ArchiveStore(redis.commands, log, objects);
  const archive = new ArchiveService({
    reviews: service,
    archives,
    redis: redis.commands,
    objects,
    audit: new AuditLog(redis.commands, config.redis.prefix),
    library,
    activity: reviewActivity,
  });
  // Every read and join of an archived review restores it first (ReviewService.authorize).
  service.restore = (reviewId) => archive.restore(reviewId);
  // Uploads are read in threads with a time and a heap limit, never on this event loop.
  const parsers = new ParsePool({
    workers: config.parse.workers,
    timeoutMs: config.parse.timeoutMs,
    heapMb: config.parse.heapMb,
    logger,
  });
  // What every parse of a Word file (uploads, revisions, rubric imports) is held to.
  const parseLimits = { maxPartBytes: config.parse.maxPartBytes, maxSections: config.parse.maxSections };
  const ingest = new Ingest({
    store,
    library,
    objects,
    parser: parsers,
    limits: parseLimits,
  });
  const signer = new TokenSigner(config.sessionSecrets);
  const limits = createRateLimits(redis.commands, config.redis.prefix, config.ipLimits);
  const production = config.env === 'production';
  const queues = new Queues(redis.queue, config.redis.prefix);
  const ai = new AiService({
    reviews: service,
    queues,
    publisher: redis.commands,
    prefix: config.redis.prefix,
    budget: config.reviewTokenBudget,
  });

  const app = express();
  app.disable('x-powered-by');
  if (config.trustProxy !== undefined) app.set('trust proxy', config.trustProxy);
  const webDir = resolve(config.webDir ?? new URL('../../web/build', import.meta.url).pathname);
  const indexHtml = join(webDir, 'index.html');
  app.use(securityHeaders(existsSync(indexHtml) ? readFileSync(indexHtml, 'utf8') : undefined));
  const http = createServer(app);
  http.keepAliveTimeout = KEEP_ALIVE_MS;

  const io: PrismServer = new Server(http, {
    transports: ['websocket'],
    maxHttpBufferSize: 1e6,
    serveClient: false,
    pingInterval: 20_000,
    pingTimeout: 20_000,
    // On a cluster, presence and control go over sharded pub/sub (a room's channel lives on one
    // shard) where the classic adapter's PUBLISH would reach every node.
    adapter: config.redis.cluster
      ? createShardedAdapter(redis.adapterPub, redis.adapterSub, {
          channelPrefix: `${config.redis.prefix}socket.io`,
        })
      : createAdapter(redis.adapterPub, redis.adapterSub, {
          key: `${config.redis.prefix}socket.io`,
          // Presence is best effort: a server that does not answer holds a join up this long at most.
          requestsTimeout: PRESENCE_ANSWER_MS,
        }),
    allowRequest: allowOrigin(config.publicOrigin, production, logger),
  });
  const relay = new Relay(io, redis.subscriber, log, metrics, logger, { queueLimit: config.sendQueueLimit });
  const presence = new Presence(io, store, logger, { aliveMs: config.presenceAliveMs });
  // Presence said while the adapter's subscriber was away is lost: after it reconnects, ask again.
  let adapterSubReady = redis.adapterSub.status === 'ready';
  redis.adapterSub.on('ready', () => {
    if (adapterSubReady) presence.resync();
    adapterSubReady = true;
  });
  // Workspaces (CONTRACT 7.2): their members act in the workspace's reviews; a removal is at once.
  const workspaceStore = new WorkspaceStore(redis.commands, config.redis.prefix);
  service.workspaceRole = (workspaceId, userId) => workspaceStore.role(workspaceId, userId);
  const removal = new WorkspaceRemoval(io, { service, relay, presence, logger });
  const workspaces = new WorkspaceService({
    store: workspaceStore,
    signer,
    publicUrl: config.publicUrl,
    onRemoved: (workspaceId, userId) => removal.removed(workspaceId, userId),
  });
  // The workspace rubric library (CONTRACT 7.4); an upload picks one of its rubrics.
  const rubrics = new RubricService({
    store: new RubricStore(redis.commands, config.redis.prefix),
    workspaces,
    parser: parsers,
    limits: parseLimits,
  });
  const libraryIndex = new LibraryIndex(library);
  const libraryService = new LibraryService({
    library,
    index: libraryIndex,
    reviews: store,
    activity: reviewActivity,
    workspaceRole: (workspaceId, userId) => workspaceStore.role(workspaceId, userId),
    here: (reviewIds) => presence.people(reviewIds),
  });

  const cap = new SocketCap({
    io,
    redis: redis.commands,
    prefix: config.redis.prefix,
    max: config.maxSocketsPerUser,
    logger,
  });

  io.use(authenticate(signer));
  // Counted before the connection completes, so sockets are ranked in the order they connected.
  io.use(cap.middleware());
  io.on('connection', (socket) => {
    metrics.sockets.inc();
    socket.on('disconnect', (reason) => {
      metrics.sockets.dec();
      metrics.disconnects.inc({ reason });
    });
    registerHandlers(socket, { service, ai, relay, presence, limits, metrics, logger });
  });

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok', instance: config.instance, version: deps.version });
  });
  app.get('/ready', async (_req, res) => {
    const checks = { redis: 'ok', storage: 'ok' };
    await redis.commands.ping().catch(() => {
      checks.redis = 'failing';
    });
    await objects.check().catch(() => {
      checks.storage = 'failing';
    });
    const ok = !draining && checks.redis === 'ok' && checks.storage === 'ok';
    res.status(ok ? 200 : 503).json({ status: draining ? 'draining' : ok ? 'ok' : 'failing', checks });
  });

  const api = express.Router();
  api.use(express.json({ limit: '1mb' }));
  api.use(sameOriginWrites(config.publicOrigin, production));
  // Uploads: POST /reviews, and the revisions of CONTRACT 7.5.
  api.use(
    jsonOnlyWrites([
      /^\/reviews\/?$/,
      /^\/reviews\/[^/]+\/revisions\/?$/,
      /^\/workspaces\/[^/]+\/rubrics\/import\/?$/,
    ]),
  );
  api.use(sessionRoutes(signer, limits, config.auth, (user) => workspaces.list(user)));
  api.use(requireUser(signer));
  api.post('/reviews', uploadLimits(limits));
  api.use(libraryRoutes(libraryService));
  api.use(workspaceRoutes(workspaces));
  // Workspace insights (CONTRACT 7.4): a review is read again only when its seq or usage moved.
  const insights = new InsightsService({
    store: new InsightsStore(redis.commands, config.redis.prefix, {
      readArchive: (reviewId) => archives.read(reviewId),
      prices: config.prices,
    }),
    records: (workspaceId) => libraryIndex.records(`ws:${workspaceId}`),
  });
  api.use(insightsRoutes({ insights, workspaces }));
  // What the team decided ranks and shapes the next analysis (CONTRACT 7.4, learning).
  ai.preferences = (workspaceId) =>
    insights.preferences(workspaceId).catch((error: unknown) => {
      logger.warn({ err: error, workspaceId }, 'team preferences not read; the review keeps its own');
      return undefined;
    });
  api.use(rubricRoutes(rubrics, config.maxUploadBytes, limits));
  api.use(
    reviewRoutes({
      service,
      ai,
      objects,
      signer,
      limits,
      presence,
      publicUrl: config.publicUrl,
      maxUploadBytes: config.maxUploadBytes,
      ingest,
      workspaces,
      rubrics,
    }),
  );
  api.use(archiveRoutes(archive));
  api.use(lifecycleRoutes({ service, lifecycle: new LifecycleService(service, ai, library), objects }));
  api.use(
    revisionRoutes({
      revisions: new RevisionService({
        reviews: service,
        library,
        objects,
        parser: parsers,
        limits: parseLimits,
      }),
      limits,
      maxUploadBytes: config.maxUploadBytes,
    }),
  );
  api.use(
    diagnosticsRoutes({
      store,
      redis: redis.commands,
      queueConnection: redis.queue,
      prefix: config.redis.prefix,
      objects,
      isWorkspaceAdmin: async (userId) =>
        (await workspaceStore.listForUser(userId)).some((item) => item.role === 'admin'),
    }),
  );
  api.use((_req, res) => sendError(res, new PrismError('not_found', 'There is no such API route.')));
  app.use('/api', api);
  app.use(
    '/auth',
    oidcRoutes({
      auth: config.auth,
      signer,
      limits,
      redis: redis.commands,
      prefix: config.redis.prefix,
      publicUrl: config.publicUrl,
      publicOrigin: config.publicOrigin,
      production,
      logger,
    }),
  );

  if (existsSync(indexHtml)) {
    // Built assets are content-hashed: cache them for good; index.html must always be fresh.
    app.use(
      express.static(webDir, {
        index: false,
        setHeaders: (res, path) => {
          res.setHeader(
            'cache-control',
            path.includes('/_app/immutable/') ? 'public, max-age=31536000, immutable' : 'no-cache',
          );
        },
      }),
    );
    // The web app routes in the browser: every other page is its index.html.
    app.get(/^(?!\/(api|socket\.io)\/).*/, (_req, res) => {
      res.setHeader('cache-control', 'no-cache');
      res.sendFile(join(webDir, 'index.html'));
    });
  } else {
    app.get('/', (_req, res) => {
      res.type('text/plain').send('Prism is running, but the web app is not built: run `npm run build`.');
    });
  }
  app.use(errorHandler(logger));

  async function drain(timeoutMs: number): Promise<void> {
    draining = true;
    http.close();
    const sockets = [...io.sockets.sockets.values()];
    // Spread disconnects so the fleet is not hit by every client reconnecting at once.
    const window = Math.min(timeoutMs / 2, 5000);
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((done) => {
            setTimeout(() => {
              socket.disconnect(true);
              done();
            }, Math.random() * window);
          }),
      ),
    );
    relay.close();
    await presence.close();
    await activity.close();
    await new Promise<void>((done) => io.close(() => done()));
    http.closeAllConnections();
    await queues.close();
    await parsers.close();
  }

  return { http, io, service, drain };
}
