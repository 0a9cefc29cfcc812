import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Socket } from 'socket.io';
import { z } from 'zod';
import { requireAccess } from '../domain/access.ts';
import { AppError, notFound } from '../domain/errors.ts';
import type { Sql } from '../sql/client.ts';
import { findAccess } from '../sql/queries/members.ts';
import { readHistoryAfter, type DocumentFeed } from './document-feed.ts';
import type { ClientToServerEvents, ErrorBody, ServerToClientEvents, SocketData, SubscribeAck } from './events.ts';
import type { FeedRegistry } from './feed-registry.ts';
import type { Presence } from './presence.ts';
import { loadSnapshot } from './snapshot.ts';
import { invalid, toErrorBody } from './socket-errors.ts';

export type HeraldSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** The Socket.IO room of a document's sockets. */
export const documentRoom = (documentId: string) => `doc:${documentId}`;

/** Ids are compared without regard to case: an upper-case id names the same document, room and Redis keys. */
export const documentIdSchema = z.uuid().transform((id) => id.toLowerCase());
const subscribeSchema = z.object({
  document_id: documentIdSchema,
  since: z.number().int().min(0).optional(),
  epoch: z.string().min(1).max(64).optional(),
});
const unsubscribeSchema = z.object({ document_id: documentIdSchema });
type SubscribeRequest = z.infer<typeof subscribeSchema>;

const UNSUBSCRIBED: ErrorBody = { code: 'unsubscribed', message: 'Unsubscribed before this subscription completed.' };

/**
 * The documents one socket watches, at most `max`. A slot is taken
 * synchronously, before any await, so concurrent subscribes cannot all pass
 * the check and overshoot the cap; a slot whose access check or feed fails
 * is given back. A document's slot is one promise shared by every request
 * for it, so a repeated or concurrent subscribe takes one feed reference,
 * and an unsubscribe or disconnect gives it back once the feed is held.
 */
export class SocketSubscriptions {
  private readonly slots = new Map<string, Promise<DocumentFeed | null>>();

  constructor(
    private readonly max: number,
    private readonly feeds: Pick<FeedRegistry, 'acquire' | 'release'>,
    /** Called when a held slot is given back (unsubscribe, lost access, disconnect). */
    private readonly onRelease: (documentId: string) => void = () => {},
  ) {}

  get size(): number {
    return this.slots.size;
  }

  has(documentId: string): boolean {
    return this.slots.has(documentId);
  }

  /**
   * The slot for the document: the one already held, or a new one that runs
   * `admit` (the access check) and then acquires the feed. Resolves to null
   * when `admit` says no; undefined (no slot) when the socket is full.
   */
  take(documentId: string, admit: () => Promise<boolean>): Promise<DocumentFeed | null> | undefined {
    const held = this.slots.get(documentId);
    if (held) return held;
    if (this.slots.size >= this.max) return undefined;
    const slot = admit().then((allowed) => (allowed ? this.feeds.acquire(documentId) : null));
    this.slots.set(documentId, slot);
    const giveBack = () => {
      if (this.slots.get(documentId) === slot) this.slots.delete(documentId);
    };
    slot.then((feed) => feed ?? giveBack(), giveBack);
    return slot;
  }

  /** Whether `slot` is still this socket's slot for the document (not given back or replaced since). */
  holds(documentId: string, slot: Promise<DocumentFeed | null>): boolean {
    return this.slots.get(documentId) === slot;
  }

  /** Gives the document's slot back; its feed reference is released once it has been acquired. */
  release(documentId: string): boolean {
    const slot = this.slots.get(documentId);
    if (!slot) return false;
    this.slots.delete(documentId);
    slot.then((feed) => feed && this.feeds.release(documentId), () => {});
    this.onRelease(documentId);
    return true;
  }

  releaseAll(): void {
    for (const documentId of [...this.slots.keys()]) this.release(documentId);
  }
}

export interface SubscriptionDeps {
  sql: Sql;
  /** Commands: history reads for a replay. */
  redis: Redis;
  prefix: string;
  logger: Logger;
  feeds: Pick<FeedRegistry, 'acquire' | 'release'>;
  /** Documents one socket may watch at once. */
  maxSubscriptions: number;
  /** Seconds a document's event history outlives its last event (EVENT_HISTORY_TTL_SECONDS). */
  historyTtlSeconds: number;
  /** Who has each document open: a socket enters with its subscribe and leaves with its slot. */
  presence: Pick<Presence, 'enter' | 'leave'>;
}

