import pino from 'pino';
import { loadConfig, type Role } from '../../server/config.ts';
import { signToken } from '../../server/auth.ts';
import { startHerald, type Herald, type StartOptions } from '../../server/herald.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { TEST_AUTH_SECRET, TEST_REDIS_URL } from './env.ts';
import { removePrefix, testPrefix } from './redis.ts';

export { manuscript } from './manuscript.ts';

export interface TestHerald {
  herald: Herald;
  url: string;
  db: TestDatabase;
  prefix: string;
  /** A token for a user, signed with the test secret. */
  token(userId: string, options?: { expiresInSeconds?: number; name?: string }): Promise<string>;
  /** fetch against the API as a user (JSON body when `json` is given). */
  api(userId: string, path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

export interface TestHeraldOptions extends Partial<Omit<StartOptions, 'config' | 'roles'>> {
  roles?: Role[];
  /** Share a database (and prefix) with another instance: several gateways or workers on one deployment. */
  db?: TestDatabase;
  prefix?: string;
  env?: Record<string, string>;
}

/**
 * A real Herald (real PostgreSQL, Redis, HTTP and Socket.IO) on a free port,
 * with its own database and Redis prefix unless told to share them. On a
 * private Redis Cluster with `env: { REDIS_CLUSTER_NODES: cluster.nodes }`
 * (redis-cluster.ts); the cluster's keys go when it is stopped.
 * `close()` stops it and, when it owns them, drops the database and the keys.
 */
export async function startTestHerald(options: TestHeraldOptions = {}): Promise<TestHerald> {
  const ownsDb = !options.db;
  const db = options.db ?? (await createTestDatabase());
  const prefix = options.prefix ?? testPrefix();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATABASE_URL: db.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    AUTH_SECRET: TEST_AUTH_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    RETRY_BACKOFF_MS: '20',
    ...options.env,
  });
  const herald = await startHerald({
    config,
    roles: options.roles ?? ['api', 'gateway', 'worker'],
    logger: options.logger ?? pino({ level: config.logLevel }),
    ...(options.ai && { ai: options.ai }),
    ...(options.writerMode && { writerMode: options.writerMode }),
  });
  const token = (userId: string, o?: { expiresInSeconds?: number; name?: string }) => signToken(TEST_AUTH_SECRET, userId, o);
  return {
    herald,
    url: herald.url,
    db,
    prefix,
    token,
    async api(userId, path, init = {}) {
      const { json, ...rest } = init;
      const headers = new Headers(rest.headers);
      headers.set('authorization', `Bearer ${await token(userId)}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(`${herald.url}${path}`, { ...rest, headers, ...(json !== undefined && { body: JSON.stringify(json) }) });
    },
    async close() {
      await herald.close();
      if (ownsDb) {
        await db.drop();
        await removePrefix(prefix);
      }
    },
  };
}
