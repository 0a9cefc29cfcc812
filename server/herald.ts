import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { createSql } from '../sql/client.ts';
import { migrate } from '../sql/migrate.ts';
import { createAiProvider } from '../jobs/ai/index.ts';
import type { AiProvider } from '../jobs/ai/provider.ts';
import { countStuckJobs } from '../sql/queries/jobs.ts';
import { QUEUES } from '../jobs/contracts.ts';
import { scheduleHousekeeping } from '../jobs/handlers/jobs-housekeeping.ts';
import { createIngestWindows } from '../jobs/ingest-window.ts';
import { createJobControl } from '../jobs/job-control.ts';
import { createJobTracker, type JobFinished } from '../jobs/job-tracker.ts';
import { createOutboxRelay, type OutboxRelay } from '../jobs/outbox-relay.ts';
import { createOutboxDispatcher, type OutboxDispatcher, type OutboxDispatchHooks } from '../jobs/outbox-dispatch.ts';
import { createJobQueues } from '../jobs/queues.ts';
import { createWorkers, type Workers } from '../jobs/workers.ts';
import { createGateway, type Gateway } from '../realtime/gateway.ts';
import { createNotifier, type Notifier } from '../realtime/notifier.ts';
import { createPublisher } from '../realtime/publisher.ts';
import { mountAdminBoard } from './admin-board.ts';
import { createAdminSessions } from './admin-sessions.ts';
import { createApp } from './app.ts';
import { answerParserErrors } from './client-errors.ts';
import { createAuthenticator, resolveAuthSecret, signToken } from './auth.ts';
import { loadBrowserAssets } from './browser-bundles.ts';
import { poolSizeFor, type Config, type Role } from './config.ts';
import { createLogger } from './logger.ts';
import { createMetrics, type Metrics, type MetricsSnapshot } from './metrics.ts';
import { createRateLimiter, createTokenBucket, failOpen } from './rate-limit.ts';
import type { HealthCheck } from './routes/health.ts';
import { preparePostgres, probeRedis } from './startup-errors.ts';

export interface StartOptions {
  config: Config;
  roles: readonly Role[];
  logger?: Logger;
  /** Replaces the configured AI provider (tests use one that fails on purpose). */
  ai?: AiProvider;
  /** Batched writer policy; `group` (group commit) unless told otherwise. */
  writerMode?: 'group' | 'interval';
  /** More `/health` checks, for roles this process supervises elsewhere (the worker child of `npm start`). */
  healthChecks?: readonly HealthCheck[];
  /** Another process's metrics, folded into this one's GET /metrics (the supervised worker child's). */
  moreMetrics?: () => Promise<MetricsSnapshot>;
  /** Holds the API's outbox fast path at a point (tests kill the process there). */
  outboxHooks?: OutboxDispatchHooks;
}

export interface Herald {
  readonly url: string;
  readonly port: number;
  readonly roles: readonly Role[];
  readonly gateway: Gateway | undefined;
  readonly workers: Workers | undefined;
  /** This process's metrics as JSON (what a supervising process folds into its own scrape). */
  metricsSnapshot(): Promise<MetricsSnapshot>;
  /** Stops accepting, lets running jobs finish, flushes writes, closes sockets and connections, in reverse order of start. */
  close(): Promise<void>;
}

/**
 * The composition root: connects to PostgreSQL and Redis, applies
 * migrations, and starts the roles asked for on one HTTP server.
 * Throws StartupError (one actionable line) when a dependency is missing.
 */
