import type { JobsOptions } from 'bullmq';
import type { OutboxInsert } from '../sql/queries/outbox.ts';
import type { DocumentEventName, DocumentEventPayloads } from '../realtime/events.ts';
import { dedupIds, type JobName, type JobPayloads } from './contracts.ts';

/**
 * Typed outbox rows: what a transaction writes so that, once it commits, the
 * relay enqueues the job or publishes the event (jobs/outbox-relay.ts).
 * Options are plain JSON; the relay adds the job id from the row unless one
 * is given.
 */
export type OutboxJobOptions = Pick<JobsOptions, 'jobId' | 'priority' | 'delay' | 'deduplication'>;

/** A job to enqueue after the commit. */
export function outboxJob<N extends JobName>(
  documentId: string,
  name: N,
  payload: JobPayloads[N],
  options: OutboxJobOptions = {},
): OutboxInsert {
  return { documentId, kind: 'job', name, payload, options: options as Record<string, unknown> };
}

/** An event to publish after the commit, in the order the rows were written. */
export function outboxEvent<N extends DocumentEventName>(documentId: string, name: N, payload: DocumentEventPayloads[N]): OutboxInsert {
  return { documentId, kind: 'event', name, payload };
}

/**
 * The summary refresh a save schedules: highest priority, debounced per
 * chapter. While the chapter's refresh waits out its quiet time, each save
 * gives that job its data and restarts the delay (`enqueueMany`), so a burst
 * of saves is one job, with the last save's data. Otherwise BullMQ's
 * deduplication decides (`replace` + `extend`); `keepLastIfActive`: a save
 * that lands while the refresh runs is kept and runs after it, never dropped
 * (the running one may have read older text).
 */
export function summaryRefreshJob(
  chapter: { documentId: string; chapterId: string; version: number },
  debounceMs: number,
  requestId?: string,
): OutboxInsert {
  const { documentId, chapterId, version } = chapter;
  return outboxJob(documentId, 'chapter.refresh', { documentId, chapterId, version, ...(requestId && { requestId }) }, {
    delay: debounceMs,
    deduplication: { id: dedupIds.summary(chapterId), ttl: Math.max(debounceMs, 1), extend: true, replace: true, keepLastIfActive: true },
  });
}
