import { Cluster } from 'ioredis';
import type { RedisClient } from '../realtime/redis-client.ts';
import { createSql, ensureDatabase, redactUrl } from '../sql/client.ts';
import { createRedisClient, type RedisTarget } from './redis-client.ts';

/** A start-up failure a person can act on: printed as one line, exit code 1, no stack trace. */
export class StartupError extends Error {}

const UNREACHABLE = ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', 'CONNECT_TIMEOUT'];

/**
 * Creates the database when missing, through `variable`'s URL (DATABASE_URL,
 * or DATABASE_DIRECT_URL when set: a pooler may not reach the `postgres`
 * database); a PostgreSQL that does not answer becomes a StartupError.
 */
export async function preparePostgres(url: string, variable: 'DATABASE_URL' | 'DATABASE_DIRECT_URL' = 'DATABASE_URL'): Promise<void> {
  try {
    await ensureDatabase(url);
  } catch (error) {
    const e = error as { code?: string; message?: string };
    const direct = variable === 'DATABASE_DIRECT_URL';
    throw new StartupError(
      UNREACHABLE.includes(e.code ?? '')
        ? direct
          ? `PostgreSQL is not reachable at ${redactUrl(url)} (${e.code}), the DATABASE_DIRECT_URL for migrations and LISTEN. Start PostgreSQL, or set DATABASE_DIRECT_URL to a direct connection that is running (not the pooler), or unset it.`
          : `PostgreSQL is not reachable at ${redactUrl(url)} (${e.code}). Start PostgreSQL, or set DATABASE_URL to one that is running.`
        : `PostgreSQL at ${redactUrl(url)} could not be prepared: ${e.message ?? e.code}. Check ${variable} and that its user may create the database.`,
    );
  }
}

/**
 * With DATABASE_DIRECT_URL set, DATABASE_URL may be a pooler that nothing
 * else touches before the first request: one query now, so a pooler that
 * is down or misconfigured stops the start with one line.
 */
export async function probePooledPostgres(url: string): Promise<void> {
  const sql = createSql(url, { max: 1, pooled: true });
  try {
    await sql`select 1 as ok`;
  } catch (error) {
    const e = error as { code?: string; message?: string };
    throw new StartupError(
      UNREACHABLE.includes(e.code ?? '')
        ? `PostgreSQL is not reachable at ${redactUrl(url)} (${e.code}), the DATABASE_URL. Start the pooler (PgBouncer) or PostgreSQL, or set DATABASE_URL to one that is running.`
        : `PostgreSQL at ${redactUrl(url)}, the DATABASE_URL, refused a query: ${e.message ?? e.code}. Check that DATABASE_URL reaches the same database as DATABASE_DIRECT_URL.`,
    );
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Checks Redis (or every master of the cluster) answers, and warns when an
 * eviction policy could silently drop queued jobs. Returns the warning, if any.
 */
export async function probeRedis(target: RedisTarget): Promise<string | undefined> {
  const probe = createRedisClient(target, { retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 3000 }, { clusterRetryStrategy: () => null });
  let firstError: { code?: string; message?: string } | undefined;
  const remember = (err: { code?: string; message?: string }) => {
    firstError ??= err;
  };
  // A cluster reports why a node refused first ('node error': ECONNREFUSED), then that no node answered.
  probe.on('node error', remember);
  probe.on('error', remember);
  try {
    await probe.connect();
    const policies = await Promise.all(mastersOf(probe).map(async (node) => ((await node.config('GET', 'maxmemory-policy').catch(() => [])) as string[])[1]));
    const policy = policies.find((p) => p && p !== 'noeviction');
    if (policy) {
      return `Redis maxmemory-policy is "${policy}": under memory pressure Redis may evict queued jobs and event history. Set it to noeviction (redis-cli config set maxmemory-policy noeviction${target.kind === 'cluster' ? ', on every node' : ''}).`;
    }
    return undefined;
  } catch (error) {
    const e = firstError ?? (error as { code?: string; message?: string });
    const reason = e.code ?? e.message;
    throw new StartupError(
      target.kind === 'cluster'
        ? `Redis Cluster is not reachable at ${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')} (no seed answered: ${reason}). Start the cluster, or set REDIS_CLUSTER_NODES to seeds of one that is running (unset it to use REDIS_URL).`
        : `Redis is not reachable at ${redactUrl(target.url)} (${reason}). Start Redis, or set REDIS_URL to one that is running.`,
    );
  } finally {
    probe.disconnect();
  }
}

function mastersOf(client: RedisClient) {
  return client instanceof Cluster ? client.nodes('master') : [client];
}
