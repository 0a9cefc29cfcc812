import type { Server as HttpServer } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Server, type Socket } from 'socket.io';
import { z } from 'zod';
import { requireAccess } from '../domain/access.ts';
import { AppError, notFound, type ErrorCode } from '../domain/errors.ts';
import type { Sql } from '../sql/client.ts';
import { findAccess } from '../sql/queries/members.ts';
import { watchAccessRevocations } from './access-revocation.ts';
import { DocumentFeed, parseLiveMessage, readHistoryAfter, type FeedEvent } from './document-feed.ts';
import type { ClientToServerEvents, ErrorBody, ServerToClientEvents, SocketData, SubscribeAck } from './events.ts';
import { documentKeys } from './keys.ts';
import { deliverNotifications } from './notification-delivery.ts';
import { loadSnapshot } from './snapshot.ts';
import { createSocketAdmission } from './socket-admission.ts';
import { disconnectOnExpiry, limitMessageRate, originGuard, type RateLimit } from './socket-guards.ts';
import { SocketSubscriptions } from './socket-subscriptions.ts';

export interface GatewayDeps {
  httpServer: HttpServer;
  sql: Sql;
  /** Commands: state reads and stream replays. */
  redis: Redis;
  /** A connection of the gateway's own for pub/sub (a subscribed connection can run nothing else). */
  subscriber: Redis;
  prefix: string;
  /** Resolves the handshake token to a user; throws an AppError (`unauthenticated`) when it is not valid. */
  authenticate(token: string): Promise<{ id: string; name: string | null; expiresAt?: number | null }>;
  logger: Logger;
  /** Documents one socket may watch at once. Default 100. */
  maxSubscriptionsPerSocket?: number;
  /** Messages one socket may send. Default 20/s, bursts of 120. */
  rateLimit?: RateLimit;
  /** Largest message a socket may send (Socket.IO's maxHttpBufferSize). Default 64 KiB. */
  maxMessageBytes?: number;
  /** Origins besides the server's own whose pages may open sockets; `*` for any. Default none. */
  corsOrigins?: readonly string[];
  onDelivered?: (event: FeedEvent, recipients: number) => void;
  /** Sockets one user may hold at once across every gateway (`too_many_sockets` past it). Default 20. */
  maxSocketsPerUser?: number;
  /** How long a gateway's claim on a socket's slot lasts unless renewed; a dead gateway's lapse after it. Default 30 s. */
  socketClaimTtlMs?: number;
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

type HeraldSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** Ids are compared without regard to case: an upper-case id names the same document, room and Redis keys. */
const documentIdSchema = z.uuid().transform((id) => id.toLowerCase());
const subscribeSchema = z.object({
  document_id: documentIdSchema,
  since: z.number().int().min(0).optional(),
  epoch: z.string().min(1).max(64).optional(),
});
const unsubscribeSchema = z.object({ document_id: documentIdSchema });

const UNSUBSCRIBED: ErrorBody = { code: 'unsubscribed', message: 'Unsubscribed before this subscription completed.' };
const room = (documentId: string) => `doc:${documentId}`;

/**
 * The Socket.IO gateway: authenticates sockets, answers `subscribe` with a
 * snapshot or a replay, and relays every document event it receives through
 * Redis to the sockets watching that document. Any number of gateways may
 * run; each receives every event of the documents its sockets watch.
 */
export function createGateway(deps: GatewayDeps): Gateway {
  const logger = deps.logger.child({ component: 'gateway' });
  const maxSubscriptions = deps.maxSubscriptionsPerSocket ?? 100;
  const corsOrigins = deps.corsOrigins ?? [];
  const io: Gateway['io'] = new Server(deps.httpServer, {
    serveClient: false,
    maxHttpBufferSize: deps.maxMessageBytes ?? 64 * 1024,
    allowRequest: originGuard(corsOrigins),
    ...(corsOrigins.length > 0 && { cors: { origin: corsOrigins.includes('*') ? '*' : [...corsOrigins] } }),
  });
  const feeds = new Map<string, { feed: DocumentFeed; subscribed: Promise<unknown> }>();
  const byChannel = new Map<string, DocumentFeed>();
  const revocations = watchAccessRevocations({ io, subscriber: deps.subscriber, sql: deps.sql, prefix: deps.prefix, logger, room });
  const admission = createSocketAdmission({
    redis: deps.redis,
    prefix: deps.prefix,
    logger,
    maxPerUser: deps.maxSocketsPerUser ?? 20,
    claimTtlMs: deps.socketClaimTtlMs ?? 30_000,
    openSockets: () => [...io.of('/').sockets.values()].map((s) => ({ userId: s.data.userId, socketId: s.id })),
  });

  const deliver = (feed: DocumentFeed, event: FeedEvent) => {
    const target = io.to(room(feed.documentId));
    (target.emit as (name: string, data: unknown) => boolean)(event.name, event.data);
    deps.onDelivered?.(event, io.sockets.adapter.rooms.get(room(feed.documentId))?.size ?? 0);
  };

  const acquireFeed = async (documentId: string) => {
    let entry = feeds.get(documentId);
    if (!entry) {
      const feed = new DocumentFeed(documentId, deps.prefix, deps.redis, deliver, (err) =>
        logger.error({ err, documentId }, 'document feed task failed'),
      );
      entry = { feed, subscribed: deps.subscriber.subscribe(feed.keys.channel) };
      feeds.set(documentId, entry);
      byChannel.set(feed.keys.channel, feed);
    }
    entry.feed.refs++;
    try {
      await entry.subscribed;
    } catch (error) {
      releaseFeed(documentId);
      throw error;
    }
    return entry.feed;
  };

  const releaseFeed = (documentId: string) => {
    const entry = feeds.get(documentId);
    if (!entry || --entry.feed.refs > 0) return;
    feeds.delete(documentId);
    byChannel.delete(entry.feed.keys.channel);
    deps.subscriber.unsubscribe(entry.feed.keys.channel).catch(() => {});
  };

  deps.subscriber.on('message', (channel: string, message: string) => {
    const feed = byChannel.get(channel);
    if (!feed) return;
    try {
      feed.receive(parseLiveMessage(message));
    } catch (err) {
      logger.error({ err, channel }, 'unreadable event message');
    }
  });

  // Pub/sub is at-most-once: after the subscriber reconnects, every watched
  // document is caught up from its stream, or a final event could go missing
  // with nothing after it to reveal the gap.
  let subscriberConnectedOnce = false;
  deps.subscriber.on('ready', () => {
    if (!subscriberConnectedOnce) {
      subscriberConnectedOnce = true;
      return;
    }
    logger.warn({ documents: feeds.size }, 'pub/sub reconnected; catching up from streams');
    const channels = [...byChannel.keys()];
    const resubscribed = channels.length > 0 ? deps.subscriber.subscribe(...channels) : Promise.resolve();
    void resubscribed.then(
      () => Promise.all([...feeds.values()].map(({ feed }) => feed.run(() => feed.catchUp()))),
      (err) => logger.error({ err }, 'resubscribe failed'),
    );
  });

  io.use(async (socket, next) => {
    const token: unknown = socket.handshake.auth?.token;
    try {
      if (typeof token !== 'string' || token === '') throw new AppError('unauthenticated', 'A token is required: io(url, { auth: { token } }).');
      const user = await deps.authenticate(token);
      await admission.admit(user.id, socket.id);
      socket.data.userId = user.id;
      socket.data.userName = user.name;
      socket.data.expiresAt = user.expiresAt ?? null;
      next();
    } catch (error) {
      const body = toErrorBody(error, 'unauthenticated');
      next(Object.assign(new Error(body.message), { data: { code: body.code } }));
    }
  });

  const feedRegistry = { acquire: acquireFeed, release: releaseFeed };

  io.on('connection', (socket) => {
    const subscriptions = new SocketSubscriptions(maxSubscriptions, feedRegistry);
    revocations.track(socket, (documentId) => subscriptions.release(documentId));
    limitMessageRate(socket, deps.rateLimit ?? { perSecond: 20, burst: 120 }, admission, logger);
    disconnectOnExpiry(socket, socket.data.expiresAt);

    socket.on('subscribe', async (raw, ack) => {
      if (typeof ack !== 'function') return;
      const parsed = subscribeSchema.safeParse(raw);
      if (!parsed.success) return ack(invalid(parsed.error));
      const request = parsed.data;
      const { document_id } = request;
      // Throws not_found when the user may not read the document (or it does not exist).
      const mayRead = async () => Boolean(requireAccess(await findAccess(deps.sql, document_id, socket.data.userId), 'read'));
      try {
        const again = subscriptions.has(document_id);
        const slot = subscriptions.take(document_id, mayRead);
        if (!slot) throw new AppError('too_many_subscriptions', `At most ${maxSubscriptions} documents per socket.`);
        const feed = (await slot)!;
        if (again) {
          // Subscribing again (to resync) checks access anew, then rejoins after its replay or snapshot.
          await mayRead();
          socket.leave(room(document_id));
        }
        await feed.run(() => joinFeed(socket, feed, request, ack, () => subscriptions.holds(document_id, slot)));
      } catch (error) {
        if (!(error instanceof AppError)) logger.error({ err: error, documentId: request.document_id }, 'subscribe failed');
        ack({ ok: false, error: toErrorBody(error, 'unavailable') });
      }
    });

    socket.on('unsubscribe', (raw, ack) => {
      const parsed = unsubscribeSchema.safeParse(raw);
      if (!parsed.success) return typeof ack === 'function' && ack(invalid(parsed.error));
      const { document_id } = parsed.data;
      if (subscriptions.release(document_id)) socket.leave(room(document_id));
      if (typeof ack === 'function') ack({ ok: true });
    });

    socket.on('disconnect', () => {
      subscriptions.releaseAll();
      admission.release(socket.data.userId, socket.id);
    });
  });

  /**
   * Runs inside the feed's queue, so no live event is relayed while the
   * socket is brought up to date: the socket first gets the replay (or the
   * snapshot), then the ack, then joins the room for what follows. A socket
   * that unsubscribed meanwhile (`stillHeld` false) does not join: its last
   * word wins.
   */
  async function joinFeed(
    socket: HeraldSocket,
    feed: DocumentFeed,
    request: z.infer<typeof subscribeSchema>,
    ack: (response: SubscribeAck) => void,
    stillHeld: () => boolean,
  ): Promise<void> {
    if (socket.disconnected) return;
    if (!stillHeld()) return ack({ ok: false, error: UNSUBSCRIBED });
    const { document_id, since, epoch } = request;
    const joinRoom = () => {
      if (stillHeld()) socket.join(room(document_id));
    };
    if (since !== undefined) {
      const history = await readHistoryAfter(deps.redis, deps.prefix, document_id, since);
      const sameHistory = history.epoch !== null && (epoch === undefined || epoch === history.epoch);
      const complete = since <= history.seq && (since === history.seq || history.events[0]?.seq === since + 1);
      if (sameHistory && complete) {
        await feed.advanceTo(history.epoch!, history.seq);
        for (const e of history.events) (socket.emit as (name: string, data: unknown) => boolean)(e.name, e.data);
        ack({ ok: true, seq: history.seq, epoch: history.epoch!, recovered: true });
        joinRoom();
        return;
      }
    }
    const loaded = await loadSnapshot(deps.sql, deps.redis, deps.prefix, document_id);
    if (!loaded) return ack({ ok: false, error: notFound('No such document, or it is not shared with you.').toBody() });
    await feed.advanceTo(loaded.epoch, loaded.seq);
    ack({
      ok: true,
      seq: loaded.seq,
      epoch: loaded.epoch,
      ...(since !== undefined && { recovered: false }),
      snapshot: loaded.snapshot,
    });
    joinRoom();
  }

  const subscriberReady = new Promise<void>((resolve, reject) => {
    if (deps.subscriber.status === 'ready') return resolve();
    deps.subscriber.once('ready', () => resolve());
    deps.subscriber.once('error', reject);
  });
  const notificationsReady = deliverNotifications({ io, subscriber: deps.subscriber, sql: deps.sql, prefix: deps.prefix, logger });

  return {
    io,
    ready: () => subscriberReady.then(() => Promise.all([notificationsReady, revocations.ready])).then(() => undefined),
    get healthy() {
      return deps.subscriber.status === 'ready';
    },
    get subscriptions() {
      let n = 0;
      for (const { feed } of feeds.values()) n += feed.refs;
      return n;
    },
    async close() {
      admission.close();
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      feeds.clear();
      byChannel.clear();
    },
  };
}

function invalid(error: z.ZodError): SubscribeAck {
  return {
    ok: false,
    error: {
      code: 'invalid_request',
      message: 'The request is not valid.',
      details: error.issues.map((i) => ({ field: i.path.join('.') || '(payload)', message: i.message })),
    },
  };
}

/** An AppError's code and message; anything else (a dependency's failure) is `fallback`, without its details. */
function toErrorBody(error: unknown, fallback: Extract<ErrorCode, 'unavailable' | 'unauthenticated'>): ErrorBody {
  if (error instanceof AppError) return { code: error.code, message: error.message };
  return { code: fallback, message: fallback === 'unavailable' ? 'A dependency is unavailable; try again shortly.' : 'Not allowed.' };
}

