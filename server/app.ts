import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import type { Logger } from 'pino';
import { REFERENCE_CSS, renderApiReference } from './api-reference.ts';
import { createRouter, type AppEnv } from './app-env.ts';
import type { Authenticate } from './auth.ts';
import { AppError, toErrorResponse } from './errors.ts';
import { jsonBodyInSlices } from './json-body.ts';
import { mayHaveBody, nodeRequestOf } from './upload-input.ts';
import { chapterRoutes, type ChapterRoutesDeps } from './routes/chapters.ts';
import { uploadRoutes } from './routes/document-upload.ts';
import { documentRoutes, type DocumentRoutesDeps } from './routes/documents.ts';
import { editorRoutes } from './routes/editor.ts';
import { healthRoutes, type HealthDeps } from './routes/health.ts';
import { jobRoutes, type JobRoutesDeps } from './routes/jobs.ts';
import { memberRoutes, type MemberRoutesDeps } from './routes/members.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { packageRoutes, type PackageRoutesDeps } from './routes/packages.ts';
import { refreshRoutes, type RefreshRoutesDeps } from './routes/refreshes.ts';
import { queueRoutes, type QueueRoutesDeps } from './routes/queues.ts';
import type { Metrics } from './metrics.ts';
import { pageSecurityHeaders } from './security-headers.ts';
import { limitUserConcurrency, type UserConcurrencyOptions } from './user-concurrency.ts';

export interface AppDeps {
  logger: Logger;
  authenticate: Authenticate;
  maxUploadBytes: number;
  health: HealthDeps;
  /** Origins besides the server's own whose pages may call the API; `*` for any; empty: none (CORS_ORIGINS). */
  corsOrigins: readonly string[];
  /** The REST API's parts; absent in a process without the `api` role (it still answers /health). */
  api?: DocumentRoutesDeps & ChapterRoutesDeps & PackageRoutesDeps & JobRoutesDeps & RefreshRoutesDeps & QueueRoutesDeps & MemberRoutesDeps;
  /** The process's metrics: GET /metrics and HTTP durations. */
  metrics?: Metrics;
  /** Requests of one user this process runs at once, and how many may wait (USER_REQUEST_CONCURRENCY, USER_REQUEST_QUEUE). */
  userConcurrency: UserConcurrencyOptions;
  /** Bearer token GET /metrics requires (METRICS_TOKEN); absent: open. */
  metricsToken?: string | undefined;
  /** Extra routes mounted before the API's auth (the Bull Board), given the app. */
  mount?: (app: ReturnType<typeof createRouter>) => void;
}

