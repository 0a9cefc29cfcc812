import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { DocumentFeed, parseLiveMessage, type FeedEvent } from './document-feed.ts';
import type { PresencePayload } from './events.ts';
import type { PubSubMode, RedisClient } from './redis-client.ts';

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
  redis: RedisClient;
  /** The gateway's pub/sub connection: one channel per watched document. */
  subscriber: RedisClient;
  /** `sharded` on a Redis Cluster: SSUBSCRIBE, each channel on the shard that owns its document's slot. */
  pubsub: PubSubMode;
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
    channels.unsubscribe(entry.feed.keys.channel).catch(() => {});
  };

  const channels = channelsOf(deps);
  routeMessages(deps, channels, byChannel);
  // Sharded: each channel is subscribed again before its catch-up; classic: all at once first (catchUpAfterReconnect).
  const resync = createResync(deps.logger, deps.pubsub === 'sharded' ? channels : undefined, byChannel);
  if (deps.pubsub === 'sharded') catchUpAfterShardReconnect(deps, byChannel, resync);
  else catchUpAfterReconnect(deps, byChannel, resync);

  return {
    async acquire(documentId) {
      let entry = entries.get(documentId);
      if (!entry) {
        const feed = new DocumentFeed(documentId, deps.prefix, deps.redis, deps.deliver, onError(documentId));
        entry = { feed, refs: 0, subscribed: channels.subscribe(feed.keys.channel) };
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

/** One document channel's subscription, classic or sharded. */
interface DocumentChannels {
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  /** The subscriber's event that carries the channels' messages. */
  message: 'message' | 'smessage';
}

function channelsOf({ subscriber, pubsub }: FeedRegistryDeps): DocumentChannels {
  return pubsub === 'sharded'
    ? { subscribe: (c) => subscriber.ssubscribe(c), unsubscribe: (c) => subscriber.sunsubscribe(c), message: 'smessage' }
    : { subscribe: (c) => subscriber.subscribe(c), unsubscribe: (c) => subscriber.unsubscribe(c), message: 'message' };
}

/** Hands each pub/sub message to its document's feed; presence lists skip the seq checks. */
function routeMessages({ subscriber, logger, deliverPresence }: FeedRegistryDeps, channels: DocumentChannels, byChannel: ReadonlyMap<string, DocumentFeed>): void {
  subscriber.on(channels.message, (channel: string, message: string) => {
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
function catchUpAfterReconnect({ subscriber, logger }: FeedRegistryDeps, byChannel: ReadonlyMap<string, DocumentFeed>, resync: Resync): void {
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
      () => {
        for (const [channel, feed] of byChannel) resync(channel, feed);
      },
      (err) => logger.error({ err }, 'resubscribe failed'),
    );
  });
}

/**
 * On a Redis Cluster, ioredis keeps one sharded subscriber per master and,
 * when one drops (killed, its node failed over), makes a new one, subscribes
 * it again and emits `subscribersReady`. That resubscription is not awaited,
 * so each watched channel is subscribed once more here (Redis ignores a
 * repeated SSUBSCRIBE) and only once that is acknowledged is the feed caught
 * up from its stream: an event published before is in the stream, one
 * after comes live. Which shard dropped is not told, so every feed is caught
 * up; a catch-up with nothing new costs one read.
 */
function catchUpAfterShardReconnect({ subscriber, logger }: FeedRegistryDeps, byChannel: ReadonlyMap<string, DocumentFeed>, resync: Resync): void {
  subscriber.on('subscribersReady', () => {
    if (byChannel.size === 0) return;
    logger.warn({ documents: byChannel.size }, 'sharded pub/sub subscribers renewed; catching up from streams');
    for (const [channel, feed] of byChannel) resync(channel, feed);
  });
}

/** Catches a watched channel's feed up from its stream, subscribing it again first on a cluster (createResync). */
type Resync = (channel: string, feed: DocumentFeed) => void;

/** A failed resync waits this long before it tries again, doubling up to RESYNC_RETRY_MAX_MS. */
const RESYNC_RETRY_FIRST_MS = 100;
const RESYNC_RETRY_MAX_MS = 2000;

/**
 * Resyncs that retry until they succeed or the feed is dropped. While a
 * shard fails over, ioredis renews its subscribers many times before the
 * replica is promoted, and the SSUBSCRIBE or the stream read of each of
 * those attempts can fail (`Too many Cluster redirections`). ioredis's own
 * resubscription succeeds later without a word, so an attempt given up
 * would leave the events published in between undelivered, the last of
 * them with nothing after it to reveal the gap: in the
 * `redis-cluster-failover` drill, every client then missed a save's
 * `chapter.updated` (two runs of about ten). One resync per feed runs at a
 * time; a renewal during it makes it run once more when it ends.
 */
function createResync(logger: Logger, channels: DocumentChannels | undefined, byChannel: ReadonlyMap<string, DocumentFeed>): Resync {
  const running = new Map<DocumentFeed, { again: boolean }>();
  const attempt = async (channel: string, feed: DocumentFeed) => {
    for (let delay = RESYNC_RETRY_FIRST_MS; byChannel.get(channel) === feed; delay = Math.min(delay * 2, RESYNC_RETRY_MAX_MS)) {
      try {
        await channels?.subscribe(channel);
        await feed.run(() => feed.catchUp());
        return;
      } catch (err) {
        // Once per resync, not every retry: a long outage would otherwise log every watched document every 2 s.
        if (delay === RESYNC_RETRY_FIRST_MS) logger.warn({ err, documentId: feed.documentId }, 'resubscribe or catch-up failed; trying again until it succeeds');
        await sleep(delay);
      }
    }
  };
  return (channel, feed) => {
    const current = running.get(feed);
    if (current) {
      current.again = true;
      return;
    }
    const state = { again: true };
    running.set(feed, state);
    void (async () => {
      try {
        while (state.again) {
          state.again = false;
          await attempt(channel, feed);
        }
      } finally {
        running.delete(feed);
      }
    })();
  };
}