export async function startHerald(options: StartOptions): Promise<Herald> {
  const { config, roles } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const has = (role: Role) => roles.includes(role);
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((err) => logger.warn({ err }, 'error during shutdown'));
  };

  try {
    await preparePostgres(config.databaseUrl);
    const redisWarning = await probeRedis(config.redisUrl);
    if (redisWarning) logger.warn(redisWarning);

    const sql = createSql(config.databaseUrl, { max: poolSizeFor(config, roles) });
    closers.push(() => sql.end({ timeout: 5 }));
    const applied = await migrate(sql);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');

    // Fails fast when Redis is down, so a request answers 503 at once instead of hanging.
    const redis = await connectRedis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }, logger, `${config.redisPrefix}:commands`);
    closers.push(() => quit(redis));
    const metrics = createMetrics();
    metrics.sources.more = options.moreMetrics;
    const publisher = createPublisher({
      redis, prefix: config.redisPrefix, streamMaxLen: config.events.streamMaxLen, ttlSeconds: config.events.ttlSeconds, onPublished: metrics.published,
    });
    const notifier = createNotifier({
      sql, redis, prefix: config.redisPrefix, logger, onSent: metrics.notificationPushed, limit: config.sharing.notifications,
    });
    const tracker = createJobTracker({
      sql, publisher, logger, enabled: config.jobs.tracking,
      maxBatchRows: config.writer.maxBatchRows, maxQueuedRows: config.writer.maxQueuedRows,
      onWriterWait: () => metrics.writerWaited('jobs'),
      onFinished: (finished) => onJobFinished(finished, metrics, notifier),
    });
    closers.push(() => tracker.close());
    const policy = { chapterAttempts: config.worker.chapterAttempts, backoffMs: config.worker.backoffMs, attempts: config.jobs.attempts };
    const queues = createJobQueues(redis, config.redisPrefix, policy, { added: (jobs) => tracker.queued(jobs) });
    closers.push(() => queues.close());
    const windows = createIngestWindows({ sql, redis, prefix: config.redisPrefix, queues, logger });
    const jobs = createJobControl({
      queues, redis, prefix: config.redisPrefix, tracker,
      beforeRemove: (job) => (job.name === 'chapter.process' ? windows.release(job) : Promise.resolve()),
    });
    metrics.sources.queueCounts = () => jobs.counts();
    let relay: OutboxRelay | undefined;
    if (has('api') || has('worker')) {
      // Moves committed outbox rows (autosave and package side effects) onto BullMQ and the event streams.
      relay = createOutboxRelay({ sql, queues, publisher, logger, pollMs: config.outbox.pollMs });
      await relay.start();
      closers.push(() => relay!.stop());
    }
    let outboxDispatcher: OutboxDispatcher | undefined;
    if (has('api') && config.outboxFastPath) {
      // The API sends its own commits' outbox rows at once; the relay only what this misses.
      outboxDispatcher = createOutboxDispatcher({ sql, publisher, queues, logger, wakeRelay: () => relay!.wake(), hooks: options.outboxHooks });
      closers.push(() => outboxDispatcher!.drain());
    }

    const { secret, generated } = await resolveAuthSecret(config.authSecret);
    const authenticate = createAuthenticator(secret, sql);

    let gateway: Gateway | undefined;
    let workers: Workers | undefined;
    const checks: HealthCheck[] = [
      { name: 'postgres', check: async () => (await sql`select 1 as ok`).length === 1 },
      { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
      ...roles.map((role) => ({
        name: role,
        check: () => (role === 'gateway' ? gateway?.healthy ?? false : role === 'worker' ? workers?.running ?? false : true),
      })),
      ...(options.healthChecks ?? []),
    ];
    const app = createApp({
      logger,
      authenticate,
      maxUploadBytes: config.maxUploadBytes,
      corsOrigins: config.corsOrigins,
      health: { checks, stuckJobs: () => countStuckJobs(sql, config.jobs.stuckJobSeconds) },
      metrics,
      metricsToken: config.web.metricsToken,
      userConcurrency: config.userRequests,
      ...(has('api') && {
        mount: (router) => mountAdminBoard(router, {
          queues: Object.values(QUEUES).map((q) => queues.queue(q)), authenticate, adminUsers: config.adminUsers,
          sessions: createAdminSessions({ redis, prefix: config.redisPrefix, ttlSeconds: config.web.adminSessionTtlSeconds }),
          sessionTtlSeconds: config.web.adminSessionTtlSeconds, trustProxy: config.web.trustProxy,
        }),
      }),
      ...(has('api') && {
        api: {
          sql, redis, prefix: config.redisPrefix, queues, publisher, logger, freshness: config.freshness, jobs, outboxDispatcher,
          historyTtlSeconds: config.events.ttlSeconds,
          refreshLimiter: createRateLimiter(redis, { prefix: config.redisPrefix, name: 'refresh', ...config.refresh }),
          adminUsers: config.adminUsers,
          maxMembersPerDocument: config.sharing.maxMembersPerDocument,
          maxChapterBytes: config.autosave.maxChapterBytes,
          uploadQuota: { maxQueuedChapters: config.ingest.maxQueuedChapters, maxUploadsInFlight: config.ingest.maxUploadsInFlight },
          autosaveLimits: {
            maxChapterBytes: config.autosave.maxChapterBytes,
            // A save must answer while Redis is down (it touches only PostgreSQL), so its rate limit fails open.
            limiter: failOpen(
              createTokenBucket(redis, { prefix: config.redisPrefix, name: 'autosave', ratePerSecond: config.autosave.ratePerSecond, burst: config.autosave.burst }),
              { name: 'autosave', logger, onFailOpen: () => metrics.rateLimitSkipped('autosave') },
            ),
          },
          // Package requests are answered without Redis too (their events wait in the outbox), so this limit fails open as well.
          packageLimiter: failOpen(createRateLimiter(redis, { prefix: config.redisPrefix, name: 'package', ...config.packageRequests }), {
            name: 'package', logger, onFailOpen: () => metrics.rateLimitSkipped('package'),
          }),
        },
      }),
    });
    // The editor page and /client.js are bundled now, so the first visitor does not wait and a broken build shows in the log at once.
    if (has('api')) loadBrowserAssets().catch((err: unknown) => logger.error({ err }, 'could not build the editor page and /client.js'));
    const server = createServer(getRequestListener(app.fetch));
    answerParserErrors(server);
    // Registered after the workers, so shutdown stops accepting requests and sockets first.
    const stopAccepting: (() => Promise<unknown>)[] = [() => closeServer(server)];

    if (has('gateway')) {
      const subscriber = await connectRedis(config.redisUrl, {}, logger, `${config.redisPrefix}:pubsub`);
      closers.push(async () => subscriber.disconnect());
      gateway = createGateway({
        httpServer: server,
        sql,
        redis,
        subscriber,
        prefix: config.redisPrefix,
        authenticate,
        logger,
        maxSubscriptionsPerSocket: config.gateway.maxSubscriptions,
        rateLimit: config.gateway.rateLimit,
        maxMessageBytes: config.gateway.maxMessageBytes,
        corsOrigins: config.corsOrigins,
        onDelivered: (event) => metrics.delivered(event.name, event.data.at as string | undefined),
        maxSocketsPerUser: config.sockets.maxPerUser,
        socketClaimTtlMs: config.sockets.claimTtlMs,
        historyTtlSeconds: config.events.ttlSeconds,
      });
      metrics.sources.sockets = () => gateway!.io.engine.clientsCount;
      metrics.sources.subscriptions = () => gateway!.subscriptions;
      stopAccepting.push(() => gateway!.close());
      await gateway.ready();
    }
    if (has('worker')) {
      const connection = await connectRedis(config.redisUrl, { maxRetriesPerRequest: null }, logger, `${config.redisPrefix}:worker`);
      closers.push(() => quit(connection));
      const cancels = await connectRedis(config.redisUrl, {}, logger, `${config.redisPrefix}:worker-cancels`);
      closers.push(async () => cancels.disconnect());
      workers = createWorkers({
        connection,
        subscriber: cancels,
        notifier,
        tracker,
        retentionDays: config.jobs.retentionDays,
        reconcileAfterMs: config.jobs.reconcileIntervalMs,
        chapterHistory: config.chapterHistory,
        prefix: config.redisPrefix,
        sql,
        publisher,
        queues,
        ai: options.ai ?? createAiProvider(config.ai),
        logger,
        concurrency: config.worker.concurrency,
        lockMs: config.worker.lockMs,
        writer: {
          maxBatchRows: config.writer.maxBatchRows, maxQueuedRows: config.writer.maxQueuedRows, mode: options.writerMode,
          onWait: () => metrics.writerWaited('results'),
        },
        onStoreWait: (type) => metrics.jobWaitedForStore(type),
        ingestWindowPerUser: config.ingest.windowPerUser,
      });
      closers.push(() => workers!.close());
      await workers.ready();
      await scheduleHousekeeping(queues, policy, { trimMs: config.jobs.housekeepingIntervalMs, reconcileMs: config.jobs.reconcileIntervalMs });
    }
    closers.push(...stopAccepting);

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    logger.info({ url, roles }, 'Herald is ready');
    if (generated && has('api')) {
      const token = await signToken(secret, 'dev', { name: 'Developer' });
      logger.info(
        { user: 'dev', token, editor: `${url}/?token=${token}` },
        'AUTH_SECRET is unset: using a development key kept in .herald/dev-secret. Token for user "dev" follows.',
      );
    }
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      roles,
      gateway,
      workers,
      metricsSnapshot: () => metrics.registry.getMetricsAsJSON() as Promise<MetricsSnapshot>,
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** A connection named `<prefix>:<role>` in CLIENT LIST, so an operator can tell Herald's connections apart. */
async function connectRedis(url: string, options: RedisOptions, logger: Logger, name: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, connectionName: name, ...options });
  let lastError = '';
  redis.on('error', (err: Error) => {
    // ioredis reconnects by itself; log each distinct failure once, not every retry.
    if (err.message !== lastError) logger.warn({ connection: name, err: err.message }, 'redis connection error');
    lastError = err.message;
  });
  redis.on('ready', () => {
    lastError = '';
  });
  await redis.connect();
  return redis;
}

/** QUIT when Redis answers; otherwise just drop the connection (and stop its reconnect loop). */
async function quit(redis: Redis): Promise<void> {
  await Promise.race([redis.quit(), new Promise((_, reject) => setTimeout(reject, 1000).unref())]).catch(() => redis.disconnect());
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

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

