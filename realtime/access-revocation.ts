import type { RedisClient } from './redis-client.ts';
import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import { z } from 'zod';
import type { Sql } from '../sql/client.ts';
import { isMemberNow } from '../sql/queries/members.ts';
import type { ClientToServerEvents, ServerToClientEvents, SocketData } from './events.ts';

type HeraldServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type HeraldSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** The pub/sub channel on which every gateway of the deployment hears that a user lost a document. */
export const accessChannel = (prefix: string) => `${prefix}:access`;

/** What goes through the channel: this user no longer sees this document. */
export interface AccessRevokedMessage {
  document_id: string;
  user_id: string;
}

const messageSchema = z.object({ document_id: z.uuid(), user_id: z.string().min(1) });

/**
 * How long a gateway remembers a revocation, for sockets that join the
 * document's room after it heard of it: a subscribe that passed its access
 * check just before the removal committed. Seconds cover the slowest subscribe.
 */
const RECHECK_MS = 60_000;

/**
 * Tells every gateway that the user no longer sees the document. Called
 * inside the transaction that removes the access, before it commits: if
 * Redis refuses, the removal is rolled back (503) rather than leaving sockets
 * that still receive the document's events.
 */
export async function announceAccessRevoked(redis: RedisClient, prefix: string, documentId: string, userId: string): Promise<void> {
  await redis.publish(accessChannel(prefix), JSON.stringify({ document_id: documentId, user_id: userId } satisfies AccessRevokedMessage));
}

export interface AccessRevocations {
  /** Registers what the gateway does when this socket loses a document it had joined (it has already left the room). */
  track(socket: HeraldSocket, onRevoked: (documentId: string) => void): void;
  /** Resolves once the channel is subscribed. */
  readonly ready: Promise<void>;
}

/**
 * Makes one gateway act on revocations: the user's sockets in the
 * document's room leave it at once, so no further event of the document
 * reaches them. A socket that joins the room afterwards (its subscribe was
 * already past the access check) is checked again against PostgreSQL, which
 * waits for the removal to commit, and leaves too if the access is gone.
 *
 * Longer than ~60 lines on purpose: the tracked sockets and the revocation channel are one state shared by the
 * message handler, `track` and the re-check on join; each inner function is short, and splitting the factory
 * would mean passing that state around or making it public.
 */
export function watchAccessRevocations(deps: {
  io: HeraldServer;
  subscriber: RedisClient;
  sql: Sql;
  prefix: string;
  logger: Logger;
  /** The Socket.IO room of a document's watchers. */
  room: (documentId: string) => string;
}): AccessRevocations {
  const channel = accessChannel(deps.prefix);
  const handlers = new WeakMap<HeraldSocket, (documentId: string) => void>();
  // `<room>\n<user>` → the document and until when joins are checked again.
  const recent = new Map<string, { documentId: string; until: number }>();

  const revoke = (socket: HeraldSocket, documentId: string) => {
    socket.leave(deps.room(documentId));
    handlers.get(socket)?.(documentId);
    deps.logger.debug({ userId: socket.data.userId, documentId, socketId: socket.id }, 'socket left a document its user lost');
  };

  const remember = ({ document_id, user_id }: AccessRevokedMessage) => {
    const now = Date.now();
    for (const [key, entry] of recent) if (entry.until <= now) recent.delete(key);
    recent.set(`${deps.room(document_id)}\n${user_id}`, { documentId: document_id, until: now + RECHECK_MS });
  };

  deps.subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    let revoked: AccessRevokedMessage;
    try {
      revoked = messageSchema.parse(JSON.parse(message));
    } catch (err) {
      deps.logger.error({ err }, 'unreadable access message');
      return;
    }
    remember(revoked);
    for (const id of [...(deps.io.sockets.adapter.rooms.get(deps.room(revoked.document_id)) ?? [])]) {
      const socket = deps.io.sockets.sockets.get(id);
      if (socket?.data.userId === revoked.user_id) revoke(socket, revoked.document_id);
    }
  });

  deps.io.sockets.adapter.on('join-room', (room: string, id: string) => {
    const socket = deps.io.sockets.sockets.get(id);
    const entry = socket && recent.get(`${room}\n${socket.data.userId}`);
    if (!socket || !entry || entry.until <= Date.now()) return;
    isMemberNow(deps.sql, entry.documentId, socket.data.userId).then(
      (member) => {
        if (!member && socket.rooms.has(room)) revoke(socket, entry.documentId);
      },
      (err: unknown) => {
        // Unsure, so the safe side: the socket can subscribe again, which checks access afresh.
        deps.logger.warn({ err, documentId: entry.documentId }, 'access not rechecked; socket leaves the document');
        if (socket.rooms.has(room)) revoke(socket, entry.documentId);
      },
    );
  });

  return {
    track: (socket, onRevoked) => handlers.set(socket, onRevoked),
    ready: deps.subscriber.subscribe(channel).then(() => undefined),
  };
}
