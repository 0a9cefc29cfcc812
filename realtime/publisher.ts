import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DocumentEventName, DocumentEventPayloads } from './events.ts';
import { boundEvent } from './event-size.ts';
import { documentKeys } from './keys.ts';
import { withHeraldCommands, type HeraldPipeline } from './redis-commands.ts';
import { statePatchFor } from './live-state.ts';

export interface PublishedEvent {
  /** 0 when the event was stale and dropped (a chapter status older than the one already published; see live-state.ts). */
  seq: number;
  epoch: string;
  /** True when the event's idempotency key was published before: nothing went out again, and `seq` is the one it got then. */
  duplicate?: boolean;
}

export interface EventToPublish<N extends DocumentEventName = DocumentEventName> {
  documentId: string;
  name: N;
  payload: DocumentEventPayloads[N];
  /**
   * Makes a second publish of the same event a no-op that answers the first
   * one's seq (publish-event.lua keeps a document's recent keys). The outbox
   * uses the row id, so a row published by the API and again by a relay
   * reaches clients once.
   */
  idempotencyKey?: string;
}

/**
 * The one way to emit a document event, for routes and workers alike: the
 * seq, the stream entry, the live state and the pub/sub message are one
 * atomic step (publish-event.lua). Only the gateway holds sockets. Every
 * event is bounded here (event-size.ts): at most MAX_EVENT_BYTES, a big
 * package abridged, so neither the stream, the live state nor a socket ever
 * carries more.
 */
export interface Publisher {
  publish<N extends DocumentEventName>(documentId: string, name: N, payload: DocumentEventPayloads[N]): Promise<PublishedEvent>;
  /** Publishes in order in one round trip; per document the seqs come out in array order. */
  publishMany(events: EventToPublish[]): Promise<PublishedEvent[]>;
  /** Forgets a deleted document's history, live state and presence. */
  forgetDocument(documentId: string): Promise<void>;
}

export interface PublisherOptions {
  redis: Redis;
  prefix: string;
  /** Events kept per document for replay (approximate). */
  streamMaxLen: number;
  /** Seconds a document's history outlives its last event (EVENT_HISTORY_TTL_SECONDS). */
  ttlSeconds: number;
  onPublished?: (name: DocumentEventName) => void;
}

export function createPublisher(options: PublisherOptions): Publisher {
  const redis = withHeraldCommands(options.redis);

  const argsFor = (e: EventToPublish) => {
    const keys = documentKeys(options.prefix, e.documentId);
    const { payload, body } = boundEvent(e.name, { document_id: e.documentId, at: new Date().toISOString() }, e.payload);
    const patch = statePatchFor(e.name, payload);
    const guard = patch.guardVersion ?? '';
    return [keys.state, keys.events, keys.published, keys.channel, options.streamMaxLen, randomUUID(), e.name, body, options.ttlSeconds, guard, e.idempotencyKey ?? '', ...patch.fields] as const;
  };

  const outcome = (name: DocumentEventName, [seq, epoch, duplicate]: [number, string, number]): PublishedEvent => {
    if (duplicate === 1) return { seq: Number(seq), epoch, duplicate: true };
    if (seq > 0) options.onPublished?.(name);
    return { seq: Number(seq), epoch };
  };

  return {
    async publish(documentId, name, payload) {
      return outcome(name, await redis.heraldPublishEvent(...argsFor({ documentId, name, payload } as EventToPublish)));
    },

    async publishMany(events) {
      if (events.length === 0) return [];
      const pipeline = redis.pipeline() as HeraldPipeline;
      for (const e of events) pipeline.heraldPublishEvent(...argsFor(e));
      const results = (await pipeline.exec()) ?? [];
      return results.map(([error, reply], i) => {
        if (error) throw error;
        return outcome(events[i]!.name, reply as [number, string, number]);
      });
    },

    async forgetDocument(documentId) {
      const keys = documentKeys(options.prefix, documentId);
      await redis.del(keys.state, keys.events, keys.published, keys.presence);
    },
  };
}