/** The HTTP app: REST API, health and the OpenAPI reference. A factory, so tests can build several. */
// Longer than ~60 lines on purpose: the middleware order and the route table read best as one list.
export function createApp(deps: AppDeps) {
  const logger = deps.logger.child({ component: 'api' });
  const app = createRouter();
  app.use(requestId());
  app.use(pageSecurityHeaders());
  if (deps.metrics) app.use(deps.metrics.httpMiddleware());
  app.onError((error, c) => toErrorResponse(error, c, logger));
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}.` } }, 404));
  app.route('/', healthRoutes(deps.health));
  if (deps.metrics) app.route('/', metricsRoutes(deps.metrics.scrape, deps.metricsToken));
  deps.mount?.(app);

  if (deps.api) {
    app.route('/', editorRoutes());
    const origins = deps.corsOrigins;
    // Before auth, so a preflight is answered without a token. No origins configured: no CORS headers, same-origin only.
    if (origins.length > 0) {
      app.use('/api/*', cors({ origin: origins.includes('*') ? '*' : [...origins], allowHeaders: ['authorization', 'content-type'], maxAge: 600 }));
    }
    app.use(
      '/api/*',
      skippedWithoutBody(limitBody(deps.maxUploadBytes)),
      bearerAuth(deps.authenticate),
      // One user's requests take turns (before their bodies are read), so no user holds the whole event loop.
      limitUserConcurrency(deps.userConcurrency),
    );
    // The upload reads its own body: its bytes go to the upload thread, or through readJsonBodyInSlices without one.
    app.route('/', uploadRoutes(deps.api));
    // Reads JSON bodies in slices and refuses ones whose parse alone would freeze the event loop.
    app.use('/api/*', skippedWithoutBody(jsonBodyInSlices()));
    app.route('/', documentRoutes(deps.api));
    app.route('/', chapterRoutes(deps.api));
    app.route('/', packageRoutes(deps.api));
    app.route('/', jobRoutes(deps.api));
    app.route('/', refreshRoutes(deps.api));
    app.route('/', notificationRoutes(deps.api));
    app.route('/', queueRoutes(deps.api));
    app.route('/', memberRoutes(deps.api));
  }

  const reference = {
    openapi: '3.1.0',
    info: { title: 'Herald API', version: '0.1.0', description: 'REST side of Herald; socket events are in CONTRACT.md section 5.' },
  } as const;
  // A browser asking for HTML gets the readable reference; everyone else the OpenAPI JSON (also at /docs/openapi.json).
  let referencePage: string | undefined;
  app.get('/docs', async (c, next) => {
    if (!c.req.header('accept')?.includes('text/html')) return next();
    referencePage ??= renderApiReference(app.getOpenAPI31Document(reference) as unknown as Record<string, unknown>);
    return c.html(referencePage);
  });
  app.get('/docs/reference.css', (c) => c.body(REFERENCE_CSS, 200, { 'content-type': 'text/css; charset=utf-8' }));
  app.doc31('/docs', reference);
  app.doc31('/docs/openapi.json', reference);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  return app;
}

/**
 * 413 `payload_too_large` past MAX_UPLOAD_BYTES. A Node request that says
 * its length (and is not chunked) is judged by its Content-Length alone,
 * without touching `Request.body`: on @hono/node-server that would wrap the
 * body in a WHATWG stream, whose reads cost the event loop far more than the
 * bytes (about 30 ms for a 1.4 MB upload), where the upload reads them
 * straight from the Node request (bodyChunks). Node's parser holds the body
 * to that length. A chunked Node request is counted here as it is read
 * (readWithin); a request built in the process, as Hono's bodyLimit reads it.
 *
 * A body past the limit is read to its end (and dropped) before the 413, up
 * to as much again: answered early, the client would still be sending when
 * the server closes, and the reset that follows can destroy the answer
 * before the client reads it. A client sending more than that, or still
 * sending after 10 s, gets the 413 at once.
 */
function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () => {
    // A body left unread closes the connection with this answer, so a pooled client opens a new one
    // instead of sending its next request down a socket about to be dropped.
    throw new AppError('payload_too_large', `The body is larger than MAX_UPLOAD_BYTES (${maxBytes} bytes).`, undefined, { Connection: 'close' });
  };
  const counting = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    const incoming = nodeRequestOf(c);
    if (!incoming) return counting(c, next);
    const length = incoming.headers['content-length'];
    const chunked = incoming.headers['transfer-encoding'] !== undefined;
    if (!chunked && length !== undefined) {
      if (Number(length) <= maxBytes) return next();
      if (Number(length) <= maxBytes * 2) await readWithin(incoming, 0, Number(length));
      return tooLarge();
    }
    if (incoming.readableDidRead) return counting(c, next);
    const body = await readWithin(incoming, maxBytes, maxBytes);
    if (!body) return tooLarge();
    c.req.raw = new Request(c.req.raw, { body });
    return next();
  };
}

/** How long a body past the limit is read (and dropped) before its 413, at most. */
const DRAIN_MS = 10_000;

/**
 * A Node request's body, if it ends within `maxBytes`; undefined once it
 * is past them, after reading and dropping the rest (up to `dropAtMost`
 * bytes more, or DRAIN_MS). Read with a listener, never an async iterator,
 * whose early end would destroy the socket.
 */
function readWithin(incoming: IncomingMessage, maxBytes: number, dropAtMost: number): Promise<Buffer<ArrayBuffer> | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const settle = (body: Buffer<ArrayBuffer> | undefined, error?: Error) => {
      clearTimeout(timer);
      incoming.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted).off('close', onAborted);
      // Past the limit, whatever still comes is dropped until the connection closes.
      if (body === undefined && !error) incoming.on('data', () => undefined);
      if (error) reject(error);
      else resolve(body);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      if (!timer) {
        chunks.length = 0;
        timer = setTimeout(() => settle(undefined), DRAIN_MS);
      }
      if (size > maxBytes + dropAtMost) settle(undefined);
    };
    const onEnd = () => settle(size > maxBytes ? undefined : Buffer.concat(chunks, size));
    const onError = (error: Error) => settle(undefined, error);
    const onAborted = () => settle(undefined, new Error('aborted'));
    // 'close' before 'end': the client went away mid-body.
    incoming.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted).on('close', onAborted);
  });
}

/** `middleware` for requests that may carry a body; the rest go straight on (see mayHaveBody). */
function skippedWithoutBody(middleware: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return (c, next) => (mayHaveBody(c.req.method, nodeRequestOf(c)) ? middleware(c, next) : next());
}

function bearerAuth(authenticate: Authenticate): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      throw new AppError('unauthenticated', 'Send "Authorization: Bearer <token>"; `npm run token -- <user>` prints one.');
    }
    c.set('user', await authenticate(match[1]!));
    await next();
  };
}