/**
 * Answers one socket's `subscribe` (a replay or a snapshot, then the live
 * events of its room) and `unsubscribe`. Returns the socket's subscriptions,
 * for the gateway to give back on a revocation or a disconnect.
 */
export function serveSubscriptions(socket: HeraldSocket, deps: SubscriptionDeps): SocketSubscriptions {
  const subscriptions = new SocketSubscriptions(deps.maxSubscriptions, deps.feeds, (documentId) => deps.presence.leave(socket.id, documentId));
  socket.on('subscribe', async (raw, ack) => {
    if (typeof ack !== 'function') return;
    const parsed = subscribeSchema.safeParse(raw);
    if (!parsed.success) return ack(invalid(parsed.error));
    await subscribe(socket, subscriptions, parsed.data, ack, deps);
  });
  socket.on('unsubscribe', (raw, ack) => {
    const parsed = unsubscribeSchema.safeParse(raw);
    if (!parsed.success) return typeof ack === 'function' && ack(invalid(parsed.error));
    const { document_id } = parsed.data;
    if (subscriptions.release(document_id)) socket.leave(documentRoom(document_id));
    if (typeof ack === 'function') ack({ ok: true });
  });
  return subscriptions;
}

async function subscribe(
  socket: HeraldSocket,
  subscriptions: SocketSubscriptions,
  request: SubscribeRequest,
  ack: (response: SubscribeAck) => void,
  deps: SubscriptionDeps,
): Promise<void> {
  const { document_id } = request;
  // Throws not_found when the user may not read the document (or it does not exist).
  const mayRead = async () => Boolean(requireAccess(await findAccess(deps.sql, document_id, socket.data.userId), 'read'));
  try {
    const again = subscriptions.has(document_id);
    const slot = subscriptions.take(document_id, mayRead);
    if (!slot) throw new AppError('too_many_subscriptions', `At most ${deps.maxSubscriptions} documents per socket.`);
    const feed = (await slot)!;
    if (again) {
      // Subscribing again (to resync) checks access anew, then rejoins after its replay or snapshot.
      await mayRead();
      socket.leave(documentRoom(document_id));
    }
    await feed.run(() => joinFeed(socket, feed, request, ack, () => subscriptions.holds(document_id, slot), deps));
  } catch (error) {
    if (!(error instanceof AppError)) deps.logger.error({ err: error, documentId: request.document_id }, 'subscribe failed');
    ack({ ok: false, error: toErrorBody(error, 'unavailable') });
  }
}

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
  request: SubscribeRequest,
  ack: (response: SubscribeAck) => void,
  stillHeld: () => boolean,
  deps: Pick<SubscriptionDeps, 'sql' | 'redis' | 'prefix' | 'historyTtlSeconds' | 'presence'>,
): Promise<void> {
  if (socket.disconnected) return;
  if (!stillHeld()) return ack({ ok: false, error: UNSUBSCRIBED });
  const { document_id, since, epoch } = request;
  // Entered only while the slot is held: a release after this point is sent to Redis after the entry, and removes it.
  const enterPresence = async () => (stillHeld() ? deps.presence.enter(socket, document_id) : []);
  const joinRoom = () => {
    if (stillHeld()) socket.join(documentRoom(document_id));
  };
  if (since !== undefined) {
    const history = await readHistoryAfter(deps.redis, deps.prefix, document_id, since);
    const sameHistory = history.epoch !== null && (epoch === undefined || epoch === history.epoch);
    const complete = since <= history.seq && (since === history.seq || history.events[0]?.seq === since + 1);
    if (sameHistory && complete) {
      await feed.advanceTo(history.epoch!, history.seq);
      for (const e of history.events) (socket.emit as (name: string, data: unknown) => boolean)(e.name, e.data);
      ack({ ok: true, seq: history.seq, epoch: history.epoch!, recovered: true, presence: await enterPresence() });
      joinRoom();
      return;
    }
  }
  const loaded = await loadSnapshot(deps.sql, deps.redis, deps.prefix, document_id, deps.historyTtlSeconds);
  if (!loaded) return ack({ ok: false, error: notFound('No such document, or it is not shared with you.').toBody() });
  await feed.advanceTo(loaded.epoch, loaded.seq);
  const presence = await enterPresence();
  ack({
    ok: true,
    seq: loaded.seq,
    epoch: loaded.epoch,
    ...(since !== undefined && { recovered: false }),
    snapshot: loaded.snapshot,
    presence,
  });
  joinRoom();
}
