import pino from 'pino';
import { expect } from 'vitest';
import { createApp, type AppDeps } from '../../server/app.ts';
import { createAuthenticator, type AuthUser } from '../../server/auth.ts';
import { loadConfig } from '../../server/config.ts';
import { createMetrics } from '../../server/metrics.ts';
import { TEST_AUTH_SECRET } from './env.ts';

/**
 * The HTTP app of an API process, built for `app.request()` with no
 * PostgreSQL, Redis or queues behind it: every store in its deps is a stand-in
 * that records the first touch and throws. So a case answered here is one
 * the API answers before any store call (auth, validation, body limits,
 * routing), and `untouched()` proves it wrote nothing. A case that needs a
 * store belongs in test/integration, against the real ones.
 */
export interface UnitApp {
  request(path: string, init?: RequestInit): Promise<Response>;
  /** `request` as `user` (accepted without a store lookup); JSON body when `json` is given. */
  as(user: string, path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** The stores the requests reached, in order; a unit case expects none. */
  readonly touched: readonly string[];
  /** Asserts no request since the last call reached a store (and forgets those that did). */
  untouched(): void;
}

/** The bearer token `as(user)` sends; the unit app's authenticator maps it to the user without PostgreSQL. */
const UNIT_USER_TOKEN = 'unit-user.';

export interface UnitAppOptions {
  /** Settings as environment variables (MAX_UPLOAD_BYTES, MAX_CHAPTER_BYTES, CORS_ORIGINS…), read by the real loadConfig. */
  env?: Record<string, string>;
}

export function createUnitApp(options: UnitAppOptions = {}): UnitApp {
  const touched: string[] = [];
  const store = <T>(name: string) => untouchable<T>(name, touched);
  // Real token checks: every refusal happens before the user is stored, so a refused token never reaches `sql`.
  const checkToken = createAuthenticator(TEST_AUTH_SECRET, store('sql'));
  const authenticate = async (token: string): Promise<AuthUser> =>
    token.startsWith(UNIT_USER_TOKEN)
      ? { id: token.slice(UNIT_USER_TOKEN.length), name: null, expiresAt: Math.floor(Date.now() / 1000) + 3600 }
      : checkToken(token);
  const config = loadConfig({ NODE_ENV: 'test', AUTH_SECRET: TEST_AUTH_SECRET, LOG_LEVEL: 'silent', ...options.env });
  const deps: AppDeps = {
    logger: pino({ level: 'silent' }),
    authenticate,
    maxUploadBytes: config.maxUploadBytes,
    corsOrigins: config.corsOrigins,
    health: { checks: [], stuckJobs: async () => 0 },
    metrics: createMetrics(),
    userConcurrency: config.userRequests,
    api: {
      sql: store('sql'),
      redis: store('redis'),
      prefix: 'herald-unit',
      queues: store('queues'),
      publisher: store('publisher'),
      logger: pino({ level: 'silent' }),
      freshness: config.freshness,
      historyTtlSeconds: config.events.ttlSeconds,
      jobs: store('jobs'),
      outboxDispatcher: undefined,
      refreshLimiter: store('refreshLimiter'),
      packageLimiter: store('packageLimiter'),
      adminUsers: config.adminUsers,
      maxMembersPerDocument: config.sharing.maxMembersPerDocument,
      maxChapterBytes: config.autosave.maxChapterBytes,
      uploadQuota: { maxQueuedChapters: config.ingest.maxQueuedChapters, maxUploadsInFlight: config.ingest.maxUploadsInFlight },
      autosaveLimits: { maxChapterBytes: config.autosave.maxChapterBytes, limiter: store('autosaveLimiter') },
    },
  };
  const app = createApp(deps);
  const request = async (path: string, init?: RequestInit) => app.request(path, init);
  return {
    request,
    as(user, path, init = {}) {
      const { json, ...rest } = init;
      const headers = new Headers(rest.headers);
      headers.set('authorization', `Bearer ${UNIT_USER_TOKEN}${user}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return request(path, { ...rest, headers, ...(json !== undefined && { body: JSON.stringify(json) }) });
    },
    touched,
    untouched() {
      expect(touched.splice(0), 'stores the requests reached').toEqual([]);
    },
  };
}

/**
 * A stand-in for a store: reading it into a variable is fine (routes keep
 * their deps), any use (a property, a call, a tagged template) is recorded
 * and throws, which the app answers with a 500 the test then sees.
 */
function untouchable<T>(name: string, touched: string[]): T {
  const touch = (what: string): never => {
    touched.push(what);
    throw new Error(`${what} was reached: this case needs a real store, so it belongs in test/integration`);
  };
  return new Proxy(function stand() {}, {
    get: (_, key) => touch(`${name}.${String(key)}`),
    apply: () => touch(`${name}()`),
    construct: () => touch(`new ${name}()`),
  }) as T;
}
