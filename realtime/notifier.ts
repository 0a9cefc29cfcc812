import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Sql } from '../sql/client.ts';
import { insertNotifications, type NewNotification, type NotificationRow } from '../sql/queries/notifications.ts';
import type { NotificationKind, NotificationPayload } from './events.ts';

/** The pub/sub channel every gateway of the deployment listens on for notifications. */
export const notificationChannel = (prefix: string) => `${prefix}:notifications`;

/** What goes through the channel: one user's notification. */
export interface NotificationMessage {
  user_id: string;
  notification: NotificationPayload;
}

/**
 * Stores notifications in each recipient's inbox and pushes them, through
 * Redis, to every socket of the recipients who want that kind (any gateway
 * delivers to its sockets in the `user:<id>` room). Storing comes first: a
 * user offline now gets them when a socket of theirs connects.
 */
export interface Notifier {
  /** To everyone who can see the document (owner and members). */
  notifyDocument(documentId: string, n: { kind: NotificationKind; title: string; body: string }): Promise<void>;
  /** To the given users. */
  notifyUsers(userIds: string[], n: { kind: NotificationKind; title: string; body: string; documentId?: string }): Promise<void>;
}

export function createNotifier(deps: { sql: Sql; redis: Redis; prefix: string; logger: Logger; onSent?: (kind: string) => void }): Notifier {
  const channel = notificationChannel(deps.prefix);
  const push = async (rows: (NotificationRow & { push: boolean })[]) => {
    const wanted = rows.filter((r) => r.push);
    if (wanted.length === 0) return;
    const pipeline = deps.redis.pipeline();
    for (const r of wanted) pipeline.publish(channel, JSON.stringify({ user_id: r.user_id, notification: notificationView(r) } satisfies NotificationMessage));
    await pipeline.exec();
    for (const r of wanted) deps.onSent?.(r.kind);
  };
  // Notifications are a side effect of work that already succeeded: a failure is logged, not thrown into the job.
  const guarded = async (work: () => Promise<void>) => work().catch((err: unknown) => deps.logger.warn({ err }, 'notification not stored or pushed'));
  return {
    notifyDocument: (documentId, n) =>
      guarded(async () => push(await insertNotifications(deps.sql, { ...n, documentId }, { documentId }))),
    notifyUsers: (userIds, n) =>
      guarded(async () => push(await insertNotifications(deps.sql, { ...n, documentId: n.documentId ?? null }, { userIds }))),
  };
}

/** The contract's `notification` payload. */
export function notificationView(r: NotificationRow): NotificationPayload {
  return {
    id: r.id,
    kind: r.kind,
    title: r.title,
    body: r.body,
    ...(r.document_id && { document_id: r.document_id }),
    at: r.created_at.toISOString(),
    read: r.read_at !== null,
  };
}
