import type { Redis } from 'ioredis';
import type { DocumentEventName, PresencePayload } from './events.ts';
import { documentKeys, type DocumentKeys } from './keys.ts';

/** One event as it travels through Redis: its history, name, seq and the JSON clients receive. */
export interface FeedEvent {
  epoch: string;
  name: DocumentEventName;
  seq: number;
  data: Record<string, unknown>;
}

/** What a document's live channel carries: seq'd events, and presence (state with no seq or epoch). */
export type LiveMessage = { kind: 'event'; event: FeedEvent } | { kind: 'presence'; presence: PresencePayload };

/**
 * Parses a pub/sub message: `epoch \n name \n json` from publish-event.lua,
 * or `\n presence \n json` from update-presence.lua (no epoch: it is no
 * part of the document's history).
 */
export function parseLiveMessage(message: string): LiveMessage {
  const a = message.indexOf('\n');
  const b = message.indexOf('\n', a + 1);
  const name = message.slice(a + 1, b);
  if (a === 0 && name === 'presence') return { kind: 'presence', presence: JSON.parse(message.slice(b + 1)) as PresencePayload };
  const data = JSON.parse(message.slice(b + 1)) as Record<string, unknown> & { seq: number };
  return { kind: 'event', event: { epoch: message.slice(0, a), name: name as DocumentEventName, seq: data.seq, data } };
}

/** Reads the stream entries with seq in [from, to] (to = +inf when omitted), in order. */
export async function readEvents(redis: Redis, keys: DocumentKeys, epoch: string, from: number, to?: number): Promise<FeedEvent[]> {
  const entries = await redis.xrange(keys.events, `${from}-0`, to === undefined ? '+' : `${to}-0`);
  return toFeedEvents(entries, epoch);
}

function toFeedEvents(entries: [id: string, fields: string[]][], epoch: string): FeedEvent[] {
  return entries.map(([id, fields]) => ({
    epoch,
    name: fields[fields.indexOf('n') + 1] as DocumentEventName,
    seq: Number(id.slice(0, id.indexOf('-'))),
    data: JSON.parse(fields[fields.indexOf('d') + 1]!) as Record<string, unknown>,
  }));
}

/** The history head and the events after `since`, read together (MULTI), for a `subscribe` with `since`. */
export async function readHistoryAfter(
  redis: Redis,
  prefix: string,
  documentId: string,
  since: number,
): Promise<{ epoch: string | null; seq: number; events: FeedEvent[] }> {
  const keys = documentKeys(prefix, documentId);
  const replies = await redis
    .multi()
    .hmget(keys.state, 'epoch', 'seq')
    .xrange(keys.events, `${since + 1}-0`, '+')
    .exec();
  const [epoch, seq] = replies![0]![1] as [string | null, string | null];
  const events = toFeedEvents(replies![1]![1] as [string, string[]][], epoch ?? '');
  return { epoch, seq: Number(seq ?? 0), events };
}

/**
 * A gateway's view of one watched document: the last seq its room was sent,
 * and a serial queue so live messages, catch-ups and subscriptions never
 * interleave. Pub/sub is at-most-once; the stream fills any gap.
 */
export class DocumentFeed {
  readonly keys: DocumentKeys;
  epoch: string | undefined;
  lastSeq = 0;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly documentId: string,
    prefix: string,
    private readonly redis: Redis,
    private readonly deliver: (feed: DocumentFeed, event: FeedEvent) => void,
    private readonly onError: (error: unknown) => void,
  ) {
    this.keys = documentKeys(prefix, documentId);
  }

  get initialized(): boolean {
    return this.epoch !== undefined;
  }

  /** Runs `task` after everything queued before it. */
  run(task: () => Promise<void> | void): Promise<void> {
    const next = this.tail.then(task);
    this.tail = next.catch(this.onError);
    return next;
  }

  /** A live message: delivered in order, duplicates dropped, a gap healed from the stream first. */
  receive(event: FeedEvent): void {
    void this.run(async () => {
      if (!this.initialized) return; // the first subscription reads the head and starts from there
      if (event.epoch !== this.epoch) {
        // Redis lost the history and a new one began: follow it from its start (events published
        // before this one, e.g. an outbox draining after the restart, come from the stream first);
        // clients see the seq restart and resync.
        this.epoch = event.epoch;
        this.lastSeq = 0;
      }
      if (event.seq <= this.lastSeq) return;
      if (event.seq > this.lastSeq + 1) await this.catchUp(event.seq - 1);
      this.send(event);
    });
  }

  /** Delivers every stored event after lastSeq (up to `to`), for gaps and after a pub/sub reconnect. */
  async catchUp(to?: number): Promise<void> {
    if (!this.initialized) return;
    // After a reconnect the history may be a new one (Redis restarted empty): then it is read from its start.
    const epoch = await this.redis.hget(this.keys.state, 'epoch');
    if (epoch !== null && epoch !== this.epoch) {
      this.epoch = epoch;
      this.lastSeq = 0;
    }
    const events = await readEvents(this.redis, this.keys, this.epoch!, this.lastSeq + 1, to);
    for (const e of events) this.send(e);
  }

  /** Starts the feed at a head read atomically with a snapshot, or catches the room up to it. */
  async advanceTo(epoch: string, seq: number): Promise<void> {
    if (!this.initialized || this.epoch !== epoch) {
      this.epoch = epoch;
      this.lastSeq = seq;
      return;
    }
    if (seq > this.lastSeq) await this.catchUp(seq);
  }

  private send(event: FeedEvent): void {
    if (event.seq <= this.lastSeq && event.epoch === this.epoch) return;
    this.lastSeq = event.seq;
    this.deliver(this, event);
  }
}
