import { hostname } from 'node:os';
import pLimit from 'p-limit';
import { DelayedError, UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { RedisClient } from '../realtime/redis-client.ts';
import type { Logger } from 'pino';
import type { Sql } from '../sql/client.ts';
import { isUnavailable } from '../sql/errors.ts';
import type { ChapterHistoryRetention } from '../sql/queries/chapter-versions.ts';
import type { Notifier } from '../realtime/notifier.ts';
import type { Publisher } from '../realtime/publisher.ts';
import type { AiProvider } from './ai/provider.ts';
import { refreshArtifact } from './handlers/artifact-refresh.ts';
import { createChapterLoader, type ChapterLoader } from './chapter-loader.ts';
import { processChapterJob } from './handlers/chapter-process.ts';
import { QUEUES, type JobName, type JobPayloads, type QueueName } from './contracts.ts';
import { finalizeDocument } from './handlers/document-finalize.ts';
import { ingestDocument } from './handlers/document-ingest.ts';
import { createIngestWindows } from './ingest-window.ts';
import { runHousekeeping } from './handlers/jobs-housekeeping.ts';
import { listenForCancels } from './job-cancel.ts';
import type { JobTracker } from './job-tracker.ts';
import { recordOf } from './job-records.ts';
import { buildPackage } from './handlers/package-build.ts';
import type { JobQueues } from './queues.ts';
import { refreshDocument } from './handlers/document-refresh.ts';
import { createResultWriter } from './result-writer.ts';
import { refreshSummary } from './handlers/chapter-refresh.ts';
import { cancelKey, trackWorkerJobs, type CancelledJobs } from './worker-events.ts';

/** Where the workers read and write. */
export interface WorkerStores {
  sql: Sql;
  /** A connection with `maxRetriesPerRequest: null`, as BullMQ workers require. */
  connection: RedisClient;
  /** A pub/sub connection of the workers' own, for cancel requests. */
  subscriber: RedisClient;
  /** REDIS_PREFIX: Herald's own keys and channels. */
  prefix: string;
  /** BullMQ's prefix (queuePrefix in queues.ts): the prefix, hash-tagged on a Redis Cluster. */
  queuePrefix: string;
}

/** How handlers tell the world: document events and people's notifications. */
export interface WorkerPublishers {
  publisher: Publisher;
  notifier: Notifier;
}

/** The queues handlers enqueue follow-up jobs on, and the `jobs` rows' tracker. */
export interface WorkerJobs {
  queues: JobQueues;
  tracker: JobTracker;
}

export interface WorkerSettings {
  concurrency: number;
  /** BullMQ's lockDuration and stalledInterval: a dead worker's jobs run again elsewhere after this (JOB_LOCK_MS). */
  lockMs: number;
  /** How long `close` lets running jobs finish before handing them back. Default 10 s. */
  closeGraceMs?: number;
  /** Chapter jobs one user keeps queued (INGEST_WINDOW_PER_USER, jobs/ingest-window.ts). Unset: an upload queues every chapter at once. */
  ingestWindowPerUser?: number;
  writer: { maxBatchRows: number; maxQueuedRows: number; mode?: 'group' | 'interval'; onWait?: () => void };
  housekeeping: HousekeepingSettings;
}

/** What the housekeeping job keeps and checks. */
export interface HousekeepingSettings {
  /** Finished `jobs` rows older than this are deleted by housekeeping. */
  retentionDays: number;
  /** Housekeeping's reconcile task checks open `jobs` rows unchanged for this long against BullMQ. */
  reconcileAfterMs: number;
  /** What housekeeping's trim task keeps of each chapter's history. */
  chapterHistory: ChapterHistoryRetention;
}

export interface WorkerDeps {
  stores: WorkerStores;
  publishers: WorkerPublishers;
  jobs: WorkerJobs;
  ai: AiProvider;
  logger: Logger;
  settings: WorkerSettings;
  /** Called each time a job goes back to wait for PostgreSQL or Redis instead of spending an attempt. */
  onStoreWait?: (type: string) => void;
}

export interface Workers {
  /** Resolves once every worker is connected and taking jobs. */
  ready(): Promise<void>;
  /** Stops taking jobs, lets running ones finish, flushes pending writes. */
  close(): Promise<void>;
  readonly running: boolean;
}

/** `token` is the job's lock token, for handlers that move their job back to delayed (DelayedError). */
type Handler<N extends JobName> = (job: Job<JobPayloads[N]>, signal: AbortSignal, token: string | undefined) => Promise<unknown>;

/** Starts one BullMQ worker per queue; the handler table must cover every job in the contract. */
export function createWorkers(deps: WorkerDeps): Workers {
  const { stores, settings } = deps;
  const logger = deps.logger.child({ component: 'worker' });
  const results = createResultWriter({ sql: stores.sql, redis: stores.connection, publisher: deps.publishers.publisher, logger, ...settings.writer });
  const handlers = handlerTable(deps, results, createChapterLoader(stores.sql), logger);
  const cancelled: CancelledJobs = new Set();
  const processor = createProcessor(handlers, cancelled, { logger, tracker: deps.jobs.tracker, onStoreWait: deps.onStoreWait });
  const workers = startQueueWorkers(processor, cancelled, deps, logger);
  const cancel = (queue: string, bullId: string) => {
    const worker = workers.find((w) => w.name === queue);
    // Marked first: the abort makes the handler throw, and the processor must already know why.
    cancelled.add(`${queue}:${bullId}`);
    if (!worker?.cancelJob(bullId, 'cancelled')) cancelled.delete(`${queue}:${bullId}`);
    else logger.info({ queue, jobId: bullId }, 'job cancelled');
  };
  const unlisten = listenForCancels(stores.subscriber, stores.prefix, cancel, logger);
  let running = true;

  return {
    async ready() {
      await Promise.all([...workers.map((w) => w.waitUntilReady()), unlisten]);
    },
    async close() {
      running = false;
      await (await unlisten.catch(() => undefined))?.();
      // Running jobs get a grace period to finish; past it (say, Redis is down and BullMQ cannot
      // move them), they are abandoned and their locks expire, so another worker runs them again.
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([graceful.then(() => false), delay(settings.closeGraceMs ?? 10_000).then(() => true)]);
      if (timedOut) {
        logger.warn('running jobs did not finish in time; handing them back');
        await Promise.race([Promise.all(workers.map((w) => w.close(true))), delay(2000)]);
      }
      await Promise.race([results.close(), delay(5000)]);
    },
    get running() {
      return running && workers.every((w) => w.isRunning());
    },
  };
}

interface ProcessorHooks {
  logger: Logger;
  tracker: JobTracker;
  onStoreWait: ((type: string) => void) | undefined;
}

/** Runs each job's handler; a cancelled job ends cancelled, a job whose store is down waits for it. */
function createProcessor(handlers: ReturnType<typeof handlerTable>, cancelled: CancelledJobs, hooks: ProcessorHooks): Processor {
  const { logger } = hooks;
  return async (job, token, signal) => {
    const handler = handlers[job.name as JobName] as Handler<JobName> | undefined;
    if (!handler) throw new Error(`no handler for job "${job.name}"`);
    // A child logger per job costs an allocation and its bindings' serialisation: only when its line is kept.
    if (logger.isLevelEnabled('debug')) jobLogger(logger, job).debug('job started');
    try {
      const result = await handler(job, signal ?? new AbortController().signal, token);
      // A handler that finished anyway after the cancel still ends cancelled, never completed.
      if (cancelled.has(cancelKey(job))) throw new UnrecoverableError('cancelled');
      return result;
    } catch (error) {
      // Unrecoverable: a cancelled job is not retried.
      if (cancelled.has(cancelKey(job))) throw new UnrecoverableError('cancelled');
      if (isUnavailable(error) && token) await waitForStores(job, token, error, hooks);
      throw error;
    }
  };
}

/**
 * PostgreSQL or Redis being down is not the job's fault: spending its
 * attempts on an outage would fail work that succeeds a minute later. The
 * job goes back as delayed without spending an attempt (BullMQ's
 * DelayedError pattern), waiting 1 s, then 2, 4, ... up to 30 s between
 * tries, for as long as the outage lasts. If Redis itself is down the move
 * fails too; the job's lock then expires and BullMQ runs it again.
 */
async function waitForStores(job: Job, token: string, error: unknown, { logger, tracker, onStoreWait }: ProcessorHooks): Promise<never> {
  const waits = Math.max(0, job.attemptsStarted - job.attemptsMade - 1);
  const waitMs = Math.min(OUTAGE_WAIT_MAX_MS, OUTAGE_WAIT_FIRST_MS * 2 ** Math.min(waits, 10));
  const reason = error instanceof Error ? error.message : String(error);
  jobLogger(logger, job).warn({ err: reason, waitMs }, 'a store is unavailable; the job waits for it without spending an attempt');
  await job.moveToDelayed(Date.now() + waitMs, token);
  onStoreWait?.(job.name);
  void tracker.report(recordOf(job, 'queued', { error: `waiting for PostgreSQL or Redis: ${reason}` }));
  throw new DelayedError();
}

/** One BullMQ worker per queue, each recording the jobs it runs. */
function startQueueWorkers(processor: Processor, cancelled: CancelledJobs, deps: WorkerDeps, logger: Logger): Worker[] {
  const { concurrency, lockMs } = deps.settings;
  const concurrencyOf: Record<QueueName, number> = {
    chapters: concurrency,
    documents: Math.min(concurrency, 8),
    artifacts: Math.min(concurrency, 8),
  };
  // Recorded on each job it runs (BullMQ's processedBy, shown in the admin board): which machine and process ran it.
  const processName = `${hostname()}:${process.pid}`;
  return Object.values(QUEUES).map((name) => {
    const worker = new Worker(name, processor, {
      connection: deps.stores.connection, prefix: deps.stores.queuePrefix, concurrency: concurrencyOf[name], autorun: true, name: processName,
      lockDuration: lockMs, stalledInterval: lockMs,
    });
    trackWorkerJobs(worker, deps.jobs.tracker, cancelled);
    if (logger.isLevelEnabled('debug')) {
      worker.on('completed', (job) => jobLogger(logger, job).debug('job completed'));
      worker.on('failed', (job, err) => job && jobLogger(logger, job).debug({ err: err.message }, 'job attempt failed'));
    }
    worker.on('error', (err) => logger.error({ err: err.message, queue: name }, 'worker error'));
    return worker;
  });
}

/** Each handler gets the groups its job needs, nothing more. */
function handlerTable(deps: WorkerDeps, results: ReturnType<typeof createResultWriter>, chapters: ChapterLoader, logger: Logger) {
  const { stores: { sql, connection, prefix }, publishers: { publisher, notifier }, jobs: { queues, tracker }, ai } = deps;
  const windows = createIngestWindows({ sql, redis: connection, prefix, queues, logger });
  // Chapters of runs (large uploads' chapter jobs) in flight at once: as many as single chapter jobs would be.
  const runSlots = pLimit(deps.settings.concurrency);
  const documents = { sql, publisher, queues, notifier, userWindow: deps.settings.ingestWindowPerUser, windows };
  const shared = { sql, publisher, ai };
  return {
    'chapter.process': (job, signal, token) =>
      windows.around(job, () =>
        processChapterJob(job, { chapters, publisher, ai, results, logger, redis: connection, handOff: windows.handOff, runSlots }, signal, token)),
    'document.ingest': (job) => ingestDocument(job, documents),
    'document.finalize': (job) => finalizeDocument(job, documents),
    'chapter.refresh': (job, signal) => refreshSummary(job, { ...shared, logger: jobLogger(logger, job) }, signal),
    'artifact.refresh': (job, signal, token) => refreshArtifact(job, shared, signal, token),
    'package.build': (job, signal, token) =>
      buildPackage(job, { ...shared, notifier, logger: jobLogger(logger, job) }, signal, token),
    'document.refresh': (job, signal) => refreshDocument(job, { ...shared, notifier, logger: jobLogger(logger, job) }, signal),
    'jobs.housekeeping': (job) => runHousekeeping(job, { sql, queues, tracker, logger, ...deps.settings.housekeeping }),
  } satisfies { [N in JobName]: Handler<N> };
}

/** Waits between tries of a job whose store (PostgreSQL or Redis) is unavailable. */
const OUTAGE_WAIT_FIRST_MS = 1000;
const OUTAGE_WAIT_MAX_MS = 30_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** Every line about a job carries its id, name and the request id that started it (from the job's data). */
function jobLogger(logger: Logger, job: Job<{ requestId?: string }>): Logger {
  return logger.child({ jobId: job.id, job: job.name, requestId: job.data?.requestId });
}
