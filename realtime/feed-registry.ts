import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DocumentFeed, parseLiveMessage, type FeedEvent } from './document-feed.ts';
import type { PresencePayload } from './events.ts';

/** The gateway's shared feeds, counted by reference: the first socket's `acquire` subscribes, the last `release` unsubscribes. */
export interface FeedRegistry {
  /** The document's feed, once its channel is subscribed; one more reference to it. */
  acquire(documentId: string): Promise<DocumentFeed>;
  /** Gives one reference back; the feed is dropped (and its channel unsubscribed) at zero. */
  release(documentId: string): void;
  /** References held: document subscriptions of this gateway's sockets, joined or joining. */
  readonly references: number;
  /** Forgets every feed (the gateway is closing). */
  clear(): void;
}

export interface FeedRegistryDeps {
  /** Commands: stream reads for catch-ups. */
  redis: Redis;
  /** The gateway's pub/sub connection: one channel per watched document. */
  subscriber: Redis;
  prefix: string;
  logger: Logger;
  /** Sends one event to the document's room, in order, once. */
  deliver(feed: DocumentFeed, event: FeedEvent): void;
  /** Sends the document's presence list to its room (no seq: never held back, never caught up). */
  deliverPresence(feed: DocumentFeed, presence: PresencePayload): void;
}

interface Entry {
  feed: DocumentFeed;
  /** Sockets joined or joining; the feed is dropped at zero. Only acquire and release touch it. */
  refs: number;
  subscribed: Promise<unknown>;
}

/**
 * The documents this gateway watches, one feed each, shared by every socket
 * on them. Routes the subscriber's messages to their feed, and after a
 * pub/sub reconnect catches every feed up from its stream.
 */
export function createFeedRegistry(deps: FeedRegistryDeps): FeedRegistry {
  const entries = new Map<string, Entry>();
  const byChannel = new Map<string, DocumentFeed>();
  const onError = (documentId: string) => (err: unknown) => deps.logger.error({ err, documentId }, 'document feed task failed');

  const release = (documentId: string) => {
    const entry = entries.get(documentId);
    if (!entry || --entry.refs > 0) return;
    entries.delete(documentId);
    byChannel.delete(entry.feed.keys.channel);
    deps.subscriber.unsubscribe(entry.feed.keys.channel).catch(() => {});
  };

  routeMessages(deps, byChannel);
  catchUpAfterReconnect(deps, byChannel);

  return {
    async acquire(documentId) {
      let entry = entries.get(documentId);
      if (!entry) {
        const feed = new DocumentFeed(documentId, deps.prefix, deps.redis, deps.deliver, onError(documentId));
        entry = { feed, refs: 0, subscribed: deps.subscriber.subscribe(feed.keys.channel) };
        entries.set(documentId, entry);
        byChannel.set(feed.keys.channel, feed);
      }
      entry.refs++;
      try {
        await entry.subscribed;
      } catch (error) {
        release(documentId);
        throw error;
      }
      return entry.feed;
    },
    release,
    get references() {
      let n = 0;
      for (const entry of entries.values()) n += entry.refs;
      return n;
    },
    clear() {
      entries.clear();
      byChannel.clear();
    },
  };
}

/** Hands each pub/sub message to its document's feed; presence lists skip the seq checks. */
function routeMessages({ subscriber, logger, deliverPresence }: FeedRegistryDeps, byChannel: ReadonlyMap<string, DocumentFeed>): void {
  subscriber.on('message', (channel: string, message: string) => {
    const feed = byChannel.get(channel);
    if (!feed) return;
    try {
      const live = parseLiveMessage(message);
      // Presence goes through the feed's queue too, so a socket joining the room meanwhile gets its ack first, then every later list.
      if (live.kind === 'presence') void feed.run(() => deliverPresence(feed, live.presence));
      else feed.receive(live.event);
    } catch (err) {
      logger.error({ err, channel }, 'unreadable event message');
    }
  });
}

/**
 * Pub/sub is at-most-once: after the subscriber reconnects, every watched
 * document is caught up from its stream, or a final event could go missing
 * with nothing after it to reveal the gap.
 */
function catchUpAfterReconnect({ subscriber, logger }: FeedRegistryDeps, byChannel: ReadonlyMap<string, DocumentFeed>): void {
  let connectedOnce = false;
  subscriber.on('ready', () => {
    if (!connectedOnce) {
      connectedOnce = true;
      return;
    }
    logger.warn({ documents: byChannel.size }, 'pub/sub reconnected; catching up from streams');
    const channels = [...byChannel.keys()];
    const resubscribed = channels.length > 0 ? subscriber.subscribe(...channels) : Promise.resolve();
    void resubscribed.then(
      () => Promise.all([...byChannel.values()].map((feed) => feed.run(() => feed.catchUp()))),
      (err) => logger.error({ err }, 'resubscribe failed'),
    );
  });
}
