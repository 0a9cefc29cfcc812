import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DocumentListChange } from './events.ts';
import { notificationChannel, type UserMessage } from './notifier.ts';

export interface DocumentListDeps {
  redis: Redis;
  prefix: string;
  logger: Logger;
}

/**
 * Tells every socket of each user, on any gateway, that the document
 * entered or left their list (`documents.changed`), through the same
 * per-user channel as notifications. Called after the change committed;
 * it is a hint for a live list, not a record (`GET /api/documents` is), so
 * a Redis failure is logged, never thrown into the request that succeeded.
 */
export async function announceDocumentListChange(
  deps: DocumentListDeps,
  userIds: readonly string[],
  documentId: string,
  change: DocumentListChange,
): Promise<void> {
  if (userIds.length === 0) return;
  const channel = notificationChannel(deps.prefix);
  const pipeline = deps.redis.pipeline();
  for (const userId of new Set(userIds)) {
    pipeline.publish(channel, JSON.stringify({ user_id: userId, documents_changed: { document_id: documentId, change } } satisfies UserMessage));
  }
  try {
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error);
    if (failed) throw failed[0];
  } catch (err) {
    deps.logger.warn({ err, documentId, change }, 'document list change not announced');
  }
}
