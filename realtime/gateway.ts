import type { Server as HttpServer } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import type { Sql } from '../sql/client.ts';
import { watchAccessRevocations } from './access-revocation.ts';
import type { FeedEvent } from './document-feed.ts';
import type { ClientToServerEvents, ServerToClientEvents, SocketData } from './events.ts';
import { createFeedRegistry } from './feed-registry.ts';
import { authenticateHandshake, type HandshakeAuthDeps } from './handshake-auth.ts';
import { deliverNotifications } from './notification-delivery.ts';
import { createPresence, type PresenceOptions } from './presence.ts';
import { createSocketAdmission } from './socket-admission.ts';
import { disconnectOnExpiry, limitMessageRate, originGuard, type RateLimit } from './socket-guards.ts';
import { servePresence } from './socket-presence.ts';
import { documentRoom, serveSubscriptions } from './socket-subscriptions.ts';

export interface GatewayDeps {
  httpServer: HttpServer;
  sql: Sql;
  /** Commands: state reads and stream replays. */
  redis: Redis;
  /** A connection of the gateway's own for pub/sub (a subscribed connection can run nothing else). */
  subscriber: Redis;
  prefix: string;
  /** Resolves the handshake token to a user; throws an AppError (`unauthenticated`) when it is not valid. */
  authenticate: HandshakeAuthDeps['authenticate'];
  logger: Logger;
  /** Documents one socket may watch at once (SOCKET_MAX_SUBSCRIPTIONS). */
  maxSubscriptionsPerSocket: number;
  /** Messages one socket may send (SOCKET_RATE_LIMIT, SOCKET_RATE_BURST). */
  rateLimit: RateLimit;
  /** Largest message a socket may send, Socket.IO's maxHttpBufferSize (SOCKET_MAX_MESSAGE_BYTES). */
  maxMessageBytes: number;
  /** Origins besides the server's own whose pages may open sockets; `*` for any; empty: none (CORS_ORIGINS). */
  corsOrigins: readonly string[];
  onDelivered?: (event: FeedEvent, recipients: number) => void;
  /** Sockets one user may hold at once across every gateway, `too_many_sockets` past it (SOCKET_MAX_PER_USER). */
  maxSocketsPerUser: number;
  /** How long a gateway's claim on a socket's slot lasts unless renewed; a dead gateway's lapse after it (SOCKET_CLAIM_TTL_MS). */
  socketClaimTtlMs: number;
  /** Seconds a document's event history outlives its last event (EVENT_HISTORY_TTL_SECONDS). */
  historyTtlSeconds: number;
  /**
   * How long a socket's presence entry lasts unless renewed, and how often this gateway renews (PRESENCE_TTL_MS,
   * PRESENCE_RENEW_MS); the command that publishes presence lists (`spublish` on Redis Cluster; default `publish`).
   */
  presence: Pick<PresenceOptions, 'ttlMs' | 'renewMs' | 'publishCommand'>;
}

export interface Gateway {
  readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  /** Resolves once the pub/sub connection is ready. */
  ready(): Promise<void>;
  readonly healthy: boolean;
  /** Document subscriptions held by this gateway's sockets. */
  readonly subscriptions: number;
  close(): Promise<void>;
}

/**
 * The Socket.IO gateway: authenticates sockets, answers `subscribe` with a
 * snapshot or a replay, and relays every document event it receives through
 * Redis to the sockets watching that document. Any number of gateways may
 * run; each receives every event of the documents its sockets watch.
 */
export function createGateway(deps: GatewayDeps): Gateway {
  const logger = deps.logger.child({ component: 'gateway' });
  const io = attachSocketServer(deps);
  const revocations = watchAccessRevocations({ io, subscriber: deps.subscriber, sql: deps.sql, prefix: deps.prefix, logger, room: documentRoom });
  const admission = createSocketAdmission({
    redis: deps.redis,
    prefix: deps.prefix,
    logger,
    maxPerUser: deps.maxSocketsPerUser,
    claimTtlMs: deps.socketClaimTtlMs,
    openSockets: () => [...io.of('/').sockets.values()].map((s) => ({ userId: s.data.userId, socketId: s.id })),
  });

  const presence = createPresence({ redis: deps.redis, prefix: deps.prefix, logger, ...deps.presence });
  const feeds = createFeedRegistry({
    redis: deps.redis, subscriber: deps.subscriber, prefix: deps.prefix, logger,
    deliver: (feed, event) => {
      const room = documentRoom(feed.documentId);
      (io.to(room).emit as (name: string, data: unknown) => boolean)(event.name, event.data);
      deps.onDelivered?.(event, io.sockets.adapter.rooms.get(room)?.size ?? 0);
    },
    deliverPresence: (feed, users) => io.to(documentRoom(feed.documentId)).emit('presence', users),
  });

  io.use(authenticateHandshake({ authenticate: deps.authenticate, admission }));
  io.on('connection', (socket) => {
    const subscriptions = serveSubscriptions(socket, {
      sql: deps.sql, redis: deps.redis, prefix: deps.prefix, logger, feeds, presence, maxSubscriptions: deps.maxSubscriptionsPerSocket, historyTtlSeconds: deps.historyTtlSeconds,
    });
    servePresence(socket, { sql: deps.sql, presence, logger });
    revocations.track(socket, (documentId) => subscriptions.release(documentId));
    limitMessageRate(socket, deps.rateLimit, admission, logger);
    disconnectOnExpiry(socket, socket.data.expiresAt);
    socket.on('disconnect', () => {
      subscriptions.releaseAll();
      admission.release(socket.data.userId, socket.id);
    });
  });

  const subscriberReady = connected(deps.subscriber);
  const notificationsReady = deliverNotifications({ io, subscriber: deps.subscriber, sql: deps.sql, prefix: deps.prefix, logger });

  return {
    io,
    ready: () => subscriberReady.then(() => Promise.all([notificationsReady, revocations.ready])).then(() => undefined),
    get healthy() {
      return deps.subscriber.status === 'ready';
    },
    get subscriptions() {
      return feeds.references;
    },
    async close() {
      admission.close();
      // Before the sockets go: their users leave every other gateway's lists now, not when the entries lapse.
      await presence.close();
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      feeds.clear();
    },
  };
}

/** Socket.IO on the HTTP server: no client bundle served, messages capped, browsers only from allowed origins. */
function attachSocketServer(deps: GatewayDeps): Gateway['io'] {
  const { corsOrigins } = deps;
  return new Server(deps.httpServer, {
    serveClient: false,
    maxHttpBufferSize: deps.maxMessageBytes,
    allowRequest: originGuard(corsOrigins),
    ...(corsOrigins.length > 0 && { cors: { origin: corsOrigins.includes('*') ? '*' : [...corsOrigins] } }),
  });
}

/** Resolves once the connection is ready; rejects on its first error before that. */
function connected(redis: Redis): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (redis.status === 'ready') return resolve();
    redis.once('ready', () => resolve());
    redis.once('error', reject);
  });
}
