import type { Logger } from 'pino';
import { createAiProvider } from '../../jobs/ai/index.ts';
import type { AiProvider } from '../../jobs/ai/provider.ts';
import { scheduleHousekeeping } from '../../jobs/handlers/jobs-housekeeping.ts';
import { createWorkers, type Workers } from '../../jobs/workers.ts';
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import type { Core } from './core.ts';
import { createShutdownStack, type RunningPart } from './shutdown-stack.ts';
import { quit, type Stores } from './stores.ts';

export interface WorkerRoleDeps {
  stores: Stores;
  core: Core;
  metrics: Metrics;
  logger: Logger;
  /** Replaces the configured AI provider (tests use one that fails on purpose). */
  ai?: AiProvider;
  /** Batched writer policy; `group` (group commit) unless told otherwise. */
  writerMode?: 'group' | 'interval';
}

export type WorkerRole = RunningPart & { workers: Workers };

/**
 * The `worker` role: one BullMQ worker per queue on a blocking connection of
 * its own, plus a pub/sub connection for cancel requests. `ready` waits for
 * the workers and schedules housekeeping; `close` lets running jobs finish,
 * then drops both connections.
 */
export async function startWorkerRole(config: Config, deps: WorkerRoleDeps): Promise<WorkerRole> {
  const { stores, core, metrics } = deps;
  const stack = createShutdownStack(deps.logger);
  try {
    const connection = await stores.connectRedis('worker', { maxRetriesPerRequest: null });
    stack.push({ close: () => quit(connection) });
    const subscriber = await stores.connectRedis('worker-cancels', {});
    stack.push({ close: async () => subscriber.disconnect() });
    const workers = stack.push(createWorkers({
      stores: { sql: stores.sql, connection, subscriber, prefix: config.redisPrefix, queuePrefix: stores.queuePrefix },
      publishers: { publisher: core.publisher, notifier: core.notifier },
      jobs: { queues: core.queues, tracker: core.tracker },
      ai: deps.ai ?? createAiProvider(config.ai),
      logger: deps.logger,
      settings: {
        concurrency: config.worker.concurrency,
        lockMs: config.worker.lockMs,
        ingestWindowPerUser: config.ingest.windowPerUser,
        writer: {
          maxBatchRows: config.writer.maxBatchRows, maxQueuedRows: config.writer.maxQueuedRows, mode: deps.writerMode,
          onWait: () => metrics.writerWaited('results'),
        },
        housekeeping: { retentionDays: config.jobs.retentionDays, reconcileAfterMs: config.jobs.reconcileIntervalMs, chapterHistory: config.chapterHistory },
      },
      onStoreWait: (type) => metrics.jobWaitedForStore(type),
    }));
    const schedule = () => scheduleHousekeeping(core.queues, core.policy, { trimMs: config.jobs.housekeepingIntervalMs, reconcileMs: config.jobs.reconcileIntervalMs });
    return {
      workers,
      async ready() {
        await workers.ready();
        await schedule();
        // The schedulers live in Redis: a Redis that comes back without its data (no persistence, a failover to an
        // empty replica) has none, so each reconnect of the connection the queues use schedules them again (an upsert:
        // a no-op when they are there).
        const reschedule = () => void schedule().catch((err: unknown) => deps.logger.warn({ err }, 'housekeeping not scheduled after a Redis reconnect; it is tried again at the next one'));
        stores.redis.on('ready', reschedule);
        // The connection outlives this role (the stores close after it): the listener goes with the role.
        stack.push({ close: async () => void stores.redis.off('ready', reschedule) });
      },
      close: () => stack.close(),
    };
  } catch (error) {
    await stack.close();
    throw error;
  }
}
