import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis-client.ts';
import type { Logger } from 'pino';
import type { PresenceUser } from './events.ts';
import { documentKeys } from './keys.ts';
import { withHeraldCommands } from './redis-commands.ts';

/** What presence needs of a socket: its id and its user. */
export interface PresenceSocket {
  id: string;
  data: { userId: string; userName: string | null };
}

export interface PresenceOptions {
  redis: RedisClient;
  prefix: string;
  logger: Logger;
  /** How long a socket's entry lasts unless its gateway renews it (PRESENCE_TTL_MS). */
  ttlMs: number;
  /** How often this gateway renews its sockets' entries and prunes lapsed ones (PRESENCE_RENEW_MS). */
  renewMs: number;
  /** The command that publishes on a document's live channel: `publish`, or `spublish` on Redis Cluster. Default `publish`. */
  publishCommand?: 'publish' | 'spublish';
}

/**
 * Who has each document open, shared by every gateway through Redis: one
 * hash per document with an entry per socket (update-presence.lua). Each
 * gateway writes and renews its own sockets' entries; the script publishes
 * the user list on the document's live channel whenever it changes, so
 * every gateway watching the document relays it. A gateway that dies stops
 * renewing, and its entries are pruned by the next renewal of any other
 * gateway once they lapse: within `ttlMs + renewMs`.
 */
export interface Presence {
  /** The socket has the document open (its subscribe succeeded); resolves with the user list, its own user included. */
  enter(socket: PresenceSocket, documentId: string): Promise<PresenceUser[]>;
  /** The socket's user is editing this chapter now (null: only reading). */
  announce(socket: PresenceSocket, documentId: string, chapterId: string | null): Promise<void>;
  /** The socket closed the document (unsubscribe, lost access). Fire and forget: a failure leaves the entry to lapse. */
  leave(socketId: string, documentId: string): void;
  /** The socket disconnected: it leaves every document. */
  leaveAll(socketId: string): void;
  /** Stops renewing and removes this gateway's entries. */
  close(): Promise<void>;
}

interface Entry {
  user_id: string;
  name: string;
  chapter_id: string | null;
  /** When the socket last named its chapter (ms); the latest of a user's sockets wins. */
  at: number;
}

// Longer than ~60 lines on purpose: this gateway's entries and the renewal timer are one state shared by join, announce, leave and close.
export function createPresence(options: PresenceOptions): Presence {
  const { prefix, logger, ttlMs } = options;
  const redis = withHeraldCommands(options.redis);
  const publishCommand = options.publishCommand ?? 'publish';
  const gatewayId = randomUUID();
  const field = (socketId: string) => `${gatewayId}:${socketId}`;
  // documentId -> socketId -> entry: what this gateway holds and renews.
  const documents = new Map<string, Map<string, Entry>>();
  let warned = false;

  const update = async (documentId: string, fieldValues: string[]): Promise<PresenceUser[]> => {
    const keys = documentKeys(prefix, documentId);
    const users = await redis.heraldUpdatePresence(keys.presence, publishCommand, keys.channel, documentId, ttlMs, ...fieldValues);
    warned = false;
    return JSON.parse(users) as PresenceUser[];
  };
  const lapse = (err: unknown, documentId: string) => {
    if (warned) return;
    warned = true; // one line per outage
    logger.warn({ err, documentId }, 'presence not updated; entries lapse or are renewed once Redis answers');
  };
  const set = (documentId: string, socketId: string, entry: Entry) => {
    let sockets = documents.get(documentId);
    if (!sockets) documents.set(documentId, (sockets = new Map()));
    sockets.set(socketId, entry);
    return update(documentId, [field(socketId), JSON.stringify(entry)]);
  };
  const renew = () => {
    for (const [documentId, sockets] of documents) {
      const fieldValues = [...sockets].flatMap(([socketId, entry]) => [field(socketId), JSON.stringify(entry)]);
      update(documentId, fieldValues).catch((err: unknown) => lapse(err, documentId));
    }
  };
  const leave = (socketId: string, documentId: string) => {
    const sockets = documents.get(documentId);
    if (!sockets?.delete(socketId)) return;
    if (sockets.size === 0) documents.delete(documentId);
    update(documentId, [field(socketId), '']).catch((err: unknown) => lapse(err, documentId));
  };
  const timer = setInterval(renew, options.renewMs);
  timer.unref();

  return {
    enter(socket, documentId) {
      const held = documents.get(documentId)?.get(socket.id);
      // Subscribing again keeps the chapter the socket named.
      const entry = held ?? { user_id: socket.data.userId, name: socket.data.userName ?? socket.data.userId, chapter_id: null, at: 0 };
      return set(documentId, socket.id, entry);
    },
    async announce(socket, documentId, chapterId) {
      const held = documents.get(documentId)?.get(socket.id);
      const entry = held ?? { user_id: socket.data.userId, name: socket.data.userName ?? socket.data.userId, chapter_id: null, at: 0 };
      await set(documentId, socket.id, { ...entry, chapter_id: chapterId, at: Date.now() });
    },
    leave,
    leaveAll(socketId) {
      for (const documentId of [...documents.keys()]) leave(socketId, documentId);
    },
    async close() {
      clearInterval(timer);
      const removals = [...documents].map(([documentId, sockets]) => update(documentId, [...sockets.keys()].flatMap((s) => [field(s), ''])));
      documents.clear();
      await Promise.allSettled(removals);
    },
  };
}
