import type { RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Sql } from '../../sql/client.ts';
import { createSql } from '../../sql/client.ts';
import { migrate } from '../../sql/migrate.ts';
import { queuePrefix } from '../../jobs/queues.ts';
import type { PubSubMode, RedisClient } from '../../realtime/redis-client.ts';
import type { Config } from '../config.ts';
import type { HealthCheck } from '../routes/health.ts';
import { createRedisClient, redisTarget, type RedisTarget } from '../redis-client.ts';
import { preparePostgres, probePooledPostgres, probeRedis } from '../startup-errors.ts';

/** PostgreSQL and Redis as every role of one process shares them. */
export interface Stores {
  sql: Sql;
  /** LISTEN: a direct connection (DATABASE_DIRECT_URL) when set, since a transaction-mode pooler delivers no notifications. */
  listener: Pick<Sql, 'listen'>;
  /** Commands; fails fast when Redis is down, so a request answers 503 at once instead of hanging. */
  redis: RedisClient;
  /**
   * Another Redis connection for one role (pub/sub, BullMQ), named
   * `<prefix>:<name>` in CLIENT LIST (on every node of a cluster).
   * `shardedPubSub`: on a cluster, SSUBSCRIBE through one subscriber per
   * master (the gateway's document channels).
   */
  connectRedis(name: string, options: RedisOptions, extra?: { shardedPubSub?: boolean }): Promise<RedisClient>;
  /** `sharded` on a Redis Cluster (REDIS_CLUSTER_NODES): document events go by SPUBLISH/SSUBSCRIBE. The one place that decides it. */
  pubsub: PubSubMode;
  /** BullMQ's key prefix: REDIS_PREFIX, or `{REDIS_PREFIX}` on a cluster (see queuePrefix). */
  queuePrefix: string;
  /** The `/health` checks of both stores. */
  probes: HealthCheck[];
  close(): Promise<void>;
}

export interface StoreOptions {
  logger: Logger;
  /** PostgreSQL connections in the pool. */
  poolSize: number;
}

/**
 * Creates the database when missing, applies pending migrations and opens
 * the shared connections. With DATABASE_DIRECT_URL set, the database is
 * created, migrated and LISTENed on through it, and DATABASE_URL's pool
 * (perhaps a transaction-mode pooler) keeps no session state. Throws
 * StartupError (one actionable line) when a store does not answer; whatever
 * was opened before the failure is closed.
 */
export async function connectStores(config: Config, { logger, poolSize }: StoreOptions): Promise<Stores> {
  const directUrl = config.databaseDirectUrl;
  if (directUrl) {
    await preparePostgres(directUrl, 'DATABASE_DIRECT_URL');
    await probePooledPostgres(config.databaseUrl);
  } else {
    await preparePostgres(config.databaseUrl);
  }
  const target = redisTarget(config);
  const redisWarning = await probeRedis(target);
  if (redisWarning) logger.warn(redisWarning);

  const sql = createSql(config.databaseUrl, { max: poolSize, pooled: directUrl !== undefined });
  // One connection for migrations; postgres.js opens LISTEN's own beside it.
  const direct = directUrl ? createSql(directUrl, { max: 1 }) : sql;
  const endSql = async () => {
    await sql.end({ timeout: 5 });
    if (direct !== sql) await direct.end({ timeout: 5 });
  };
  const connect = (name: string, options: RedisOptions, extra: { shardedPubSub?: boolean } = {}) =>
    connectRedis(target, { ...options, ...extra }, logger, `${config.redisPrefix}:${name}`);
  let redis: RedisClient;
  try {
    const applied = await migrate(direct);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    redis = await connect('commands', { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  } catch (error) {
    await endSql().catch((err: unknown) => logger.warn({ err }, 'error during shutdown'));
    throw error;
  }
  return {
    sql,
    listener: direct,
    redis,
    connectRedis: connect,
    pubsub: target.kind === 'cluster' ? 'sharded' : 'classic',
    queuePrefix: queuePrefix(config.redisPrefix, target.kind === 'cluster'),
    probes: [
      { name: 'postgres', check: async () => (await sql`select 1 as ok`).length === 1 },
      { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
    ],
    async close() {
      await quit(redis);
      await endSql();
    },
  };
}

/** A connection named `name` in CLIENT LIST, so an operator can tell Herald's connections apart. */
async function connectRedis(target: RedisTarget, options: RedisOptions & { shardedPubSub?: boolean }, logger: Logger, name: string): Promise<RedisClient> {
  const redis = createRedisClient(target, { connectionName: name, ...options });
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
export async function quit(redis: RedisClient): Promise<void> {
  await Promise.race([redis.quit(), new Promise((_, reject) => setTimeout(reject, 1000).unref())]).catch(() => redis.disconnect());
}
