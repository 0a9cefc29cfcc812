import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Server } from 'socket.io';
import { z } from 'zod';
import type { Sql } from '../sql/client.ts';
import { listUnreadAfter } from '../sql/queries/notifications.ts';
import type { ClientToServerEvents, ServerToClientEvents, SocketData } from './events.ts';
import { notificationChannel, notificationView, type UserMessage } from './notifier.ts';

/** Every socket of a user is in this room, on every gateway. */
export const userRoom = (userId: string) => `user:${userId}`;

const after = z.uuid().optional().catch(undefined);

/**
 * Delivers notifications on one gateway: live ones (and document list
 * changes) from the deployment's per-user channel to the user's room, and, to each socket that
 * connects, the unread ones newer than `auth.notifications_after` (the
 * inbox it missed). The socket joins its room before the inbox is read, so
 * nothing stored meanwhile is lost; a notification may then arrive twice,
 * and its `id` tells the client so.
 */
export async function deliverNotifications(deps: {
  io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  subscriber: Redis;
  sql: Sql;
  prefix: string;
  logger: Logger;
}): Promise<void> {
  const channel = notificationChannel(deps.prefix);
  deps.subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    try {
      const parsed = JSON.parse(message) as UserMessage;
      const room = deps.io.to(userRoom(parsed.user_id));
      if ('notification' in parsed) room.emit('notification', parsed.notification);
      else room.emit('documents.changed', parsed.documents_changed);
    } catch (err) {
      deps.logger.error({ err }, 'unreadable notification message');
    }
  });
  deps.io.on('connection', (socket) => {
    const userId = socket.data.userId;
    socket.join(userRoom(userId));
    const since = after.parse(socket.handshake.auth?.notifications_after) ?? null;
    listUnreadAfter(deps.sql, userId, since).then(
      (rows) => {
        for (const row of rows) socket.emit('notification', notificationView(row));
      },
      (err: unknown) => deps.logger.warn({ err, userId }, 'missed notifications not sent'),
    );
  });
  await deps.subscriber.subscribe(channel);
}
