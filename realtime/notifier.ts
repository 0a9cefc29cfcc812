import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Sql } from '../sql/client.ts';
import { insertNotifications, type NotificationLimit, type NotificationRow } from '../sql/queries/notifications.ts';
import type { DocumentsChangedPayload, NotificationKind, NotificationPayload } from './events.ts';

/** Longest notification title, in characters; a longer one is cut and ends with "…". */
export const MAX_NOTIFICATION_TITLE = 200;
/** Longest notification body, in characters. */
export const MAX_NOTIFICATION_BODY = 1000;
/** Longest document title quoted inside a notification (see quoteTitle). */
const MAX_QUOTED_TITLE = 80;

/** The pub/sub channel every gateway of the deployment listens on for what goes to all of one user's sockets (notifications, list changes). */
export const notificationChannel = (prefix: string) => `${prefix}:notifications`;

/** What goes through the channel: one user's notification, or a change of their document list (document-list.ts). */
export type UserMessage =
  | { user_id: string; notification: NotificationPayload }
  | { user_id: string; documents_changed: DocumentsChangedPayload };
export type NotificationMessage = Extract<UserMessage, { notification: NotificationPayload }>;

/**
 * Stores notifications in each recipient's inbox and pushes them, through
 * Redis, to every socket of the recipients who want that kind (any gateway
 * delivers to its sockets in the `user:<id>` room). Storing comes first: a
 * user offline now gets them when a socket of theirs connects. About a
 * document, nothing goes to a user who muted it, nor past the rate limit per
 * document and recipient. Titles and bodies are cut to one bounded line.
 */
export interface Notifier {
  /** To everyone who can see the document (owner and members). */
  notifyDocument(documentId: string, n: { kind: NotificationKind; title: string; body: string }): Promise<void>;
  /** To the given users. */
  notifyUsers(userIds: string[], n: { kind: NotificationKind; title: string; body: string; documentId?: string }): Promise<void>;
}

export interface NotifierDeps {
  sql: Sql;
  redis: Redis;
  prefix: string;
  logger: Logger;
  /** Per document and recipient; the excess is dropped (NOTIFICATION_LIMIT, NOTIFICATION_WINDOW_SECONDS). */
  limit: NotificationLimit;
  onSent?: (kind: string) => void;
}

export function createNotifier(deps: NotifierDeps): Notifier {
  const channel = notificationChannel(deps.prefix);
  const { limit } = deps;
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
      guarded(async () => push(await insertNotifications(deps.sql, { ...bounded(n), documentId }, { documentId }, limit))),
    notifyUsers: (userIds, n) =>
      guarded(async () => push(await insertNotifications(deps.sql, { ...bounded(n), documentId: n.documentId ?? null }, { userIds }, limit))),
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

/**
 * A document title as notifications quote it: “…”, on one line, at most 80
 * characters. The owner chooses the title and every member reads it in
 * their inbox, so it is kept short and plain.
 */
export function quoteTitle(title: string): string {
  return `“${plainText(title, MAX_QUOTED_TITLE)}”`;
}

/** Title and body within their limits, whoever wrote them. */
function bounded<T extends { kind: NotificationKind; title: string; body: string }>(n: T): T {
  return { ...n, title: plainText(n.title, MAX_NOTIFICATION_TITLE), body: plainText(n.body, MAX_NOTIFICATION_BODY) };
}

// Control characters (newlines included) and the invisible marks that reorder
// text (bidi overrides, isolates), which could make a title read as something else.
const CONTROLS = /[\p{Cc}\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;
const SPACES = /\s+/g;

/** One line of text, controls removed and spaces collapsed, cut at `max` characters (code points). */
export function plainText(text: string, max: number): string {
  // Only the head can show: cleaning all of a huge input (a long error) would only cost time.
  const cut = text.length > max * 4;
  const head = cut ? text.slice(0, endOfHead(text, max * 4)) : text;
  const line = head.replace(CONTROLS, ' ').replace(SPACES, ' ').trim();
  // 2 × max + 1 code units hold at least max + 1 code points: enough to tell whether it fits, without splitting all of it.
  const chars = Array.from(line.slice(0, max * 2 + 1));
  if (!cut && chars.length <= max) return line;
  return `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}

/** `at`, or one less when that would split a surrogate pair. */
function endOfHead(text: string, at: number): number {
  const unit = text.charCodeAt(at - 1);
  return unit >= 0xd800 && unit <= 0xdbff ? at - 1 : at;
}
