import { randomUUID } from 'node:crypto';
import type { DocumentEventName, DocumentEventPayloads } from './events.ts';
import { boundEvent } from './event-size.ts';
import { documentKeys } from './keys.ts';
import { PUBLISH_COMMAND, type PubSubMode, type RedisClient } from './redis-client.ts';
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
  redis: RedisClient;
  prefix: string;
  /** `sharded` on a Redis Cluster: SPUBLISH, and `publishMany` pipelines per document (a cluster pipeline keeps to one slot). Default `classic`. */
  pubsub?: PubSubMode;
  /** Events kept per document for replay (approximate). */
  streamMaxLen: number;
  /** Seconds a document's history outlives its last event (EVENT_HISTORY_TTL_SECONDS). */
  ttlSeconds: number;
  onPublished?: (name: DocumentEventName) => void;
}

export function createPublisher(options: PublisherOptions): Publisher {
  const redis = withHeraldCommands(options.redis);
  const command = PUBLISH_COMMAND[options.pubsub ?? 'classic'];

  /** The script's arguments for events of one document: the document's keys and settings once, then each event. */
  const argsFor = (events: EventToPublish[]) => {
    const { documentId } = events[0]!;
    const keys = documentKeys(options.prefix, documentId);
    const args: (string | number)[] = [keys.state, keys.events, keys.published, keys.channel, options.streamMaxLen, randomUUID(), options.ttlSeconds, command];
    const at = new Date().toISOString();
    for (const e of events) {
      const { payload, body } = boundEvent(e.name, { document_id: documentId, at }, e.payload);
      const patch = statePatchFor(e.name, payload);
      args.push(e.name, body, patch.guardVersion ?? '', e.idempotencyKey ?? '', patch.fields.length / 2, ...patch.fields);
    }
    return args as [string, string, string, ...(string | number)[]];
  };

  /** The outcomes of one script call: `[epoch, seq, duplicate, seq, duplicate, …]`. */
  const outcomes = (events: EventToPublish[], [epoch, ...pairs]: [string, ...number[]]): PublishedEvent[] =>
    events.map((e, i) => {
      const seq = Number(pairs[2 * i]);
      if (pairs[2 * i + 1] === 1) return { seq, epoch, duplicate: true };
      if (seq > 0) options.onPublished?.(e.name);
      return { seq, epoch };
    });

  /**
   * One pipeline of script calls, their replies in order. A lone call goes
   * without one: ioredis builds each pipeline by copying every script defined
   * on the connection (BullMQ's too) onto it, which costs more than the call.
   */
  const pipelined = async (calls: EventToPublish[][]) => {
    if (calls.length === 1) return [await redis.heraldPublishEvent(...argsFor(calls[0]!))];
    const pipeline = redis.pipeline() as HeraldPipeline;
    for (const call of calls) pipeline.heraldPublishEvent(...argsFor(call));
    return ((await pipeline.exec()) ?? []).map(([error, reply]) => {
      if (error) throw error;
      return reply as [string, ...number[]];
    });
  };

  return {
    async publish(documentId, name, payload) {
      const event = { documentId, name, payload } as EventToPublish;
      return outcomes([event], await redis.heraldPublishEvent(...argsFor([event])))[0]!;
    },

    async publishMany(events) {
      if (events.length === 0) return [];
      // One script call per document (and per EVENTS_PER_CALL of its events): on one Redis all in one pipeline, on a
      // cluster side by side, each on its document's slot.
      const calls = byDocument(events).flatMap((group) => chunks(group, EVENTS_PER_CALL));
      const replies = options.pubsub === 'sharded'
        ? await Promise.all(calls.map((call) => redis.heraldPublishEvent(...argsFor(call))))
        : await pipelined(calls);
      const published = new Map<EventToPublish, PublishedEvent>();
      calls.forEach((call, c) => outcomes(call, replies[c]!).forEach((outcome, i) => published.set(call[i]!, outcome)));
      return events.map((e) => published.get(e)!);
    },

    async forgetDocument(documentId) {
      const keys = documentKeys(options.prefix, documentId);
      await redis.del(keys.state, keys.events, keys.published, keys.presence);
    },
  };
}

/**
 * Events of one document per script call at most: a call runs in Redis
 * without interruption, so a huge batch is cut into calls that each block it
 * briefly (the seqs still come out in order, one call after the other).
 */
const EVENTS_PER_CALL = 64;

function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** The events of each document, in their order. */
function byDocument(events: EventToPublish[]): EventToPublish[][] {
  const groups = new Map<string, EventToPublish[]>();
  for (const e of events) {
    const group = groups.get(e.documentId);
    if (group) group.push(e);
    else groups.set(e.documentId, [e]);
  }
  return [...groups.values()];
}
