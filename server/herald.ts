import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import type { AiProvider } from '../jobs/ai/provider.ts';
import type { JobControl } from '../jobs/job-control.ts';
import type { OutboxDispatchHooks } from '../jobs/outbox-dispatch.ts';
import type { Workers } from '../jobs/workers.ts';
import type { Gateway } from '../realtime/gateway.ts';
import { countStuckJobs } from '../sql/queries/jobs.ts';
import { createApp } from './app.ts';
import { answerParserErrors } from './client-errors.ts';
import { createAuthenticator, resolveAuthSecret, signToken } from './auth.ts';
import { poolSizeFor, type Config, type Role } from './config.ts';
import { editorUrl, serverUrl } from './editor-url.ts';
import { createLogger } from './logger.ts';
import { createMetrics, type MetricsSnapshot } from './metrics.ts';
import type { HealthCheck } from './routes/health.ts';
import { startApiRole } from './roles/api.ts';
import { startCore } from './roles/core.ts';
import { startGatewayRole } from './roles/gateway.ts';
import { createShutdownStack } from './roles/shutdown-stack.ts';
import { connectStores } from './roles/stores.ts';
import { startWorkerRole } from './roles/worker.ts';

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
  /** The editor page's address for a person: with the development token when AUTH_SECRET is unset (and the api runs). */
  readonly editorUrl: string;
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
 * migrations, and starts the roles asked for on one HTTP server. Every part
 * goes on one shutdown stack as it starts; `close` stops them last first:
 * sockets, then HTTP, then workers, then the shared parts, then the stores.
 * Throws StartupError (one actionable line) when a dependency is missing.
 */
export async function startHerald(options: StartOptions): Promise<Herald> {
  const { config, roles } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const has = (role: Role) => roles.includes(role);
  const stack = createShutdownStack(logger);
  // The gauges and /health read parts started below; one this process does not run reads as absent.
  const running: { jobs?: JobControl; gateway?: Gateway; workers?: Workers } = {};
  const metrics = createMetrics({
    more: options.moreMetrics,
    queueCounts: async () => (await running.jobs?.counts()) ?? [],
    sockets: () => running.gateway?.io.engine.clientsCount ?? 0,
    subscriptions: () => running.gateway?.subscriptions ?? 0,
  });

  try {
    const stores = stack.push(await connectStores(config, { logger, poolSize: poolSizeFor(config, roles) }));
    const core = stack.push(startCore(config, { stores, metrics, logger, relay: has('api') || has('worker') }));
    running.jobs = core.jobs;
    await core.ready();
    const { secret, generated } = await resolveAuthSecret(config.authSecret);
    const authenticate = createAuthenticator(secret, stores.sql);
    const api = has('api') ? stack.push(startApiRole(config, { stores, core, metrics, logger, authenticate, outboxHooks: options.outboxHooks })) : undefined;
    const app = createApp({
      logger, authenticate, metrics, maxUploadBytes: config.maxUploadBytes, corsOrigins: config.corsOrigins,
      health: { checks: healthChecks(stores.probes, roles, running, options.healthChecks), stuckJobs: () => countStuckJobs(stores.sql, config.jobs.stuckJobSeconds) },
      metricsToken: config.web.metricsToken, userConcurrency: config.userRequests,
      ...(api && { mount: api.mount, api: api.api }),
    });
    const server = createServer(getRequestListener(app.fetch));
    answerParserErrors(server);
    // Started before the HTTP server's closer goes on the stack, so shutdown stops accepting requests and sockets first.
    if (has('worker')) {
      const worker = stack.push(await startWorkerRole(config, { stores, core, metrics, logger, ai: options.ai, writerMode: options.writerMode }));
      running.workers = worker.workers;
      await worker.ready();
    }
    stack.push({ close: () => closeServer(server) });
    if (has('gateway')) {
      const gateway = stack.push(await startGatewayRole(config, { stores, httpServer: server, metrics, logger, authenticate }));
      running.gateway = gateway.gateway;
      await gateway.ready();
    }
    await api?.ready();
    const { url, port } = await listen(server, config);
    logger.info({ url, roles }, 'Herald is ready');
    const devToken = generated && has('api') ? await logDevToken(logger, secret, url) : undefined;
    return {
      url, port, roles, editorUrl: editorUrl(config.host, port, devToken), gateway: running.gateway, workers: running.workers,
      metricsSnapshot: () => metrics.registry.getMetricsAsJSON() as Promise<MetricsSnapshot>,
      close: () => stack.close(),
    };
  } catch (error) {
    await stack.close();
    throw error;
  }
}

/** The stores' probes, one check per role (the api is ready once it listens), and any the caller adds. */
function healthChecks(
  probes: readonly HealthCheck[],
  roles: readonly Role[],
  running: { gateway?: Gateway; workers?: Workers },
  more: readonly HealthCheck[] = [],
): HealthCheck[] {
  return [
    ...probes,
    ...roles.map((role) => ({
      name: role,
      check: () => (role === 'gateway' ? running.gateway?.healthy ?? false : role === 'worker' ? running.workers?.running ?? false : true),
    })),
    ...more,
  ];
}

async function listen(server: Server, config: Config): Promise<{ url: string; port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return { port, url: serverUrl(config.host, port) };
}

async function logDevToken(logger: Logger, secret: string, url: string): Promise<string> {
  const token = await signToken(secret, 'dev', { name: 'Developer' });
  logger.info(
    { user: 'dev', token, editor: `${url}/?token=${token}` },
    'AUTH_SECRET is unset: using a development key kept in .herald/dev-secret. Token for user "dev" follows.',
  );
  return token;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

