import type { Logger } from 'pino';
import { createIngestWindows } from '../../jobs/ingest-window.ts';
import { createJobControl, type JobControl } from '../../jobs/job-control.ts';
import { createJobTracker, type JobFinished, type JobTracker } from '../../jobs/job-tracker.ts';
import { createOutboxRelay, type OutboxRelay } from '../../jobs/outbox-relay.ts';
import { createJobQueues, type JobPolicy, type JobQueues } from '../../jobs/queues.ts';
import { createNotifier, type Notifier } from '../../realtime/notifier.ts';
import { createPublisher, type Publisher } from '../../realtime/publisher.ts';
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import { createShutdownStack, type RunningPart } from './shutdown-stack.ts';
import type { Stores } from './stores.ts';

/** What every role of a process shares: how events and jobs leave it, and how jobs are tracked and steered. */
export interface Core extends RunningPart {
  publisher: Publisher;
  notifier: Notifier;
  tracker: JobTracker;
  queues: JobQueues;
  jobs: JobControl;
  /** Attempts and backoff per job type (also given to the housekeeping schedule). */
  policy: JobPolicy;
  /** Absent in a process that commits no outbox rows (gateway only). */
  relay: OutboxRelay | undefined;
}

export interface CoreOptions {
  stores: Stores;
  metrics: Metrics;
  logger: Logger;
  /** Runs the outbox relay: the api and worker roles commit outbox rows. */
  relay: boolean;
}

/** Builds the shared parts; `ready` starts the outbox relay, `close` stops them in reverse order. */
export function startCore(config: Config, { stores: { sql, listener, redis, pubsub, queuePrefix }, metrics, logger, relay: withRelay }: CoreOptions): Core {
  const prefix = config.redisPrefix;
  const stack = createShutdownStack(logger);
  const publisher = createPublisher({ redis, prefix, pubsub, streamMaxLen: config.events.streamMaxLen, ttlSeconds: config.events.ttlSeconds, onPublished: metrics.published });
  const notifier = createNotifier({ sql, redis, prefix, logger, onSent: metrics.notificationPushed, limit: config.sharing.notifications });
  const tracker = stack.push(createJobTracker({
    sql, publisher, logger, enabled: config.jobs.tracking,
    maxBatchRows: config.writer.maxBatchRows, maxQueuedRows: config.writer.maxQueuedRows,
    onWriterWait: () => metrics.writerWaited('jobs'),
    onFinished: (finished) => onJobFinished(finished, metrics, notifier),
  }));
  const policy = { chapterAttempts: config.worker.chapterAttempts, backoffMs: config.worker.backoffMs, attempts: config.jobs.attempts, chaptersPerJob: config.ingest.chaptersPerJob };
  const queues = stack.push(createJobQueues(redis, queuePrefix, policy, { added: (jobs) => tracker.queued(jobs) }));
  const windows = createIngestWindows({ sql, redis, prefix, queues, logger });
  const jobs = createJobControl({
    queues, redis, prefix, tracker,
    beforeRemove: (job) => (job.name === 'chapter.process' ? windows.release(job) : Promise.resolve()),
  });
  // Moves committed outbox rows (autosave and package side effects) onto BullMQ and the event streams.
  const relay = withRelay ? createOutboxRelay({ sql, listener, queues, publisher, logger, pollMs: config.outbox.pollMs }) : undefined;
  if (relay) stack.push({ close: () => relay.stop() });
  return {
    publisher, notifier, tracker, queues, jobs, policy, relay,
    ready: async () => relay?.start(),
    close: () => stack.close(),
  };
}

/** Counts the job's end, and tells the document's people when a job failed for good (a failed chapter is told by its document's own notification). */
function onJobFinished({ row, seconds }: JobFinished, metrics: Metrics, notifier: Notifier): void {
  metrics.jobFinished(row.type, row.status, seconds);
  if (row.status !== 'failed' || !row.document_id || row.type === 'chapter.process') return;
  void notifier.notifyDocument(row.document_id, {
    kind: 'job.failed',
    title: `A ${row.type} job failed`,
    body: `It failed after ${row.attempts} of ${row.max_attempts} attempts: ${row.error ?? 'unknown error'}`,
  });
}
