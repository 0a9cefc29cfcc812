import type { Logger } from 'pino';
import { QUEUES } from '../../jobs/contracts.ts';
import { createOutboxDispatcher, type OutboxDispatchHooks } from '../../jobs/outbox-dispatch.ts';
import { mountAdminBoard } from '../admin-board.ts';
import { createAdminSessions } from '../admin-sessions.ts';
import type { AppDeps } from '../app.ts';
import type { Authenticate } from '../auth.ts';
import { loadBrowserAssets } from '../browser-bundles.ts';
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import { createRateLimiter, createTokenBucket, failOpen } from '../rate-limit.ts';
import type { Core } from './core.ts';
import type { RunningPart } from './shutdown-stack.ts';
import type { Stores } from './stores.ts';
import { startUploadThread } from '../upload-thread.ts';

/** PostgreSQL connections of the upload thread's own pool: uploads under way at once each hold one while they insert. */
const UPLOAD_THREAD_CONNECTIONS = 2;
/**
 * The upload thread's nice value. Not lowered: at nice 10, on a machine kept
 * busy by other processes (the hostile-user drill), the thread got so little
 * CPU that a queue of large uploads held a normal writer's upload past its
 * 20 s timeout. Uploads must keep their share, as they had on the event loop.
 */
const UPLOAD_THREAD_NICE = 0;

export interface ApiRoleDeps {
  stores: Stores;
  core: Core;
  metrics: Metrics;
  logger: Logger;
  authenticate: Authenticate;
  /** Holds the outbox fast path at a point (tests kill the process there). */
  outboxHooks?: OutboxDispatchHooks;
}

/** The REST API's part of the app (routes and the admin board), ready to spread into `createApp`. */
export type ApiRole = RunningPart & Required<Pick<AppDeps, 'api' | 'mount'>>;

/**
 * The `api` role: the REST routes' parts, the queue board, and the outbox
 * fast path, drained at shutdown once the HTTP server has stopped taking requests.
 */
export function startApiRole(config: Config, deps: ApiRoleDeps): ApiRole {
  const { stores: { sql, redis }, core, metrics, logger, authenticate } = deps;
  const prefix = config.redisPrefix;
  // The API sends its own commits' outbox rows at once; the relay only what this misses.
  const outboxDispatcher = config.outboxFastPath
    ? createOutboxDispatcher({ sql, publisher: core.publisher, queues: core.queues, logger, wakeRelay: () => core.relay!.wake(), hooks: deps.outboxHooks })
    : undefined;
  // Uploads are read, split and stored off the event loop; the thread has a small pool of its own.
  const uploadThread = startUploadThread({
    databaseUrl: config.databaseUrl, pooled: config.databaseDirectUrl !== undefined, connections: UPLOAD_THREAD_CONNECTIONS, nice: UPLOAD_THREAD_NICE, logger,
  });
  // The editor page and /client.js are bundled now, so the first visitor does not wait and a broken build shows in the log at once.
  loadBrowserAssets().catch((err: unknown) => logger.error({ err }, 'could not build the editor page and /client.js'));
  return {
    mount: (router) => mountAdminBoard(router, {
      queues: Object.values(QUEUES).map((q) => core.queues.queue(q)), authenticate, adminUsers: config.adminUsers,
      sessions: createAdminSessions({ redis, prefix, ttlSeconds: config.web.adminSessionTtlSeconds }),
      sessionTtlSeconds: config.web.adminSessionTtlSeconds, trustProxy: config.web.trustProxy,
    }),
    api: {
      sql, redis, prefix, queues: core.queues, publisher: core.publisher, logger, freshness: config.freshness, jobs: core.jobs, outboxDispatcher,
      refreshLimiter: createRateLimiter(redis, { prefix, name: 'refresh', ...config.refresh }),
      adminUsers: config.adminUsers,
      maxMembersPerDocument: config.sharing.maxMembersPerDocument,
      historyTtlSeconds: config.events.ttlSeconds,
      maxChapterBytes: config.autosave.maxChapterBytes,
      uploadThread,
      uploadQuota: { maxQueuedChapters: config.ingest.maxQueuedChapters, maxUploadsInFlight: config.ingest.maxUploadsInFlight },
      autosaveLimits: {
        maxChapterBytes: config.autosave.maxChapterBytes,
        // A save must answer while Redis is down (it touches only PostgreSQL), so its rate limit fails open.
        limiter: failOpen(
          createTokenBucket(redis, { prefix, name: 'autosave', ratePerSecond: config.autosave.ratePerSecond, burst: config.autosave.burst }),
          { name: 'autosave', logger, onFailOpen: () => metrics.rateLimitSkipped('autosave') },
        ),
      },
      // Package requests are answered without Redis too (their events wait in the outbox), so this limit fails open as well.
      packageLimiter: failOpen(createRateLimiter(redis, { prefix, name: 'package', ...config.packageRequests }), {
        name: 'package', logger, onFailOpen: () => metrics.rateLimitSkipped('package'),
      }),
    },
    // Ready once the upload thread has loaded, so the first upload after a start does not wait for it.
    ready: () => uploadThread.ready(),
    close: async () => {
      await Promise.all([outboxDispatcher?.drain(), uploadThread.close()]);
    },
  };
}
